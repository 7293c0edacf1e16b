"""The docs domain: template questions in every category verify against our
docs set, held-out sections never reach training, the critic sees what the
answer cites, and the student's answers are graded on citations, quotes,
overlap and refusals."""

import json
import random
import re

import pytest

from agents.domains import Task
from agents.domains.docs.generate import CATEGORIES, MIN_SECTIONS_TO_HOLD_OUT, NOT_COVERED, DocsDomain
from agents.domains.docs.corpus import load_docs
from forge.errors import InputError
from tests.conftest import REPO, run_cli

DOCS = REPO / "data" / "docs"


@pytest.fixture(scope="module")
def domain():
    """Closed book, as before open-book contexts (those are tested in test_open_book.py)."""
    return DocsDomain(load_docs(DOCS), context="none")


@pytest.mark.parametrize("context", ["none", "retrieved"])
def test_every_category_verifies_from_templates(context):
    domain = DocsDomain(load_docs(DOCS), context=context)
    assert domain.categories == tuple(CATEGORIES)
    for category in domain.categories:
        for slot in range(20):
            task = Task(slot, category, f"t:{slot}")
            example = domain.to_example(task, domain.template_draft(task, 1))
            failed = [c for c in domain.verify(example) if not c.passed]
            withheld = bool(example.metadata.get("oracle"))  # open book: the sections that answer it left out
            # a few withheld ones are rightly rejected: a distractor holds what the question asks
            assert not failed or withheld and failed[0].reason in ("covered_by_context", "ill_formed_question"), \
                (category, example.payload, failed)
            assert example.metadata["system"].startswith("Answer questions about the documentation of Kestrel")
            assert bool(example.metadata["sections"]) == (category != NOT_COVERED and not withheld)


def test_held_out_sections_never_reach_training(domain):
    assert domain.held_out and len(domain.held_out) < len(domain.corpus.sections) / 3
    cited = {sid for category in domain.categories for slot in range(40)
             for sid in domain.to_example(Task(slot, category, f"s:{slot}"),
                                          domain.template_draft(Task(slot, category, f"s:{slot}"), 0)).metadata["sections"]}
    assert cited and not cited & domain.held_out
    items = domain.heldout_items()
    assert len(items) >= 20 and {i.category for i in items} >= {"configuration", "troubleshooting", NOT_COVERED}
    assert all(set(i.metadata["sections"]) <= domain.held_out for i in items)


def test_a_small_docs_set_holds_nothing_out(tmp_path):
    # The README's opening sections: fewer than a set needs before any is held out.
    readme = (REPO / "README.md").read_text()
    cut = [m.start() for m in re.finditer(r"^#{2,3} ", readme, re.M)][MIN_SECTIONS_TO_HOLD_OUT // 2]
    (tmp_path / "README.md").write_text(readme[:cut])
    small = DocsDomain(load_docs(tmp_path / "README.md"))
    assert not small.held_out and small.heldout_items() is None
    assert small.product == "DomainForge" and NOT_COVERED in small.categories


def test_the_critic_sees_the_cited_sections_in_full(domain):
    task = Task(0, "configuration", "c")
    example = domain.to_example(task, domain.template_draft(task, 0))
    (cited,) = example.metadata["sections"]
    prompt = domain.critique_messages(example)[1]["content"]
    assert domain.corpus.section(cited).text in prompt
    refusal = domain.to_example(Task(1, NOT_COVERED, "n"), domain.template_draft(Task(1, NOT_COVERED, "n"), 0))
    closest = domain.corpus.search(refusal.payload["instruction"])[0].section
    assert closest.text in domain.critique_messages(refusal)[1]["content"]


def test_answers_are_graded_on_citations_quotes_overlap_and_refusal(domain):
    task = Task(0, "configuration", "g")
    item = domain.to_example(task, domain.template_draft(task, 0))
    reference = item.payload["output"]
    assert domain.score_answer(item, reference).passed
    measures = domain.answer_measures(item, reference)
    assert measures == {"citation_precision": 1.0, "citation_recall": 1.0, "quote_grounding": 1.0, "answer_overlap": 1.0}

    wrong_section = reference.replace(item.metadata["sections"][0], "index.md#key-concepts")
    assert domain.score_answer(item, wrong_section).reason == "wrong_citations"
    bad_quote = reference.rsplit('"', 2)[0] + ' and it is magic"'
    assert domain.score_answer(item, bad_quote).reason == "quote_not_in_section"

    refused = domain.to_example(Task(1, NOT_COVERED, "n"), domain.template_draft(Task(1, NOT_COVERED, "n"), 0))
    assert domain.score_answer(refused, "The documentation does not cover this.").passed
    assert domain.score_answer(refused, "Yes, set `ldap = true`.").reason == "answered_not_covered"


def test_an_eval_file_names_its_sections(domain, tmp_path):
    good = tmp_path / "eval.jsonl"
    good.write_text(json.dumps({"question": "What is the default of worker concurrency?",
                                "sections": ["configuration.md#worker-options"], "answer": "The default is 4.",
                                "category": "configuration"}) + "\n"
                    + json.dumps({"question": "Does Kestrel run on a mainframe?", "sections": []}) + "\n")
    items = domain.load_eval(good).items
    assert [i.category for i in items] == ["configuration", NOT_COVERED]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good.read_text() + json.dumps({"question": "x?", "sections": ["configuration.md#nope"]}) + "\n")
    loaded = domain.load_eval(bad)
    assert len(loaded.items) == 2 and loaded.skipped[0][0].endswith("bad.jsonl:3")
    assert "sections configuration.md#nope are not in the docs" in loaded.skipped[0][1]
    with pytest.raises(InputError, match=r"bad.jsonl:2: sections: Input should be a valid list"):
        bad.write_text(good.read_text().splitlines()[0] + "\n" + json.dumps({"question": "x?", "sections": "a#b"}) + "\n")
        domain.load_eval(bad)


def test_generate_on_a_single_markdown_file(tmp_path):
    result = run_cli("generate", "--domain", "docs", "--docs", str(REPO / "README.md"), "--count", "30",
                     "--workspace", str(tmp_path / "ws"))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "accepted" in result.stdout and "category not_covered" in result.stdout


REAL_DOCS = {"httpx": REPO.parent / "shared" / "data" / "docs" / "httpx",
             "more-itertools": REPO.parent / "shared" / "data" / "repos" / "more-itertools" / "docs"}


@pytest.mark.parametrize("name", sorted(REAL_DOCS))
def test_templates_on_real_documentation_verify_and_ask_well_formed_questions(name):
    """HTTPX (MkDocs Markdown) and more-itertools (Sphinx reST, a changelog, autodoc and a missing include)."""
    if not REAL_DOCS[name].is_dir():
        pytest.skip(f"the {name} docs are not beside this checkout")
    real = DocsDomain(load_docs(REAL_DOCS[name]))
    assert real.product == {"httpx": "HTTPX", "more-itertools": "more-itertools"}[name]
    assert {"factual", "how_to", NOT_COVERED} <= set(real.categories)
    for category in real.categories:
        accepted = 0
        for slot in range(30):
            task = Task(slot, category, f"h:{slot}")
            example = real.to_example(task, real.template_draft(task, 0))
            checks = real.verify(example)
            assert next(c for c in checks if c.name == "question_well_formed").passed, example.payload["instruction"]
            assert not re.search(r"--8<--|\{\*|\.\. (?:literal)?include::|:func:`", example.payload["output"])
            accepted += all(c.passed for c in checks)
        assert accepted >= 28, f"{category}: {accepted}/30"


def test_near_paraphrases_of_one_question_are_one_example(tmp_path):
    """Two phrasings of a question about one section, answered alike, share a
    duplicate key: through the graph, only the first is accepted."""
    domain = DocsDomain(load_docs(DOCS))
    fact, _ = domain._pick("how_to", "p", held_out=False)
    drafts = {domain._draft(fact, random.Random(seed))["question"]: domain._draft(fact, random.Random(seed))
              for seed in range(20)}
    examples = [domain.to_example(Task(0, "how_to", ""), d) for d in drafts.values()]
    assert len(examples) >= 2 and len({e.id for e in examples}) == len(examples)
    assert len({domain.duplicate_key(e) for e in examples}) == 1
    ws = tmp_path / "ws"
    result = run_cli("generate", "--domain", "docs", "--count", "80", "--workspace", str(ws))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    exported = tmp_path / "accepted.jsonl"
    assert run_cli("export", str(ws), "--out", str(exported)).returncode == 0
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    keys = [(r["category"], tuple(r["sections"]), r["output"], "" if r["sections"] else r["instruction"]) for r in rows]
    assert rows and len(keys) == len(set(keys))


def test_a_hosted_teachers_bad_answers_are_rejected_with_their_reasons(scripted_server, tmp_path):
    """Through the whole graph: every scripted answer is wrong in one way, and
    `audit` lists each with the check that caught it."""
    ws = tmp_path / "ws"
    result = run_cli("generate", "--domain", "docs", "--teacher", f"openai:scripted@{scripted_server.base_url}",
                     "--count", "30", "--max-attempts", "1", "--workspace", str(ws))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    audit = run_cli("audit", str(ws), "--limit", "50")
    for reason in ("quote_not_in_section", "unknown_section", "ungrounded_token", "answered_not_covered"):
        assert f"({reason})" in audit.stdout, reason
    assert "--turbo-mode" in audit.stdout and "not in the cited sections" in audit.stdout
