"""Verify a Cypher example by executing it against the test graph.

Each step is a recorded check: the query parses, executes, uses only labels,
relationship types and properties the graph has, a read returns at least one
row, and a write leaves the shared graph exactly as it was.
"""

from __future__ import annotations

import re

from evaluators.graphdb import GraphBackend, GraphSchema, QueryResult, is_write_query, strip_strings
from forge.records import Check, Example

_LABEL = re.compile(r"\(\s*(?:[A-Za-z_]\w*)?\s*((?::\s*`?[A-Za-z_]\w*`?\s*)+)")
_REL = re.compile(r"\[\s*(?:[A-Za-z_]\w*)?\s*:\s*(`?[A-Za-z_]\w*`?(?:\s*\|\s*:?\s*`?[A-Za-z_]\w*`?)*)")
_PROPERTY = re.compile(r"\b[A-Za-z_]\w*\.([A-Za-z_]\w*)\b(?!\s*\()")
_PATTERN_MAP = re.compile(r"[(\[][^()\[\]{}]*\{([^{}]*)\}")
_MAP_KEY = re.compile(r"([A-Za-z_]\w*)\s*:")
_UNKNOWN_WARNING = re.compile(r"unknown|no such|which no ", re.IGNORECASE)


def schema_names(query: str) -> tuple[set[str], set[str], set[str]]:
    """Labels, relationship types and property keys a query mentions."""
    text = strip_strings(query)
    labels = {name.strip(" `") for group in _LABEL.findall(text) for name in group.split(":") if name.strip(" `")}
    rels = {name.strip(" :`") for group in _REL.findall(text) for name in group.split("|")}
    props = set(_PROPERTY.findall(text))
    for inner in _PATTERN_MAP.findall(text):
        props.update(_MAP_KEY.findall(inner))
    return labels, rels, props


def check_schema(query: str, schema: GraphSchema, warnings: tuple[str, ...] = ()) -> Check:
    labels, rels, props = schema_names(query)
    problems = [f"unknown label :{x}" for x in sorted(labels - set(schema.labels))]
    problems += [f"unknown relationship type :{x}" for x in sorted(rels - schema.relationship_types)]
    problems += [f"unknown property .{x}" for x in sorted(props - schema.property_keys)]
    problems += [w for w in warnings if _UNKNOWN_WARNING.search(w) and w not in problems]
    if problems:
        return Check("known_schema", False, "; ".join(problems), "unknown_schema")
    return Check("known_schema", True, f"labels {sorted(labels)}, relationships {sorted(rels)}, properties {sorted(props)}")


def verify_cypher(query: str, graph: GraphBackend) -> list[Check]:
    """All checks for one query; stops at the first that makes the rest meaningless."""
    write = is_write_query(query)
    size_before = graph.size() if write else None
    result: QueryResult = graph.run(query)
    if result.error_kind == "syntax":
        return [Check("parses", False, result.error, "cypher_syntax_error")]
    checks = [Check("parses", True)]
    if not result.ok:
        # The schema check still says *why* when a bad name made it fail.
        return checks + [Check("executes", False, result.error, "execution_error"), check_schema(query, graph.schema())]
    checks.append(Check("executes", True, f"{len(result.rows)} rows" + (f", changes {result.changes}" if result.changes else "")))
    checks.append(check_schema(query, graph.schema(), result.warnings))
    if write:
        size_after = graph.size()
        if size_after != size_before:
            checks.append(Check("graph_unchanged", False, f"(nodes, relationships) {size_before} -> {size_after}", "graph_modified"))
        else:
            checks.append(Check("graph_unchanged", True, f"write ran isolated and rolled back; graph still {size_after}"))
    elif result.rows:
        checks.append(Check("returns_rows", True, f"{len(result.rows)} rows, first {result.rows[0]}"))
    else:
        checks.append(Check("returns_rows", False, "the query returned no rows on the test graph", "no_rows"))
    return checks


def verify_cypher_example(example: Example, graph: GraphBackend) -> list[Check]:
    return verify_cypher(example.payload["output"], graph)


def _normalise(rows: list[dict], ordered: bool) -> list[tuple]:
    """Rows as value tuples, column names ignored (a student may alias differently)."""
    values = [tuple(round(v, 6) if isinstance(v, float) else v for v in row.values()) for row in rows]
    return values if ordered else sorted(values, key=repr)


def execution_match(reference: str, candidate: str, graph: GraphBackend) -> Check:
    """Execution accuracy: the candidate returns the same rows as the reference
    (in order when the reference has ORDER BY) and, for writes, makes the same changes."""
    expected = graph.run(reference)
    if not expected.ok:
        raise ValueError(f"reference query fails on the test graph: {expected.error}")
    got = graph.run(candidate)
    if not got.ok:
        return Check("execution_match", False, f"{got.error_kind} error: {got.error[:300]}", "student_query_error")
    ordered = bool(re.search(r"\bORDER\s+BY\b", strip_strings(reference), re.IGNORECASE))
    same_rows = _normalise(got.rows, ordered) == _normalise(expected.rows, ordered)
    if same_rows and got.changes == expected.changes:
        return Check("execution_match", True, f"{len(got.rows)} rows match")
    return Check("execution_match", False, f"expected {len(expected.rows)} rows {expected.rows[:3]} changes "
                 f"{expected.changes}, got {len(got.rows)} rows {got.rows[:3]} changes {got.changes}", "wrong_result")
