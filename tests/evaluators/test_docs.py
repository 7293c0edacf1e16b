"""Reading documentation (Markdown, reStructuredText, HTML, PDF) into sections
with stable ids and spans, reporting unreadable files, and the checks on
cited, quoted answers: each hand-made bad answer is rejected with its reason."""

import shutil
from pathlib import Path

import pytest

from evaluators import docs as check
from evaluators.docs_corpus import load_docs
from forge.errors import InputError
from tests.conftest import REPO

DOCS = REPO / "data" / "docs"
HTTPX = REPO.parent / "shared" / "data" / "docs" / "httpx"


@pytest.fixture(scope="module")
def corpus():
    return load_docs(DOCS)


def test_every_format_splits_into_sections_by_heading(corpus):
    formats = {Path(s.file).suffix for s in corpus.sections.values()}
    assert formats == {".md", ".rst", ".html", ".pdf"} and len(corpus.sections) >= 30
    kinds = {b.kind for s in corpus.sections.values() for b in s.blocks}
    assert {"paragraph", "steps", "list", "table", "code", "note"} <= kinds

    workers = corpus.section("configuration.md#worker-options")
    assert workers.path == ("Configuration", "Worker options") and workers.span == (28, 39) and workers.unit == "lines"
    assert workers.blocks[1].rows[0] == ("Option", "Default", "Description")
    assert "`concurrency` | `4` | Most runs a worker executes at the same time." in workers.text

    submit = corpus.section("cli.rst#kestrel-submit")  # an option list read as a table
    assert ("--wait", "Wait for the run to finish and exit with its exit code.") in submit.blocks[2].rows
    assert corpus.section("cli.rst#kestrel-cancel").blocks[-1].kind == "note"

    locked = corpus.section("troubleshooting.html#ks204-database-is-locked")
    assert locked.blocks[-1].kind == "steps" and locked.span[0] == 22
    assert "`KS204: database is locked`" in locked.text

    workers_pdf = corpus.section("architecture.pdf#workers")  # a larger-font, numbered heading
    assert workers_pdf.unit == "pages" and workers_pdf.span == (2, 2)
    assert "two workers can never claim the same run" in workers_pdf.text

    assert corpus.section("install.md#upgrading").blocks[-1].label == "warning"  # a MkDocs admonition
    assert corpus.title == "Kestrel"


def test_bad_files_are_reported_and_the_rest_still_load(tmp_path):
    folder = tmp_path / "docs"
    shutil.copytree(DOCS, folder)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf")
    (folder / "logo.md").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    (folder / "latin1.rst").write_bytes("Caf\xe9\n====\n".encode("latin-1"))
    (folder / "logo.png").write_bytes(b"\x89PNG")
    corpus = load_docs(folder)
    problems = "\n".join(corpus.problems)
    assert "broken.pdf: not a readable PDF" in problems
    assert "logo.md: a binary file, not text" in problems
    assert "latin1.rst: not UTF-8 text (byte 3)" in problems
    assert corpus.skipped == 1 and len(corpus.sections) == len(load_docs(DOCS).sections)

    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no documentation files"):
        load_docs(tmp_path / "empty")
    with pytest.raises(InputError, match="does not exist"):
        load_docs(tmp_path / "nowhere")


def test_a_single_markdown_file_is_a_docs_set():
    corpus = load_docs(REPO / "README.md")
    assert corpus.title == "DomainForge" and all(s.file == "README.md" for s in corpus.sections.values())
    assert "README.md#quick-start" in corpus.sections


@pytest.mark.skipif(not HTTPX.is_dir(), reason="the HTTPX docs are not beside this checkout")
def test_the_real_httpx_documentation_reads():
    corpus = load_docs(HTTPX)
    assert not corpus.problems and len(corpus.sections) >= 150 and corpus.title == "HTTPX"
    proxies = corpus.section("advanced/proxies.md#http-proxies")
    assert proxies is not None and "proxy" in proxies.text.lower()
    assert any(b.kind == "note" for s in corpus.sections.values() for b in s.blocks)


# -- the checks ------------------------------------------------------------------------

GOOD = ('The `concurrency` option is the most runs a worker executes at the same time. The default is `4`.\n\n'
        'Sources:\n[configuration.md#worker-options] "Most runs a worker executes at the same time."')


def reasons(checks):
    return {c.reason for c in checks if not c.passed}


def test_a_grounded_answer_passes_every_check(corpus):
    checks = check.check_covered_answer(corpus, GOOD)
    assert not reasons(checks), checks
    assert {c.name for c in checks} == {"citations_exist", "quotes_in_sections", "tokens_grounded", "supported"}


def test_a_quote_that_is_not_in_the_cited_section_is_rejected(corpus):
    bad = GOOD.replace('"Most runs a worker executes at the same time."', '"Workers never run more than four jobs."')
    assert reasons(check.check_covered_answer(corpus, bad)) >= {"quote_not_in_section"}
    elsewhere = GOOD.replace("configuration.md#worker-options", "configuration.md#server-options")
    assert "quote_not_in_section" in reasons(check.check_covered_answer(corpus, elsewhere))


def test_a_citation_of_a_section_that_does_not_exist_is_rejected(corpus):
    bad = GOOD.replace("configuration.md#worker-options", "configuration.md#worker-limits")
    assert reasons(check.check_covered_answer(corpus, bad)) == {"unknown_section"}
    assert reasons(check.check_covered_answer(corpus, "Use four workers.")) == {"no_citation"}


def test_a_made_up_option_or_number_is_rejected(corpus):
    made_up_option = GOOD.replace("The default is `4`.", "Set it with `--max-workers`.")
    result = check.check_covered_answer(corpus, made_up_option)
    assert reasons(result) == {"ungrounded_token"} and "--max-workers" in str(result)
    made_up_number = GOOD.replace("The default is `4`.", "The default is 16.")
    result = check.check_covered_answer(corpus, made_up_number)
    assert reasons(result) == {"ungrounded_token"} and "16" in str(result)


def test_an_answer_the_cited_text_does_not_support_is_rejected(corpus):
    bad = ("Workers are elected by a consensus protocol and replicate their queue across data centres.\n\nSources:\n"
           '[configuration.md#worker-options] "Most runs a worker executes at the same time."')
    result = check.check_covered_answer(corpus, bad)
    assert reasons(result) == {"unsupported"} and "content-word precision" in str(result)


def test_a_not_covered_question_must_be_refused_and_really_not_covered(corpus):
    question = "Does Kestrel support LDAP authentication?"
    refusal = "The documentation does not cover LDAP authentication, so I cannot answer from it."
    assert not reasons(check.check_not_covered(corpus, question, refusal))
    answered = "Yes: set `ldap.url` in the `[server]` table."
    assert reasons(check.check_not_covered(corpus, question, answered)) == {"answered_not_covered"}
    covered = check.check_not_covered(corpus, "What does the worker concurrency option do?", refusal)
    assert reasons(covered) == {"covered_by_docs"} and "configuration.md#worker-options" in str(covered)


def test_quotes_compare_after_whitespace_and_markdown_normalisation(corpus):
    answer = ('The `bind` option is the address of the HTTP status API.\n\nSources:\n'
              '[configuration.md#server-options] "Address of the   HTTP status **API**."')
    assert not reasons(check.check_covered_answer(corpus, answer))
    assert check.plain("Use `storage.path` and **bold** [a link](x.md), it’s fine") == \
        "Use storage.path and bold a link, it's fine"
