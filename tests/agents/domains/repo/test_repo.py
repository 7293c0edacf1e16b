"""The repository analysis (tree-sitter) and the checks against the code: our
Go and Python demos, a real Go module (google/uuid) where it lies beside the
repository, git revisions, and hand-made bad examples rejected for the right
reason in the real sandbox."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from agents.domains.base import Task
from agents.domains.repo.index import index_repository, syntax_errors
from forge.records import Example
from sandbox.limits import Limits
from tests.conftest import REPO
from tests.sandbox_backends import open_or_skip

GO_DEMO = REPO / "data" / "repo" / "inventory"
PY_DEMO = REPO / "data" / "coding" / "demo_repo"
REAL_REPOS = REPO.parent / "shared" / "data" / "repos"
UUID = REAL_REPOS / "uuid"
LIMITS = Limits(timeout_s=120, memory_mb=1024, pids=256)


@pytest.fixture()
def cache(tmp_path):
    return tmp_path / "cache"


def test_go_analysis_finds_declarations_docs_tests_and_call_sites(cache):
    index = index_repository(GO_DEMO, cache)
    by_name = {s.name: s for s in index.symbols}
    withdraw = by_name["Withdraw"]
    assert withdraw.kind == "function" and withdraw.path == "stock/stock.go" and withdraw.package == "stock"
    assert withdraw.doc.startswith("Withdraw takes n units") and withdraw.signature.startswith("func Withdraw(s Store")
    lines = index.text("stock/stock.go").splitlines()
    assert lines[withdraw.start - 1].startswith("func Withdraw(") and lines[withdraw.end - 1] == "}"
    assert by_name["MemoryStore.Get"].kind == "method" and by_name["Store"].kind == "interface"
    assert by_name["Item"].kind == "type" and "Get" in withdraw.calls
    assert [t.name for t in index.tests_for(withdraw)] == ["TestWithdraw"]
    assert index.tests_for(by_name["FixedOff.Apply"])[0].name == "TestFixedOffApply"  # named after it first
    assert {c.caller for c in index.call_sites(by_name["Truncate"])} == {"Label", "TestTruncate"}
    assert "fmt" in index.analyses["stock/stock.go"].imports


def test_python_analysis_finds_methods_classes_and_tests(cache):
    index = index_repository(PY_DEMO, cache)
    by_name = {s.name: s for s in index.symbols}
    assert by_name["Tally.most_common"].kind == "method" and by_name["Tally.most_common"].indent == "    "
    assert by_name["RecordError"].kind == "class" and by_name["parse_record"].doc.startswith("Read a line")
    assert [t.name for t in index.tests_for(by_name["record_slug"])] == ["test_record_slug"]
    assert any(c.caller == "record_slug" for c in index.call_sites(by_name["slugify"]))


def test_syntax_errors_say_where():
    assert syntax_errors("func f() int { return 1 }", "go") == []
    assert syntax_errors("func f() {\n\treturn 1 +\n}", "go")[0].startswith("line 2")
    assert syntax_errors("def f(:\n    pass\n", "python")[0].startswith("line 1")


def test_a_second_run_parses_only_the_changed_file(tmp_path, cache):
    repo = tmp_path / "inventory"
    shutil.copytree(GO_DEMO, repo)
    first = index_repository(repo, cache)
    assert first.reparsed == len(first.files)
    path = repo / "textutil" / "textutil.go"
    path.write_text(path.read_text() + "\n// Shout upper-cases text.\nfunc Shout(s string) string { return s + \"!\" }\n")
    second = index_repository(repo, cache)
    assert second.reparsed == 1 and "Shout" in {s.name for s in second.symbols}
    assert second.revision != first.revision


def test_a_git_checkout_is_read_at_its_commit_and_old_citations_at_theirs(tmp_path, cache):
    repo = tmp_path / "inventory"
    shutil.copytree(GO_DEMO, repo)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    index = index_repository(repo, cache)
    assert index.revision == commit
    old = index.text("stock/stock.go").splitlines()
    (repo / "stock" / "stock.go").write_text("// Package stock moved.\npackage stock\n")
    subprocess.run([*git, "commit", "-qam", "two"], check=True)
    newer = index_repository(repo, cache)
    assert newer.revision != commit and newer.lines_at("stock/stock.go", commit) == old
    assert newer.lines_at("stock/stock.go", newer.revision) == ["// Package stock moved.", "package stock"]


# -- hand-made bad examples, rejected for the right reason -------------------------------


@pytest.fixture(scope="module", params=["go", "python"])
def domain(request, tmp_path_factory):
    from agents.domains.repo.generate import RepoDomain

    sandbox = open_or_skip("docker", LIMITS)
    cache = tmp_path_factory.mktemp("cache")
    # closed book: these hand-made examples are about the code checks (open book: test_open_book.py)
    opened = RepoDomain(index_repository(GO_DEMO if request.param == "go" else PY_DEMO, cache), sandbox, context="none")
    opened.verifier.cache = type(opened.verifier.cache)(cache / "checks.sqlite")
    yield opened
    opened.close()


def example(domain, category: str, symbol: str, output: str, instruction: str = "a hand-made example") -> Example:
    return domain.to_example(Task(0, category, ""), {"instruction": instruction, "output": output, "symbol": symbol})


def reasons(domain, ex: Example) -> set[str]:
    return {c.reason for c in domain.verify(ex) if not c.passed}


def target(domain):
    return domain.by_name["Withdraw" if "Withdraw" in domain.by_name else "clamp"]


def test_a_citation_to_lines_without_the_function_is_rejected(domain):
    s = target(domain)
    ok = example(domain, "repo_qa", s.name, f"`{s.short}` is defined at `{s.where}`.")
    assert reasons(domain, ok) == set()
    wrong = example(domain, "repo_qa", s.name, f"`{s.short}` is defined at `{s.path}:1-3`.")
    assert reasons(domain, wrong) == {"identifier_not_in_span"}
    beyond = example(domain, "repo_qa", s.name, f"`{s.short}` is defined at `{s.path}:900-910`.")
    assert reasons(domain, beyond) == {"lines_out_of_range"}
    elsewhere = example(domain, "repo_qa", s.name, f"`{s.short}` is defined at `nowhere/at_all.go:1-2`.")
    assert reasons(domain, elsewhere) == {"unknown_path"}


def test_an_identifier_that_does_not_exist_is_rejected(domain):
    s = target(domain)
    made_up = example(domain, "explain", s.name,
                      f"`{s.short}` (`{s.where}`) checks its input. It calls `ValidateQuantityStrict` first.")
    assert reasons(domain, made_up) == {"unknown_identifier"}


def test_an_implementation_that_compiles_but_fails_the_tests_is_rejected(domain):
    s = target(domain)
    right = domain._definition(s)
    if s.language == "go":
        wrong = right.replace("if item.Quantity < n {", "if item.Quantity < n-1 {")
    else:
        wrong = right.replace("return high", "return high - 1")
    assert wrong != right
    fence = f"```{s.language}\n{{}}\n```"
    assert reasons(domain, example(domain, "implement", s.name, fence.format(right))) == set()
    checks = domain.verify(example(domain, "implement", s.name, fence.format(wrong)))
    failed = [c for c in checks if not c.passed]
    assert [c.reason for c in failed] == ["repo_tests_fail"] and any(c.name == "compiles" and c.passed for c in checks)
    assert "FAIL" in failed[0].detail or "failed" in failed[0].detail
    broken = fence.format(right.replace("return", "retrun", 1))
    assert reasons(domain, example(domain, "implement", s.name, broken)) & {"syntax_error", "does_not_compile"}


def test_a_test_that_passes_on_a_stub_is_rejected(domain):
    s = target(domain)
    if s.language == "go":
        empty = "package stock\n\nimport \"testing\"\n\nfunc TestWithdrawRuns(t *testing.T) {\n\t_ = Withdraw\n}\n"
    else:
        empty = "from textkit.numbers import clamp\n\n\ndef test_clamp_exists():\n    assert callable(clamp)\n"
    assert reasons(domain, example(domain, "write_test", s.name, f"```{s.language}\n{empty}```")) == {"passes_on_stub"}
    real = domain._test_for(s)
    assert reasons(domain, example(domain, "write_test", s.name, f"```{s.language}\n{real}```")) == set()


def test_checks_are_reused_while_the_files_they_depend_on_are_unchanged(domain):
    s = target(domain)
    code = f"```{s.language}\n{domain._definition(s)}\n```"
    domain.verify(example(domain, "implement", s.name, code))
    runs = []
    real_run = domain.sandbox.run
    domain.sandbox.run = lambda *a, **k: runs.append(1) or real_run(*a, **k)
    try:
        domain.verify(example(domain, "implement", s.name, code))
    finally:
        domain.sandbox.run = real_run
    assert runs == []


# -- a real Go module -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not UUID.is_dir(), reason="google/uuid lies in ../shared/data/repos only where it was provided")
def test_google_uuid_is_analysed_and_checked_in_the_sandbox(tmp_path):
    from agents.domains.repo.generate import RepoDomain

    repo = tmp_path / "uuid"
    shutil.copytree(UUID, repo)
    index = index_repository(repo, tmp_path / "cache")
    assert len([s for s in index.symbols if s.is_test]) > 20 and index.languages == {"go"}
    sandbox = open_or_skip("docker", LIMITS)
    domain = RepoDomain(index, sandbox)
    domain.verifier.cache = type(domain.verifier.cache)(tmp_path / "checks.sqlite")
    try:
        accepted = {}
        for category in domain.categories:
            for slot in range(3):
                task = Task(slot, category, f"uuid:{slot}")
                ex = domain.to_example(task, domain.template_draft(task, 1))
                if all(c.passed for c in domain.verify(ex)):
                    accepted[category] = ex
                    break
        assert set(accepted) == set(domain.categories), set(domain.categories) - set(accepted)
        parse = domain.by_name["Parse"]
        wrong = domain._definition(parse).replace("if s[8] != '-'", "if s[8] != '+'")
        failed = [c.reason for c in domain.verify(example(domain, "implement", "Parse", f"```go\n{wrong}\n```"))
                  if not c.passed]
        assert failed == ["repo_tests_fail"]
    finally:
        domain.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mux", "more-itertools"])
def test_every_category_accepts_on_a_real_repository(tmp_path, name):
    """gorilla/mux (Go, large test files, go.mod asking for a newer Go than the
    sandbox's) and more-itertools (Python, unittest, large test modules)."""
    from agents.domains.repo.generate import RepoDomain

    if not (REAL_REPOS / name).is_dir():
        pytest.skip(f"{name} lies in ../shared/data/repos only where it was provided")
    repo = tmp_path / name
    shutil.copytree(REAL_REPOS / name, repo)
    domain = RepoDomain(index_repository(repo, tmp_path / "cache"), open_or_skip("docker", LIMITS))
    domain.verifier.cache = type(domain.verifier.cache)(tmp_path / "checks.sqlite")
    try:
        accepted = set()
        for category in domain.categories:
            for slot in range(4):
                task = Task(slot, category, f"{name}:{slot}")
                if all(c.passed for c in domain.verify(domain.to_example(task, domain.template_draft(task, 1)))):
                    accepted.add(category)
                    break
        assert accepted == set(domain.categories) and {"implement", "write_test"} <= accepted
    finally:
        domain.close()


# -- unittest repositories with test data ----------------------------------------------------

UNITTEST_PACKAGE = '''"""Read `key = value` files."""


def parse_pairs(text):
    """Read `key = value` lines into a dict; blank lines and `#` comments are skipped."""
    pairs = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if not key.strip():
            raise ValueError(f"no key in {line!r}")
        pairs[key.strip()] = value.strip()
    return pairs
'''
UNITTEST_TESTS = '''import os
import unittest
from unittest import TestCase

from pairs.reader import parse_pairs

DATA = os.path.join(os.path.dirname(__file__), "data")


def load(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as handle:
        return handle.read()


class ParsePairsTests(TestCase):
    def setUp(self):
        self.valid = sorted(n for n in os.listdir(DATA) if n.endswith(".pairs"))
        if not self.valid:
            raise RuntimeError("Valid test files not found")

    def test_every_data_file(self):
        for name in self.valid:
            with self.subTest(name=name):
                self.assertEqual(parse_pairs(load(name)), {"name": "demo", "size": "3"})

    def test_missing_key(self):
        with self.assertRaises(ValueError):
            parse_pairs("= 3")


if __name__ == "__main__":
    unittest.main()
'''


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["docker", "bwrap"])
def test_a_unittest_repository_with_test_data_is_first_class(tmp_path, backend):
    """Tests are TestCase methods that read data files under tests/: they are
    found, matched to the function, run with their data in the sandbox, and a
    generated test is a TestCase method with the class's setUp."""
    from agents.domains.repo.generate import RepoDomain
    from agents.domains.repo.unit_tests import test_names

    repo = tmp_path / "pairs"
    (repo / "pairs").mkdir(parents=True)
    (repo / "tests" / "data").mkdir(parents=True)
    (repo / "pairs" / "__init__.py").write_text("")
    (repo / "pairs" / "reader.py").write_text(UNITTEST_PACKAGE)
    (repo / "tests" / "__init__.py").write_text("")
    (repo / "tests" / "test_reader.py").write_text(UNITTEST_TESTS)
    for name in ("plain.pairs", "commented.pairs"):
        (repo / "tests" / "data" / name).write_text("# a comment\nname = demo\n\nsize = 3\n")
    index = index_repository(repo, tmp_path / "cache")
    function = next(s for s in index.symbols if s.name == "parse_pairs")
    assert {t.name for t in index.tests_for(function)} == {"ParsePairsTests.test_every_data_file",
                                                           "ParsePairsTests.test_missing_key"}
    assert not any(s.is_test for s in index.symbols if s.name in ("load", "ParsePairsTests.setUp"))
    domain = RepoDomain(index, open_or_skip(backend, LIMITS))
    domain.verifier.cache = type(domain.verifier.cache)(tmp_path / "checks.sqlite")
    try:
        written = domain._test_for(function)
        assert "class ParsePairsTests(TestCase):" in written and "def setUp(self):" in written
        assert "def load(name):" in written and "DATA = " in written and "test_missing_key" not in written
        assert test_names(written, "python") == ["ParsePairsTests.test_every_data_file_again"]
        assert reasons(domain, example(domain, "write_test", "parse_pairs", f"```python\n{written}```")) == set()
        code = f"```python\n{domain._definition(function)}\n```"
        assert reasons(domain, example(domain, "implement", "parse_pairs", code)) == set()
        wrong = code.replace('line.startswith("#")', 'line.startswith(";")')
        assert reasons(domain, example(domain, "implement", "parse_pairs", wrong)) == {"repo_tests_fail"}
    finally:
        domain.close()


def test_generated_files_are_indexed_but_left_out_of_the_examples(tmp_path, cache):
    from agents.domains.repo.generate import RepoDomain
    from agents.domains.repo.index import is_generated

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "shop.py").write_text('def price(n):\n    """Return the price of n items."""\n    return 2 * n\n')
    (tmp_path / "pkg" / "shop_pb2.py").write_text("# -*- coding: utf-8 -*-\n# Generated by the protocol buffer "
                                                  'compiler.  DO NOT EDIT!\ndef build(x):\n    """Build it."""\n    return x\n')
    assert is_generated(b'// Code generated by "stringer -type=Kind"; DO NOT EDIT.\n\npackage kind\n')
    assert not is_generated(b"package kind\n\n// Edit freely.\nfunc F() {}\n")
    index = index_repository(tmp_path, cache)
    assert index.generated == {"pkg/shop_pb2.py"} and "build" in {s.name for s in index.symbols}
    domain = RepoDomain(index, sandbox=None, context="none")
    assert set(domain.by_name) == {"price"}
