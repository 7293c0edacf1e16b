"""Rows of a user's JSONL file, each validated against a pydantic model, every
problem reported as `file:line: field: what is wrong`."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from forge.errors import InputError
from forge.yaml_file import explain, field_name

Row = TypeVar("Row", bound=BaseModel)


def validate_rows(path: Path, model: type[Row]) -> tuple[list[tuple[int, Row]], list[str]]:
    """(line, row) for every valid row, and a problem for every invalid one.
    OSError or UnicodeDecodeError when the file cannot be read at all."""
    rows, problems = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, model.model_validate_json(line)))
        except ValidationError as exc:
            problems += [f"{path}:{number}: {field_name(e['loc']) if e['loc'] else 'row'}: {explain(e)}" for e in exc.errors()]
    return rows, problems


def read_rows(path: Path, model: type[Row], what: str) -> list[tuple[int, Row]]:
    """Every row of the file as `model`; InputError listing every problem (the
    first 20) with the fix: what each row of `what` needs."""
    try:
        rows, problems = validate_rows(path, model)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}. "
                         f"Pass a JSONL file of {what}.") from exc
    if problems:
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise InputError(f"{len(problems)} problem(s) in {path}:\n  {shown}\nEach row must be {what}.")
    if not rows:
        raise InputError(f"{path} has no rows. Each row must be {what}.")
    return rows
