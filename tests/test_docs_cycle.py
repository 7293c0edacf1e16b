"""`run --domain docs` completes a two-round open-book cycle on our docs set,
with the held-out sections' questions and our hand-written questions; the
report sets open and closed book side by side, and the trained student
answers a question through `loop.py ask` and POST /api/ask, its quotes and
citations checked."""

import json

import pytest

from tests.conftest import REPO, ServedWorkspace, run_cli

pytestmark = pytest.mark.slow


def test_two_open_book_docs_rounds_complete_and_the_student_can_be_asked(tmp_path):
    ws = tmp_path / "ws"
    handwritten = REPO / "data" / "docs_eval" / "kestrel_handwritten.jsonl"
    # tiny reads 256 tokens: short passages
    result = run_cli("run", "--domain", "docs", "--docs", str(REPO / "data" / "docs"), "--context-chars", "400",
                     "--student", "tiny", "--rounds", "2", "--count", "80", "--epochs", "1", "--eval", str(handwritten),
                     "--workspace", str(ws))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "kestrel_handwritten grounded answer accuracy: round 0 (untrained)" in result.stdout
    assert "each also asked closed book" in result.stdout
    (run_dir,) = (ws / "runs").iterdir()
    test_items = [json.loads(line) for line in (run_dir / "heldout_test.jsonl").read_text().splitlines()]
    closed = [json.loads(line) for line in (run_dir / "heldout_closed-book.jsonl").read_text().splitlines()]
    assert test_items and all("context" in i["metadata"] for i in test_items)
    assert closed and all(i["payload"]["input"] == "" for i in closed)
    trained_on = [json.loads(line) for line in (run_dir / "round_2" / "train.jsonl").read_text().splitlines()]
    held_out = {sid for item in test_items for sid in item["metadata"]["sections"]}
    assert not any(set(row.get("sections", [])) & held_out for row in trained_on)
    open_book = [row for row in trained_on if "context" in row]
    assert open_book and not any(set(row["context"]) & held_out for row in open_book)
    assert any(row.get("oracle") for row in open_book)  # some answer: the excerpts do not cover it
    report = (run_dir / "report.md").read_text()
    assert "citation precision | citation recall | quote grounding" in report and "| not_covered |" in report
    assert "## Open book and closed book (test items)" in report and "| 2 | closed |" in report

    asked = run_cli("ask", "--docs", str(REPO / "data" / "docs"), "--context-chars", "400", "--student", str(ws),
                    "--json", "How do I install Kestrel with pip?")
    assert asked.returncode in (0, 1), asked.stdout[-2000:] + asked.stderr[-2000:]
    answer = json.loads(asked.stdout)
    assert "install.md#installing-with-pip" in [p["id"] for p in answer["context"]]
    assert answer["checks"] and answer["student"].endswith("student")
    assert answer["verified"] == all(c["passed"] for c in answer["checks"]) == (asked.returncode == 0)
    bad = run_cli("ask", "--student", str(ws), "What is Kestrel?")
    assert bad.returncode == 2 and "--docs DIR" in bad.stderr

    server = ServedWorkspace(ws)
    try:
        served = server.client.post("/api/ask", json={"question": "How do I install Kestrel with pip?",
                                                      "sources": {"docs": str(REPO / "data" / "docs"),
                                                                  "context_chars": "400"}}, timeout=300)
        assert served.status_code == 200, served.text
        assert served.json()["context"] == answer["context"] and served.json()["answer"] == answer["answer"]
        wrong = server.client.post("/api/ask", json={"question": "x", "sources": {"graph": "nowhere"}})
        assert wrong.status_code == 422
    finally:
        server.stop()
