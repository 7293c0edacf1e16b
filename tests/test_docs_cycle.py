"""`run --domain docs` completes a two-round cycle on our docs set, with the
held-out sections' questions and our hand-written questions, and reports the
docs measures per category."""

import json

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.slow


def test_two_docs_rounds_complete(tmp_path):
    ws = tmp_path / "ws"
    handwritten = REPO / "data" / "docs_eval" / "kestrel_handwritten.jsonl"
    result = run_cli("run", "--domain", "docs", "--docs", str(REPO / "data" / "docs"), "--student", "tiny",
                     "--rounds", "2", "--count", "80", "--epochs", "1", "--eval", str(handwritten),
                     "--workspace", str(ws))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "kestrel_handwritten grounded answer accuracy: round 0 (untrained)" in result.stdout
    (run_dir,) = (ws / "runs").iterdir()
    test_items = [json.loads(line) for line in (run_dir / "heldout_test.jsonl").read_text().splitlines()]
    trained_on = (run_dir / "round_2" / "train.jsonl").read_text()
    assert test_items and not any(sid in trained_on for item in test_items for sid in item["metadata"]["sections"])
    report = (run_dir / "report.md").read_text()
    assert "citation precision | citation recall | quote grounding" in report and "| not_covered |" in report
