"""The shipped SmolLM2 as a real local teacher (llama.cpp, JSON grammar),
through the whole example graph: each slot ends accepted or rejected, and
every rejection carries its reasons and evidence."""

import json
import sqlite3

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def test_smollm2_writes_and_critiques_examples_that_the_verifier_judges(tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("generate", "--teacher", "llamacpp:smollm2", "--count", "6", "--max-attempts", "2",
                     "--workspace", str(ws))
    assert result.returncode == 0, result.stderr[-3000:]
    db = sqlite3.connect(ws / "examples.sqlite")
    slots = db.execute("SELECT accepted, reasons, lineage FROM slots").fetchall()
    assert len(slots) == 6
    for accepted, reasons, lineage in slots:
        calls = json.loads(lineage)["calls"]
        assert calls and all(c["model"].startswith("llamacpp:") and c["model"].endswith(".gguf") for c in calls)
        assert accepted or json.loads(reasons)
    audit = [json.loads(line) for line in run_cli("audit", str(ws), "--json").stdout.splitlines()]
    assert len(audit) == sum(1 for accepted, _, _ in slots if not accepted)
    for row in audit:
        failed = [c for c in row["verdict"]["checks"] if not c["passed"]]
        assert failed and all(c["reason"] and c["detail"] for c in failed)


def test_a_shipped_name_that_is_not_fetched_says_how_to_fetch_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DOMAINFORGE_CACHE", str(tmp_path / "empty-cache"))
    result = run_cli("generate", "--teacher", "llamacpp:smollm2", "--count", "2", "--workspace", str(tmp_path / "ws"))
    assert result.returncode == 2 and "python -m forge.models fetch smollm2" in result.stderr
    assert not (tmp_path / "ws").exists()
