"""A user's evaluation files, read by each domain and scored by its verifier:
Cypher questions by execution, HumanEval and MBPP tasks as published by
running their own tests in the real sandbox, MTG rulings by outcome and
citations. Rows not in the format name the file, the line and the field;
published files' extra fields are ignored and rows whose reference fails are
skipped (or, with --strict, an error)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from forge.errors import InputError
from loop import eval_labels
from tests.conftest import REPO, run_cli
from tests.sandbox_backends import open_or_skip

FIXTURES = REPO / "tests" / "fixtures"
HANDWRITTEN = REPO / "data" / "cypher" / "eval_handwritten.jsonl"


def write(tmp_path: Path, rows: list, name: str = "eval.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_the_handwritten_cypher_file_loads_and_its_references_score_as_correct(cypher_domain):
    loaded = cypher_domain.load_eval(HANDWRITTEN)
    items = loaded.items
    assert not loaded.skipped and not loaded.ignored_fields and loaded.rows == len(items)
    assert len(items) >= 100 and {i.category for i in items} >= {"basic_match", "relationship", "multi_hop"}
    for item in items:
        assert cypher_domain.score_answer(item, item.payload["output"]).passed, item.payload
    wrong = cypher_domain.score_answer(items[0], "MATCH (b:Book) RETURN b.title LIMIT 1")
    assert wrong.reason == "wrong_result"


def test_bad_cypher_rows_name_the_line_and_field(cypher_domain, tmp_path):
    path = write(tmp_path, [{"question": "How many books?", "cypher": "MATCH (b:Book) RETURN count(b)"},
                            {"question": "Missing its query"}, "not json",
                            {"question": "Broken", "cypher": "MATCH (b:Book RETURN b"}])
    with pytest.raises(InputError) as raised:
        cypher_domain.load_eval(path)
    message = str(raised.value)
    assert f"{path}:2: cypher: this field is required" in message and f"{path}:3: not valid JSON" in message
    path = write(tmp_path, [{"question": "Broken", "cypher": "MATCH (b:Book RETURN b", "type": "broken", "id": 7},
                            {"question": "How many books?", "cypher": "MATCH (b:Book) RETURN count(b)", "task_type": "count"}])
    loaded = cypher_domain.load_eval(path)
    assert [i.category for i in loaded.items] == ["count"] and loaded.ignored_fields == ("id",)
    assert loaded.skipped[0][0] == f"{path}:1" and "the reference query fails" in loaded.skipped[0][1]
    assert loaded.summary == "1 of 2 references do not run on kglite"


def test_a_published_file_with_extra_columns_and_broken_references_is_scored_without_them(tmp_path, tiny_model):
    """As the text2cypher dataset comes: a `type` column for the category, columns
    the format does not use, and a few reference queries that do not run."""
    rows = [json.loads(line) for line in HANDWRITTEN.read_text().splitlines()[:20]]
    published = [{"question": r["question"], "cypher": r["cypher"], "type": r.get("category", "eval"), "source_row": i,
                  "database": "bookstore"} for i, r in enumerate(rows)]
    published[3]["cypher"] = "MATCH (b:Book) RETURN roles"  # Undefined variable 'roles'
    published[11]["cypher"] = "MATCH (b:Book RETURN b"
    path = write(tmp_path, published, "text2cypher_style.jsonl")
    out = tmp_path / "results" / "answers.jsonl"
    result = run_cli("eval", "--eval", str(path), "--student-dir", str(tiny_model), "--out", str(out))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    said = " ".join(result.stdout.split())
    assert "ignored field(s) database, source_row" in said
    listing = tmp_path / "results" / "text2cypher_style.skipped.jsonl"
    assert f"2 of 20 references do not run on kglite: skipped, see {listing}" in said
    assert [json.loads(line)["where"] for line in listing.read_text().splitlines()] == [f"{path}:4", f"{path}:12"]
    assert len(out.read_text().splitlines()) == 18 and re.search(r"all\s*│\s*18\s*│", result.stdout)
    strict = run_cli("eval", "--eval", str(path), "--student-dir", str(tiny_model), "--strict")
    assert strict.returncode == 2 and f"{path}:4:" in strict.stderr and "--strict" in strict.stderr


@pytest.fixture(scope="module")
def coding():
    from agents.domains.coding.generate import CodingDomain

    domain = CodingDomain(REPO / "data" / "coding" / "demo_repo", open_or_skip("docker", size=2))
    yield domain
    domain.close()


def test_humaneval_tasks_run_their_own_tests(coding):
    items = coding.load_eval(FIXTURES / "humaneval_format.jsonl").items
    assert [i.metadata["entry_point"] for i in items] == ["count_vowels", "running_max", "is_palindrome"]
    assert all(coding.score_answer(i, i.payload["output"]).passed for i in items)  # the canonical solutions
    body_only = "    return sum(1 for c in text.lower() if c in 'aeiou')\n"
    assert coding.score_answer(items[0], f"```python\n{body_only}```").passed  # continues the prompt
    whole = "```python\ndef running_max(numbers: List[int]) -> List[int]:\n    import itertools\n" \
            "    return list(itertools.accumulate(numbers, max))\n```"
    assert coding.score_answer(items[1], whole).passed  # the prompt's `from typing import List` is kept
    wrong = coding.score_answer(items[2], "```python\ndef is_palindrome(word):\n    return True\n```")
    assert wrong.reason == "tests_fail" and "AssertionError" in wrong.detail


def test_mbpp_tasks_run_their_setup_and_asserts(coding):
    items = coding.load_eval(FIXTURES / "mbpp_format.jsonl").items
    assert [i.metadata["entry_point"] for i in items] == ["second_smallest", "dash_upper", "count_above"]
    assert "Your code should pass these tests:" in items[0].payload["instruction"]
    assert all(coding.score_answer(i, i.payload["output"]).passed for i in items)
    assert not coding.score_answer(items[2], "def count_above(mapping, limit):\n    return len(mapping)").passed


@pytest.mark.skipif(not os.environ.get("HUMANEVAL_PATH"), reason="HUMANEVAL_PATH is not set (CI sets it when "
                    "OpenAI's HumanEval.jsonl lies beside the repository)")
def test_the_published_humaneval_loads_and_every_canonical_solution_passes(coding):
    loaded = coding.load_eval(Path(os.environ["HUMANEVAL_PATH"]))
    items = loaded.items
    assert len(items) == 164 and not loaded.skipped
    failed = [i.metadata["task_id"] for i in items if not coding.score_answer(i, i.payload["output"]).passed]
    assert not failed, failed


def test_a_task_whose_solution_fails_its_own_tests_is_skipped(coding, tmp_path):
    tasks = [json.loads(line) for line in (FIXTURES / "humaneval_format.jsonl").read_text().splitlines()]
    tasks[1]["canonical_solution"] = "    return numbers\n"
    loaded = coding.load_eval(write(tmp_path, tasks))
    assert [i.metadata["entry_point"] for i in loaded.items] == ["count_vowels", "is_palindrome"]
    assert loaded.summary == "1 of 3 references fail their own tests" and "running_max" in loaded.skipped[0][1]
    assert [i.metadata["entry_point"] for i in coding.load_eval(write(tmp_path, tasks), limit=1).items] == ["count_vowels"]


def test_a_file_in_neither_format_says_what_each_needs(coding, tmp_path):
    path = write(tmp_path, [{"task_id": 1, "prompt": "def f():\n", "test": "assert True"}])
    message = str(pytest.raises(InputError, coding.load_eval, path).value)
    assert f"{path}:1: row: a task needs HumanEval's prompt, test and entry_point, or MBPP's text, code and test_list" in message


def test_mtg_rulings_score_by_outcome_and_cited_rules(tmp_path):
    from agents.domains.mtg.generate import MtgDomain
    from agents.domains.mtg.rules import load_rules

    domain = MtgDomain(load_rules(REPO / "data" / "mtg" / "rules_fixture.txt"))
    outcome = "Outcome: dies: no creature; defending player takes 3 damage (life 17); attacking player life 20."
    path = write(tmp_path, [
        {"question": "A 3/3 attacks unblocked; the defender is at 20. What happens?", "outcome": outcome,
         "rules": ["CR 510.1a"], "category": "combat_damage"},
        {"question": "What does rule 704.5a say?", "rules": ["704.5a"]},
    ])
    combat, rule = domain.load_eval(path).items
    assert domain.score_answer(combat, f"Combat damage equals power (CR 510.1a).\n{outcome}").passed
    assert domain.score_answer(combat, "Combat damage equals power (CR 510.1a).").reason == "no_outcome"
    assert domain.answer_measures(combat, f"(CR 704.5a)\n{outcome}") == {"citation_precision": 0.0, "citation_recall": 0.0,
                                                                        "outcome_correct": 1.0}
    assert domain.score_answer(rule, "A player with 0 or less life loses (CR 704.5a).").passed
    unknown = write(tmp_path, [{"question": "q", "rules": ["999.9z"]}, {"question": "r", "rules": ["704.5a"]}], "unknown.jsonl")
    skipped = domain.load_eval(unknown)
    assert len(skipped.items) == 1 and skipped.skipped == [(f"{unknown}:1", "rules 999.9z are not in the loaded rules")]
    empty = write(tmp_path, [{"question": "nothing to score"}], "empty.jsonl")
    assert f"{empty}:1: row: give outcome, rules or both" in str(pytest.raises(InputError, domain.load_eval, empty).value)


def test_eval_files_get_unique_labels_apart_from_the_builtin_splits():
    assert eval_labels(("a/test.jsonl", "b/test.jsonl", "c/mine.jsonl")) == {
        "test-2": "a/test.jsonl", "test-3": "b/test.jsonl", "mine": "c/mine.jsonl"}
