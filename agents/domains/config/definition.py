"""The file that defines a user's own domain, and everything checked when it
loads. Each problem names the file, the line and the field, and all of them
are reported at once; nothing runs until the file is right.

    name: bookshop_sql                       # a name for the domain (letters, digits, _)
    description: one line on what the model learns
    system_prompt: what the student sees before every question
    format: instruction                      # or chat
    categories: {lookup: {weight: 2, instructions: "for an LLM teacher"}, ...}
    seeds: seeds.jsonl                       # or a list; at least 5 {instruction, output, category}
    variables: {year: {range: [1990, 2020]}, genre: {values: [...]}, book: {file: books.csv}, ...}
    templates: {lookup: [{instruction: "Jinja2 ...", output: "Jinja2 ..."}], ...}
    checks: [{type: regex | length | json_schema | python | sandbox | judge, ...}, ...]
    evaluation: {heldout: eval.jsonl, scoring: {type: exact | normalised | regex | python | judge, ...}}

Paths are relative to the file's own folder.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Union

import jinja2
import jinja2.meta
import jinja2.nodes
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, model_validator

from forge.rows import text_lines, validate_rows
from forge.yaml_file import ConfigError, Loc, YamlDocument

MIN_SEEDS = 5  # as InstructLab asks of a taxonomy leaf


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Category(Strict):
    weight: float = Field(1.0, gt=0, description="Share of a round's slots, relative to the other categories.")
    instructions: str = Field("", description="What an LLM teacher should write for this category.")


class Seed(Strict):
    instruction: str = Field(min_length=1)
    input: str = ""
    output: str = Field(min_length=1)
    category: str | None = None


class Variable(Strict):
    """Exactly one of: a list of values, an inclusive range, or a CSV/JSONL file
    (a column's distinct values, or without `column` a whole row)."""

    values: list[str | int | float] | None = Field(None, min_length=1)
    range: tuple[int, int] | tuple[float, float] | None = None
    file: str | None = None
    column: str | None = None

    @model_validator(mode="after")
    def one_kind(self) -> Variable:
        given = [k for k in ("values", "range", "file") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of values, range or file (got {', '.join(given) or 'none'})")
        if self.column is not None and self.file is None:
            raise ValueError("column needs a file")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range {list(self.range)} runs backwards: write [low, high]")
        return self


class Template(Strict):
    instruction: str = Field(min_length=1)
    input: str = ""
    output: str = Field(min_length=1)


class CheckBase(Strict):
    name: str | None = Field(None, description="The check's name in the verdict (default: its type).")
    reason: str | None = Field(None, description="The reason code a failure gets (default: the name).")
    target: Literal["output", "instruction", "example"] = "output"


class RegexCheck(CheckBase):
    type: Literal["regex"]
    must_match: str | None = None
    must_not_match: str | None = None

    @model_validator(mode="after")
    def patterns(self) -> RegexCheck:
        if self.must_match is None and self.must_not_match is None:
            raise ValueError("give must_match, must_not_match or both")
        for pattern in (self.must_match, self.must_not_match):
            try:
                re.compile(pattern or "")
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
        return self


class LengthCheck(CheckBase):
    type: Literal["length"]
    min_chars: int | None = Field(None, ge=0)
    max_chars: int | None = Field(None, ge=1)
    min_words: int | None = Field(None, ge=0)
    max_words: int | None = Field(None, ge=1)


class JsonSchemaCheck(CheckBase):
    type: Literal["json_schema"]
    json_schema: dict[str, Any] | None = Field(None, alias="schema")
    schema_file: str | None = None

    @model_validator(mode="after")
    def one_schema(self) -> JsonSchemaCheck:
        if (self.json_schema is None) == (self.schema_file is None):
            raise ValueError("give exactly one of schema (inline) or schema_file")
        return self


class PythonCheck(CheckBase):
    type: Literal["python"]
    function: str = Field(pattern=r"^[\w.]+:\w+$", description="module:function, the module beside this file or importable.")


class SandboxCheck(CheckBase):
    type: Literal["sandbox"]
    command: list[str] = Field(min_length=1, description="What runs in the sandbox, e.g. [python3, answer.py].")
    file: str = Field("answer.py", pattern=r"^[\w.-]+$", description="Where the example's code is written.")
    code: Literal["fenced", "whole"] = Field("fenced", description="fenced: the first ``` block, else the whole text.")


class JudgeCheck(CheckBase):
    type: Literal["judge"]
    rubric: str = Field(min_length=1)
    threshold: float = Field(ge=1, le=10, description="The least score (1-10) an example passes with.")


Check = Annotated[Union[RegexCheck, LengthCheck, JsonSchemaCheck, PythonCheck, SandboxCheck, JudgeCheck],
                  Field(discriminator="type")]


class ExactScoring(Strict):
    type: Literal["exact"]


class NormalisedScoring(Strict):
    type: Literal["normalised"]


class RegexScoring(Strict):
    type: Literal["regex"]
    pattern: str = Field(description="Jinja2, rendered with the item's fields, then searched for in the answer.")


class PythonScoring(Strict):
    type: Literal["python"]
    function: str = Field(pattern=r"^[\w.]+:\w+$")


class JudgeScoring(Strict):
    type: Literal["judge"]
    rubric: str = Field(min_length=1)
    threshold: float = Field(ge=1, le=10)
    grader: str = Field(description="The teacher spec that grades: openai:<model>@<base_url> or llamacpp:<path.gguf>.")


Scoring = Annotated[Union[ExactScoring, NormalisedScoring, RegexScoring, PythonScoring, JudgeScoring],
                    Field(discriminator="type")]


class Evaluation(Strict):
    heldout: str | None = Field(None, description="A JSONL file of {instruction, output, category} held out for evaluation.")
    share: float | None = Field(None, gt=0, lt=1, description="Or: generate this share of --count as held-out items.")
    scoring: Scoring = NormalisedScoring(type="normalised")

    @model_validator(mode="after")
    def one_source(self) -> Evaluation:
        if self.heldout is not None and self.share is not None:
            raise ValueError("give heldout or share, not both")
        return self


class DomainFile(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    description: str = Field(min_length=1)
    system_prompt: str = ""
    format: Literal["instruction", "chat"] = "instruction"
    categories: dict[str, Category] = Field(min_length=1)
    seeds: str | list[Seed]
    variables: dict[str, Variable] = {}
    templates: dict[str, list[Template]] = {}
    checks: list[Check] = []
    evaluation: Evaluation = Evaluation()


# -- loading: the file, then everything it points to ------------------------

@dataclass(frozen=True)
class LoadedDomain:
    """A domain file with what it points to read, compiled and checked."""

    path: Path
    spec: DomainFile
    seeds: list[Seed]
    variables: dict[str, Callable[[random.Random], Any]]  # name -> draws one value (or row)
    templates: dict[str, list[tuple[jinja2.Template, ...]]]  # category -> (instruction, input, output) templates
    references: dict[str, list[tuple[set[str], set[str]]]]  # category -> (instruction refs, output refs) per template
    functions: dict[str, Callable[..., Any]]  # "module:function" -> the callable
    schemas: dict[int, dict[str, Any]]  # check index -> JSON schema
    heldout: list[Seed] | None
    pattern: jinja2.Template | None  # regex scoring's pattern


JINJA = SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)


def load_domain_file(path: Path) -> LoadedDomain:
    """Read and check a domain file; ConfigError lists every problem."""
    document = YamlDocument(path)
    spec = document.validate(DomainFile)
    base = path.resolve().parent
    problems: list[str] = []

    def problem(loc: Loc, message: str) -> None:
        problems.append(document.problem(loc, message))

    seeds = _seeds(spec.seeds, base, document, problems) if isinstance(spec.seeds, str) else list(spec.seeds)
    if seeds is None:  # unreadable, and already reported
        seeds = []
    elif len(seeds) < MIN_SEEDS:
        problem(("seeds",), f"{len(seeds)} seed examples: give at least {MIN_SEEDS}, so the teacher has real examples to follow")
    for i, seed in enumerate(seeds):
        if seed.category is None and len(spec.categories) > 1:
            problem(("seeds", i), "a seed needs a category when the domain has more than one")
        elif seed.category is not None and seed.category not in spec.categories:
            problem(("seeds", i), f"category {seed.category!r} is not declared: use one of {', '.join(spec.categories)}")
    variables = {name: _sampler(name, v, base, document, problems) for name, v in spec.variables.items()}
    templates, references = _templates(spec, document, problems)
    for category in spec.categories:
        if not templates.get(category) and not any(s.category in (category, None) for s in seeds):
            problem(("categories", category), "no templates and no seed examples: the offline teacher cannot write "
                                              "this category; add templates or seeds for it")
    functions, schemas = {}, {}
    for i, check in enumerate(spec.checks):
        if isinstance(check, PythonCheck):
            _function(check.function, base, ("checks", i, "function"), document, problems, functions)
        elif isinstance(check, JsonSchemaCheck):
            schemas[i] = _schema(check, base, ("checks", i), document, problems)
    scoring, pattern = spec.evaluation.scoring, None
    if isinstance(scoring, RegexScoring):
        try:
            pattern = JINJA.from_string(scoring.pattern)
        except jinja2.TemplateSyntaxError as exc:
            problem(("evaluation", "scoring", "pattern"), f"Jinja2 syntax error: {exc.message}")
    elif isinstance(scoring, PythonScoring):
        _function(scoring.function, base, ("evaluation", "scoring", "function"), document, problems, functions)
    elif isinstance(scoring, JudgeScoring):
        from agents.teachers import parse_teacher_spec

        try:
            parse_teacher_spec(scoring.grader)
        except Exception as exc:  # InputError: what is wrong with the spec
            problem(("evaluation", "scoring", "grader"), str(exc))
    heldout = None
    if spec.evaluation.heldout is not None:
        rows = _jsonl(base / spec.evaluation.heldout, Seed, ("evaluation", "heldout"), document, problems) or []
        problems += [f"{base / spec.evaluation.heldout}:{line}: category: {row.category!r} is not declared: use one of "
                     f"{', '.join(spec.categories)}" for line, row in rows
                     if row.category is not None and row.category not in spec.categories]
        heldout = [row for _, row in rows]
    if problems:
        raise ConfigError(path, problems)
    return LoadedDomain(path, spec, seeds, variables, templates, references, functions, schemas, heldout, pattern)


def _jsonl(path: Path, model: type[BaseModel], loc: Loc, document: YamlDocument, problems: list[str]) -> list | None:
    """The rows of a JSONL file as `model`, each with its line number; None if it cannot be read."""
    try:
        rows, found = validate_rows(path, model)
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(document.problem(loc, f"cannot read {path} ({exc.strerror if isinstance(exc, OSError) else exc}): "
                                              "fix the path (relative to this file's folder) or create the file"))
        return None
    problems += found
    return rows


def _seeds(name: str, base: Path, document: YamlDocument, problems: list[str]) -> list[Seed] | None:
    rows = _jsonl(base / name, Seed, ("seeds",), document, problems)
    return None if rows is None else [seed for _, seed in rows]


def _sampler(name: str, variable: Variable, base: Path, document: YamlDocument,
             problems: list[str]) -> Callable[[random.Random], Any]:
    if variable.range is not None:
        low, high = variable.range
        if isinstance(low, int):
            return lambda rng: rng.randint(low, high)
        return lambda rng: round(rng.uniform(low, high), 2)
    values = list(variable.values) if variable.values is not None else _file_values(name, variable, base, document, problems)
    return lambda rng: rng.choice(values)


def _file_values(name: str, variable: Variable, base: Path, document: YamlDocument, problems: list[str]) -> list[Any]:
    path = base / variable.file
    try:
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as f:
                rows = [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]
        else:
            rows = [json.loads(line) for line in text_lines(path.read_text(encoding="utf-8")) if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        problems.append(document.problem(("variables", name, "file"), f"cannot read {path}: {exc}. Fix the path "
                                         "(relative to this file's folder); CSV needs a header row, JSONL one object a line"))
        return []
    if not rows:
        problems.append(document.problem(("variables", name, "file"), f"{path} has no rows"))
        return []
    if variable.column is None:
        return rows
    if variable.column not in rows[0]:
        problems.append(document.problem(("variables", name, "column"), f"{path} has no column {variable.column!r}: "
                                         f"its columns are {', '.join(rows[0])}"))
        return []
    distinct = {json.dumps(row[variable.column], sort_keys=True): row[variable.column]
                for row in rows if row.get(variable.column) not in (None, "")}
    if not distinct:
        problems.append(document.problem(("variables", name, "column"), f"column {variable.column!r} of {path} is "
                                         f"empty in all {len(rows)} rows: fill it in, or use another column"))
    return [distinct[key] for key in sorted(distinct)]


def _number(text: str) -> Any:
    """CSV cells are text; numbers should render (and compare) as numbers,
    unless that would change how they are written ("007", "1e3")."""
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        return value if str(value) == text else text
    return text


def references(template: jinja2.nodes.Template) -> set[str]:
    """What a template reads: `year`, and `book.title` for a row variable's field."""
    found = {f"{n.node.name}.{n.attr}" for n in template.find_all(jinja2.nodes.Getattr) if isinstance(n.node, jinja2.nodes.Name)}
    return found | jinja2.meta.find_undeclared_variables(template)


def _templates(spec: DomainFile, document: YamlDocument, problems: list[str]):
    compiled: dict[str, list[tuple[jinja2.Template, ...]]] = {}
    refs: dict[str, list[tuple[set[str], set[str]]]] = {}
    for category, templates in spec.templates.items():
        if category not in spec.categories:
            problems.append(document.problem(("templates", category), f"category {category!r} is not declared: "
                                             f"use one of {', '.join(spec.categories)}"))
            continue
        for i, template in enumerate(templates):
            parts, used = [], []
            for field in ("instruction", "input", "output"):
                loc = ("templates", category, i, field)
                try:
                    tree = JINJA.parse(getattr(template, field))
                except jinja2.TemplateSyntaxError as exc:
                    problems.append(document.problem(loc, f"Jinja2 syntax error on template line {exc.lineno}: {exc.message}"))
                    continue
                unknown = sorted(jinja2.meta.find_undeclared_variables(tree) - set(spec.variables))
                if unknown:
                    problems.append(document.problem(loc, f"uses undeclared variable(s) {', '.join(unknown)}: declare "
                                                          f"them under variables (declared: {', '.join(spec.variables) or 'none'})"))
                parts.append(JINJA.from_string(getattr(template, field)))
                used.append(references(tree))
            if len(parts) == 3:
                compiled.setdefault(category, []).append(tuple(parts))
                refs.setdefault(category, []).append((used[0] | used[1], used[2]))
    return compiled, refs


def load_function(ref: str, base: Path) -> Callable[..., Any]:
    """`module:function`: the module from `base` (a .py beside the domain file) if it is there, else importable."""
    module_name, _, function = ref.partition(":")
    local = base / (module_name.replace(".", "/") + ".py")
    if local.is_file():
        unique = f"domainforge_user.{abs(hash(str(local)))}.{module_name}"
        spec = importlib.util.spec_from_file_location(unique, local)
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    found = getattr(module, function, None)
    if not callable(found):
        raise AttributeError(f"{module_name} has no function {function!r}")
    return found


def _function(ref: str, base: Path, loc: Loc, document: YamlDocument, problems: list[str],
              functions: dict[str, Callable[..., Any]]) -> None:
    if ref in functions:
        return
    try:
        functions[ref] = load_function(ref, base)
    except Exception as exc:  # the user's module failed to import: say how, and where we looked
        problems.append(document.problem(loc, f"cannot load {ref}: {type(exc).__name__}: {exc}. Put "
                                              f"{ref.partition(':')[0]}.py beside the domain file ({base}) or make it importable"))


def _schema(check: JsonSchemaCheck, base: Path, loc: Loc, document: YamlDocument, problems: list[str]) -> dict[str, Any]:
    import jsonschema

    schema = check.json_schema
    if check.schema_file is not None:
        try:
            schema = json.loads((base / check.schema_file).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            problems.append(document.problem((*loc, "schema_file"), f"cannot read a JSON schema from {base / check.schema_file}: {exc}"))
            return {}
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        problems.append(document.problem(loc, f"not a valid JSON schema: {exc.message}"))
    return schema
