"""The Cypher domain and the example graph, run in process on the real demo graph."""

import asyncio
import json

import pytest

from agents.domains import Task
from agents.domains.cypher.plans import LEVELS
from agents.example_graph import build_example_graph
from agents.generation import GenerationConfig, category_schedule, run_generation
from agents.teachers.base import LLMTeacher
from agents.teachers.cache import ChatResult, ResponseCache
from agents.teachers.template import TemplateTeacher
from forge.records import Example, Lineage
from forge.sqlite_store import SQLiteStore


def test_template_critic_catches_a_question_that_does_not_match(cypher_domain):
    example = Example("cypher", "property_filter", "instruction",
                      {"instruction": "Which books were published in 1999?", "input": "",
                       "output": "MATCH (a:Author {name: 'Ada Lind'}) RETURN a.born AS born"})
    critique = cypher_domain.template_critique(example)
    assert critique["verdict"] == "disagree" and "Ada Lind" in critique["reason"]


def test_category_schedule_follows_weights_and_interleaves():
    cats = ("a", "b", "c")
    assert category_schedule(cats, {}, 6) == ["a", "b", "c", "a", "b", "c"]
    weighted = category_schedule(cats, {"a": 3, "b": 1}, 8)
    assert weighted.count("a") == 6 and weighted.count("b") == 2 and "c" not in weighted
    assert weighted[:4].count("a") == 3
    with pytest.raises(ValueError):
        category_schedule(cats, {"a": 0}, 3)


class ScriptedLLM(LLMTeacher):
    """Stands in for a model (the boundary we do not own): replies in order."""

    def __init__(self, replies, tmp_path):
        super().__init__(ResponseCache(tmp_path / "cache.sqlite"))
        self.spec = self.model_id = "scripted"
        self.replies = list(replies)
        self.seen = []

    async def _chat(self, messages, output):
        self.seen.append(messages)
        return ChatResult(self.replies.pop(0), tokens_in=10, tokens_out=5)


def run_one(domain, teacher, critic, store, category="simple_retrieval"):
    graph = build_example_graph(domain, teacher, critic, store, max_attempts=3)
    lineage = Lineage(run_id="r", round=0, slot=0, teacher=teacher.spec, critic=critic.spec)
    state = asyncio.run(graph.ainvoke({"task": Task(0, category, "s"), "lineage": lineage}))
    return state, lineage


def test_repair_feeds_the_verifier_findings_back(cypher_domain, tmp_path):
    bad = json.dumps({"question": "Which Writer is named 'Ada'?", "cypher": "MATCH (w:Writer {name: 'Ada'}) RETURN w.name"})
    good = json.dumps({"question": "How many Author nodes are there?", "cypher": "MATCH (n:Author) RETURN count(n) AS count"})
    teacher = ScriptedLLM([bad, good], tmp_path)
    store = SQLiteStore(tmp_path / "s.sqlite")
    state, lineage = run_one(cypher_domain, teacher, TemplateTeacher(cypher_domain), store)
    assert state["verdict"].accepted and lineage.attempts == 2
    assert "unknown label :Writer" in teacher.seen[1][-1]["content"]  # the second prompt carries the finding
    assert [e["node"] for e in lineage.events] == ["generate", "critique", "verify", "repair",
                                                   "generate", "critique", "verify", "decide"]
    assert lineage.tokens_in == 20 and lineage.prompt_hash


def test_malformed_output_gets_one_repair_then_is_rejected(cypher_domain, tmp_path):
    teacher = ScriptedLLM(["{not json", '{"question": "only half"}'], tmp_path)
    state, lineage = run_one(cypher_domain, teacher, TemplateTeacher(cypher_domain), SQLiteStore(tmp_path / "s.sqlite"))
    assert state["verdict"].reasons == ["teacher_output_invalid"]
    assert len(teacher.seen) == 2 and "not valid" in teacher.seen[1][-1]["content"]
    assert lineage.calls[0].repaired and lineage.events[-1]["node"] == "decide"


def test_a_run_resumes_without_redoing_finished_slots(cypher_domain, tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite")
    teacher = TemplateTeacher(cypher_domain)
    config = GenerationConfig(domain="cypher", sources={"graph": "demo"}, teacher="template", critic="template", count=30)
    first = asyncio.run(run_generation(cypher_domain, teacher, teacher, store, config))
    assert first.done == 30 and first.skipped == 0
    bigger = GenerationConfig(domain="cypher", sources={"graph": "demo"}, teacher="template", critic="template", count=50)
    assert bigger.run_id == config.run_id
    second = asyncio.run(run_generation(cypher_domain, teacher, teacher, store, bigger))
    assert second.skipped == 30 and second.done == 20
    assert store.finished_slots(config.run_id) == set(range(50))
    categories = {e.category for e in store.accepted_examples()}
    assert categories == set(cypher_domain.categories) == set(LEVELS)
