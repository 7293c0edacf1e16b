"""`run --domain repo` completes a two-round cycle on our Go demo module:
template examples checked against the code and its tests in the sandbox, the
held-out functions' items scored the same way."""

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.slow


def test_two_repo_rounds_complete_on_the_go_demo(tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("run", "--domain", "repo", "--repo", str(REPO / "data" / "repo" / "inventory"), "--student", "tiny",
                     "--rounds", "2", "--count", "60", "--epochs", "1", "--workspace", str(ws))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (run_dir,) = (ws / "runs").iterdir()
    report = (run_dir / "report.md").read_text()
    assert "grounded answer accuracy" in report and "| implement |" in report and "cites reference" in report
    assert (run_dir / "round_2" / "train.jsonl").is_file()
