"""`run --domain repo` completes a two-round cycle on our Python demo: template
examples checked against the code and its tests in the sandbox, held-out items
scored the same way. (Go runs through every category in the conformance suite
and tests/agents/domains/repo/test_repo.py; its whole cycle takes minutes more.)"""

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.slow


def test_two_repo_rounds_complete(tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("run", "--domain", "repo", "--repo", str(REPO / "data" / "coding" / "demo_repo"), "--student", "tiny",
                     "--rounds", "2", "--count", "60", "--heldout", "30", "--epochs", "1", "--workspace", str(ws))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (run_dir,) = (ws / "runs").iterdir()
    report = (run_dir / "report.md").read_text()
    assert "| implement |" in report and "| category | cites reference | identifiers grounded |" in report
    assert (run_dir / "round_2" / "train.jsonl").is_file()
