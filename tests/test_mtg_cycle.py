"""`run --domain mtg` completes a two-round cycle on our rules fixture."""

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.slow


def test_two_mtg_rounds_complete(tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("run", "--domain", "mtg", "--rules", str(REPO / "data" / "mtg" / "rules_fixture.txt"),
                     "--student", "tiny", "--rounds", "2", "--count", "60", "--heldout", "30", "--epochs", "1",
                     "--workspace", str(ws))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "test ruling accuracy: round 0 (untrained)" in result.stdout
    (run_dir,) = (ws / "runs").iterdir()
    assert (run_dir / "report.md").is_file() and (run_dir / "round_2" / "eval_test.jsonl").is_file()
