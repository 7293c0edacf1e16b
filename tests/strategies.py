"""Hypothesis strategies for what users bring: small random inputs for every
domain's sources. The property tests (tests/**/test_*_fuzz.py) and the long
fuzz run (benchmarks/fuzz_inputs.py) share them."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

CRASHES = {"generator_error", "verifier_error", "critic_error"}
"""Rejection reasons that mean our code raised: never right for any input."""


def template_run(domain, registered: str, sources: dict[str, str], store_path, count: int) -> dict:
    """A whole generation run of `count` slots with the template teacher and critic on the opened
    `domain` (registry name `registered`); its store summary. Every slot must end, accepted or rejected."""
    from agents.generation import GenerationConfig, run_generation
    from agents.teachers.template import TemplateTeacher
    from forge.sqlite_store import SQLiteStore

    store = SQLiteStore(store_path)
    config = GenerationConfig(domain=registered, sources=sources, teacher="template", critic="template", count=count,
                              max_attempts=1)
    teacher = TemplateTeacher(domain)
    try:
        progress = asyncio.run(run_generation(domain, teacher, teacher, store, config))
        summary = store.summary(config.run_id)
    finally:
        store.close()
    assert progress.done == count and summary["accepted"] + summary["rejected"] == count
    return summary


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
