"""The coding domain against the real sandbox (Docker pool, or bubblewrap)."""

import pytest

from agents.domains import Task
from forge.records import Example
from tests.conftest import REPO
from tests.sandbox_backends import open_or_skip

DEMO_REPO = REPO / "data" / "coding" / "demo_repo"


@pytest.fixture(scope="module", params=["docker", "bwrap"])
def domain(request):
    from agents.domains.coding.generate import CodingDomain

    coding = CodingDomain(DEMO_REPO, open_or_skip(request.param, size=2))
    yield coding
    coding.close()


def example(category, instruction, output, entry_point="clamp"):
    return Example("coding", category, "instruction", {"instruction": instruction, "input": "", "output": output},
                   {"language": "python", "entry_point": entry_point})


def reasons(checks):
    return [c.reason for c in checks if not c.passed]


def test_functions_are_extracted_with_their_examples_as_tests():
    from agents.domains.coding.generate import extract_functions

    functions = {f.name: f for f in extract_functions(DEMO_REPO)}
    assert {"slugify", "clamp", "merge_sorted", "initials"} <= set(functions)
    assert "import re" in functions["slugify"].source
    assert "assert (initials('') is None) == True" in functions["initials"].tests.replace('"', "'")


def test_every_category_verifies_from_templates(domain):
    for category in domain.categories:
        passed = 0
        for slot in range(6):
            task = Task(slot, category, f"t:{slot}")
            checks = domain.verify(domain.to_example(task, domain.template_draft(task, 1)))
            passed += all(c.passed for c in checks)
        assert passed >= 5, f"{category}: only {passed}/6 template examples verified"


def test_not_python_is_rejected_before_running(domain):
    checks = domain.verify(example("generation", "Write clamp.", "```python\ndef clamp(value, low, high)\n    return 0\n```"))
    assert reasons(checks) == ["syntax_error"] and "line 1" in checks[0].detail


def test_missing_entry_point_is_rejected(domain):
    checks = domain.verify(example("generation", "Write clamp.", "```python\ndef limit(v, a, b):\n    return v\n```"))
    assert reasons(checks) == ["missing_entry_point"]


def test_wrong_code_is_condemned_by_the_sandbox_output(domain):
    checks = domain.verify(example("generation", "Write clamp.",
                                   "```python\ndef clamp(value, low, high):\n    return value\n```"))
    assert reasons(checks) == ["tests_fail"]
    assert "AssertionError" in checks[0].detail or "assert" in checks[0].detail


def test_a_bug_fix_whose_bug_does_not_fail_is_rejected(domain):
    from agents.domains.coding.generate import fence

    source = domain.by_name["clamp"].source
    checks = domain.verify(example("bug_fixing", f"Fix this:\n\n{fence(source)}", fence(source)))
    assert "bug_not_reproduced" in reasons(checks)


def test_tests_that_assert_nothing_are_rejected(domain):
    checks = domain.verify(example("test_generation", "Write tests for clamp.",
                                   "```python\ndef test_clamp():\n    clamp(1, 0, 2)\n```"))
    assert reasons(checks) == ["tests_too_weak"]
    assert "mutant" in checks[-1].detail


def test_student_answers_are_scored_by_running_them(domain):
    item = domain.to_example(Task(0, "generation", "s"), domain.template_draft(Task(0, "generation", "s"), 1))
    assert domain.score_answer(item, item.payload["output"]).passed
    assert not domain.score_answer(item, "I do not know.").passed


def test_only_doctests_an_assert_can_check_become_tests():
    from agents.domains.coding.generate import doctest_asserts

    doc = """Double x.

    >>> double(2)
    4
    >>> print(double('a'))
    aa
    >>> y = double(1)
    2
    >>> double(1); double(2)
    2
    4
    >>> double(None)
    Traceback (most recent call last):
    TypeError: bad
    >>> double(3)  # doctest: +ELLIPSIS
    6...
    >>> double
    <function double at 0x7f>
    """
    assert doctest_asserts(doc) == (("double(2)", "4"), ("str(double('a'))", "'aa'"))
