"""One contract for every registered domain, opened through the registry the
way the CLI opens it (with the entry's example sources): the members the
protocol names, template examples that verify, a reference answer that scores
as correct, and a known-bad answer that is rejected with a reason. A new
domain is covered by its registry entry alone."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agents.domains import DOMAINS, Task, load_domain, resolve_sources
from agents.domains.base import Domain
from forge.records import Check, Example
from tests.sandbox_backends import IN_CI

WRONG_ANSWER = "I do not know."


@pytest.fixture(scope="module", params=sorted(DOMAINS))
def domain(request):
    from forge.errors import InputError

    try:
        opened = load_domain(request.param, resolve_sources(request.param, DOMAINS[request.param].example))
    except InputError as exc:
        if "sandbox" in str(exc).lower() and not IN_CI:
            pytest.skip(str(exc))
        raise
    yield request.param, opened
    opened.close()


def test_the_protocol_members_are_there(domain):
    name, opened = domain
    assert Domain in type(opened).__mro__  # subclassing the protocol gives the optional members their defaults
    assert opened.metric and opened.categories
    if name != "config":  # a config domain is named by its file
        assert opened.name == name
    assert issubclass(opened.draft_model, BaseModel) and issubclass(opened.critique_model, BaseModel)
    assert set(opened.default_weights) <= set(opened.categories)
    assert isinstance(opened.heldout_size(300), int)


def test_templates_verify_and_their_answers_score_as_correct(domain):
    _, opened = domain
    for category in opened.categories:
        verified = 0
        for slot in range(6):
            task = Task(slot, category, f"conformance:{slot}")
            for attempt in (1, 2, 3):  # as the example graph does: a rejected draft is redrawn
                example = opened.to_example(task, opened.template_draft(task, attempt))
                assert isinstance(example, Example) and example.category == category and example.domain == opened.name
                checks = opened.verify(example)
                assert checks and all(isinstance(c, Check) for c in checks)
                opened.critique_model.model_validate(opened.template_critique(example))
                if all(c.passed for c in checks):
                    verified += 1
                    scored = opened.score_answer(example, example.turns()[-1][1])
                    assert scored.passed, (category, scored)
                    break
            assert opened.generation_messages(task, "")[-1]["role"] == "user"
            assert opened.critique_messages(example)
        assert verified >= 5, f"{category}: only {verified}/6 slots verified within 3 attempts"


def test_a_wrong_answer_is_rejected_and_scored_wrong(domain):
    _, opened = domain
    task = Task(0, opened.categories[0], "conformance:bad")
    example = opened.to_example(task, opened.template_draft(task, 1))
    turns = example.payload.get("messages")
    bad = Example(example.domain, example.category, example.format,
                  {**example.payload, "output": WRONG_ANSWER} if turns is None else
                  {"messages": turns[:-1] + [{"role": "assistant", "content": WRONG_ANSWER}]}, example.metadata)
    failed = [c for c in opened.verify(bad) if not c.passed]
    assert failed and all(c.reason and c.detail for c in failed)
    scored = opened.score_answer(example, WRONG_ANSWER)
    assert not scored.passed and scored.reason


def test_a_verifier_that_raises_fails_its_examples_never_the_run(domain, monkeypatch, tmp_path):
    """Every slot ends as a rejected example with reason verifier_error, the
    exception as evidence and the traceback in its lineage; the run finishes
    and its summary counts them; `audit --reason verifier_error` lists them."""
    import asyncio

    from agents.executors import generate_run
    from agents.generation import GenerationConfig
    from forge.workspace import Workspace
    from tests.conftest import run_cli

    name, opened = domain

    def broken_verify(example):
        raise RuntimeError(f"the verifier broke on {example.category}\nlast line of its message")

    monkeypatch.setattr(opened, "verify", broken_verify)
    ws = Workspace(tmp_path / "ws")
    store = ws.create().open_store()
    config = GenerationConfig(domain=name, sources={}, teacher="template", critic="template", count=4, max_attempts=2)
    progress = asyncio.run(generate_run(opened, store, config, cache_path=ws.cache_path))
    assert progress.done == 4 and progress.accepted == 0 and progress.rejected_by_reason["verifier_error"] == 4
    produced = list(store.produced(run_id=config.run_id))
    assert len(produced) == 4 and store.summary(config.run_id)["rejected_by_reason"]["verifier_error"] == 4
    for item in produced:
        check = next(c for c in item.verdict.checks if c.reason == "verifier_error")
        assert check.detail == "RuntimeError: last line of its message"
        verify_events = [e for e in item.lineage["events"] if e["node"] == "verify"]
        assert len(verify_events) == 2 and all("broken_verify" in e["traceback"] for e in verify_events)
    store.close()
    shown = run_cli("audit", str(ws.root), "--reason", "verifier_error")
    assert shown.returncode == 0 and "RuntimeError: last line of its message" in shown.stdout
    assert "4 rejected shown" in shown.stdout
