"""Run options, declared once: on the config dataclasses' own fields, each with
its default and its help (as trl's SFTConfig carries its help),

    count: int = option(100, "Example slots in this run.", min=1)

The command line (agents/cli.py, `with_options`) and the service's job schema
(forge/service.py) both read them with `options_of`, so an option is added,
renamed or re-documented in one place.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from forge.errors import InputError


@dataclass(frozen=True)
class Option:
    """One user-facing field of a config: what the command line shows and the service accepts."""

    name: str
    type: Any
    """What the user gives: str, int, float, bool, Path, Optional[...] or list[Path]."""
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    flag: str = ""
    """The option's name on the command line when it is not the field's (`--eval` for `evals`)."""

    @property
    def spelling(self) -> str:
        return "--" + (self.flag or self.name).replace("_", "-")

    @property
    def is_switch(self) -> bool:
        return self.type is bool

    @property
    def is_list(self) -> bool:
        return typing.get_origin(self.type) is list

    def check(self, value: Any) -> Any:
        """A value given to the service, checked as the command line checks it; InputError says what is wrong."""
        try:
            return TypeAdapter(Annotated[self.type, Field(ge=self.min, le=self.max)]).validate_python(value)
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise InputError(f"{self.spelling} {value!r} is not valid: {problem[0].lower()}{problem[1:]}") from None

    def to_config(self, value: Any) -> Any:
        """The given value as the config holds it: paths absolute, as text; lists as tuples."""
        if isinstance(value, Path):
            return str(value.expanduser().resolve())
        if self.is_list:
            return tuple(self.to_config(v) for v in value or ())
        return value


def option(default: Any, help: str, *, type: Any = None, min: float | None = None, max: float | None = None,
           flag: str = "") -> Any:
    """A config field that users set: its default and help, and what the command line takes when that differs
    from the field's type (a Path for a field kept as text)."""
    return dataclasses.field(default=default, metadata={"option": {"help": help, "type": type, "min": min, "max": max,
                                                                   "flag": flag}})


def nested(overrides: dict[str, dict[str, Any]] | None = None) -> Any:
    """A field holding another config whose options the outer one offers too, with `overrides` by option name
    (another default or help where the outer command means something else)."""
    return dataclasses.field(metadata={"options": overrides or {}})


def options_of(config: type) -> list[Option]:
    """The user-facing options of a config dataclass, nested configs' included, in declaration order."""
    hints = typing.get_type_hints(config)
    found: list[Option] = []
    for field in dataclasses.fields(config):
        if "option" in field.metadata:
            meta = field.metadata["option"]
            found.append(Option(field.name, meta["type"] or hints[field.name], field.default, meta["help"],
                                meta["min"], meta["max"], meta["flag"]))
        elif "options" in field.metadata:
            overrides = field.metadata["options"]
            found += [dataclasses.replace(o, **overrides.get(o.name, {})) for o in options_of(hints[field.name])]
    return found


def own_values(config: type, given: dict[str, Any]) -> dict[str, Any]:
    """The values of `config`'s own options (not its nested configs') among `given`, as the config holds them."""
    own = {f.name for f in dataclasses.fields(config) if "option" in f.metadata}
    return {o.name: o.to_config(given[o.name]) for o in options_of(config) if o.name in own and o.name in given}
