"""Verify repository-expert examples against the code itself.

- Prose answers cite `path:start-end`: each cited span must exist at the
  recorded revision, every identifier the answer names must exist in the
  repository, and the identifiers a citing sentence names must be in the span
  it cites. Code shown in them must parse (tree-sitter).
- An implementation parses, compiles in the sandbox (Go: `go vet`; Python:
  `py_compile`) and passes the repository's own tests that call the function,
  with its body put in place; those tests must also fail with the body
  replaced by a stub, or they do not cover the function at all.
- A generated test passes on the real code, fails on the stub and kills at
  least one mutant of the function (flipped comparison, off-by-one, missing
  guard, swapped arithmetic, emptied string).

The repository travels to the sandbox whole, as `repo/` (one snapshot, sent
once per sandbox, with each task's changed files laid over it), so its
packages build and its tests find their data as they do at home. Every
outcome is a recorded check, kept in a cache keyed by the code checked and
the content of the files it depends on (its package, the tests that call it,
and the repository's data and configuration): on a newer commit only what
changed runs again.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import textwrap
from dataclasses import asdict, dataclass
from pathlib import Path

from evaluators.execution import TOOLCHAINS, code_blocks
from agents.domains.repo.index import CACHE, CITATION, RepoIndex, Symbol, parser, syntax_errors
from agents.domains.repo.unit_tests import test_names
from forge.records import Check
from forge.store import open_cache

BACKTICKED = re.compile(r"`([^`\n]+)`")
IDENTIFIER = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\(\))?$")
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
FLIP = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "==": "!=", "!=": "=="}
GENERATED_TEST = {"go": "domainforge_generated_test.go", "python": "test_domainforge_generated.py"}


# -- citations and identifiers ---------------------------------------------------------


def named_identifiers(text: str) -> list[str]:
    """Identifiers an answer names in backticks: `Restock`, `MemoryStore.Get()`, `stock.ErrNotFound`."""
    found = []
    for token in BACKTICKED.findall(text):
        token = token.strip()
        if IDENTIFIER.match(token) and not CITATION.fullmatch(token):
            found.append(token.removesuffix("()"))
    return found


def check_grounding(index: RepoIndex, answer: str, revision: str) -> list[Check]:
    """Citations exist at the revision and hold what the citing sentence names;
    every named identifier exists in the repository."""
    cited = CITATION.findall(answer)
    if not cited:
        return [Check("cites_code", False, "the answer cites no `path:start-end` span of the repository", "no_citation")]
    spans: dict[str, str] = {}
    for path, start, end in cited:
        lines = index.lines_at(path, revision)
        first, last = int(start), int(end or start)
        where = f"{path}:{start}" + (f"-{end}" if end else "")
        if lines is None:
            return [Check("citation_exists", False, f"{where}: there is no file {path} at {revision}", "unknown_path")]
        if not 1 <= first <= last <= len(lines):
            return [Check("citation_exists", False, f"{where}: {path} has {len(lines)} lines at {revision}",
                          "lines_out_of_range")]
        spans[where] = "\n".join(lines[first - 1:last])
    checks = [Check("citation_exists", True, f"{len(spans)} cited span(s) exist at {revision}: {', '.join(spans)}")]
    known = index.identifiers
    unknown = [name for name in named_identifiers(answer) if name.split(".")[-1] not in known]
    if unknown:
        return checks + [Check("identifiers_exist", False, f"not in the repository: {', '.join(sorted(set(unknown)))}",
                               "unknown_identifier")]
    checks.append(Check("identifiers_exist", True, f"{len(set(named_identifiers(answer)))} named identifier(s) exist"))
    for sentence in SENTENCE.split(answer):
        for path, start, end in CITATION.findall(sentence):
            where = f"{path}:{start}" + (f"-{end}" if end else "")
            words = set(re.findall(r"\w+", spans[where]))
            missing = [n for n in named_identifiers(sentence) if n.split(".")[-1] not in words]
            if missing:
                return checks + [Check("identifiers_in_span", False, f"{where} does not contain {', '.join(missing)}: "
                                       f"{sentence.strip()[:200]!r}", "identifier_not_in_span")]
    checks.append(Check("identifiers_in_span", True, "each citing sentence names only what its span holds"))
    return checks


def check_snippets(answer: str, language: str) -> list[Check]:
    """Code shown in a prose answer parses, as a file or as statements."""
    for block in code_blocks(answer):
        attempts = [block, f"package p\nfunc _() {{\n{block}\n}}\n"] if language == "go" else [textwrap.dedent(block)]
        if all(syntax_errors(text, language) for text in attempts):
            return [Check("code_parses", False, f"a code block is not valid {language}: "
                          f"{'; '.join(syntax_errors(attempts[0], language))}", "syntax_error")]
    return []


# -- putting code in place ---------------------------------------------------------------


def definition_in(code: str, symbol: Symbol) -> str | None:
    """The definition of the symbol's function in an answer's code, if it has one."""
    root = parser(symbol.language).parse(code.encode()).root_node
    kinds = ("function_declaration", "method_declaration") if symbol.language == "go" else ("function_definition",)
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in kinds and node.child_by_field_name("name") is not None \
                and node.child_by_field_name("name").text.decode() == symbol.short:
            return code.encode()[node.start_byte:node.end_byte].decode()
        stack.extend(reversed(node.children))
    return None


def replaced(index: RepoIndex, symbol: Symbol, span: tuple[int, int], text: str) -> dict[str, bytes]:
    """The symbol's file (as `repo/...`, to lay over the snapshot) with one byte span replaced."""
    source = index.files[symbol.path]
    return {f"repo/{symbol.path}": source[:span[0]] + text.encode() + source[span[1]:]}


def with_definition(index: RepoIndex, symbol: Symbol, definition: str) -> dict[str, bytes]:
    if symbol.language == "python" and symbol.indent:  # a method: back to its class's indentation
        lines = textwrap.dedent(definition).splitlines()
        definition = "\n".join([lines[0]] + [symbol.indent + line if line else line for line in lines[1:]])
    return replaced(index, symbol, symbol.span, definition)


def with_stub(index: RepoIndex, symbol: Symbol) -> dict[str, bytes]:
    return replaced(index, symbol, symbol.body, TOOLCHAINS[symbol.language].stub_body)


# -- mutants -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    pattern: str
    line: int
    source: bytes


def mutants(index: RepoIndex, symbol: Symbol) -> list[Mutant]:
    """One mutant per pattern (its first site) inside the symbol's body."""
    source = index.files[symbol.path]
    root = parser(symbol.language).parse(source).root_node
    body = root.descendant_for_byte_range(symbol.body[0], symbol.body[1])
    found: dict[str, Mutant] = {}

    def mutate(pattern: str, node, text: bytes) -> None:
        if pattern not in found:
            found[pattern] = Mutant(pattern, node.start_point[0] + 1,
                                    source[:node.start_byte] + text + source[node.end_byte:])

    stack = [body]
    while stack:
        node = stack.pop()
        kind = node.type
        if kind in FLIP and node.parent is not None and node.parent.type in ("binary_expression", "comparison_operator"):
            mutate("flipped_comparison", node, FLIP[kind].encode())
        elif kind in ("+", "-") and node.parent is not None and node.parent.type in ("binary_expression", "binary_operator"):
            mutate("swapped_arithmetic", node, b"-" if kind == "+" else b"+")
        elif kind in ("int_literal", "integer") and node.text.isdigit():
            mutate("off_by_one", node, str(int(node.text) + 1).encode())
        elif kind in ("string", "interpreted_string_literal") and node.parent.type != "expression_statement" \
                and len(node.text) > 2:  # not a docstring, not already empty
            mutate("emptied_string", node, b'""')
        elif kind == "if_statement" and _is_guard(node, symbol.language):
            mutate("missing_guard", node, b"pass" if symbol.language == "python" else b"")
        stack.extend(reversed(node.children))
    return list(found.values())


def _is_guard(node, language: str) -> bool:
    """An `if` with no else whose only statement returns or raises."""
    if node.child_by_field_name("alternative") is not None:
        return False
    block = node.child_by_field_name("consequence")
    statements = [c for c in (block.named_children if block is not None else []) if c.type != "comment"]
    if language == "go" and len(statements) == 1 and statements[0].type == "statement_list":
        statements = statements[0].named_children
    return len(statements) == 1 and statements[0].type in ("return_statement", "raise_statement")


# -- checks that run code ----------------------------------------------------------------


class CheckCache:
    """Sandbox outcomes by key: a crash loses at most the check in flight."""

    def __init__(self, path: Path) -> None:
        self.cache = open_cache(path, "sandbox_checks")

    def get(self, key: str) -> list[Check] | None:
        found = self.cache.get(key)
        return [Check(**c) for c in json.loads(found)] if found else None

    def put(self, key: str, checks: list[Check]) -> None:
        self.cache.put(key, json.dumps([asdict(c) for c in checks]))


class RepoVerifier:
    """Runs a repository's code in the sandbox: implementations against its
    own tests, generated tests against the code, a stub and mutants."""

    def __init__(self, index: RepoIndex, sandbox, cache_path: Path = CACHE / "checks.sqlite") -> None:
        self.index, self.sandbox = index, sandbox
        self.coverage: dict[str, Check] = {}
        self.cache = CheckCache(cache_path)

    def _key(self, kind: str, symbol: Symbol, code: str) -> str:
        """What a check's outcome depends on: the code, and the files of the symbol's package and its tests."""
        folders = {symbol.package} | {t.package for t in self.index.tests_for(symbol)}
        files = {p: a.digest for p, a in self.index.analyses.items() if str(Path(p).parent.as_posix()) in folders}
        blob = json.dumps([str(self.index.root), kind, symbol.name, code, sorted(files.items()), self.index.support_digest])
        return hashlib.sha256(blob.encode()).hexdigest()

    def _cached(self, kind: str, symbol: Symbol, code: str, compute) -> list[Check]:
        key = self._key(kind, symbol, code)
        if (found := self.cache.get(key)) is None:
            found = compute(symbol, code)
            if not any("timed out" in c.detail for c in found):  # a busy machine's verdict is not the code's
                self.cache.put(key, found)
        return found

    def verify_implementation(self, symbol: Symbol, code: str) -> list[Check]:
        return self._cached("implementation", symbol, code, self._verify_implementation)

    def verify_tests(self, symbol: Symbol, code: str) -> list[Check]:
        return self._cached("tests", symbol, code, self._verify_tests)

    def _run(self, files: dict[str, bytes], command: list[str]):
        """A command in the repository's snapshot with these files changed."""
        return self.sandbox.run(files, command, base=self.index.snapshot)

    def _run_tests(self, symbol: Symbol, files: dict[str, bytes], tests: list[tuple[str, str]]):
        return self._run(files, TOOLCHAINS[symbol.language].repo_test_command(symbol.package, tests))

    def own_tests(self, symbol: Symbol) -> list[tuple[str, str]]:
        return [(t.path, t.name) for t in self.index.tests_for(symbol)]

    def tests_cover(self, symbol: Symbol) -> Check:
        """The repository's tests that call the function fail when its body is a stub (once per function)."""
        if symbol.name not in self.coverage:
            tests = self.own_tests(symbol)
            if not tests:
                self.coverage[symbol.name] = Check("tests_cover_function", False, f"no test of the repository calls "
                                                   f"{symbol.name}", "no_repo_tests")
            else:
                result = self._run_tests(symbol, with_stub(self.index, symbol), tests)
                self.coverage[symbol.name] = (
                    Check("tests_cover_function", True, f"with a stub body the tests fail: {result.describe()[:300]}")
                    if not result.ok else
                    Check("tests_cover_function", False, f"the tests pass even with a stub body: they do not exercise "
                          f"{symbol.name}. {result.describe()[:300]}", "tests_do_not_cover"))
        return self.coverage[symbol.name]

    def _verify_implementation(self, symbol: Symbol, code: str) -> list[Check]:
        toolchain = TOOLCHAINS[symbol.language]
        if error := toolchain.syntax_error(code):
            return [Check("code_parses", False, f"the code is not valid {symbol.language}: {error}", "syntax_error")]
        definition = definition_in(code, symbol)
        if definition is None:
            return [Check("defines_function", False, f"the code defines no function {symbol.short!r}", "missing_function")]
        files = with_definition(self.index, symbol, definition)
        compiled = self._run(files, toolchain.repo_compile_command(symbol.package, symbol.path))
        if not compiled.ok:
            return [Check("compiles", False, f"in place in {symbol.path}: {compiled.describe()}", "does_not_compile")]
        checks = [Check("code_parses", True, "tree-sitter parses it"), Check("compiles", True, compiled.describe()[:300])]
        coverage = self.tests_cover(symbol)
        if not coverage.passed:
            return checks + [coverage]
        tests = self.own_tests(symbol)
        result = self._run_tests(symbol, files, tests)
        names = ", ".join(name for _, name in tests)
        if not result.ok:
            return checks + [coverage, Check("repo_tests_pass", False, f"the repository's tests ({names}) fail with "
                                             f"this body: {result.describe()}", "repo_tests_fail")]
        return checks + [coverage, Check("repo_tests_pass", True, f"{names}: {result.describe()[:300]}")]

    def _verify_tests(self, symbol: Symbol, code: str) -> list[Check]:
        language = symbol.language
        if error := TOOLCHAINS[language].syntax_error(code):
            return [Check("code_parses", False, f"the tests are not valid {language}: {error}", "syntax_error")]
        names = test_names(code, language)
        if not names:
            want = "func TestXxx(t *testing.T)" if language == "go" else "def test_xxx()"
            return [Check("has_tests", False, f"the answer defines no test function ({want})", "no_tests")]
        path = self._test_path(symbol)
        tests = [(path, name) for name in names]
        files = {f"repo/{path}": code.encode()}
        result = self._run_tests(symbol, files, tests)
        if not result.ok:
            return [Check("tests_pass_on_code", False, f"{result.describe()}", "tests_fail")]
        checks = [Check("tests_pass_on_code", True, result.describe()[:300])]
        stubbed = {**with_stub(self.index, symbol), f"repo/{path}": code.encode()}
        on_stub = self._run_tests(symbol, stubbed, tests)
        if on_stub.ok:
            return checks + [Check("fails_on_stub", False, f"the tests also pass when {symbol.name} is a stub: they "
                                   "check nothing of it", "passes_on_stub")]
        checks.append(Check("fails_on_stub", True, "with a stub body the tests fail"))
        return checks + [self.kills_a_mutant(symbol, files, tests)]

    def kills_a_mutant(self, symbol: Symbol, files: dict[str, bytes], tests: list[tuple[str, str]]) -> Check:
        """One sandbox run tries each mutant in turn; the first the tests fail on ends it."""
        candidates = mutants(self.index, symbol)
        if not candidates:
            return Check("kills_a_mutant", False, f"no mutant of {symbol.name} could be made", "no_mutants")
        command = TOOLCHAINS[symbol.language].repo_test_command(symbol.package, tests)[-1]
        target = shlex.quote(f"repo/{symbol.path}")
        loop = "; ".join(f"cp mutant_{i} {target}; if ! ( {command} ) >/dev/null 2>&1; then echo KILLED {i}; exit 0; fi"
                         for i in range(len(candidates))) + "; exit 1"
        files = {**files, **{f"mutant_{i}": m.source for i, m in enumerate(candidates)}}
        result = self._run(files, ["sh", "-c", loop])
        killed = [int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("KILLED")]
        if result.exit_code == 0 and killed:
            m = candidates[killed[0]]
            return Check("kills_a_mutant", True, f"the tests fail on the {m.pattern} mutant at {symbol.path}:{m.line}")
        return Check("kills_a_mutant", False, f"the tests pass on every mutant ({', '.join(m.pattern for m in candidates)}):"
                     f" they check too little. {result.describe()[:300]}", "tests_too_weak")

    def _test_path(self, symbol: Symbol) -> str:
        """Go: beside the package's code. Python: beside a test that already calls it, else at the root."""
        if symbol.language == "go":
            return f"{symbol.package}/{GENERATED_TEST['go']}".lstrip("./")
        own = self.index.tests_for(symbol)
        folder = own[0].package if own else "."
        return f"{folder}/{GENERATED_TEST['python']}".removeprefix("./")
