"""The coding domain's own checks, beside the shared ones (evaluators/execution.py):

- a bug-fix pair counts only if the buggy code fails and the fix passes;
- code inside an explanation at least compiles;
- a published benchmark task (HumanEval, MBPP) passes its own tests.
"""

from __future__ import annotations

from evaluators.execution import PYTHON, Toolchain, check_syntax, defines, run_tests
from forge.records import Check


def verify_bug_fix(sandbox, buggy: str, fixed: str, tests: str, entry_point: str) -> list[Check]:
    for code, label in ((buggy, "buggy code"), (fixed, "fix")):
        if bad := check_syntax(code, label.replace(" ", "_")):
            return [bad]
        if not defines(code, entry_point):
            return [Check("entry_point", False, f"the {label} defines no function {entry_point!r}", "missing_entry_point")]
    before = run_tests(sandbox, buggy, tests)
    checks = [Check("buggy_fails", True, before.describe()) if not before.ok and not before.timed_out else
              Check("buggy_fails", False, f"the 'buggy' code passes its tests, so there is no bug: {before.describe()}",
                    "bug_not_reproduced")]
    after = run_tests(sandbox, fixed, tests)
    checks.append(Check("fix_passes", True, after.describe()) if after.ok else
                  Check("fix_passes", False, after.describe(), "fix_fails"))
    return checks


def passes_published_tests(sandbox, program: str, tests: str) -> Check:
    """pass@1 on a published benchmark task: the program and the task's own
    test code (HumanEval's check(), MBPP's asserts) run as one file."""
    if bad := check_syntax(program, "program"):
        return bad
    result = sandbox.run({"program.py": f"{program}\n\n{tests}\n"}, ["python3", "program.py"])
    if result.ok:
        return Check("tests_pass", True, result.describe())
    return Check("tests_pass", False, result.describe(), "timeout" if result.timed_out else "tests_fail")


def verify_compiles(sandbox, blocks: list[str], toolchain: Toolchain = PYTHON) -> list[Check]:
    if not blocks:
        return [Check("code_compiles", False, "the explanation shows no code block", "no_code")]
    files = {f"block_{i}.py": block for i, block in enumerate(blocks)}
    result = sandbox.run(files, [*toolchain.compile_command, *files])
    if result.ok:
        return [Check("code_compiles", True, f"{len(blocks)} code block(s) compile")]
    return [Check("code_compiles", False, result.describe(), "syntax_error")]
