"""`generate --domain coding` as a user runs it, with the real Docker sandbox."""

import json
import sqlite3

import pytest

from tests.conftest import run_cli
from tests.sandbox_backends import IN_CI


@pytest.mark.slow
def test_generate_200_coding_examples_in_all_four_categories(tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("generate", "--domain", "coding", "--teacher", "template", "--count", "200", "--workspace", str(ws))
    if result.returncode == 2 and "sandbox" in result.stderr.lower() and not IN_CI:
        pytest.skip(result.stderr)
    assert result.returncode == 0, result.stderr[-2000:]
    db = sqlite3.connect(ws / "examples.sqlite")
    categories = {c for (c,) in db.execute("SELECT DISTINCT e.category FROM slots s JOIN examples e ON e.id = s.example_id "
                                          "WHERE s.accepted = 1")}
    assert categories == {"generation", "bug_fixing", "explanation", "test_generation"}
    accepted = db.execute("SELECT SUM(accepted) FROM slots").fetchone()[0]
    assert accepted >= 150
    rows = [json.loads(line) for line in run_cli("audit", str(ws), "--json").stdout.splitlines()]
    assert len(rows) == 200 - accepted and all(r["verdict"]["reasons"] for r in rows)


def test_an_absent_image_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DOMAINFORGE_SANDBOX_IMAGE", "domainforge-sandbox:absent")
    result = run_cli("generate", "--domain", "coding", "--count", "2", "--workspace", str(tmp_path / "ws"))
    assert result.returncode == 2 and not (tmp_path / "ws").exists()
    assert "python loop.py sandbox build-image" in result.stderr or (not IN_CI and "Docker engine" in result.stderr)


def test_a_repository_without_documented_functions_is_refused(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "m.py").write_text("def f(x):\n    return x\n")
    result = run_cli("generate", "--domain", "coding", "--count", "2", "--workspace", str(tmp_path / "ws"),
                     "--repo", str(tmp_path / "repo"), "--sandbox", "bwrap")
    assert result.returncode == 2 and ("no usable function" in result.stderr or "bubblewrap" in result.stderr)
