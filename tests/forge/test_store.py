import json

import pytest

from forge.export import export_jsonl, export_parquet, to_dataset
from forge.records import Check, Example, Lineage, Verdict
from forge.store import open_store
from forge.sqlite_store import SQLiteStore


def example(question: str, category: str = "basic_match") -> Example:
    return Example("cypher", category, "instruction", {"instruction": question, "input": "", "output": "MATCH (n) RETURN n"},
                   {"graph": "kglite"})


def lineage(slot: int) -> Lineage:
    return Lineage(run_id="r1", round=0, slot=slot, teacher="template", critic="template")


ACCEPT = Verdict((Check("parses", True), Check("returns_rows", True, "3 rows")))
REJECT = Verdict((Check("parses", True), Check("returns_rows", False, "no rows", "no_rows")))


def test_example_id_is_content_hash_and_ignores_metadata():
    a, b = example("How many?"), example("How many?")
    assert a.id == b.id and len(a.id) == 16
    assert Example("cypher", "x", "instruction", a.payload, {"other": 1}).id == a.id
    assert example("How many nodes?").id != a.id


def test_failed_check_must_name_a_reason():
    with pytest.raises(ValueError, match="without a reason"):
        Check("parses", False, "boom")
    assert REJECT.reasons == ["no_rows"] and not REJECT.accepted and ACCEPT.accepted


def test_writes_are_idempotent_and_rejections_are_kept(store_target):
    store = open_store(store_target)
    store.start_run("r1", "cypher", {})
    store.record("r1", 0, example("q0"), ACCEPT, lineage(0))
    store.record("r1", 0, example("q0"), ACCEPT, lineage(0))  # the same slot again: no duplicate
    store.record("r1", 1, example("q1"), REJECT, lineage(1))
    store.record("r1", 2, example("q0"), ACCEPT, lineage(2))  # same content from another slot: stored once
    assert store.finished_slots("r1") == {0, 1, 2}
    assert [e.payload["instruction"] for e in store.accepted_examples()] == ["q0"]
    rejected = list(store.produced(accepted=False))
    assert len(rejected) == 1 and rejected[0].verdict.reasons == ["no_rows"]
    assert rejected[0].verdict.checks[1].detail == "no rows"
    assert list(store.produced(reason="no_rows"))[0].slot == 1
    assert list(store.produced(reason="cypher_syntax_error")) == []
    summary = store.summary("r1")
    assert summary["accepted"] == 2 and summary["rejected"] == 1 and summary["rejected_by_reason"] == {"no_rows": 1}


def test_accepted_verdict_upgrades_an_earlier_rejection(store_target):
    store = open_store(store_target)
    store.start_run("r1", "cypher", {})
    store.record("r1", 0, example("q"), REJECT, lineage(0))
    assert not store.is_accepted(example("q").id)
    store.record("r1", 1, example("q"), ACCEPT, lineage(1))
    assert store.is_accepted(example("q").id)


def test_store_survives_reopen_in_wal_mode(tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.start_run("r1", "cypher", {"count": 3})
    store.record("r1", 0, example("q"), ACCEPT, lineage(0))
    store.close()
    again = SQLiteStore(tmp_path / "s.sqlite")
    assert again.finished_slots("r1") == {0}


def test_exports_round_trip(tmp_path):
    examples = [example("q0", "a"), example("q1", "b")]
    assert export_jsonl(examples, tmp_path / "out.jsonl") == 2
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert rows[0]["instruction"] == "q0" and rows[0]["graph"] == "kglite" and rows[0]["id"] == examples[0].id
    assert export_parquet(examples, tmp_path / "out.parquet") == 2
    import datasets

    loaded = datasets.Dataset.from_parquet(str(tmp_path / "out.parquet"))
    assert loaded["category"] == ["a", "b"]
    assert to_dataset(examples)["output"] == ["MATCH (n) RETURN n"] * 2
    assert not list(tmp_path.glob("*.partial"))


def test_a_persons_latest_verdict_overrides_the_verifier_in_what_is_read_for_training(store_target):
    store = open_store(store_target)
    store.start_run("r1", "cypher", {})
    store.record("r1", 0, example("kept by the verifier"), ACCEPT, lineage(0))
    store.record("r1", 1, example("rejected by the verifier"), REJECT, lineage(1))
    store.record("r1", 2, example("left alone"), ACCEPT, lineage(2))
    kept, rejected = example("kept by the verifier").id, example("rejected by the verifier").id
    store.judge(rejected, True, "the query is right; the demo graph has no such rows", "ana")
    store.judge(kept, True, "fine", "bo")
    store.judge(kept, False, "on a second look, it answers another question", "bo")  # the latest word counts
    assert [e.payload["instruction"] for e in store.accepted_examples()] == ["rejected by the verifier", "left alone"]
    (item,) = store.produced(example_id=rejected)
    assert item.human["accepted"] and item.human["who"] == "ana" and item.human["note"].startswith("the query")
    assert item.verdict.reasons == ["no_rows"]  # the verifier's evidence stays as it was
    assert store.human_agreement() == {"judged": 2, "overturned": 2, "by_reason": {
        "(accepted)": {"judged": 1, "overturned": 1}, "no_rows": {"judged": 1, "overturned": 1}}}
    with pytest.raises(KeyError):
        store.judge("0000000000000000", True, "", "ana")


def test_examples_are_filtered_by_category_text_round_and_paged(store_target):
    store = open_store(store_target)
    store.start_run("r1", "cypher", {})
    for slot in range(6):
        store.record("r1", slot, example(f"question {slot}", "count" if slot % 2 else "match"), ACCEPT, lineage(slot))
    assert [i.slot for i in store.produced(category="count")] == [1, 3, 5]
    assert [i.slot for i in store.produced(text="QUESTION 4")] == [4]
    assert [i.slot for i in store.produced(limit=2, offset=2)] == [2, 3]
    assert [i.slot for i in store.produced(round_=0, limit=1)] == [0] and list(store.produced(round_=1)) == []


def test_two_writers_that_finish_the_same_slot_store_one_row(store_target):
    first, second = open_store(store_target), open_store(store_target)
    first.start_run("r1", "cypher", {})
    second.start_run("r1", "cypher", {})
    first.record("r1", 0, example("q"), ACCEPT, lineage(0))
    second.record("r1", 0, example("q"), ACCEPT, lineage(0))
    second.record("r1", 1, example("q"), REJECT, lineage(1))  # the same content elsewhere: one example row
    assert first.finished_slots("r1") == {0, 1} and len(list(first.produced())) == 2
    assert [e.id for e in second.accepted_examples()] == [example("q").id]
    first.close()
    second.close()


def test_jobs_are_kept_and_end_once(store_target):
    from forge.records import Job

    store = open_store(store_target)
    store.add_job(Job("j1", "generate", ["generate", "--count", "3"], "running", None, 1.0, None))
    store.add_job(Job("j2", "run", ["run"], "running", None, 2.0, None))
    store.end_job("j1", "cancelled", -15)
    store.end_job("j1", "succeeded", 0)  # already ended: keeps its status
    assert store.job("j1").status == "cancelled" and store.job("j1").argv == ["generate", "--count", "3"]
    assert [j.id for j in store.jobs()] == ["j2", "j1"] and [j.id for j in store.jobs("running")] == ["j2"]
    assert store.job("nope") is None


def test_a_store_newer_than_the_code_is_a_clear_error(store_target):
    import sqlite3

    from forge.errors import InputError

    open_store(store_target).close()
    if isinstance(store_target, str):
        import psycopg

        with psycopg.connect(store_target, autocommit=True) as db:
            db.execute("UPDATE schema_version SET version = 99")
    else:
        with sqlite3.connect(store_target) as db:
            db.execute("PRAGMA user_version = 99")
    with pytest.raises(InputError, match="schema version 99, newer than this DomainForge knows"):
        open_store(store_target)


def test_the_password_is_never_shown(postgres):
    from forge.errors import InputError
    from forge.errors import masked
    from tests.postgres_server import PASSWORD

    wrong = postgres.uri("no_such_database")
    assert PASSWORD in wrong and PASSWORD not in masked(wrong) and ":***@" in masked(wrong)
    with pytest.raises(InputError) as raised:
        open_store(wrong)
    assert PASSWORD not in str(raised.value) and 'database "no_such_database" does not exist' in str(raised.value)


def test_a_store_that_cannot_open_fails_the_command_before_anything_is_written(tmp_path, postgres):
    from tests.conftest import run_cli
    from tests.postgres_server import PASSWORD

    ws = tmp_path / "ws"
    result = run_cli("generate", "--count", "2", "--workspace", str(ws), "--store", postgres.uri("no_such_database"))
    assert result.returncode == 2 and 'database "no_such_database" does not exist' in result.stderr
    assert PASSWORD not in result.stdout + result.stderr and not ws.exists()
