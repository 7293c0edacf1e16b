"""The command line as a user runs it: `python loop.py ...` in a subprocess."""

import json
import sqlite3

import pytest

from tests.conftest import run_cli


@pytest.mark.slow
def test_generate_500_template_examples_then_audit_and_export(tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("generate", "--domain", "cypher", "--teacher", "template", "--count", "500", "--workspace", str(ws))
    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(ws / "examples.sqlite")
    accepted, total = db.execute("SELECT SUM(accepted), COUNT(*) FROM slots").fetchone()
    assert total == 500 and accepted >= 450, (accepted, result.stdout)
    assert "accepted" in result.stdout and str(ws) in result.stdout

    audit = run_cli("audit", str(ws), "--json")
    assert audit.returncode == 0, audit.stderr
    rows = [json.loads(line) for line in audit.stdout.splitlines()]
    assert len(rows) == total - accepted  # every rejected example is listed...
    for row in rows:  # ...with its reasons and the evidence
        assert row["verdict"]["reasons"]
        assert all(c["detail"] for c in row["verdict"]["checks"] if not c["passed"])

    export = run_cli("export", str(ws), "--format", "jsonl")
    assert export.returncode == 0, export.stderr
    lines = (ws / "exports" / "accepted.jsonl").read_text().splitlines()
    distinct = db.execute("SELECT COUNT(*) FROM examples WHERE accepted = 1").fetchone()[0]
    assert len(lines) == distinct == accepted and {"instruction", "input", "output", "category"} <= set(json.loads(lines[0]))
    assert run_cli("export", str(ws), "--format", "parquet").returncode == 0
    assert (ws / "exports" / "accepted.parquet").stat().st_size > 0


def test_audit_filters_by_reason(tmp_path):
    ws = tmp_path / "ws"
    # Template runs are deterministic per seed; with one attempt, 150 slots
    # always include duplicates (the plans that return no rows never reach the verifier).
    assert run_cli("generate", "--count", "150", "--max-attempts", "1", "--workspace", str(ws)).returncode == 0
    db = sqlite3.connect(ws / "examples.sqlite")
    reasons = [r for (rs,) in db.execute("SELECT reasons FROM slots WHERE accepted = 0") for r in json.loads(rs)]
    reason = "duplicate"
    assert reason in reasons
    out = run_cli("audit", str(ws), "--reason", reason, "--json")
    listed = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(listed) == reasons.count(reason) and all(reason in r["verdict"]["reasons"] for r in listed)
    readable = run_cli("audit", str(ws), "--limit", "1")
    assert readable.returncode == 0 and "✗" in readable.stdout


@pytest.mark.parametrize("args, message", [
    (["--domain", "astrology"], "unknown domain 'astrology'"),
    (["--teacher", "gpt4"], "malformed teacher spec"),
    (["--teacher", "openai:"], "malformed teacher spec"),
    (["--teacher", "openai:m@ftp://x"], "malformed teacher spec"),
    (["--teacher", "llamacpp:/nope/model.gguf"], "not a .gguf file that exists"),
    (["--teacher", "openai:m@http://127.0.0.1:9/v1"], "unreachable"),
    (["--critic", "openai:m@http://127.0.0.1:9/v1"], "unreachable"),
    (["--graph", "/nope/graph.cypher"], "cannot read graph script"),
    (["--teacher", "openai:m@http://127.0.0.1:9/v1"], "teacher unreachable: connection refused at http://127.0.0.1:9/v1"),
    (["--rules", "cr.txt"], "--rules is an option of mtg, not of cypher"),
    (["--domain", "config"], "domain config needs --domain-config"),
    (["--domain", "coding", "--sandbox", "podman"], "--sandbox 'podman' is not valid: choose one of docker, bwrap"),
])
def test_bad_input_exits_2_with_a_fix_and_writes_nothing(tmp_path, args, message):
    ws = tmp_path / "ws"
    result = run_cli("generate", "--count", "5", "--workspace", str(ws), *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not ws.exists()


def test_invalid_graph_script_names_the_line(tmp_path):
    script = tmp_path / "g.cypher"
    script.write_text("CREATE (:A {x: 1});\nCREATE (:B {y: );\n")
    result = run_cli("generate", "--graph", str(script), "--workspace", str(tmp_path / "ws"))
    assert result.returncode == 2 and "g.cypher:2:" in result.stderr
    assert not (tmp_path / "ws").exists()


def test_unwritable_workspace_is_refused(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for target in (a_file, a_file / "sub", "/proc/domainforge"):
        result = run_cli("generate", "--count", "2", "--workspace", str(target))
        assert result.returncode == 2 and "workspace" in result.stderr, result.stderr


def test_audit_and_export_need_a_workspace(tmp_path):
    for command in (["audit", str(tmp_path)], ["export", str(tmp_path)]):
        result = run_cli(*command)
        assert result.returncode == 2 and "not a workspace" in result.stderr


def test_help_teaches_the_commands():
    result = run_cli("generate", "--help")
    assert result.returncode == 0
    for option in ("--teacher", "--critic", "--count", "--workspace", "--graph", "--concurrency"):
        assert option in result.stdout


def test_root_help_names_every_command_and_domain_without_mangling():
    from agents.domains import DOMAINS

    root = run_cli("--help")
    assert root.returncode == 0
    for command in ("generate", "audit", "export", "run", "export-gguf", "sandbox", "mtg"):
        assert f" {command} " in root.stdout
    lines = [line.strip() for line in root.stdout.splitlines()]
    session = lines.index("A typical session:")  # one step a line, none rewrapped into another
    assert lines[session + 1] == "run --workspace ws: the whole cycle, round after round;"
    assert all(name in root.stdout for name in DOMAINS)
    for command in ("generate", "run"):
        text = run_cli(command, "--help").stdout
        assert "openai:<model>[@<base_url>]" in text  # not eaten as markup
        for option in ("--graph", "--repo", "--sandbox", "--rules", "--ipg", "--domain-config"):
            rows = [line for line in text.splitlines() if line.lstrip("│ ").startswith(f"{option} ")]
            assert len(rows) == 1, option  # declared once, listed once


def test_training_processes_that_do_not_split_the_batch_are_refused_before_anything_is_written(tmp_path):
    result = run_cli("run", "--train-procs", "3", "--workspace", str(tmp_path / "ws"))
    assert result.returncode == 2 and "--train-procs 3: the tiny preset's batch of 16 rows" in result.stderr
    assert not (tmp_path / "ws").exists()
