"""Open-book repo examples (RAFT): the context holds the spans the answer
cites and distractors that are neither held out nor overlap them; an
implementation reads the function's tests, never the function; a fifth of
the prose examples leave the cited code out and are answered by saying so; a
citation outside the context is rejected. Prose checks need no sandbox."""

import collections

import pytest

from agents.domains.base import Task
from agents.domains.repo.generate import NOT_IN_CONTEXT, SANDBOXED, RepoDomain
from agents.domains.repo.index import index_repository
from agents.domains.repo.passages import covers, overlaps
from evaluators import context as book
from tests.conftest import REPO

GO_DEMO = REPO / "data" / "repo" / "inventory"
PY_DEMO = REPO / "data" / "coding" / "demo_repo"


@pytest.fixture(scope="module", params=["go", "python"])
def domain(request, tmp_path_factory):
    index = index_repository(GO_DEMO if request.param == "go" else PY_DEMO, tmp_path_factory.mktemp("cache"))
    return RepoDomain(index, sandbox=None)


def test_training_contexts_hold_what_the_answer_cites_and_fair_distractors(domain):
    verdicts, withheld, prose = collections.Counter(), 0, 0
    for slot in range(120):
        category = domain.categories[slot % len(domain.categories)]
        example = domain.to_example(Task(slot, category, f"ob:{slot}"),
                                    domain.template_draft(Task(slot, category, f"ob:{slot}"), 0))
        shown = book.read(example.payload["input"])
        assert [p.id for p in shown] == example.metadata["context"] and len(shown) >= 2
        symbol = domain.by_name[example.metadata["symbol"]]
        if category == "implement":  # the function itself would be the answer
            assert not any(overlaps(p.id, symbol.where) for p in shown)
            continue
        if category in SANDBOXED:
            assert any(covers(p, symbol.where) for p in shown)
            continue
        prose += 1
        if example.metadata.get("oracle"):
            withheld += 1
            assert example.payload["output"] == NOT_IN_CONTEXT
            assert not any(overlaps(p.id, o) for p in shown for o in example.metadata["oracle"])
        failed = [c.reason for c in domain.verify(example) if not c.passed]
        verdicts[failed[0] if failed else "accepted"] += 1
    assert verdicts["accepted"] >= 0.9 * prose, verdicts
    assert 0.08 < withheld / prose < 0.35


def test_a_citation_outside_the_context_is_rejected(domain):
    symbol = next(s for s in domain.retriever.symbols if s.doc and s.is_callable)
    answer = f"`{symbol.short}` is a {symbol.kind} defined at `{symbol.where}`."
    far = next(s for s in domain.retriever.symbols if s.path != symbol.path or s.start > symbol.end)
    example = domain.to_example(Task(0, "repo_qa", ""), {"instruction": f"Where is `{symbol.name}` defined?",
                                                         "output": answer, "symbol": symbol.name})
    inside = domain._with_context(example, [domain._passage(symbol, whole=True), domain._passage(far)], answer)
    assert all(c.passed for c in domain.verify(inside))
    outside = domain._with_context(example, [domain._passage(far)], answer)
    failed = [c for c in domain.verify(outside) if not c.passed]
    assert [c.reason for c in failed] == ["cites_outside_context"] and symbol.where in failed[0].detail


def test_an_asked_question_reads_the_code_bm25_finds(domain):
    symbol = next(s for s in domain.retriever.symbols if s.doc and s.is_callable)
    item = domain.ask(f"What does {symbol.short} do? {symbol.doc}")
    assert any(overlaps(p.id, symbol.where) for p in book.read(item.payload["input"]))
    good = f"`{symbol.short}` is defined at `{symbol.path}:{symbol.start}`."  # its first line: a passage may be cut
    assert all(c.passed for c in domain.check_answer(item, good))
    elsewhere = next(p for p in domain.index.files if not any(pid.startswith(p + ":") for pid in item.metadata["context"]))
    flagged = domain.check_answer(item, good + f" See also `{elsewhere}:1-1`.")
    assert any(c.reason == "cites_outside_context" for c in flagged)
    (refusal,) = domain.check_answer(item, NOT_IN_CONTEXT)
    assert refusal.passed and refusal.name == "refusal"
