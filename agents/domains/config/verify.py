"""The checks a user-defined domain can declare, and the ways it can score an
answer. Each returns (passed, detail): the detail is the evidence `audit`
shows (what matched, the schema error, the user function's words, the
sandbox's output). The config domain (generate.py) runs the
ones its file declares, in the file's order.
"""

from __future__ import annotations

import json
import re
import traceback
from typing import Any, Callable

from evaluators.execution import code_of
from forge.records import Example

Outcome = tuple[bool, str]


def last_answer(example: Example) -> str:
    if example.format == "messages":
        return next(m["content"] for m in reversed(example.payload["messages"]) if m["role"] == "assistant")
    return example.payload["output"]


def target_text(example: Example, target: str) -> str:
    """What a check reads: the answer (`output`), the question (`instruction`), or the whole `example`."""
    turns = example.turns()
    if target == "output":
        return last_answer(example)
    if target == "instruction":
        return "\n".join(text for role, text in turns[:-1] if role != "system")
    return "\n".join(text for _, text in turns)


def check_regex(text: str, must_match: str | None, must_not_match: str | None) -> Outcome:
    if must_match is not None and not re.search(must_match, text):
        return False, f"does not match {must_match!r}"
    if must_not_match is not None and (found := re.search(must_not_match, text)):
        return False, f"matches {must_not_match!r} at character {found.start()}: {found.group(0)!r}"
    return True, "matches" if must_match else "no forbidden match"


def check_length(text: str, min_chars: int | None, max_chars: int | None, min_words: int | None,
                 max_words: int | None) -> Outcome:
    chars, words = len(text), len(text.split())
    for unit, n, low, high in (("characters", chars, min_chars, max_chars), ("words", words, min_words, max_words)):
        if low is not None and n < low:
            return False, f"{n} {unit}, fewer than {low}"
        if high is not None and n > high:
            return False, f"{n} {unit}, more than {high}"
    return True, f"{chars} characters, {words} words"


def check_json_schema(text: str, schema: dict[str, Any]) -> Outcome:
    """The text (or its first fenced block) parses as JSON and the schema accepts it."""
    import jsonschema

    try:
        value = json.loads(code_of(text) if "```" in text else text)
    except json.JSONDecodeError as exc:
        return False, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    errors = sorted(jsonschema.validators.validator_for(schema)(schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        where = "/".join(map(str, errors[0].absolute_path)) or "(root)"
        return False, f"{len(errors)} schema error(s); first at {where}: {errors[0].message}"
    return True, "valid against the schema"


def check_python(function: Callable[..., Any], *args: Any) -> Outcome:
    """A user function's verdict: True/False, or (passed, detail). If it
    raises, the check fails with the traceback as its evidence."""
    try:
        result = function(*args)
    except Exception:
        return False, "the function raised:\n" + traceback.format_exc(limit=-3)
    if isinstance(result, tuple) and len(result) == 2:
        return bool(result[0]), str(result[1])
    if isinstance(result, bool):
        return result, f"{getattr(function, '__name__', 'function')} returned {result}"
    return False, f"returned {result!r}; a check must return True/False or (passed, detail)"


def check_in_sandbox(text: str, sandbox, file: str, command: list[str], whole: bool) -> Outcome:
    """Write the example's code (its first fenced block, or the whole text) to
    `file` and run `command` on it; passes on exit code 0."""
    result = sandbox.run({file: text if whole else code_of(text)}, command)
    return result.ok, result.describe()


def normalise(text: str) -> str:
    """Case, runs of whitespace, code fences and trailing punctuation do not count."""
    text = code_of(text) if "```" in text else text
    return re.sub(r"\s+", " ", text).strip().rstrip(".;").strip().casefold()


def exact_match(answer: str, reference: str) -> Outcome:
    same = answer.strip() == reference.strip()
    return same, "exact match" if same else f"expected {reference.strip()[:200]!r}"


def normalised_match(answer: str, reference: str) -> Outcome:
    same = normalise(answer) == normalise(reference)
    return same, "same after normalising" if same else f"expected {normalise(reference)[:200]!r}"


def regex_match(answer: str, pattern: str) -> Outcome:
    return bool(re.search(pattern, answer)), f"searched the answer for {pattern!r}"
