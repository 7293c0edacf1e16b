"""Reading documentation (Markdown, reStructuredText, HTML, PDF) into sections
with stable ids and spans, reporting unreadable files, and the checks on
cited, quoted answers: each hand-made bad answer is rejected with its reason."""

import shutil
from pathlib import Path

import pytest

from agents.domains.docs import verify as check
from agents.domains.docs.corpus import load_docs
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


def test_ill_formed_questions_are_rejected_and_well_formed_ones_pass():
    """The questions a user found in accepted data, and what they should have been."""
    cited = ("AnyIO is an asynchronous networking library. A job is a unit of work; a run is one execution of a job. "
             "`.iter_raw()` streams the raw bytes.")
    for bad in ("Define They.", "What is Here?", "What does the documentation say This is?",
                "What are the steps to call them like?", "What should I do when standard Error?",
                "Does  support Excel exports?", "How do I include URL query parameters, use the `params` keyword?",
                "How do I run the documentation site locally (useful for previewing changes), use?",
                "What is the scheduler?"):
        result = check.check_question(bad, cited)
        assert not result.passed and result.reason == "ill_formed_question", bad
    for good in ("What is AnyIO?", "What is the difference between a job and a run?", "Define a job.",
                 "How do I include URL query parameters in the request?", "What is `.iter_raw()`?",
                 "What should I do when the handshake operation times out?", "What does the 'Proxies' section warn about?",
                 "What is new in version 2.0 of HTTPX?", "I want to run the tests. What do I do?"):
        assert check.check_question(good, cited).passed, good


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_mkdocs_includes_are_resolved_or_left_out_and_the_title_comes_from_the_config(tmp_path):
    project = tmp_path / "typer"
    write(project / "mkdocs.yml", "site_name: Typer\ntheme:\n  name: material\n")
    write(project / "docs_src" / "users" / "add.py", "import typer\n\n\ndef add(name: str):\n    print(f'Adding {name}')\n")
    write(project / "docs" / "snippets" / "note.md", "Every command gets `--help` for free.\n")
    write(project / "docs" / "index.md", "# ![](img/logo.png)\n\nTyper builds command-line apps.\n")
    write(project / "docs" / "commands.md",
          "# One file per command\n\nTo add a user, write a function:\n\n{* docs_src/users/add.py *}\n\n"
          "{* docs_src/users/missing.py hl[3] *}\n\n--8<-- \"snippets/note.md\"\n\n--8<-- \"snippets/gone.md\"\n\n"
          "```python\n--8<-- \"docs_src/users/add.py\"\n```\n")
    corpus = load_docs(project / "docs")
    section = corpus.section("commands.md#one-file-per-command")
    assert [b.kind for b in section.blocks] == ["paragraph", "code", "paragraph", "code"]
    assert section.blocks[1].label == "python" and "def add(name: str):" in section.blocks[1].text
    assert "Every command gets `--help` for free." in section.text
    assert "missing.py" not in section.text and "gone.md" not in section.text and "--8<--" not in section.text
    assert corpus.title == "Typer"  # from mkdocs.yml: the first heading is only an image
    assert load_docs(project / "docs", title="Typer CLI").title == "Typer CLI"
    (project / "mkdocs.yml").unlink()
    write(project / "pyproject.toml", "[build-system]\nrequires = []\n\n[project]\nname = \"typer-slim\"\n")
    assert load_docs(project / "docs").title == "typer-slim"
    (project / "pyproject.toml").unlink()
    assert load_docs(project / "docs").title == "typer"  # the folder holding docs/


def test_sphinx_includes_and_roles_are_resolved_or_left_out(tmp_path):
    docs = tmp_path / "mylib" / "docs"
    write(docs / "conf.py", "project = 'mylib'\nextensions = ['sphinx.ext.autodoc']\n")
    write(docs / "examples" / "demo.py", "line one\nline two\nline three\n")
    write(docs / "shared.rst", "Shared text about :func:`mylib.chunked` and :ref:`the guide <guide>`.\n")
    write(docs / "index.rst", ".. include:: ./_build/README.pprst\n")
    write(docs / "usage.rst", "Usage\n=====\n\nCall :func:`~mylib.tools.chunked` to split.\n\n"
                              ".. literalinclude:: examples/demo.py\n   :lines: 2-3\n\n"
                              ".. literalinclude:: examples/missing.py\n\n.. include:: shared.rst\n\n"
                              ".. autofunction:: chunked\n")
    corpus = load_docs(docs)
    usage = corpus.section("usage.rst#usage")
    assert usage.blocks[0].text == "Call `chunked` to split."
    assert [b.kind for b in usage.blocks] == ["paragraph", "code", "paragraph"]
    assert usage.blocks[1].text == "line two\nline three" and usage.blocks[1].label == "python"
    assert usage.blocks[2].text == "Shared text about `mylib.chunked` and the guide."
    assert "autofunction" not in usage.text and "missing.py" not in usage.text
    assert any("index.rst" in p for p in corpus.problems)  # it only includes a file that is not there
    assert corpus.title == "mylib"


def test_nested_bullets_are_items_of_their_own(tmp_path):
    md = write(tmp_path / "docs" / "changes.md", "# Changes\n\n## 2.0.0\n\n* Fixes:\n    * `chunked` handles empty input\n"
                                                 "    * `peek` no longer hangs\n* New: `spy`\n")
    write(tmp_path / "docs" / "changes.rst", "Changes\n=======\n\n2.0.0\n-----\n\n* Fixes:\n\n  * ``chunked`` handles "
                                            "empty input\n  * :func:`peek` no longer hangs\n\n* New: ``spy``\n")
    corpus = load_docs(md.parent)
    for file in ("changes.md", "changes.rst"):
        rows = [r[0] for b in corpus.section(f"{file}#200").blocks for r in b.rows]
        assert rows == ["Fixes:", "`chunked` handles empty input", "`peek` no longer hangs", "New: `spy`"], file
