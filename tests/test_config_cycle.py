"""`run --domain-config` completes two rounds on the shipped example domain,
evaluated on its hand-written held-out questions."""

import json

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.slow

EXAMPLE = REPO / "data" / "domains" / "bookshop_sql" / "bookshop_sql.yaml"


def test_two_rounds_of_a_config_domain_complete(tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("run", "--domain-config", str(EXAMPLE), "--teacher", "template", "--student", "tiny",
                     "--rounds", "2", "--count", "120", "--epochs", "2", "--workspace", str(ws))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "test pass rate: round 0 (untrained)" in result.stdout
    (run_dir,) = (ws / "runs").iterdir()
    report = (run_dir / "report.md").read_text()
    assert "| 0 (untrained) |" in report and "| 2 |" in report and "| domain_config |" in report
    heldout = [json.loads(line) for split in ("feedback", "test")
               for line in (run_dir / f"heldout_{split}.jsonl").read_text().splitlines()]
    shipped = [json.loads(line) for line in (EXAMPLE.parent / "eval.jsonl").read_text().splitlines()]
    assert sorted(h["payload"]["instruction"] for h in heldout) == sorted(s["instruction"] for s in shipped)
    scored = [json.loads(line) for line in (run_dir / "round_2" / "eval_test.jsonl").read_text().splitlines()]
    assert scored and all(s["detail"] for s in scored)  # every answer was run against the database
