"""`run --domain chat` completes a two-round cycle: template conversations
checked (structure, length with SmolLM2's chat template, personal data,
boilerplate, code run in the sandbox), the student writing the last turn of
held-out conversations, scored by the same checks and the reference."""

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def test_two_chat_rounds_complete_with_a_report(tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("run", "--domain", "chat", "--student", "tiny", "--rounds", "2", "--count", "60", "--epochs", "1",
                     "--workspace", str(ws))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (run_dir,) = (ws / "runs").iterdir()
    report = (run_dir / "report.md").read_text()
    assert "| refusal |" in report and "reference overlap" in report
    assert (run_dir / "round_2" / "train.jsonl").is_file()
