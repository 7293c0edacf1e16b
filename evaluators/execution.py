"""Checks by running code in the sandbox, shared by every domain that runs code.

- an implementation passes its tests, and the tests fail on at least one
  mutant of it (tests that assert nothing are worthless);
- generated tests pass on the code and kill at least one mutant.

Every outcome is a recorded check carrying the sandbox's output. Languages
plug in as toolchains (file names and commands): Python and Go.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass

from evaluators.mutation import first_of_each_pattern, mutants
from evaluators.python_ast import parse_python
from forge.records import Check
from sandbox.limits import RunResult

FENCE = re.compile(r"```[\w+-]*\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Toolchain:
    """How one language's code and tests are laid out and run in the sandbox:
    a lone solution and its tests (the coding domain), or a whole repository
    (the repo domain) whose own tests run by name."""

    name: str
    solution_file: str
    test_file: str
    test_command: tuple[str, ...]
    compile_command: tuple[str, ...]
    test_prelude: str  # how a test file reaches the solution
    stub_body: str
    """A body that compiles for any signature and satisfies no test."""

    def syntax_error(self, code: str) -> str:
        if self.name == "python":
            try:
                parse_python(code)
            except SyntaxError as exc:
                return f"line {exc.lineno}: {exc.msg}"
            return ""
        from agents.domains.repo.index import syntax_errors

        return "; ".join(syntax_errors(code, self.name))

    def repo_test_command(self, package: str, tests: list[tuple[str, str]]) -> list[str]:
        """Run only the named tests ((path, name) pairs) of a repository checked out in ./repo."""
        if self.name == "go":
            names = "|".join(sorted({name.split(".")[-1] for _, name in tests}))
            run = f"cd repo && go test -count=1 -run {shlex.quote(f'^({names})$')} ./{package}"
        else:
            ids = " ".join(shlex.quote(f"{path}::{name.replace('.', '::')}") for path, name in sorted(set(tests)))
            # addopts: a repository's own pytest options may need plugins the sandbox lacks (--cov)
            run = f"cd repo && python3 -m pytest -q -p no:cacheprovider -o addopts= {ids}"
        return ["sh", "-c", run]

    def repo_compile_command(self, package: str, path: str) -> list[str]:
        """Compile the package (Go: `go vet`, which builds its tests too) or the file (Python)."""
        if self.name == "go":
            return ["sh", "-c", f"cd repo && go vet ./{package}"]
        return ["sh", "-c", f"cd repo && python3 -m py_compile {shlex.quote(path)}"]


PYTHON = Toolchain("python", "solution.py", "test_solution.py",
                   ("python3", "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "test_solution.py"),
                   ("python3", "-m", "py_compile"), "from solution import *\n\n", "raise NotImplementedError")
GO = Toolchain("go", "solution.go", "solution_test.go", ("go", "test", "-count=1", "."), ("go", "vet", "."),
               "", '{\n\tpanic("not implemented")\n}')
TOOLCHAINS = {"python": PYTHON, "go": GO}


def code_blocks(text: str) -> list[str]:
    return [block.strip("\n") + "\n" for block in FENCE.findall(text)]


def code_of(text: str) -> str:
    """The code in an answer: its first fenced block, or the whole text."""
    blocks = code_blocks(text)
    return blocks[0] if blocks else text.strip() + "\n"


def defines(code: str, name: str) -> bool:
    try:
        return any(isinstance(n, ast.FunctionDef) and n.name == name for n in parse_python(code).body)
    except SyntaxError:
        return False


def run_tests(sandbox, code: str, tests: str, toolchain: Toolchain = PYTHON) -> RunResult:
    return sandbox.run({toolchain.solution_file: code, toolchain.test_file: toolchain.test_prelude + tests},
                       list(toolchain.test_command))


# Each mutant replaces the solution in turn; the first that fails the tests ends the loop.
KILL_LOOP = 'for m in mutant_*.py; do cp "$m" solution.py; if ! {tests} >/dev/null 2>&1; then echo "KILLED $m"; exit 0; fi; ' \
            'echo "SURVIVED $m"; done; exit 1'


def kills_a_mutant(sandbox, code: str, tests: str, entry_point: str, toolchain: Toolchain = PYTHON) -> Check:
    """The tests fail on at least one mutant of code (one sandbox run for all mutants)."""
    candidates = first_of_each_pattern(mutants(code, entry_point))
    if not candidates:
        return Check("kills_a_mutant", False, "no mutant of this code could be made", "no_mutants")
    files = {f"mutant_{i}.py": m.source for i, m in enumerate(candidates)}
    files[toolchain.test_file] = toolchain.test_prelude + tests
    command = " ".join(toolchain.test_command)
    result = sandbox.run(files, ["sh", "-c", KILL_LOOP.format(tests=command)])
    patterns = {f"mutant_{i}.py": m.pattern for i, m in enumerate(candidates)}
    killed = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("KILLED")]
    if result.exit_code == 0 and killed:
        return Check("kills_a_mutant", True, f"tests fail on the {patterns[killed[0]]} mutant ({result.describe()})")
    return Check("kills_a_mutant", False, f"tests pass on every mutant ({', '.join(patterns.values())}): they check "
                 f"too little. {result.describe()}", "tests_too_weak")


def check_syntax(code: str, label: str, toolchain: Toolchain = PYTHON) -> Check | None:
    error = toolchain.syntax_error(code)
    return Check(f"{label}_parses", False, f"{label} is not valid {toolchain.name}: {error}", "syntax_error") if error else None


def verify_implementation(sandbox, code: str, tests: str, entry_point: str) -> list[Check]:
    if bad := check_syntax(code, "implementation"):
        return [bad]
    if not defines(code, entry_point):
        return [Check("entry_point", False, f"the code defines no function {entry_point!r}", "missing_entry_point")]
    result = run_tests(sandbox, code, tests)
    if not result.ok:
        return [Check("tests_pass", False, result.describe(), "tests_fail")]
    return [Check("tests_pass", True, result.describe()), kills_a_mutant(sandbox, code, tests, entry_point)]


def verify_tests(sandbox, tests: str, code: str, entry_point: str) -> list[Check]:
    if bad := check_syntax(tests, "tests"):
        return [bad]
    if not re.search(r"^def test_", tests, re.MULTILINE):
        return [Check("has_tests", False, "no test_ function in the answer", "no_tests")]
    result = run_tests(sandbox, code, tests)
    if not result.ok:
        return [Check("tests_pass_on_code", False, result.describe(), "tests_fail")]
    return [Check("tests_pass_on_code", True, result.describe()), kills_a_mutant(sandbox, code, tests, entry_point)]
