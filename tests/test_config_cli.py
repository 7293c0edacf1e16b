"""A user-defined domain from the command line: `generate --domain-config`
with the shipped example, its rejections in `audit`, and bad files refused
with the file, the line and the fix, before anything is written."""

import json
import shutil
import sqlite3

import pytest

from tests.conftest import REPO, run_cli

EXAMPLE_DIR = REPO / "data" / "domains" / "bookshop_sql"
EXAMPLE = EXAMPLE_DIR / "bookshop_sql.yaml"


def test_the_example_domain_generates_with_rejections_from_its_declared_checks(tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("generate", "--domain-config", str(EXAMPLE), "--count", "120", "--max-attempts", "1",
                     "--workspace", str(ws))
    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(ws / "examples.sqlite")
    accepted, total = db.execute("SELECT SUM(accepted), COUNT(*) FROM slots").fetchone()
    assert total == 120 and 80 <= accepted < 120, result.stdout
    assert db.execute("SELECT domain FROM runs").fetchone() == ("bookshop_sql",)
    rows = [json.loads(line) for line in run_cli("audit", str(ws), "--reason", "no_rows", "--json").stdout.splitlines()]
    assert rows, "a declared check (returns_rows) rejected nothing"
    failed = [c for c in rows[0]["verdict"]["checks"] if not c["passed"]]
    assert [(c["name"], c["reason"]) for c in failed] == [("returns_rows", "no_rows")]
    assert failed[0]["detail"].startswith("the query returns")  # no rows, or only NULL
    export = run_cli("export", str(ws), "--domain", "bookshop_sql")
    assert export.returncode == 0 and f"wrote {accepted} accepted examples" in export.stdout


def broken_copy(tmp_path, old: str, new: str):
    """The shipped example copied beside its files, with one edit."""
    folder = tmp_path / "domain"
    shutil.copytree(EXAMPLE_DIR, folder)
    path = folder / "bookshop_sql.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("old, new, line_of, says", [
    ("format: instruction", "formatt: instruction", "formatt", "formatt: unknown field 'formatt': remove it or check its spelling"),
    ("    instructions: a question answered", "   instructions: a question answered", "a question answered",
     "not valid YAML: expected <block end>, but found '<block mapping start>' (while parsing a block mapping that "
     "starts on line 19). Check the indentation there"),
    ("seeds: seeds.jsonl", "seeds: missing.jsonl", "missing.jsonl", "fix the path (relative to this file's folder)"),
    ("  - type: length", "  - type: size", "type: size", "unknown type 'size': use one of 'regex', 'length', 'json_schema', "
                                                           "'python', 'sandbox', 'judge'"),
])
def test_a_bad_domain_file_exits_2_naming_file_line_and_fix(tmp_path, old, new, line_of, says):
    path = broken_copy(tmp_path, old, new)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), start=1) if line_of in text)
    for command in ("generate", "run"):
        result = run_cli(command, "--domain-config", str(path), "--workspace", str(tmp_path / "ws"))
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert f"{path}:{line}:" in result.stderr and says in result.stderr, result.stderr
        assert not (tmp_path / "ws").exists()
