"""User-defined domains: a YAML file loaded, checked with file:line errors,
its templates rendered, every declared check and scoring run for real (the
sandbox check in the real sandbox, the judge through a scripted
OpenAI-compatible server)."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

import pytest

from agents.domains import Task
from agents.domains.config.generate import load_config_domain
from agents.domains.config.definition import load_domain_file
from forge.errors import InputError
from forge.records import Example
from forge.yaml_file import ConfigError
from tests.conftest import REPO
from tests.sandbox_backends import IN_CI

EXAMPLE = REPO / "data" / "domains" / "bookshop_sql" / "bookshop_sql.yaml"
SECTIONS = {
    "name": "arithmetic",
    "description": "add two small numbers",
    "system_prompt": "Answer with the number only.",
    "categories": "\n  addition: {instructions: a sum of two numbers}",
    "variables": "\n  a: {range: [1, 9]}\n  b: {values: [10, 20, 30]}",
    "templates": '\n  addition:\n    - instruction: What is {{ a }} plus {{ b }}?\n      output: "{{ a + b }}"',
    "seeds": "".join(f"\n  - {{instruction: 'What is {a} plus {b}?', output: '{a + b}'}}"
                     for a, b in [(1, 2), (2, 2), (3, 4), (5, 1), (6, 3)]),
}


def domain_file(tmp_path: Path, body: str, name: str = "domain.yaml") -> Path:
    """A small arithmetic domain; `body` replaces or adds top-level sections."""
    added = textwrap.dedent(body)
    kept = [f"{key}: {value}" for key, value in SECTIONS.items() if not added.startswith(f"{key}:")
            and f"\n{key}:" not in added]
    path = tmp_path / name
    path.write_text("\n".join(kept) + "\n" + added)
    return path


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


def example(domain, output: str, instruction: str = "What is 1 plus 10?") -> Example:
    return domain._example("addition", instruction, "", output)


def test_templates_draw_their_variables_and_the_offline_critic_reads_them(tmp_path):
    domain = load_config_domain(domain_file(tmp_path, ""), "docker")
    drafts = [domain.template_draft(Task(slot, "addition", f"s:{slot}"), 1) for slot in range(20)]
    for draft in drafts:
        a, b = int(draft["values"]["a"]), int(draft["values"]["b"])
        assert draft["instruction"] == f"What is {a} plus {b}?" and draft["output"] == str(a + b)
    assert len({d["instruction"] for d in drafts}) > 10
    made = domain.to_example(Task(0, "addition", "s"), drafts[0])
    assert made.metadata["system"] == "Answer with the number only."  # the student sees the system prompt
    assert domain.template_critique(made)["verdict"] == "agree"
    hidden = Example(made.domain, made.category, made.format, {**made.payload, "instruction": "Add the two numbers."},
                     made.metadata)
    critique = domain.template_critique(hidden)
    assert critique["verdict"] == "disagree" and "a=" in critique["reason"]


def test_the_example_domain_writes_sql_that_its_own_checks_run(tmp_path):
    domain = load_config_domain(EXAMPLE, "docker")
    assert domain.name == "bookshop_sql" and set(domain.categories) == {"lookup", "aggregate", "join", "ranking"}
    assert len(domain.heldout_items()) == 40 and domain.metric == "pass rate"
    checks = domain.verify(domain._example("lookup", "Drop it.", "", "DROP TABLE books;"))
    assert [c.reason for c in checks if not c.passed] == ["not_read_only", "sql_error", "no_rows"]
    assert "not authorized" in next(c.detail for c in checks if c.name == "executes")
    empty = domain.verify(domain._example("lookup", "Books from 1900?", "", "SELECT title FROM books WHERE year = 1900;"))
    assert [c.reason for c in empty if not c.passed] == ["no_rows"]


def test_regex_length_json_schema_and_python_checks(tmp_path):
    (tmp_path / "rules.py").write_text(textwrap.dedent("""\
        def is_sum(example):
            a, b = [int(w) for w in example["instruction"].rstrip("?").split() if w.isdigit()]
            return int(example["output"]) == a + b, f"{a} + {b} = {a + b}"

        def broken(example):
            raise RuntimeError("this check has a bug")
        """))
    domain = load_config_domain(domain_file(tmp_path, """\
        checks:
          - {type: regex, name: digits, must_match: '^\\d+$', reason: not_a_number}
          - {type: length, max_chars: 3}
          - {type: python, name: correct_sum, function: 'rules:is_sum', reason: wrong_sum}
          - {type: python, name: buggy, function: 'rules:broken'}
        """), "docker")
    checks = {c.name: c for c in domain.verify(example(domain, "11"))}
    assert checks["digits"].passed and checks["length_2"].passed and checks["correct_sum"].passed
    assert "1 + 10 = 11" in checks["correct_sum"].detail
    assert not checks["buggy"].passed and "RuntimeError: this check has a bug" in checks["buggy"].detail
    wrong = {c.name: c for c in domain.verify(example(domain, "eleven"))}
    assert wrong["digits"].reason == "not_a_number" and wrong["length_2"].reason == "length_2"
    assert "6 characters, more than 3" in wrong["length_2"].detail
    assert wrong["correct_sum"].reason == "wrong_sum" and "ValueError" in wrong["correct_sum"].detail

    schema = load_config_domain(domain_file(tmp_path, """\
        checks:
          - type: json_schema
            schema: {type: object, required: [sum], properties: {sum: {type: integer}}}
        """, "schema.yaml"), "docker")
    assert schema.verify(example(schema, '```json\n{"sum": 11}\n```'))[0].passed
    bad = schema.verify(example(schema, '{"sum": "eleven"}'))[0]
    assert not bad.passed and "sum: 'eleven' is not of type 'integer'" in bad.detail
    assert "not JSON" in schema.verify(example(schema, "11 I think"))[0].detail


def test_a_sandbox_check_runs_the_examples_code_in_the_real_sandbox(tmp_path):
    path = domain_file(tmp_path, """\
        checks:
          - {type: sandbox, name: runs, command: [python3, answer.py], reason: crashes}
        """)
    try:
        domain = load_config_domain(path, "bwrap")
    except InputError as exc:
        if IN_CI:
            raise
        pytest.skip(str(exc))
    try:
        assert domain.blocking_verify
        ok = domain.verify(example(domain, "```python\nprint(1 + 10)\n```"))[0]
        assert ok.passed and "11" in ok.detail
        crash = domain.verify(example(domain, "```python\nprint(1 / 0)\n```"))[0]
        assert crash.reason == "crashes" and "ZeroDivisionError" in crash.detail and "exit 1" in crash.detail
    finally:
        domain.close()


def test_answers_are_scored_as_the_file_says(tmp_path):
    def scored(scoring: str, answer: str, reference: str = "11"):
        domain = load_config_domain(domain_file(tmp_path, f"evaluation:\n  scoring: {scoring}\n", "s.yaml"), "docker")
        return domain.score_answer(example(domain, reference), answer)

    assert scored("{type: exact}", "11").passed and not scored("{type: exact}", "11.").passed
    assert scored("{type: normalised}", " 11. ").passed and scored("{type: normalised}", "```\n11\n```").passed
    assert not scored("{type: normalised}", "12").passed
    assert scored("{type: regex, pattern: '\\b{{ output }}\\b'}", "It is 11.").passed
    assert not scored("{type: regex, pattern: '\\b{{ output }}\\b'}", "It is 111.").passed
    (tmp_path / "grading.py").write_text("def close(item, answer):\n    return abs(int(answer) - int(item['output'])) <= 1\n")
    assert scored("{type: python, function: 'grading:close'}", "12").passed
    assert scored("{type: python, function: 'grading:close'}", "15").reason == "wrong_answer"


def test_a_judge_grades_examples_and_answers_through_a_real_teacher(tmp_path, scripted_server):
    from agents.executors import generate_run
    from agents.generation import GenerationConfig
    from agents.teachers import open_teachers
    from forge.sqlite_store import SQLiteStore

    grader = f"openai:scripted@{scripted_server.base_url}"
    path = domain_file(tmp_path, f"""\
        checks:
          - {{type: judge, rubric: The answer is the correct sum., threshold: 6}}
        evaluation:
          scoring: {{type: judge, rubric: Same number as the reference., threshold: 6, grader: '{grader}'}}
        """)
    domain = load_config_domain(path, "docker")
    assert domain.needs_llm_critic
    with pytest.raises(InputError, match="template critic cannot"):
        open_teachers(domain, "template", "template", cache_path=tmp_path / "c.sqlite", concurrency=1)

    store = SQLiteStore(tmp_path / "s.sqlite")
    config = GenerationConfig(domain="config", sources={"domain_config": str(path), "sandbox": "docker"},
                              teacher="template", critic=grader, count=30, max_attempts=1)
    asyncio.run(generate_run(domain, store, config, cache_path=tmp_path / "cache.sqlite"))
    verdicts = [item.verdict for item in store.produced()]
    judged = [c for v in verdicts for c in v.checks if c.name == "judge"]
    assert len(judged) == 30 and all("/10 (threshold 6)" in c.detail for c in judged)
    assert {c.passed for c in judged} == {True, False}  # the scripted grades span 1..10
    assert {c.reason for c in judged if not c.passed} == {"judge_below_threshold"}

    item = example(domain, "11")
    grade = domain.score_answer(item, "11")
    assert "judge score" in grade.detail and "scripted grade" in grade.detail


def test_a_chat_domain_writes_messages_with_the_system_prompt(tmp_path):
    domain = load_config_domain(domain_file(tmp_path, "format: chat\n"), "docker")
    made = domain.to_example(Task(0, "addition", "s"), domain.template_draft(Task(0, "addition", "s"), 1))
    roles = [m["role"] for m in made.payload["messages"]]
    assert made.format == "messages" and roles == ["system", "user", "assistant"]
    assert all(c.passed for c in domain.verify(made)) and domain.template_critique(made)["verdict"] == "agree"


def test_llm_teachers_see_the_category_instructions_and_seed_examples(tmp_path):
    domain = load_config_domain(domain_file(tmp_path, ""), "docker")
    system, user = domain.generation_messages(Task(0, "addition", "s", focus="carrying"), "- wrong sum")
    assert "Answer with the number only." in system["content"] and "a sum of two numbers" in user["content"]
    shots = [json.loads(line) for line in user["content"].splitlines() if line.startswith("{")]
    assert len(shots) == 3 and all(s["instruction"].startswith("What is") for s in shots)
    assert "carrying" in user["content"] and "wrong sum" in user["content"]


@pytest.mark.parametrize("body, at, says", [
    ("catgories: {}\n", "catgories", "catgories: unknown field 'catgories': remove it or check its spelling"),
    ("checks:\n  - {type: regexp, must_match: x}\n", "regexp", "checks[0]: unknown type 'regexp': use one of 'regex', 'length'"),
    ("checks:\n  - {type: python, function: 'nowhere:f'}\n", "nowhere", "checks[0].function: cannot load nowhere:f"),
    ("checks:\n  - {type: regex, must_match: '(unclosed'}\n", "unclosed", "is not a valid regular expression"),
    ("variables:\n  a: {range: [9, 1]}\n  b: {values: [1]}\n", "[9, 1]", "runs backwards"),
    ("templates:\n  addition:\n    - {instruction: 'What is {{ c }}?', output: '{{ a }}'}\n", "{{ c }}",
     "uses undeclared variable(s) c: declare them under variables"),
    ("templates:\n  addition:\n    - {instruction: 'What is {{ a ?', output: '{{ a }}'}\n", "{{ a ?", "Jinja2 syntax error"),
    ("evaluation:\n  heldout: nowhere.jsonl\n", "nowhere.jsonl", "cannot read"),
    ("name: arithmetic\nname: again\n", "again", "name: appears twice (lines"),
])
def test_every_problem_names_the_file_the_line_and_the_fix(tmp_path, body, at, says):
    path = domain_file(tmp_path, body)
    with pytest.raises(ConfigError) as raised:
        load_domain_file(path)
    assert f"{path}:{line_of(path, at)}: " in str(raised.value) and says in str(raised.value), str(raised.value)


def test_seed_files_are_checked_row_by_row(tmp_path):
    (tmp_path / "seeds.jsonl").write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c"}\nnot json\n')
    path = tmp_path / "d.yaml"
    path.write_text("name: d\ndescription: x\ncategories: {only: {}}\nseeds: seeds.jsonl\n")
    problems = str(pytest.raises(ConfigError, load_domain_file, path).value)
    assert f"{tmp_path / 'seeds.jsonl'}:2: output: this field is required" in problems
    assert f"{tmp_path / 'seeds.jsonl'}:3: row: Invalid JSON" in problems
    assert f"{path}:4: seeds: 1 seed examples: give at least 5" in problems


def test_a_users_eval_file_is_read_like_the_held_out_set(tmp_path):
    domain = load_config_domain(EXAMPLE, "docker")
    loaded = domain.load_eval(EXAMPLE.parent / "eval.jsonl")
    items = loaded.items
    assert len(items) == 40 and not loaded.skipped
    assert all(domain.score_answer(i, i.payload["output"]).passed for i in items[:5])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "Top books?", "output": "SELECT 1;", "category": "poetry"}\n{"instruction": "x"}\n')
    message = str(pytest.raises(InputError, domain.load_eval, bad).value)
    assert f"{bad}:2: output: this field is required" in message
    bad.write_text('{"instruction": "Top books?", "output": "SELECT 1;", "category": "poetry"}\n'
                   '{"instruction": "All titles?", "output": "SELECT title FROM no_such_table;"}\n'
                   + (EXAMPLE.parent / "eval.jsonl").read_text().splitlines()[0] + "\n")
    loaded = domain.load_eval(bad)
    assert len(loaded.items) == 1 and [where for where, _ in loaded.skipped] == [f"{bad}:1", f"{bad}:2"]
    assert "category 'poetry' is not one of lookup" in loaded.skipped[0][1]
    assert "fails the scoring" in loaded.skipped[1][1]


def test_a_column_empty_in_every_row_is_a_problem_at_load(tmp_path):
    """Found by benchmarks/fuzz_inputs.py: the template drew from no values (IndexError) in every slot."""
    (tmp_path / "table.csv").write_text("city,country\n,Norway\n,France\n")
    path = domain_file(tmp_path, "variables:\n  a: {file: table.csv, column: city}\n  b: {values: [1]}\n")
    problems = str(pytest.raises(ConfigError, load_domain_file, path).value)
    assert f"{path}:{line_of(path, 'city}')}: " in problems and "column 'city' of" in problems
    assert "is empty in all 2 rows" in problems
