"""Rows of a user's JSONL file, as published: each validated against a
pydantic model, fields the model does not use ignored (and named, so the
user can see what was left out), a row's category taken from `category`,
`type` or `task_type`. Every invalid row is reported as
`file:line: field: what is wrong`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Iterator, TypeVar

from pydantic import BaseModel, ValidationError

from forge.errors import InputError
from forge.yaml_file import explain, field_name

Row = TypeVar("Row", bound=BaseModel)
CATEGORY_NAMES = ("type", "task_type")
"""What published files call a row's category."""


def text_lines(text: str) -> list[str]:
    """Lines split at line ends only (LF, CRLF, CR). str.splitlines also splits at U+2028, U+2029 and
    U+0085, which a JSON string holds as they are when written with ensure_ascii=False."""
    return re.split(r"\r\n|\r|\n", text)


def validate_rows(path: Path, model: type[Row]) -> tuple[list[tuple[int, Row]], list[str]]:
    """(line, row) for every valid row, and a problem for every invalid one; the
    model decides what an unknown field is. OSError or UnicodeDecodeError when
    the file cannot be read at all."""
    rows, problems = [], []
    for number, line in enumerate(text_lines(path.read_text(encoding="utf-8")), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, model.model_validate_json(line)))
        except ValidationError as exc:
            problems += [f"{path}:{number}: {field_name(e['loc']) if e['loc'] else 'row'}: {explain(e)}" for e in exc.errors()]
    return rows, problems


def json_lines(path: Path, text: str) -> Iterator[tuple[int, Any, str]]:
    """(line number, value, "") for each line of a JSONL file that is not blank,
    or (line number, None, the problem) where a line is not JSON."""
    for number, line in enumerate(text_lines(text), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), ""
        except json.JSONDecodeError as exc:
            yield number, None, f"{path}:{number}: not valid JSON ({exc.msg}, column {exc.colno})"


@dataclass(frozen=True)
class PublishedRows(Generic[Row]):
    rows: list[tuple[int, Row]]
    """(line, row), in file order."""
    ignored: tuple[str, ...]
    """Fields the rows carry that the format does not use."""


def read_rows(path: Path, model: type[Row], what: str) -> PublishedRows[Row]:
    """Every row of a published file as `model`, its extra fields ignored;
    InputError listing every invalid row (the first 20), with the fix: what
    each row of `what` needs."""
    fields = set(model.model_fields)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}. "
                         f"Pass a JSONL file of {what}.") from exc
    rows, problems, ignored = [], [], set()
    for number, raw, problem in json_lines(path, text):
        if problem:
            problems.append(problem)
            continue
        if not isinstance(raw, dict):
            problems.append(f"{path}:{number}: a row must be a JSON object")
            continue
        if "category" in fields and "category" not in raw:
            named = next((name for name in CATEGORY_NAMES if isinstance(raw.get(name), str)), None)
            if named:
                raw["category"] = raw.pop(named)
        ignored |= set(raw) - fields
        try:
            rows.append((number, model.model_validate({k: v for k, v in raw.items() if k in fields})))
        except ValidationError as exc:
            problems += [f"{path}:{number}: {field_name(e['loc']) if e['loc'] else 'row'}: {explain(e)}" for e in exc.errors()]
    if problems:
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise InputError(f"{len(problems)} problem(s) in {path}:\n  {shown}\nEach row must be {what}.")
    if not rows:
        raise InputError(f"{path} has no rows. Each row must be {what}.")
    return PublishedRows(rows, tuple(sorted(ignored)))
