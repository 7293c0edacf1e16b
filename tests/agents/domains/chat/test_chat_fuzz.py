"""Property-based: any conversation export a user brings (OpenAI JSONL,
ShareGPT array or JSONL, support-log CSV; unknown speakers, system turns
anywhere, empty, non-text and huge turns, lines that are not JSON, rows
that are not rows) either imports, each record accepted or rejected with a
reason, or is refused with a message and nothing written; and every slot of
a run on what was imported ends accepted, or rejected with a reason that is
not a crash."""

import json
import traceback

import pytest
from hypothesis import HealthCheck, event, given, settings
from typer.testing import CliRunner

from agents.domains import domain_choice, load_domain
from cli import app
from tests.strategies import conversation_files, crashes, examples, template_run


def is_json(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


@pytest.mark.slow
@settings(max_examples=examples(25), deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(export=conversation_files())
def test_any_conversation_export_imports_and_generates_or_is_refused_up_front(export, tmp_path_factory):
    form, data = export
    folder = tmp_path_factory.mktemp("chat")
    (folder / "export.txt").write_bytes(data)
    workspace = folder / "ws"
    result = CliRunner().invoke(app, ["chat", "import", str(folder / "export.txt"), "--format", form,
                                      "--workspace", str(workspace)])
    if result.exit_code == 2:
        event("refused up front")
        assert result.output.strip() and not (workspace / "imports").exists()
        return
    assert result.exit_code == 0, (result.output, "".join(traceback.format_exception(*result.exc_info)))
    imported = workspace / "imports" / "export.jsonl"
    report = json.loads((workspace / "imports" / "export.report.json").read_text())
    assert report["records"] == report["accepted"] + sum(report["rejected"].values())
    if form != "csv" and not data.lstrip().startswith(b"["):  # JSONL: a line is unreadable only if it is not JSON
        unreadable = [r for r in report["unreadable_records"] if "not valid JSON" in r["reason"]]
        assert len(unreadable) == sum(1 for line in data.decode().split("\n") if line.strip() and not is_json(line))
    sources = {"conversations": str(imported)}
    domain = load_domain(*domain_choice("chat", sources))
    try:
        if "imported" not in domain.categories:
            event("nothing imported")
            return
        event("imported")
        summary = template_run(domain, "chat", sources, folder / "examples.sqlite", 4, weights={"imported": 1.0})
        assert not crashes(summary), crashes(summary)
    finally:
        domain.close()
