"""`run --domain mtg` completes a two-round cycle on our rules and IPG fixtures,
reporting citation precision, recall and outcome correctness per category."""

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.slow


def test_two_mtg_rounds_complete(tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("run", "--domain", "mtg", "--rules", str(REPO / "data" / "mtg" / "rules_fixture.txt"),
                     "--ipg", str(REPO / "data" / "mtg" / "ipg_fixture.txt"), "--student", "tiny", "--rounds", "2", "--count", "60", "--heldout", "30", "--epochs", "1",
                     "--workspace", str(ws))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "test ruling accuracy: round 0 (untrained)" in result.stdout
    (run_dir,) = (ws / "runs").iterdir()
    assert (run_dir / "round_2" / "eval_test.jsonl").is_file()
    report = (run_dir / "report.md").read_text()
    assert "## Test measures by category" in report and "| tournament |" in report
    assert "citation precision | citation recall | outcome correct" in report
