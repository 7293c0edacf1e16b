"""Hypothesis strategies for what users bring: small random inputs for every
domain's sources. The property tests (tests/**/test_*_fuzz.py) and the long
fuzz run (benchmarks/fuzz_inputs.py) share them."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

CRASHES = {"generator_error", "verifier_error", "critic_error"}
"""Rejection reasons that mean our code raised: never right for any input."""


def template_run(domain, registered: str, sources: dict[str, str], store_path, count: int,
                 weights: dict[str, float] | None = None) -> dict:
    """A whole generation run of `count` slots with the template teacher and critic on the opened
    `domain` (registry name `registered`); its store summary. Every slot must end, accepted or rejected."""
    from agents.generation import GenerationConfig, run_generation
    from agents.teachers.template import TemplateTeacher
    from forge.sqlite_store import SQLiteStore

    store = SQLiteStore(store_path)
    config = GenerationConfig(domain=registered, sources=sources, teacher="template", critic="template", count=count,
                              max_attempts=1, weights=weights or {})
    teacher = TemplateTeacher(domain)
    try:
        progress = asyncio.run(run_generation(domain, teacher, teacher, store, config))
        summary = store.summary(config.run_id)
    finally:
        store.close()
    assert progress.done == count and summary["accepted"] + summary["rejected"] == count
    return summary


def write_tree(folder, files: dict[str, bytes]):
    """The drawn files written under `folder`; the folder."""
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def crashes(summary: dict) -> dict[str, int]:
    return {reason: n for reason, n in summary["rejected_by_reason"].items() if reason in CRASHES}


def examples(in_ci: int) -> int:
    """Inputs per property test: few in the test suite, as many as benchmarks/fuzz_inputs.py asks for."""
    return int(os.environ.get("DOMAINFORGE_FUZZ_EXAMPLES", in_ci))


# -- Cypher: random schemas and data, written as the script --graph reads -------------------

NAMES = st.one_of(
    st.from_regex(r"[A-Z][a-z]{2,8}", fullmatch=True),                  # Person
    st.from_regex(r"[a-z]{2,6}_[a-z]{2,6}", fullmatch=True),            # first_name
    st.from_regex(r"[a-z]{2,6}[A-Z][a-z]{2,6}", fullmatch=True),        # firstName
    st.from_regex(r"[A-Za-z]{2,6}[ -][a-z]{2,6}", fullmatch=True),      # "release year", "e-mail": backticks
    st.sampled_from(["order", "match", "Return", "count", "end", "Ünïcode", "名前", "2nd_place", "with"]),
)
SCALARS = st.one_of(
    st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False), st.booleans(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
    st.sampled_from(["Oslo", "Lyon", "Kyoto", "2024-05-01", "N/A", "", "O'Brien", "back\\slash"]),
)
VALUES = st.one_of(SCALARS, SCALARS, st.none(), st.lists(st.one_of(st.integers(-99, 99), st.sampled_from(["a", "b", "c d"])),
                                                          max_size=4))


@dataclass
class RandomGraph:
    nodes: list[tuple[str, dict[str, Any]]]
    """(label, properties) per node."""
    edges: list[tuple[int, str, int, dict[str, Any]]]
    """(from node, type, to node, properties)."""

    def script(self) -> str:
        """The graph as a Cypher script: one CREATE of every node and relationship."""
        parts = [f"(n{i}:{cypher_name(label)}" + (f" {{{props(p)}}})" if props(p) else ")")
                 for i, (label, p) in enumerate(self.nodes)]
        parts += [f"(n{a})-[:{cypher_name(rel)}" + (f" {{{props(p)}}}]->" if props(p) else "]->") + f"(n{b})"
                  for a, rel, b, p in self.edges]
        return f"CREATE {', '.join(parts)};\n" if parts else "// nothing\n"


def cypher_name(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def cypher_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(cypher_value(v) for v in value) + "]"
    return repr(value)


def props(values: dict[str, Any]) -> str:
    return ", ".join(f"{cypher_name(k)}: {cypher_value(v)}" for k, v in values.items() if v is not None)


@st.composite
def random_graphs(draw) -> RandomGraph:
    """One to three labels with up to 12 nodes each (a property of each type, lists, nulls, names that need
    backticks), and relationships among them: none, self-loops, a single type, or several."""
    labels = draw(st.lists(NAMES, min_size=1, max_size=3, unique_by=str.lower))
    schema = {label: draw(st.lists(NAMES, min_size=0, max_size=4, unique=True)) for label in labels}
    nodes = []
    for label in labels:
        for _ in range(draw(st.integers(0, 12))):
            nodes.append((label, {p: draw(VALUES) for p in schema[label]}))
    types = draw(st.lists(st.from_regex(r"[A-Z]{2,8}(_[A-Z]{2,6})?", fullmatch=True) | NAMES, min_size=1, max_size=3,
                          unique=True))
    edges = []
    if nodes:
        for _ in range(draw(st.integers(0, 20))):
            a, b = draw(st.integers(0, len(nodes) - 1)), draw(st.integers(0, len(nodes) - 1))
            edges.append((a, draw(st.sampled_from(types)), b, draw(st.dictionaries(NAMES, SCALARS, max_size=2))))
    return RandomGraph(nodes, edges)


# -- Docs: random documentation folders ------------------------------------------------------

WORDS = st.sampled_from("""the a worker run job queue scheduler timeout retry config option default value error
install start stop server client request response cache token file path limit port host user""".split())
SENTENCES = st.lists(WORDS, min_size=3, max_size=14).map(lambda ws: " ".join(ws).capitalize() + ".")
INLINE = st.one_of(SENTENCES, SENTENCES, st.sampled_from([
    "Set `timeout = 30` in `kestrel.toml`.", "The default is **4**.", "See [the guide](guide.md).",
    "Run `kestrel start --port 8080`.", "To install it: run pip.", "Error `KS101: bad config` means the file is wrong.",
    "Note: it is *not* thread-safe.", "A worker is a process that takes runs from a queue.", "{weird} <b>html</b> & \"q\"",
    "A queue is an ordered list of runs waiting for a worker.", "The scheduler is the process that starts due jobs.",
    "If the port is taken, the server stops with `KS300`.", "`--limit` sets the most runs shown."]))


@st.composite
def markdown_pages(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["heading", "para", "steps", "list", "table", "code", "admonition", "deep"]))
        if kind in ("heading", "deep"):
            level = draw(st.integers(1, 6 if kind == "deep" else 3))
            lines.append("#" * level + " " + draw(st.sampled_from(["Install", "Options", "Troubleshooting", "Install",
                                                                   "KS204: database is locked", "Überblick", "FAQ", ""])))
        elif kind == "para":
            lines.append(" ".join(draw(st.lists(INLINE, min_size=1, max_size=4))))
        elif kind in ("steps", "list"):
            lines += [f"{i + 1}. {s}" if kind == "steps" else f"- {s}" for i, s in enumerate(draw(st.lists(INLINE, max_size=5)))]
        elif kind == "table":
            columns = draw(st.integers(1, 4))
            rows = draw(st.integers(0, 40))
            lines.append("| " + " | ".join(draw(st.sampled_from(["Option", "Default", "Description", "Code"]))
                                           for _ in range(columns)) + " |")
            lines.append("|" + "---|" * columns)
            lines += ["| " + " | ".join(draw(WORDS) for _ in range(columns)) + " |" for _ in range(rows)]
        elif kind == "code":
            lines += ["```" + draw(st.sampled_from(["", "python", "toml", "bash"])), draw(INLINE), "```"]
        else:
            lines += ["!!! " + draw(st.sampled_from(["note", "warning", "tip"])), "    " + draw(INLINE)]
        lines.append("")
    return "\n".join(lines)


@st.composite
def docs_folders(draw) -> dict[str, bytes]:
    """File name -> bytes: Markdown pages, reST and HTML pages, empty files, binary files and Latin-1 text."""
    files: dict[str, bytes] = {}
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["md", "md", "md", "rst", "html", "empty", "binary", "latin1", "nested"]))
        if kind in ("md", "nested"):
            files[f"{'guide/deeper/' if kind == 'nested' else ''}page{i}.md"] = draw(markdown_pages()).encode()
        elif kind == "rst":
            title = draw(st.sampled_from(["Options", "Install", "Errors"]))
            body = "\n\n".join(draw(st.lists(INLINE, max_size=4)))
            files[f"page{i}.rst"] = f"{title}\n{'=' * len(title)}\n\n{body}\n".encode()
        elif kind == "html":
            files[f"page{i}.html"] = (f"<html><body><h1>{draw(WORDS)}</h1><p>{draw(INLINE)}</p>"
                                      f"<h2>Options</h2><ul><li>{draw(INLINE)}</li></ul></body></html>").encode()
        elif kind == "empty":
            files[f"empty{i}.md"] = b""
        elif kind == "binary":
            files[f"image{i}.md"] = b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(draw(st.binary(max_size=40)))
        else:
            files[f"latin{i}.md"] = ("# Caf\u00e9\n\n" + draw(INLINE) + " na\u00efve\n").encode("latin-1", errors="replace")
    return files


# -- Config: random but valid YAML domains ----------------------------------------------------

CATEGORY_NAMES = st.from_regex(r"[a-z][a-z_]{2,10}", fullmatch=True)
CELLS = st.one_of(st.sampled_from(["Oslo", "Lyon", "", "42", "3.5", "O'Brien", "naïve", "a,b", 'say "hi"', "{{ x }}"]),
                  st.integers(-5, 2000).map(str))


@st.composite
def config_domains(draw) -> dict[str, Any]:
    """{yaml: the definition, files: {name: text}}: categories, seeds, variables of each kind (values, a range,
    a CSV column, a whole CSV row) and templates that use them, with regex and length checks."""
    categories = draw(st.lists(CATEGORY_NAMES, min_size=1, max_size=3, unique=True))
    columns = draw(st.lists(st.from_regex(r"[a-z][a-z_]{1,8}", fullmatch=True), min_size=1, max_size=3, unique=True))
    rows = draw(st.lists(st.lists(CELLS, min_size=len(columns), max_size=len(columns)), min_size=1, max_size=8))
    csv = ",".join(columns) + "\n" + "".join(",".join(json.dumps(c) if ("," in c or '"' in c) else c for c in row) + "\n"
                                            for row in rows)
    variables = {"word": {"values": draw(st.lists(st.sampled_from(["red", "blue", "Ünïcode", "x y", "7"]), min_size=1,
                                                  max_size=4))},
                 "number": {"range": sorted(draw(st.lists(st.integers(-100, 100), min_size=2, max_size=2)))},
                 "cell": {"file": "table.csv", "column": columns[0]},
                 "row": {"file": "table.csv"}}
    uses = ["{{ word }}", "{{ number }}", "{{ cell }}", "{{ row." + columns[-1] + " }}"]
    templates = {c: [{"instruction": f"Question {i} about {draw(st.sampled_from(uses))} and {draw(st.sampled_from(uses))}?",
                      "output": f"Answer {draw(st.sampled_from(uses))}."} for i in range(draw(st.integers(1, 3)))]
                 for c in categories}
    seeds = [{"instruction": f"Seed question {i}?", "output": f"Seed answer {i}.", "category": categories[i % len(categories)]}
             for i in range(5)]
    checks = draw(st.lists(st.one_of(
        st.just({"type": "length", "min_chars": 1, "max_chars": 2000}),
        st.sampled_from([{"type": "regex", "must_match": r"\S"}, {"type": "regex", "must_not_match": r"\bTODO\b"}])),
        max_size=2))
    definition = {"name": "fuzzed", "description": "a fuzzed domain", "system_prompt": "Answer briefly.",
                  "format": "instruction", "categories": {c: {"weight": draw(st.sampled_from([0.5, 1, 3]))} for c in categories},
                  "seeds": seeds, "variables": variables, "templates": templates, "checks": checks,
                  "evaluation": {"share": 0.2}}
    return {"yaml": definition, "files": {"table.csv": csv}}


# -- MTG: rules documents and guides in the published layouts --------------------------------

MTG = Path(__file__).resolve().parents[1] / "data" / "mtg"
NUMBERED = re.compile(r"^\d{3}\.\d+")
KEYWORD_TITLES = st.sampled_from(["Flying", "Reach", "Vigilance", "Haste", "Menace", "Ward", "Flash", "Hexproof"])


def _in_any_line_ending(draw, text: str) -> bytes:
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return (("\ufeff" if draw(st.booleans()) else "") + text.replace("\n", ending)).encode("utf-8")


@st.composite
def rules_documents(draw) -> bytes:
    """Our fixture in the Comprehensive Rules layout with a random share of its rules kept, random rules,
    keyword sections and examples added, the glossary dropped or not, in LF, CRLF or CR, with or without a
    byte-order mark; now and then a document missing its effective date or its contents."""
    lines = (MTG / "rules_fixture.txt").read_text(encoding="utf-8-sig").split("\n")
    keep = draw(st.sampled_from([0.0, 0.3, 0.8, 1.0]))
    lines = [line for line in lines if not NUMBERED.match(line) or draw(st.floats(0, 1)) < keep]
    glossary = max(i for i, line in enumerate(lines) if line == "Glossary")  # the heading, not the contents' line
    added = []
    for _ in range(draw(st.integers(0, 6))):
        number = f"{draw(st.integers(100, 799))}.{draw(st.integers(1, 30))}"
        added += [f"{number}. {draw(SENTENCES)} {draw(SENTENCES)}", ""]
        for letter in draw(st.sampled_from(["", "a", "ab", "abc"])):
            added += [f"{number}{letter} {draw(SENTENCES)}", ""]
            if draw(st.booleans()):
                added += [f"Example: {draw(SENTENCES)}", ""]
    for _ in range(draw(st.integers(0, 2))):
        number = f"702.{draw(st.integers(30, 99))}"
        added += [f"{number}. {draw(KEYWORD_TITLES)}", "", f"{number}a {draw(SENTENCES)} {draw(SENTENCES)}", ""]
    lines[glossary:glossary] = added
    if draw(st.booleans()):
        lines = lines[:glossary + len(added)]
    text = "\n".join(lines)
    broken = draw(st.sampled_from(["", "", "", "", "no date", "no contents"]))
    if broken == "no date":
        text = re.sub(r"effective as of [^.]+", "in force", text)
    elif broken == "no contents":
        text = text.replace("1. Game Concepts", "Game Concepts")
    return _in_any_line_ending(draw, text)


@st.composite
def ipg_documents(draw) -> bytes:
    """Our Infraction Procedure Guide fixture with a random share of its infractions kept and its lines
    re-spaced as `pdftotext -layout` leaves them, now and then none kept (not a guide)."""
    text = (MTG / "ipg_fixture.txt").read_text(encoding="utf-8-sig")
    blocks = re.split(r"\n(?=\d\.\d+\. \S.*(?:No Penalty|Warning|Game Loss|Match Loss|Disqualification)$)", text,
                      flags=re.M)
    kept = [blocks[0]] + [b for b in blocks[1:] if draw(st.sampled_from([True, True, False]))]
    if draw(st.integers(0, 5)) == 0:
        kept = [blocks[0].split("1. GENERAL PHILOSOPHY")[0]]
    text = "\n".join(kept)
    if draw(st.booleans()):
        text = re.sub(r"(?m)^(\d\.\d+\.) ", r"\1   ", text)
    return _in_any_line_ending(draw, text)


# -- Chat: conversation files as exports have them --------------------------------------------

SPEAKERS = st.sampled_from(["human", "gpt", "user", "assistant", "system", "customer", "agent", "bot", "Human ",
                            "GPT", "narrator", ""])
TURN_TEXTS = st.one_of(
    SENTENCES, SENTENCES,
    st.sampled_from(["", "   ", "Thanks!", "Hi, I'm Ada Lovelace, mail me at ada@example.com or call +44 20 7946 0958.",
                     "Use `sorted(xs, reverse=True)`:\n\n```python\nprint(sorted([2, 1, 3], reverse=True))\n```\n\n"
                     "Output:\n\n```text\n[3, 2, 1]\n```",
                     "```python\nprint(1 / 0)\n```\n\nOutput:\n\n```text\n0\n```", "```python\nwhile True: pass\n```",
                     "line one\u2028line two", "Ünïcode ✓ 名前", "Bonjour, comment ça va ? Je cherche une réponse.",
                     "word " * 400]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30))


@st.composite
def conversation_files(draw) -> tuple[str, bytes]:
    """(format, file bytes) of a conversation export: OpenAI messages JSONL, ShareGPT as a JSON array or
    JSONL, or a support-log CSV; with unknown speakers, system turns anywhere, empty and non-text turns,
    content parts, lines that are not JSON, rows with missing fields and times that are not times."""
    form = draw(st.sampled_from(["openai", "sharegpt", "sharegpt-array", "csv"]))
    asks, answers = {"openai": ("user", "assistant"), "csv": ("customer", "agent")}.get(form, ("human", "gpt"))
    conversations = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):  # as most exports have them: questions and answers in turn, perhaps a stray turn
            turns = [(who, draw(TURN_TEXTS if draw(st.integers(0, 4)) == 0 else SENTENCES))
                     for _ in range(draw(st.integers(1, 3))) for who in (asks, answers)]
            if draw(st.booleans()):
                turns.insert(draw(st.integers(0, len(turns))), (draw(SPEAKERS), draw(TURN_TEXTS)))
        else:
            turns = draw(st.lists(st.tuples(SPEAKERS, TURN_TEXTS), max_size=8))
        conversations.append(turns)
    if form == "csv":
        rows = [["conversation_id", "role", "text", "timestamp"]]
        for i, turns in enumerate(conversations):
            for j, (who, text) in enumerate(turns):
                when = draw(st.sampled_from([f"2026-05-0{1 + j % 9}T10:00:00Z", str(1_700_000_000 + j),
                                             f"2026-05-01 10:0{j % 10}:00+02:00"] * 3 + ["yesterday", ""]))
                rows.append(draw(st.sampled_from([[f"c{i}", who, text, when]] * 12 + [[f"c{i}", who], ["", who, text, when]])))
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        return "csv", buffer.getvalue().encode("utf-8")
    speaker, said, key = ("role", "content", "messages") if form == "openai" else ("from", "value", "conversations")
    records: list[Any] = []
    for turns in conversations:
        turn_list = []
        for who, text in turns:
            content: Any = draw(st.sampled_from([text] * 12 + [[{"type": "text", "text": text}],
                                                 [{"type": "image_url", "image_url": {"url": "x.png"}}], None, 7]))
            turn_list.append({speaker: who, said: content})
        records.append(draw(st.sampled_from([{key: turn_list}] * 8 + [{key: []}, {"other": turn_list}, [turn_list]])))
    ascii_only = draw(st.booleans())
    if form == "sharegpt-array":
        return "sharegpt", json.dumps(records, ensure_ascii=ascii_only, indent=draw(st.sampled_from([None, 2]))).encode()
    lines = [json.dumps(r, ensure_ascii=ascii_only) for r in records]
    if lines and draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["{not json", "", "null", "[1, 2]"])))
    return form, ("\n".join(lines) + "\n").encode()


# -- Repo and coding: small random Go and Python packages -------------------------------------

IDENTIFIERS = st.lists(st.sampled_from("""scale total shift clamp parse merge split count apply label price stock order
    fetch store cache retry queue limit""".split()), min_size=30, max_size=30).map(
    lambda words: [f"{w}{i}" for i, w in enumerate(words)])  # unique, and never a keyword or a builtin
DOCTESTS = [  # (doctest lines, a right one or not): what users write in docstrings
    ("    >>> {n}({a})\n    {b}\n", True),
    ("    >>> {n}({a}) == {b}\n    True\n", True),
    ("    >>> print({n}({a}))\n    {b}\n", True),
    ("    >>> y = {n}({a})\n    {b}\n", False),                    # an assignment with output
    ("    >>> {n}(\n    {b}\n", False),                             # not Python
    ("    >>> {n}({a})  # doctest: +ELLIPSIS\n    ...\n", False),
    ("    >>> {n}('x')\n    Traceback (most recent call last):\n    TypeError: nope\n", False),
    ("    >>> import math\n    >>> {n}({a}) + math.floor(0.5)\n    {b}\n", True),
    ("    >>> {n}({a}); {n}({a})\n    {b}\n    {b}\n", False),
]


@st.composite
def python_packages(draw) -> dict[str, bytes]:
    """Path -> bytes: a package of 1-3 modules (documented functions with doctests of every kind, methods,
    callers, undocumented and async functions), tests or none, a file with a syntax error, a generated
    file, a Latin-1 file, empty files."""
    names = iter(draw(IDENTIFIERS))
    package = next(names)
    files: dict[str, bytes] = {f"{package}/__init__.py": b""}
    tests: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        module, body, defined = next(names), [], []
        for _ in range(draw(st.integers(1, 5))):
            name, k, a = next(names), draw(st.integers(-9, 9)), draw(st.integers(-20, 20))
            kind = draw(st.sampled_from(["add", "add", "raise", "caller", "class", "async", "bare"]))
            doctest, right = draw(st.sampled_from(DOCTESTS))
            example = doctest.format(n=name, a=a, b=a + k if right else a - k)
            if kind == "add":
                body.append(f'def {name}(x):\n    """Return x plus {k}.\n\n{example}    """\n    return x + {k}\n')
            elif kind == "raise":
                body.append(f'def {name}(x):\n    """Return x plus {k}; raise ValueError when x is negative.\n\n'
                            f'{example}    """\n    if x < 0:\n        raise ValueError("negative")\n    return x + {k}\n')
            elif kind == "caller" and defined:
                callee = draw(st.sampled_from(defined))
                body.append(f'def {name}(x):\n    """Apply {callee} twice."""\n    return {callee}({callee}(x))\n')
            elif kind == "class":
                body.append(f'class {name.capitalize()}:\n    """A counter."""\n\n    def __init__(self):\n'
                            f'        self.n = 0\n\n    def {name}(self, k):\n        """Add k to the count."""\n'
                            f'        self.n += k\n        return self.n\n')
            elif kind == "async":
                body.append(f'async def {name}(x):\n    """Return x plus {k}, later."""\n    return x + {k}\n')
            else:
                body.append(f"def {name}(x):\n    return x * {k}\n")
            if kind in ("add", "raise"):
                defined.append(name)
                if draw(st.booleans()):
                    tests.append(f"from {package}.{module} import {name}\n\n\ndef test_{name}():\n"
                                 f"    assert {name}({abs(a)}) == {abs(a) + k}\n")
        files[f"{package}/{module}.py"] = "\n\n".join(body).encode()
    if tests and draw(st.booleans()):
        files["tests/test_package.py"] = "\n\n".join(tests).encode()
    extra = draw(st.sampled_from(["", "", "syntax", "generated", "latin1", "empty", "unicode", "nested", "crlf"]))
    if extra == "nested":
        files[f"{package}/__init__.py"] = (
            'import functools\n\n\n@functools.lru_cache(maxsize=None)\ndef cached(x):\n    """Return x squared.\n\n'
            '    >>> cached(3)\n    9\n    """\n    def inner(y):\n        """The square."""\n        return y * y\n'
            '    return inner(x)\n\n\nclass Outer:\n    """Holds a class."""\n\n    class Inner:\n'
            '        """Nested."""\n\n        @staticmethod\n        def make():\n            """Make one."""\n'
            '            return 1\n\n\nif __name__ == "__main__":\n    print(cached(2))\n').encode()
    elif extra == "crlf":
        files = {name: b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n") for name, data in files.items()}
    elif extra == "syntax":
        files[f"{package}/broken.py"] = b'def broken(:\n    """Never parses."""\n'
    elif extra == "generated":
        files[f"{package}/messages_pb2.py"] = (
            "# -*- coding: utf-8 -*-\n# Generated by the protocol buffer compiler.  DO NOT EDIT!\n\n\n"
            'def _build(x):\n    """Build the descriptor.\n\n    >>> _build(1)\n    1\n    """\n    return x\n').encode()
    elif extra == "latin1":
        files[f"{package}/legacy.py"] = '# -*- coding: latin-1 -*-\ndef caf\u00e9(x):\n    """R\u00e9sum\u00e9."""\n    return x\n'.encode("latin-1")
    elif extra == "empty":
        files[f"{package}/nothing.py"] = b""
    elif extra == "unicode":
        files[f"{package}/units.py"] = 'def gr\u00f6\u00dfe(x):\n    """Return the size of x.\n\n    >>> gr\u00f6\u00dfe("ab")\n    2\n    """\n    return len(x)\n'.encode()
    return files


@st.composite
def go_packages(draw) -> dict[str, bytes]:
    """Path -> bytes: a Go module (or a folder without go.mod) with a package of documented functions,
    error returns, methods, callers, tests or none, a file with a syntax error or a generated file."""
    names = iter(n.capitalize() for n in draw(IDENTIFIERS))
    package = next(names).lower()
    body, imports, tests, defined = [], set(), [], []
    for _ in range(draw(st.integers(1, 6))):
        name, k, a = next(names), draw(st.integers(-9, 9)), draw(st.integers(0, 20))
        kind = draw(st.sampled_from(["add", "add", "error", "upper", "method", "caller", "bare"]))
        if kind == "add":
            body.append(f"// {name} returns x plus {k}.\nfunc {name}(x int) int {{\n\treturn x + {k}\n}}\n")
        elif kind == "error":
            imports.add("errors")
            body.append(f"// {name} returns x plus {k}, or an error when x is negative.\nfunc {name}(x int) (int, error) "
                        f'{{\n\tif x < 0 {{\n\t\treturn 0, errors.New("negative")\n\t}}\n\treturn x + {k}, nil\n}}\n')
        elif kind == "upper":
            imports.add("strings")
            body.append(f"// {name} returns s in upper case.\nfunc {name}(s string) string {{\n\treturn strings.ToUpper(s)\n}}\n")
        elif kind == "method":
            body.append(f"// {name} counts.\ntype {name} struct{{ n int }}\n\n// Add adds k to the count.\n"
                        f"func (c *{name}) Add(k int) int {{\n\tc.n += k\n\treturn c.n\n}}\n")
        elif kind == "caller" and defined:
            callee = draw(st.sampled_from(defined))
            body.append(f"// {name} applies {callee} twice.\nfunc {name}(x int) int {{\n\treturn {callee}({callee}(x))\n}}\n")
        else:
            body.append(f"func {name}(x int) int {{\n\treturn x * {k}\n}}\n")
        if kind == "add":
            defined.append(name)
            if draw(st.booleans()):
                tests.append(f"func Test{name}(t *testing.T) {{\n\tif got := {name}({a}); got != {a + k} {{\n"
                             f'\t\tt.Fatalf("got %d", got)\n\t}}\n}}\n')
    header = f"package {package}\n\n" + "".join(f'import "{i}"\n' for i in sorted(imports)) + "\n"
    files = {f"{package}/{package}.go": (header + "\n".join(body)).encode()}
    if draw(st.booleans()):
        files["go.mod"] = f"module example.com/{package}\n\ngo 1.19\n".encode()
    if tests and draw(st.booleans()):
        files[f"{package}/{package}_test.go"] = (f'package {package}\n\nimport "testing"\n\n' + "\n".join(tests)).encode()
    extra = draw(st.sampled_from(["", "", "syntax", "generated", "empty", "generic", "external_test", "main", "crlf"]))
    if extra == "generic":
        files[f"{package}/set.go"] = (f"package {package}\n\n// Set holds distinct values.\ntype Set[T comparable] "
                                      "struct{ items map[T]bool }\n\n// Add puts v in the set.\nfunc (s *Set[T]) Add(v T) "
                                      "{\n\tif s.items == nil {\n\t\ts.items = map[T]bool{}\n\t}\n\ts.items[v] = true\n}\n\n"
                                      "// Keys returns the map's keys.\nfunc Keys[K comparable, V any](m map[K]V) []K {\n"
                                      "\tout := make([]K, 0, len(m))\n\tfor k := range m {\n\t\tout = append(out, k)\n\t}\n"
                                      "\treturn out\n}\n").encode()
    elif extra == "external_test" and defined:
        files[f"{package}/example_test.go"] = (f'package {package}_test\n\nimport (\n\t"testing"\n\n\t"example.com/{package}/'
                                               f'{package}"\n)\n\nfunc TestExternal(t *testing.T) {{\n\t_ = {package}.'
                                               f"{defined[0]}(1)\n}}\n").encode()
    elif extra == "main":
        files["cmd/tool/main.go"] = (b"package main\n\nimport \"fmt\"\n\n// main prints a greeting.\nfunc main() {\n"
                                     b"\tfmt.Println(\"hi\")\n}\n\nfunc init() {}\n")
    elif extra == "crlf":
        files = {name: data.replace(b"\n", b"\r\n") for name, data in files.items()}
    elif extra == "syntax":
        files[f"{package}/broken.go"] = f"package {package}\n\n// Broken never parses.\nfunc Broken( {{\n".encode()
    elif extra == "generated":
        files[f"{package}/kind_string.go"] = (f'// Code generated by "stringer -type=Kind"; DO NOT EDIT.\n\npackage {package}\n\n'
                                              "// KindName names a kind.\nfunc KindName(k int) string {\n\treturn \"kind\"\n}\n").encode()
    elif extra == "empty":
        files[f"{package}/doc.go"] = f"// Package {package} is generated for a test.\npackage {package}\n".encode()
    return files
