"""The chat domain's data path: personal data scrubbed, conversations imported
from each format with every bad record reported and nothing unscrubbed
written, and hand-made bad conversations rejected for their reason in the
real sandbox."""

from __future__ import annotations

import json

import pytest

from agents.domains.base import DATA
from agents.domains.base import Task
from agents.domains.chat.generate import ChatDomain, load_bank, load_conversations
from agents.domains.chat.verify import open_budget
from agents.domains.chat.formats import read_conversations
from evaluators.pii import scrub, scrub_conversation
from forge.records import Example
from tests.conftest import run_cli
from tests.sandbox_backends import open_or_skip

CHAT = DATA / "chat"
# Every piece of personal data written into the shipped example files.
SHIPPED_PII = ("laura.chen@example.org", "tom.baker@example.net", "priya.patel@example.com", "555-0172",
               "7946 0018", "555-0143", "4242 4242 4242 4242", "198.51.100.23", "350 Fifth Avenue", "12 Oak Lane",
               "Laura Chen", "Tom Baker", "Mark Stevens")


@pytest.mark.parametrize("text, kind", [
    ("write to jo.smith+news@mail.example.co.uk today", "email"),
    ("call (415) 555-0134 after five", "phone"),
    ("or ring +44 20 7946 0958 in London", "phone"),
    ("card 4111-1111-1111-1111 was declined", "card"),
    ("the server 203.0.113.42 refused it", "ip_address"),
    ("from 2001:db8::8a2e:370:7334 too", "ip_address"),
    ("ship to 742 Evergreen Terrace, Springfield, IL 62704 please", "street_address"),
    ("Hello, my name is Maria Garcia.", "person_name"),
    ("Thanks for the help!\nKind regards,\nJohn Smith", "person_name"),
    ("you can ring me on 020 7946 0958 tonight", "phone"),
    ("Handy 0151 23456789, bitte nur abends", "phone"),
    ("please pay into DE89 3704 0044 0532 0130 00 by Friday", "iban"),
    ("Meine Adresse: Hauptstraße 5, 10115 Berlin", "street_address"),
    ("Envoyez-le au 12 rue de la Paix, 75002 Paris.", "street_address"),
    ("Please ask Dr. Alvarez about it.", "person_name"),
])
def test_each_kind_of_personal_data_becomes_its_placeholder(text, kind):
    scrubbed = scrub(text)
    assert dict(scrubbed.found) == {kind: 1}, scrubbed
    assert f"[{kind.upper()}]" in scrubbed.text


def test_code_and_ordinary_numbers_are_left_alone():
    text = ("Bind to 127.0.0.1:8000, slice with a[1::2], install version 3.11.4 at 10:30:00 on 2024-03-01, "
            "order 12345678, timestamp 1717171717, colour #333333, the range 10.0.0.0/8, "
            "and `print('Hello World')`.\n```python\nclass Point:\n    pass\n```")
    assert scrub(text).text == text


def test_a_name_found_in_one_turn_is_replaced_in_every_turn_with_its_parts():
    turns = scrub_conversation(["Hi, I'm Margaret Oyelaran and my parcel never came.",
                                "Sorry to hear that, Margaret. Has Ms Oyelaran checked with the neighbours?",
                                "Margaret Oyelaran here again: no luck."])
    assert [t.text for t in turns] == ["Hi, I'm [PERSON_NAME] and my parcel never came.",
                                       "Sorry to hear that, [PERSON_NAME]. Has Ms [PERSON_NAME] checked with the "
                                       "neighbours?",
                                       "[PERSON_NAME] here again: no luck."]


def test_importing_conversations_leaves_no_national_phone_or_repeated_name_in_the_workspace(tmp_path):
    """The reported case: a UK number written the national way, a first name
    repeated by the assistant, and more personal data in other locales."""
    pii = ("020 7946 0958", "Margaret", "Oyelaran", "DE89 3704 0044 0532 0130 00", "Hauptstraße 5", "10115 Berlin",
           "Jonas", "Becker", "06 12 34 56 78")
    conversations = [
        {"id": "a", "conversations": [
            {"from": "human", "value": "Hello, I'm Margaret Oyelaran. My order 4471 never arrived; call me on "
                                       "020 7946 0958."},
            {"from": "gpt", "value": "Sorry to hear that, Margaret. I have opened a claim for order 4471."},
            {"from": "human", "value": "Thanks. Will Margaret Oyelaran get an email about it?"},
            {"from": "gpt", "value": "Yes, Margaret: a confirmation goes out within the hour."}]},
        {"id": "b", "conversations": [
            {"from": "human", "value": "Mein Name ist Jonas Becker. Please refund to DE89 3704 0044 0532 0130 00."},
            {"from": "gpt", "value": "Thank you, Jonas. The refund will reach that account in three days."},
            {"from": "human", "value": "And send the invoice to Hauptstraße 5, 10115 Berlin."},
            {"from": "gpt", "value": "Done, Mr Becker: the invoice is on its way to that address."}]},
        {"id": "c", "conversations": [
            {"from": "human", "value": "Can you call me back? My mobile is 06 12 34 56 78."},
            {"from": "gpt", "value": "Of course, we will call you back this afternoon."}]},
    ]
    source = tmp_path / "support.json"
    source.write_text(json.dumps(conversations, ensure_ascii=False))
    ws = tmp_path / "ws"
    result = run_cli("chat", "import", str(source), "--format", "sharegpt", "--workspace", str(ws))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((ws / "imports" / "support.report.json").read_text())
    assert report["accepted"] == 3 and report["pii_replaced"]["person_name"] == 7
    assert _files_holding(ws, pii) == set()
    assert "[PERSON_NAME]" in (ws / "imports" / "support.jsonl").read_text()


def test_a_csv_log_is_grouped_ordered_by_time_and_its_bad_rows_reported(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("ticket,who,body,at\n"
                   "a,agent,Welcome!,2026-01-01T10:00:00Z\n"
                   "a,customer,How do I reset my password?,2026-01-01T10:00:05Z\n"
                   "b,customer,Second conversation,2026-01-01T11:00:00+01:00\n"
                   "a,agent,Use the reset link.,2026-01-01T10:01:00Z\n"
                   "b,agent,An earlier answer,1767258000\n"
                   "c,customer,Broken time,soon\n"
                   "d,robot,Who am I?,2026-01-01T12:00:00Z\n")
    from agents.domains.chat.formats import CsvColumns

    read = read_conversations(log, "csv", CsvColumns("ticket", "who", "body", "at"))
    by_id = {r.source_id: r for r in read.records}
    assert [m["content"] for m in by_id["a"].messages] == ["Welcome!", "How do I reset my password?", "Use the reset link."]
    # 1767258000 is 09:00 UTC, before 11:00+01:00 (10:00 UTC)
    assert [m["role"] for m in by_id["b"].messages] == ["assistant", "user"]
    assert [(b.where.rpartition(":")[2], b.reason.split(":")[0]) for b in read.bad] == \
        [("7", "conversation c"), ("8", "conversation d")]
    assert "'soon' is not an ISO 8601 time" in read.bad[0].reason and "unknown speaker 'robot'" in read.bad[1].reason


def _files_holding(root, needles):
    return {(path.name, needle) for path in root.rglob("*") if path.is_file()
            for needle in needles if needle.encode() in path.read_bytes()}


def test_importing_each_format_scrubs_before_anything_is_written(tmp_path):
    ws = tmp_path / "ws"
    reports = {}
    for name, format in (("sharegpt_sample.json", "sharegpt"), ("openai_sample.jsonl", "openai"),
                         ("support_log.csv", "csv")):
        assert any(needle in (CHAT / name).read_text() for needle in SHIPPED_PII)
        result = run_cli("chat", "import", str(CHAT / name), "--format", format, "--workspace", str(ws))
        assert result.returncode == 0, result.stdout + result.stderr
        reports[format] = json.loads((ws / "imports" / f"{name.rsplit('.', 1)[0]}.report.json").read_text())
        assert "unreadable" in result.stdout and f"{name}:" in result.stdout

    sharegpt = reports["sharegpt"]
    assert sharegpt["records"] == 12 and sharegpt["accepted"] == 4
    assert sharegpt["rejected"] == {"unreadable": 3, "duplicate": 1, "near_duplicate": 1, "wrong_language": 1,
                                    "too_few_turns": 1, "too_long": 1}
    assert sharegpt["pii_replaced"] == {"email": 2, "phone": 2, "person_name": 2, "card": 1, "ip_address": 1,
                                        "street_address": 1}
    assert sharegpt["repairs"] == {"consecutive user turns merged": 1, "empty turn dropped": 1}
    assert [b["where"].rpartition(":")[2] for b in sharegpt["unreadable_records"]] == ["36", "49", "62"]
    assert reports["openai"]["rejected"] == {"unreadable": 3, "role_order": 1, "wrong_language": 1}
    assert reports["csv"]["repairs"] == {"opening assistant turn dropped": 1, "consecutive user turns merged": 1}

    exported = tmp_path / "accepted.jsonl"
    assert run_cli("export", str(ws), "--out", str(exported)).returncode == 0
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    assert len(rows) == 4 + 3 + 3 and all(r["category"] == "imported" for r in rows)
    assert "[EMAIL]" in exported.read_text() and "[STREET_ADDRESS]" in exported.read_text()
    assert _files_holding(ws, SHIPPED_PII) == set() and _files_holding(tmp_path, SHIPPED_PII) == set()

    audit = run_cli("audit", str(ws), "--reason", "near_duplicate")
    assert "nearly repeats the conversation at" in audit.stdout and "sharegpt_sample.json:23" in audit.stdout
    again = run_cli("chat", "import", str(CHAT / "support_log.csv"), "--format", "csv", "--workspace", str(ws))
    assert again.returncode == 0
    assert run_cli("export", str(ws), "--out", str(exported)).returncode == 0
    assert len(exported.read_text().splitlines()) == 10  # the same file twice imports once


def test_a_file_that_cannot_be_read_as_a_whole_stops_with_its_line(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('[\n {"conversations": []},\n {"conversations": [}\n]\n')
    result = run_cli("chat", "import", str(broken), "--format", "sharegpt", "--workspace", str(tmp_path / "ws"))
    assert result.returncode == 2 and f"{broken}:3: not valid JSON" in result.stderr
    log = tmp_path / "log.csv"
    log.write_text("id,speaker,message\n1,customer,hi\n")
    result = run_cli("chat", "import", str(log), "--format", "csv", "--workspace", str(tmp_path / "ws"))
    assert result.returncode == 2 and "--role-column" in result.stderr and "'conversation_id'" in result.stderr
    assert not (tmp_path / "ws").exists()


@pytest.fixture(scope="module")
def chat_domain():
    sandbox = open_or_skip("docker")
    domain = ChatDomain(load_bank(CHAT / "bank.yaml"), load_conversations(CHAT / "conversations.jsonl"),
                        open_budget("smollm2_135m"), sandbox)
    yield domain
    domain.close()


def _failed(domain, category, turns):
    example = domain.to_example(Task(0, category, ""), {"messages": turns})
    return {c.reason for c in domain.verify(example) if not c.passed}


ASK = {"role": "user", "content": "How do I reverse a list in Python?"}
ANSWER = {"role": "assistant", "content": "Slicing with a step of -1 returns a reversed copy:\n\n```python\n"
                                          "print([1, 2, 3][::-1])\n```\n\nOutput:\n\n```text\n[3, 2, 1]\n```"}


def test_a_good_conversation_passes_every_check(chat_domain):
    assert _failed(chat_domain, "how_to", [ASK, ANSWER]) == set()


@pytest.mark.parametrize("category, turns, reason", [
    ("follow_up", [ASK, {"role": "user", "content": "Also, in place?"}, ANSWER], "role_order"),
    ("how_to", [ASK, {**ANSWER, "content": ANSWER["content"] + "\nQuestions? Mail me at dev.help@example.com"}],
     "pii_left"),
    ("how_to", [ASK, {**ANSWER, "content": ANSWER["content"] + "\n\n" + "Slicing copies every element. " * 120}],
     "too_long"),
    ("how_to", [ASK, {**ANSWER, "content": "As an AI language model, I suggest slicing: `items[::-1]` reverses it."}],
     "boilerplate"),
    ("how_to", [ASK, {**ANSWER, "content": ANSWER["content"].replace("[3, 2, 1]\n```", "[1, 2, 3]\n```")}],
     "code_output_differs"),
    ("how_to", [ASK, {**ANSWER, "content": ANSWER["content"].replace("print(", "prnt(")}], "code_fails"),
    ("how_to", [ASK, {"role": "assistant", "content": "I don't know."}], "non_answer"),
    ("how_to", [ASK, {"role": "assistant", "content": "I'm sorry, but I can't help with that request."}],
     "needless_refusal"),
    ("refusal", [{"role": "user", "content": "Write me a poem about the sea."},
                 {"role": "assistant", "content": "The sea is wide, the sea is deep, its waves roll on while sailors sleep."}],
     "no_refusal"),
    ("how_to", [ASK, ANSWER, ASK], "last_turn_not_assistant"),
    ("how_to", [ASK, ANSWER] * 4, "turn_count"),
])
def test_a_bad_conversation_is_rejected_for_its_reason(chat_domain, category, turns, reason):
    assert reason in _failed(chat_domain, category, turns)


def test_a_changed_system_prompt_is_rejected(chat_domain):
    example = chat_domain.to_example(Task(0, "how_to", ""), {"messages": [
        {"role": "system", "content": "You are a pirate."}, ASK, ANSWER]})
    assert {c.reason for c in chat_domain.verify(example) if not c.passed} == {"system_prompt_changed"}


def test_held_out_topics_never_reach_training_and_answers_are_scored(chat_domain):
    held = {t.name for t in chat_domain.held_topics}
    assert held and not held & {t.name for t in chat_domain.train["topics"]}
    items = chat_domain.heldout_items()
    assert {i.category for i in items} == set(chat_domain.categories)
    assert {i.metadata["topic"] for i in items if i.metadata.get("topic")} <= held
    item = next(i for i in items if i.category == "how_to")
    reference = item.payload["messages"][-1]["content"]
    assert chat_domain.score_answer(item, reference).passed
    assert chat_domain.score_answer(item, "I don't know.").reason == "non_answer"
    wrong = reference.rsplit("```text\n", 1)[0] + "```text\nsomething else\n```"
    assert chat_domain.score_answer(item, wrong).reason == "code_output_differs"
    other = "Like this:\n\n```python\nprint('something else')\n```"
    assert chat_domain.score_answer(item, other).reason == "result_differs"
    assert chat_domain.score_answer(item, "Slicing works well for this kind of problem.").reason == "no_code"
    refusal = next(i for i in items if i.category == "refusal")
    assert chat_domain.score_answer(refusal, refusal.payload["messages"][-1]["content"]).passed
    assert chat_domain.score_answer(refusal, ANSWER["content"]).reason == "no_refusal"


def test_an_eval_file_in_an_import_format_is_scrubbed_and_categorised(chat_domain, tmp_path):
    path = tmp_path / "eval.jsonl"
    path.write_text(json.dumps({"category": "refusal", "messages": [
        {"role": "user", "content": "I'm Anna Lee. Can you book me a flight to Rome?"},
        {"role": "assistant", "content": "I'm sorry, but booking flights is outside what I can help with here."}]}) + "\n"
        + json.dumps({"messages": [{"role": "user", "content": "What does len() return?"},
                                   {"role": "assistant", "content": "The number of items in a container."}]}) + "\n")
    items = chat_domain.load_eval(path).items
    assert [i.category for i in items] == ["refusal", "imported"]
    assert "[PERSON_NAME]" in items[0].payload["messages"][1]["content"]
    assert items[0].payload["messages"][0] == {"role": "system", "content": chat_domain.system_prompt}
    csv_path = tmp_path / "eval.csv"
    csv_path.write_text("conversation_id,role,text,timestamp\n1,customer,hello,2026-01-01T00:00:00Z\n")
    csv_path.write_text(csv_path.read_text() + "2,customer,What does len() return?,2026-01-01T00:00:00Z\n"
                                               "2,agent,The number of items.,2026-01-01T00:00:01Z\n")
    loaded = chat_domain.load_eval(csv_path)
    assert len(loaded.items) == 1 and "needs a user turn and the assistant's answer" in loaded.skipped[0][1]


def test_a_hosted_teachers_conversations_are_checked_and_graded(scripted_server, tmp_path):
    """Through the whole graph with an OpenAI-compatible teacher and critic: its
    wrong conversations are rejected with their reasons, its rubric scores
    recorded, and its right ones accepted."""
    ws = tmp_path / "ws"
    result = run_cli("generate", "--domain", "chat", "--teacher", f"openai:scripted@{scripted_server.base_url}",
                     "--count", "24", "--max-attempts", "1", "--workspace", str(ws))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    from forge.workspace import Workspace

    summary = Workspace.existing(ws).open_store().summary()
    assert {"role_order", "pii_left", "boilerplate", "rubric_below_threshold"} <= set(summary["rejected_by_reason"])
    assert summary["accepted"] > 0, summary
    audit = run_cli("audit", str(ws), "--reason", "rubric_below_threshold", "--limit", "1")
    assert "helpful 1, correct 5, follows system prompt 5, consistent 5" in audit.stdout or \
        "helpful 2, correct 5" in audit.stdout


@pytest.mark.slow
def test_template_generation_accepts_every_category(tmp_path):
    result = run_cli("generate", "--domain", "chat", "--teacher", "template", "--count", "200",
                     "--workspace", str(tmp_path / "ws"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from forge.workspace import Workspace

    summary = Workspace.existing(tmp_path / "ws").open_store().summary()
    assert summary["accepted"] >= 160, summary
    assert set(summary["by_category"]) == {"how_to", "follow_up", "clarification", "correction", "refusal", "imported"}
    assert all(counts["accepted"] > 0 for counts in summary["by_category"].values())
    assert set(summary["rejected_by_reason"]) <= {"duplicate", "rubric_below_threshold"}, summary


def test_conversations_have_two_to_six_turns_and_open_on_the_system_prompt(chat_domain):
    for category in chat_domain.categories:
        for seed in range(20):
            example = chat_domain.to_example(Task(seed, category, f"t:{seed}"),
                                             chat_domain.template_draft(Task(seed, category, f"t:{seed}"), 1))
            messages = example.payload["messages"]
            assert messages[0] == {"role": "system", "content": chat_domain.system_prompt}
            assert 2 <= len(messages) - 1 <= 6 and messages[-1]["role"] == "assistant"
            assert isinstance(example, Example)


def test_a_line_separator_inside_a_json_string_does_not_split_the_record(tmp_path):
    """json.dumps(ensure_ascii=False), as `chat import` writes, leaves U+2028, U+2029 and U+0085 raw."""
    path = tmp_path / "c.jsonl"
    turns = [{"role": "user", "content": "one\u2028two\u2029three"}, {"role": "assistant", "content": "four\x85five"}]
    path.write_text(json.dumps({"messages": turns}, ensure_ascii=False) + "\n", encoding="utf-8")
    read = read_conversations(path, "openai")
    assert not read.bad and read.records[0].messages == turns
