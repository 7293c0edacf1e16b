"""The llama.cpp teacher on a tiny GGUF model built here: a random Llama with a
locally trained SentencePiece tokenizer, converted by llama.cpp's own script."""

import asyncio
import json
import sqlite3

import pytest

from agents.domains import Critique, Task
from agents.domains.cypher.generate import CypherDraft
from agents.teachers.base import TeacherRequest
from agents.teachers.cache import ResponseCache
from agents.teachers.llamacpp import LlamaCppTeacher
from tests.conftest import DEMO_GRAPH, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    from trainer.gguf import convert_to_gguf
    from trainer.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("tiny")
    texts = [line for line in DEMO_GRAPH.read_text().splitlines() if line.strip()]
    model_dir = build_tiny_model(root / "hf", texts, vocab_size=600)
    return convert_to_gguf(model_dir, root / "tiny.gguf", outtype="f16")


def test_output_always_matches_the_schema(tiny_gguf, cypher_domain, tmp_path):
    teacher = LlamaCppTeacher(tiny_gguf, cache=ResponseCache(tmp_path / "cache.sqlite"))

    async def ask():
        replies = []
        for slot in range(6):
            task = Task(slot, cypher_domain.categories[slot], f"s{slot}")
            messages = cypher_domain.generation_messages(task, "")
            replies.append(await teacher.complete(TeacherRequest("generate", messages, CypherDraft, 1, task=task)))
        example = cypher_domain.to_example(Task(0, "basic_match", "s"), {"question": "How many books?",
                                                                         "cypher": "MATCH (b:Book) RETURN count(b)"})
        replies.append(await teacher.complete(TeacherRequest(
            "critique", cypher_domain.critique_messages(example), Critique, 1, example=example)))
        return replies

    replies = asyncio.run(ask())
    for reply in replies[:-1]:
        assert reply.data is not None, reply.problem
        CypherDraft.model_validate(reply.data)
        assert not reply.call.repaired and reply.call.tokens_out > 0
    assert replies[-1].data["verdict"] in ("agree", "disagree")


def test_generate_runs_with_a_local_gguf_teacher(tiny_gguf, tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("generate", "--teacher", f"llamacpp:{tiny_gguf}", "--critic", "template", "--count", "4",
                     "--max-attempts", "1", "--workspace", str(ws))
    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(ws / "examples.sqlite")
    lineages = [json.loads(row[0]) for row in db.execute("SELECT lineage FROM slots")]
    assert len(lineages) == 4
    for lineage in lineages:
        assert lineage["teacher"].startswith("llamacpp:") and lineage["critic"] == "template"
        assert lineage["calls"][0]["tokens_out"] > 0
    # An untrained model writes nonsense: it must be rejected by the verifier, never by a parse error.
    reasons = {r for (rs,) in db.execute("SELECT reasons FROM slots") for r in json.loads(rs)}
    assert "teacher_output_invalid" not in reasons


def test_the_harness_answers_with_an_exported_gguf(tiny_gguf, cypher_domain):
    from evaluators.harness import answer_with_gguf, score_answers, summarise

    items = []
    for slot, category in enumerate(cypher_domain.categories[:3]):
        task = Task(slot, category, f"gguf:{slot}")
        items.append(cypher_domain.to_example(task, cypher_domain.template_draft(task, 1)))
    answers = answer_with_gguf(tiny_gguf, items, max_new_tokens=16)
    assert len(answers) == 3 and all(isinstance(a, str) for a in answers)
    summary = summarise(score_answers(items, answers, cypher_domain.score_answer))
    assert summary["n"] == 3 and set(summary["by_category"]) == set(cypher_domain.categories[:3])



def test_a_reply_with_long_string_bounds_is_sampled(tiny_gguf, tmp_path):
    """The docs draft's 4000-character bound once became 4000 nested grammar
    rules, and sampling under them crashed llama.cpp (a segfault)."""
    from agents.domains.docs.generate import DocsDraft
    from agents.teachers.llamacpp import without_long_string_bounds

    assert "maxLength" not in json.dumps(without_long_string_bounds(DocsDraft.model_json_schema()))
    assert '"maxLength": 300' in json.dumps(without_long_string_bounds(CypherDraft.model_json_schema()))
    teacher = LlamaCppTeacher(tiny_gguf, cache=ResponseCache(tmp_path / "cache.sqlite"), max_tokens=64)
    messages = [{"role": "user", "content": "Ask and answer one question about the docs."}]
    reply = asyncio.run(teacher.complete(TeacherRequest("generate", messages, DocsDraft, 1)))
    assert reply.data is not None or reply.problem  # it parses, or says why not: it does not crash


def test_a_prompt_longer_than_the_context_fails_the_request_not_the_run(tiny_gguf, tmp_path):
    teacher = LlamaCppTeacher(tiny_gguf, cache=ResponseCache(tmp_path / "cache.sqlite"), max_tokens=16)
    messages = [{"role": "user", "content": "MATCH (n:Book) RETURN n " * 2000}]
    reply = asyncio.run(teacher.complete(TeacherRequest("generate", messages, CypherDraft, 1)))
    assert reply.data is None and reply.call.error == "teacher_unavailable"
    assert "does not fit the model's context" in reply.problem and reply.call.retries == ["context_overflow"]
