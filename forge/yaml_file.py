"""A YAML file validated against a pydantic model, with every problem reported
at once as `file:line: field: what is wrong. How to fix it.`

PyYAML's node tree keeps the line of every key and value, so an error about
`checks[2].type` points at the line where that value is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Sequence, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from forge.errors import InputError

Model = TypeVar("Model", bound=BaseModel)
Loc = Sequence[str | int]


class ConfigError(InputError):
    """A configuration file is wrong; the message lists every problem with its file and line."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.problems = problems
        head = f"{len(problems)} problem{'s' * (len(problems) > 1)} in {path}:" if len(problems) > 1 else ""
        super().__init__("\n  ".join([head, *problems]) if head else problems[0])


class YamlDocument:
    """A parsed YAML file: its data, and the line of any field in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(path, [f"{path}: cannot read it ({exc}). Check the path."]) from exc
        try:
            self.root = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            context = (f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
                       if exc.context and exc.context_mark else "")
            raise ConfigError(path, [f"{path}:{line}: not valid YAML: {exc.problem}{context}. Check the indentation "
                                     "there: the fields of one mapping start in the same column, list items with '- '."]) from exc
        repeated = list(_repeated_keys(self.root, ()))
        if repeated:
            raise ConfigError(path, [f"{path}:{second}: {field_name(loc)}: appears twice (lines {first} and {second}); "
                                     "YAML would keep only the second. Keep one." for loc, first, second in repeated])

    def line(self, loc: Loc) -> int:
        """The line of the deepest node on `loc` that exists (1-based). Parts
        that name no node (a missing field, a union's tag) are skipped."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else 1
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if k.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                match = (node.value[part], node.value[part])
            else:
                match = None
            if match is not None:  # (where it is written, what it holds)
                line, node = match[0].start_mark.line + 1, match[1]
        return line

    def problem(self, loc: Loc, message: str) -> str:
        return f"{self.path}:{self.line(loc)}: {field_name(loc)}: {message}"

    def validate(self, model: type[Model]) -> Model:
        """The data as `model`, or ConfigError listing every problem."""
        try:
            return model.model_validate(self.data if self.data is not None else {})
        except ValidationError as exc:
            raise ConfigError(self.path, [self.problem(e["loc"], explain(e)) for e in exc.errors()]) from None


def _repeated_keys(node: yaml.Node | None, loc: tuple) -> Iterator[tuple[tuple, int, int]]:
    """(field, first line, second line) for every key written twice in one mapping."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if key.value in seen:
                yield (*loc, key.value), seen[key.value], line
            seen.setdefault(key.value, line)
            yield from _repeated_keys(value, (*loc, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _repeated_keys(item, (*loc, i))


def field_name(loc: Loc) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "(top level)"


def explain(error: dict[str, Any]) -> str:
    """pydantic's message, with the fix spelled out for the common mistakes."""
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "extra_forbidden":
        return f"unknown field {error['loc'][-1]!r}: remove it or check its spelling"
    if kind == "missing":
        return "this field is required: add it"
    if kind == "union_tag_invalid":
        return f"unknown {ctx['discriminator'].strip(chr(39))} {ctx['tag']!r}: use one of {ctx['expected_tags']}"
    if kind == "union_tag_not_found":
        return f"needs a {ctx['discriminator'].strip(chr(39))} field: one of the types listed in the README"
    message = error["msg"]
    return message[len("Value error, "):] if message.startswith("Value error, ") else message
