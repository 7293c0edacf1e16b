"""Open-book docs (RAFT): training contexts hold the oracle and distractors but
never a held-out section, a fifth leave the oracle out and are answered by
saying so, a citation or quote outside the context is rejected, held-out
items read BM25's passages over all the docs, and an asked question's answer
is checked quote by quote."""

import collections

import pytest

from agents.domains import Task
from agents.domains.docs.corpus import load_docs
from agents.domains.docs.generate import NOT_COVERED, NOT_IN_CONTEXT, DocsDomain
from evaluators import context as book
from tests.conftest import REPO

DOCS = REPO / "data" / "docs"


@pytest.fixture(scope="module")
def domain():
    return DocsDomain(load_docs(DOCS), context="retrieved", context_chars=1200)


def examples(domain, n=140):
    for slot in range(n):
        task = Task(slot, domain.categories[slot % len(domain.categories)], f"ob:{slot}")
        yield domain.to_example(task, domain.template_draft(task, 0))


def test_training_contexts_hold_the_oracle_and_distractors_never_held_out_sections(domain):
    withheld = 0
    for example in examples(domain):
        context, shown = example.metadata["context"], book.read(example.payload["input"])
        assert [p.id for p in shown] == context and len(context) == book.PASSAGES
        assert not set(context) & domain.held_out
        assert all(len(p.text) <= 1200 // book.PASSAGES + 200 or example.metadata["sections"] for p in shown)
        if example.metadata.get("oracle"):
            withheld += 1
            assert example.payload["output"] == NOT_IN_CONTEXT and not set(example.metadata["oracle"]) & set(context)
        elif example.category != NOT_COVERED:
            assert set(example.metadata["sections"]) <= set(context)
    covered = sum(1 for slot in range(140) if domain.categories[slot % len(domain.categories)] != NOT_COVERED)
    assert 0.1 < withheld / covered < 0.3


def test_most_template_examples_verify_open_book(domain):
    verdicts = collections.Counter()
    for example in examples(domain):
        failed = [c.reason for c in domain.verify(example) if not c.passed]
        verdicts[failed[0] if failed else "accepted"] += 1
    assert verdicts["accepted"] >= 0.9 * sum(verdicts.values()), verdicts


def test_a_citation_outside_the_context_is_rejected(domain):
    """Hand-made: the answer cites a real section, quoted exactly, that the context does not hold."""
    context = [book.Passage("install.md#installing-with-pip", "To install the latest release from PyPI: create a "
                                                              "virtual environment."),
               book.Passage("index.md#kestrel", "Kestrel is a lightweight job scheduler for a single machine or a "
                                                "small cluster.")]
    cited = "configuration.md#worker-options"
    assert domain.corpus.section(cited) is not None and cited not in [p.id for p in context]
    answer = ("`heartbeat_timeout`: After this long without a heartbeat a worker is presumed dead and its runs are "
              f"requeued.\n\nSources:\n[{cited}] \"After this long without a heartbeat a worker is presumed dead and "
              "its runs are requeued.\"")
    example = domain._example("configuration", "What is `heartbeat_timeout` for?", answer, context=context)
    checks = {c.name: c for c in domain.verify(example)}
    assert checks["quotes_in_sections"].passed  # the quote is right: only where it comes from is wrong
    assert not checks["cites_within_context"].passed
    assert checks["cites_within_context"].reason == "cites_outside_context"
    assert cited in checks["cites_within_context"].detail

    seen = [*context, book.Passage(cited, "Worker options The [worker] table configures every worker process.")]
    example = domain._example("configuration", "What is `heartbeat_timeout` for?", answer, context=seen)
    within = next(c for c in domain.verify(example) if c.name == "cites_within_context")
    assert within.reason == "quote_outside_context"  # cited, but the quote is not in the part shown


def test_held_out_items_read_retrieved_passages_and_have_a_closed_book_twin(domain):
    items = domain.heldout_items()
    assert items and all("context" in i.metadata for i in items)
    withheld = [i for i in items if i.metadata.get("oracle")]
    covered = [i for i in items if i.category != NOT_COVERED and not i.metadata.get("oracle")]
    assert withheld and covered
    assert any(set(i.metadata["context"]) & domain.held_out for i in covered)  # the retriever sees every section
    assert all(not set(i.metadata["oracle"]) & set(i.metadata["context"]) for i in withheld)
    recall = [domain.answer_measures(i, i.payload["output"])["retrieval_recall"] for i in covered]
    assert sum(recall) / len(recall) > 0.5
    for item in covered:
        twin = domain.closed_book(item)
        assert twin.payload["input"] == "" and "context" not in twin.metadata
        assert twin.payload["instruction"] == item.payload["instruction"]
        if domain.answer_measures(item, item.payload["output"])["retrieval_recall"] == 1:
            assert domain.score_answer(item, item.payload["output"]).passed
    assert all(domain.closed_book(i) is None for i in withheld)
    assert domain.score_answer(withheld[0], NOT_IN_CONTEXT).passed
    assert domain.score_answer(withheld[0], withheld[0].payload["output"] + " Yes.").passed  # still a refusal
    wrong = domain.score_answer(withheld[0], "Set `concurrency = 8`.\n\nSources:\n[index.md#kestrel] \"Kestrel\"")
    assert wrong.reason == "answered_without_source"


def test_an_asked_question_is_checked_quote_by_quote(domain):
    item = domain.ask("What does the heartbeat_timeout option of a worker do?")
    assert "configuration.md#worker-options" in item.metadata["context"]
    good = ("After this long without a heartbeat a worker is presumed dead.\n\nSources:\n"
            "[configuration.md#worker-options] \"After this long without a heartbeat a worker is presumed dead\"")
    assert all(c.passed for c in domain.check_answer(item, good))
    made_up = good.replace("presumed dead\"", "restarted at once\"")
    quotes = [c for c in domain.check_answer(item, made_up) if c.name == "quote"]
    assert len(quotes) == 1 and not quotes[0].passed and quotes[0].reason == "quote_not_in_section"
    elsewhere = [s for s in domain.corpus.sections if s not in item.metadata["context"]][0]
    outside = domain.check_answer(item, good + f"\n[{elsewhere}] \"x\"")
    assert any(c.name == "citation" and c.reason == "cites_outside_context" for c in outside)
    (refusal,) = domain.check_answer(item, NOT_IN_CONTEXT)
    assert refusal.name == "refusal" and refusal.passed


def test_refusals_repeat_no_more_than_the_answers_they_withhold(domain):
    """Two phrasings of one question whose oracle is withheld are one example, as two phrasings of the answered
    question are: otherwise refusals pile up round after round while answers are deduplicated."""
    fact, _ = domain._pick("how_to", "p", held_out=False)
    drafts = [domain._draft(fact, __import__("random").Random(seed)) for seed in range(20)]
    question_of = {d["question"]: d for d in drafts}
    assert len(question_of) >= 2
    withheld = [domain._example("how_to", q, NOT_IN_CONTEXT, [], [], d["answer"]) for q, d in question_of.items()]
    answered = [domain._example("how_to", q, d["answer"], context=[]) for q, d in question_of.items()]
    assert len({domain.duplicate_key(e) for e in withheld}) == len({domain.duplicate_key(e) for e in answered}) == 1
