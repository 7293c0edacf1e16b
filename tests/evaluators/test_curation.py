import json

import pytest

from evaluators.curation import curate, decontaminate, drop_duplicates, load_rows
from forge.errors import InputError
from tests.conftest import REPO


def row(instruction, output="MATCH (n:Author) RETURN n.name AS name", category="basic_match"):
    return {"domain": "cypher", "category": category, "format": "instruction", "instruction": instruction,
            "input": "", "output": output}


def test_malformed_rows_are_reported_with_file_and_line(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join([
        json.dumps(row("Fine question?")),
        "{not json",
        json.dumps({"instruction": "no answer"}),
        json.dumps({"messages": [{"role": "user", "content": "hi"}]}),
        json.dumps({"messages": [{"role": "wizard", "content": 3}, {"role": "assistant", "content": "ok"}]}),
        "",
        json.dumps([1, 2]),
    ]))
    with pytest.raises(InputError) as error:
        load_rows(path)
    message = str(error.value)
    assert "5 invalid rows" in message
    assert f"{path}:2: not valid JSON" in message
    assert f"{path}:3: 'output' must be a non-empty string" in message
    assert f"{path}:4: no assistant turn" in message
    assert f"{path}:5: messages[0] must be" in message
    assert f"{path}:7: expected a JSON object, got list" in message
    assert f"{path}:1:" not in message


def test_the_shipped_grounding_set_is_valid():
    rows = load_rows(REPO / "data" / "general" / "english.jsonl")
    assert len(rows) >= 40 and {r["category"] for r in rows} == {"general_english"}


def test_exact_and_near_duplicates_are_removed():
    long = ("For each Author, count the Book nodes they have a WROTE relationship to, and show the ten authors "
            "with the most books together with their nationality and birth year, ties broken by name. Then do the same "
            "for every Reader and the Book nodes they have a RATED relationship to, keeping only ratings of four stars "
            "or more, and list the readers by age from youngest to oldest")
    rows = [row(long),
            row(long.upper() + "?"),  # the same words: an exact duplicate
            row(long.replace("ten authors", "twelve authors")),  # one word in eighty: a near duplicate
            row("How many Genre nodes are there?", "MATCH (g:Genre) RETURN count(g) AS count")]
    kept, exact, near = drop_duplicates(rows)
    assert (exact, near) == (1, 1) and kept == [rows[0], rows[3]]


def test_rows_overlapping_the_evaluation_sets_are_removed():
    evaluation = [row("What is the born of the Author whose name is 'Ada Lind'?",
                      "MATCH (n:Author {name: 'Ada Lind'}) RETURN n.born AS born")]
    rows = [row("What is the born of the Author whose name is 'Ada Lind'?", "MATCH (n:Author) RETURN n.born"),
            row("What is the born of the Author whose name is 'Ada Lind'", "MATCH (n:Author {name: 'Ada Lind'}) RETURN n.born AS born"),
            row("What is the born of the Author whose name is 'Kira Silva'?",
                "MATCH (n:Author {name: 'Kira Silva'}) RETURN n.born AS born")]
    kept, removed = decontaminate(rows, evaluation)
    assert removed == 2 and kept == rows[2:]


def test_curate_mixes_grounding_and_reports_balance():
    rows = [row(f"List {k} Author names, please, in any order you like.", f"MATCH (n:Author) RETURN n.name LIMIT {k}",
                "basic_match" if k % 2 else "aggregation") for k in range(1, 81)]
    grounding = [{"instruction": f"Say {w}.", "output": w, "category": "general_english"} for w in ("hi", "yes", "no")]
    train, validation, report = curate(rows, [], grounding, grounding_ratio=0.25)
    assert report.grounding_rows == round(0.25 / 0.75 * (len(train) - report.grounding_rows))
    assert report.by_category["general_english"] == report.grounding_rows
    assert report.train_rows == len(train) and report.validation_rows == len(validation) > 0
    assert set(report.by_category) == {"aggregation", "basic_match", "general_english"}
    with pytest.raises(InputError, match="grounding ratio"):
        curate(rows, [], grounding, grounding_ratio=1.0)


def chat(*turns):
    return {"format": "messages", "messages": [{"role": "system", "content": "You help with Python."}]
            + [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]}


def test_conversations_are_decontaminated_by_what_they_ask_not_by_the_shared_system_prompt():
    held_out = [chat("How do I reverse a list?", "Use slicing with a step of -1: items[::-1].")]
    rows = [chat("How do I reverse a list?", "Call items.reverse() to reverse it in place."),
            chat("How do I sort a list?", "Use sorted(items), which returns a new sorted list."),
            chat("What is a tuple?", "An immutable sequence.", "How do I reverse a list?", "Use items[::-1].")]
    kept, dropped = decontaminate(rows, held_out)
    assert kept == rows[1:] and dropped == 1


def test_refusals_are_kept_to_a_quarter_of_the_examples():
    from evaluators.curation import cap_refusals

    examples = [f"answer {i}" for i in range(9)] + [f"refusal {i}" for i in range(10)]
    kept, left_out = cap_refusals(examples, lambda e: e.startswith("refusal"), seed="0:2")
    assert left_out == 7 and [e for e in kept if e.startswith("answer")] == examples[:9]
    assert sum(e.startswith("refusal") for e in kept) == 3 and kept == [e for e in examples if e in kept]
    assert cap_refusals(examples[:9] + examples[9:11], lambda e: e.startswith("refusal"), seed="0:2")[1] == 0


def test_rows_written_with_raw_line_separators_read_back(tmp_path):
    """The loop writes rows with ensure_ascii=False, which leaves U+2028 and U+0085 raw inside strings."""
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"instruction": "one\u2028two", "output": "three\x85four"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    assert load_rows(path) == [{"instruction": "one\u2028two", "output": "three\x85four"}]
