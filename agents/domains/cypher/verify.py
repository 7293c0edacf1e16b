"""Verify a Cypher example by executing it against the test graph.

Each step is a recorded check: the query parses, executes, uses only labels,
relationship types and properties the graph has, a read returns at least one
row, and a write leaves the shared graph exactly as it was.
"""

from __future__ import annotations

import re

from agents.domains.cypher.graphdb import GraphBackend, GraphSchema, QueryResult, is_write_query, strip_strings
from forge.records import Check, Example

_NAME = r"(?:`(?:[^`]|``)+`|[A-Za-z_]\w*)"  # plain, or in backticks (spaces, hyphens, reserved words)
_LABEL = re.compile(rf"\(\s*(?:[A-Za-z_]\w*)?\s*((?::\s*{_NAME}\s*)+)")
_REL = re.compile(rf"\[\s*(?:[A-Za-z_]\w*)?\s*:\s*({_NAME}(?:\s*\|\s*:?\s*{_NAME})*)")
_PROPERTY = re.compile(r"\b[A-Za-z_]\w*\.(`(?:[^`]|``)+`|[A-Za-z_]\w*\b(?!\s*\())")
_PATTERN_MAP = re.compile(r"[(\[][^()\[\]{}]*\{([^{}]*)\}")
_MAP_KEY = re.compile(rf"({_NAME})\s*:")
_UNKNOWN_WARNING = re.compile(r"unknown|no such|which no ", re.IGNORECASE)


def schema_names(query: str) -> tuple[set[str], set[str], set[str]]:
    """Labels, relationship types and property keys a query mentions."""
    text = strip_strings(query)
    labels = {_unquoted(name) for group in _LABEL.findall(text) for name in re.findall(_NAME, group)}
    rels = {_unquoted(name) for group in _REL.findall(text) for name in re.findall(_NAME, group)}
    props = {_unquoted(name) for name in _PROPERTY.findall(text)}
    for inner in _PATTERN_MAP.findall(text):
        props.update(_unquoted(name) for name in _MAP_KEY.findall(inner))
    return labels, rels, props


def _unquoted(name: str) -> str:
    return name[1:-1].replace("``", "`") if name.startswith("`") else name


CONSTRUCTS = ("one_hop", "two_hops", "three_or_more_hops", "relationship_property", "comparison", "string_match",
              "and", "or", "not", "null_check", "count", "numeric_aggregate", "grouping", "order_by", "limit", "distinct", "with",
              "optional_match", "exists", "not_exists", "variable_length", "shortest_path", "write")
"""What a query is built from, in the order reports list them."""

_SUBQUERY = re.compile(r"\b(NOT\s+)?EXISTS\s*\{[^{}]*\}", re.IGNORECASE)
_HOP = re.compile(r"\)\s*<?-\s*(\[[^\]]*\])?\s*->?\s*\(")
_REL_VAR = re.compile(r"\[\s*([A-Za-z_]\w*)\s*[:\]{]")
_AGGREGATE = re.compile(r"\b(count|sum|avg|min|max|collect)\s*\(", re.IGNORECASE)
_PROJECTION = re.compile(r"\b(?:RETURN|WITH)\s+(?:DISTINCT\s+)?(.*?)(?=\bORDER\s+BY\b|\bLIMIT\b|\bSKIP\b|\bWHERE\b"
                         r"|\bMATCH\b|\bOPTIONAL\b|\bWITH\b|\bRETURN\b|\bUNWIND\b|$)", re.IGNORECASE | re.DOTALL)


def _top_level_items(projection: str) -> list[str]:
    items, depth, start = [], 0, 0
    for i, ch in enumerate(projection):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            items.append(projection[start:i])
            start = i + 1
    return items + [projection[start:]]


def query_constructs(query: str) -> tuple[str, ...]:
    """The constructs a query uses (see CONSTRUCTS), read from its text: the
    same reading for generated examples and for anyone's evaluation file, so
    accuracy per construct compares like with like."""
    text = strip_strings(query)
    found: set[str] = set()
    for negated in _SUBQUERY.findall(text):
        found.add("not_exists" if negated else "exists")
    outer = _SUBQUERY.sub(" ", text)
    if re.search(r"shortestPath|allShortestPaths", outer, re.IGNORECASE):
        found.add("shortest_path")
    if re.search(r"\[[^\]]*\*[^\]]*\]", outer):
        found.add("variable_length")
    hops = sum("*" not in rel for rel in _HOP.findall(outer))  # a variable-length pattern is a path, not a hop
    if hops:
        found.add(("one_hop", "two_hops")[hops - 1] if hops < 3 else "three_or_more_hops")
    rel_vars = set(_REL_VAR.findall(text))
    if any(re.search(rf"\b{v}\.\w", text) for v in rel_vars) or re.search(r"\[[^\]]*\{", text):
        found.add("relationship_property")
    if re.search(r"\bIS\s+(?:NOT\s+)?NULL\b", outer, re.IGNORECASE):
        found.add("null_check")
        outer = re.sub(r"\bIS\s+(?:NOT\s+)?NULL\b", " ", outer, flags=re.IGNORECASE)
    unarrowed = re.sub(r"<-|->", " ", outer)
    if re.search(r"[<>]=?", unarrowed):
        found.add("comparison")
    keywords = {"string_match": r"\b(?:STARTS\s+WITH|ENDS\s+WITH|CONTAINS)\b|=~", "and": r"\bAND\b", "or": r"\bOR\b",
                "not": r"\bNOT\b|<>", "order_by": r"\bORDER\s+BY\b", "limit": r"\bLIMIT\b", "distinct": r"\bDISTINCT\b",
                "optional_match": r"\bOPTIONAL\s+MATCH\b",
                "write": r"\b(?:CREATE|MERGE|SET|DELETE|REMOVE)\b"}
    found.update(name for name, pattern in keywords.items() if re.search(pattern, outer, re.IGNORECASE))
    if re.search(r"\bWITH\b", re.sub(r"\b(?:STARTS|ENDS)\s+WITH\b", " ", outer, flags=re.IGNORECASE), re.IGNORECASE):
        found.add("with")
    for function in _AGGREGATE.findall(outer):
        found.add("count" if function.lower() == "count" else "numeric_aggregate")
    for projection in _PROJECTION.findall(outer):
        items = _top_level_items(projection)
        if len(items) > 1 and any(_AGGREGATE.search(i) for i in items) and not all(_AGGREGATE.search(i) for i in items):
            found.add("grouping")
    return tuple(c for c in CONSTRUCTS if c in found)


def check_schema(query: str, schema: GraphSchema, warnings: tuple[str, ...] = ()) -> Check:
    labels, rels, props = schema_names(query)
    problems = [f"unknown label :{x}" for x in sorted(labels - set(schema.labels))]
    problems += [f"unknown relationship type :{x}" for x in sorted(rels - schema.relationship_types)]
    problems += [f"unknown property .{x}" for x in sorted(props - schema.property_keys)]
    problems += [w for w in warnings if _UNKNOWN_WARNING.search(w) and w not in problems]
    if problems:
        return Check("known_schema", False, "; ".join(problems), "unknown_schema")
    return Check("known_schema", True, f"labels {sorted(labels)}, relationships {sorted(rels)}, properties {sorted(props)}")


def verify_cypher(query: str, graphdb: GraphBackend) -> list[Check]:
    """All checks for one query; stops at the first that makes the rest meaningless."""
    write = is_write_query(query)
    size_before = graphdb.size() if write else None
    result: QueryResult = graphdb.run(query)
    if result.error_kind == "syntax":
        return [Check("parses", False, result.error, "cypher_syntax_error")]
    checks = [Check("parses", True)]
    if not result.ok:
        # The schema check still says *why* when a bad name made it fail.
        return checks + [Check("executes", False, result.error, "execution_error"), check_schema(query, graphdb.schema())]
    checks.append(Check("executes", True, f"{len(result.rows)} rows" + (f", changes {result.changes}" if result.changes else "")))
    checks.append(check_schema(query, graphdb.schema(), result.warnings))
    if write:
        size_after = graphdb.size()
        if size_after != size_before:
            checks.append(Check("graph_unchanged", False, f"(nodes, relationships) {size_before} -> {size_after}", "graph_modified"))
        else:
            checks.append(Check("graph_unchanged", True, f"write ran isolated and rolled back; graph still {size_after}"))
    elif result.rows:
        checks.append(Check("returns_rows", True, f"{len(result.rows)} rows, first {result.rows[0]}"))
    else:
        checks.append(Check("returns_rows", False, "the query returned no rows on the test graph", "no_rows"))
    return checks


def verify_cypher_example(example: Example, graphdb: GraphBackend) -> list[Check]:
    return verify_cypher(example.payload["output"], graphdb)


def _normalise(rows: list[dict], ordered: bool) -> list[tuple]:
    """Rows as value tuples, column names ignored (a student may alias differently)."""
    values = [tuple(round(v, 6) if isinstance(v, float) else v for v in row.values()) for row in rows]
    return values if ordered else sorted(values, key=repr)


def execution_match(reference: str, candidate: str, graphdb: GraphBackend) -> Check:
    """Execution accuracy: the candidate returns the same rows as the reference
    (in order when the reference has ORDER BY) and, for writes, makes the same changes."""
    expected = graphdb.run(reference)
    if not expected.ok:
        raise ValueError(f"reference query fails on the test graph: {expected.error}")
    got = graphdb.run(candidate)
    if not got.ok:
        return Check("execution_match", False, f"{got.error_kind} error: {got.error[:300]}", "student_query_error")
    ordered = bool(re.search(r"\bORDER\s+BY\b", strip_strings(reference), re.IGNORECASE))
    same_rows = _normalise(got.rows, ordered) == _normalise(expected.rows, ordered)
    if same_rows and got.changes == expected.changes:
        return Check("execution_match", True, f"{len(got.rows)} rows match")
    return Check("execution_match", False, f"expected {len(expected.rows)} rows {expected.rows[:3]} changes "
                 f"{expected.changes}, got {len(got.rows)} rows {got.rows[:3]} changes {got.changes}", "wrong_result")
