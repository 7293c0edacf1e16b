"""Graph databases that Cypher examples run against, behind one interface.

- `KgliteGraph`: embedded (kglite), loaded from a Cypher script. The default.
- `BoltGraph`: any Neo4j-compatible server (Neo4j, NornicDB, Memgraph) through
  the `neo4j` driver, for `bolt://` / `neo4j://` URIs.

Every query runs isolated: kglite in a copy-on-write transaction, Bolt in an
explicit transaction, both rolled back, so a write example can never change
the shared test graph.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import kglite

from forge.errors import InputError
from forge.rows import text_lines

# Query warnings come back on each result; printing them too would flood the
# terminal during a 500-example run.
kglite.set_query_warning_policy("silent")


class GraphLoadError(InputError):
    """The graph script or server could not be loaded. The message says where and how to fix it."""


@dataclass(frozen=True)
class GraphSchema:
    """Labels with their property keys and types, and relationship patterns."""

    labels: dict[str, dict[str, str]]
    relationships: tuple[tuple[str, str, str], ...]  # (source label, type, target label)
    relationship_properties: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def relationship_types(self) -> set[str]:
        return {rel for _, rel, _ in self.relationships}

    @property
    def property_keys(self) -> set[str]:
        keys = {key for props in self.labels.values() for key in props}
        return keys | {key for props in self.relationship_properties.values() for key in props}

    def describe(self) -> str:
        """The schema as prompt text."""
        lines = ["Node labels and properties:"]
        for label, props in sorted(self.labels.items()):
            lines.append(f"  (:{label} {{{', '.join(f'{k}: {t}' for k, t in sorted(props.items()))}}})")
        lines.append("Relationships:")
        for source, rel, target in self.relationships:
            props = self.relationship_properties.get(rel)
            suffix = f" {{{', '.join(f'{k}: {t}' for k, t in sorted(props.items()))}}}" if props else ""
            lines.append(f"  (:{source})-[:{rel}{suffix}]->(:{target})")
        return "\n".join(lines)

    def compact(self) -> str:
        """The schema in one short line, for a prompt the student sees on every question."""
        def props(names) -> str:
            return ", ".join(sorted(names))
        nodes = "; ".join(f"{label}({props(p)})" for label, p in sorted(self.labels.items()))
        edges = "; ".join(f"({s})-[:{r}" + (f" {{{props(self.relationship_properties[r])}}}" if self.relationship_properties.get(r)
                                            else "") + f"]->({t})" for s, r, t in self.relationships)
        return f"Nodes: {nodes}. Relationships: {edges}."


@dataclass(frozen=True)
class QueryResult:
    """The outcome of one query. `error_kind` is `syntax` or `runtime` when it failed."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    error_kind: str = ""
    warnings: tuple[str, ...] = ()
    changes: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error


class GraphBackend(Protocol):
    name: str

    def schema(self) -> GraphSchema: ...
    def run(self, query: str) -> QueryResult: ...
    def size(self) -> tuple[int, int]: ...
    def close(self) -> None: ...


def split_statements(script: str) -> list[tuple[int, str]]:
    """Split a Cypher script into (line number, statement) on `;` outside quotes.
    `//` comment lines are dropped."""
    statements: list[tuple[int, str]] = []
    current: list[str] = []
    start_line, quote = 1, ""
    for number, line in enumerate(text_lines(script), start=1):
        if not quote and line.lstrip().startswith("//"):
            continue
        if not current and not line.strip():
            continue
        if not current:
            start_line = number
        chars = []
        escaped = False
        for ch in line:
            chars.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif quote:
                if ch == quote:
                    quote = ""
            elif ch in "'\"`":
                quote = ch
            elif ch == ";":
                current.append("".join(chars[:-1]))
                statement = "\n".join(current).strip()
                if statement:
                    statements.append((start_line, statement))
                current, chars, start_line = [], [], number
        if chars or current:
            current.append("".join(chars))
    tail = "\n".join(current).strip()
    if tail:
        statements.append((start_line, tail))
    return statements


class KgliteGraph:
    """An embedded graph built from a Cypher script."""

    name = "kglite"

    def __init__(self, script_path: str | Path) -> None:
        self.path = Path(script_path)
        try:
            script = self.path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise GraphLoadError(f"cannot read graph script {self.path}: {exc}. "
                                 "Pass --graph with a readable UTF-8 Cypher file.") from exc
        statements = split_statements(script)
        if not statements:
            raise GraphLoadError(f"graph script {self.path} holds no Cypher statements. "
                                 "Write one statement per `;`, e.g. CREATE (:Person {name: 'Ada'});")
        self.engine = kglite.KnowledgeGraph()
        for line, statement in statements:
            try:
                self.engine.cypher(statement)
            except Exception as exc:  # kglite raises several types; all mean "bad script"
                first = str(exc).splitlines()[0]
                raise GraphLoadError(f"{self.path}:{line}: {first}. Fix that statement and run again.") from exc
        if self.size()[0] == 0:
            raise GraphLoadError(f"graph script {self.path} created no nodes; the Cypher domain needs data to query.")
        self._schema = self._read_schema()

    def schema(self) -> GraphSchema:
        return self._schema

    def _read_schema(self) -> GraphSchema:
        raw = self.engine.schema()
        labels = {label: dict(info["properties"]) for label, info in raw["node_types"].items()}
        relationships = tuple(sorted(
            (source, rel, target)
            for rel, info in raw["connection_types"].items()
            for source in info["source_types"] for target in info["target_types"]
        ))
        rel_props = {rel: dict(info["properties"]) for rel, info in raw["connection_types"].items() if info["properties"]}
        return GraphSchema(labels, relationships, rel_props)

    def run(self, query: str) -> QueryResult:
        # begin() is an O(1) snapshot; a write deep-copies lazily and the
        # rollback throws the copy away.
        tx = self.engine.begin()
        try:
            result = tx.cypher(query)
            rows = result.to_dicts()
            warnings = tuple(result.warnings)
            changes = {k: v for k, v in (result.stats or {}).items() if v}
        except Exception as exc:
            kind = "syntax" if "syntax" in type(exc).__name__.lower() or "syntax error" in str(exc).lower() else "runtime"
            return QueryResult(error=str(exc).strip(), error_kind=kind)
        finally:
            tx.rollback()
        return QueryResult(rows=rows, warnings=warnings, changes=changes)

    def size(self) -> tuple[int, int]:
        raw = self.engine.schema()
        return raw["node_count"], raw["edge_count"]

    def close(self) -> None:
        pass


class BoltGraph:
    """A Neo4j-compatible server. Credentials come from NEO4J_USER / NEO4J_PASSWORD."""

    name = "bolt"

    def __init__(self, uri: str) -> None:
        import neo4j

        self.uri = uri
        auth = (os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", ""))
        self.driver = neo4j.GraphDatabase.driver(uri, auth=auth if auth[1] else None)
        try:
            self.driver.verify_connectivity()
        except Exception as exc:
            raise GraphLoadError(f"cannot reach graph server {uri}: {exc}. Start the server, or check the URI "
                                 "and NEO4J_USER / NEO4J_PASSWORD.") from exc
        self._schema = self._read_schema()

    def _records(self, query: str) -> list[dict[str, Any]]:
        with self.driver.session() as session:
            return [record.data() for record in session.run(query)]

    def _read_schema(self) -> GraphSchema:
        labels: dict[str, dict[str, str]] = {}
        for row in self._records("MATCH (n) UNWIND labels(n) AS label UNWIND keys(n) AS key "
                                 "RETURN DISTINCT label, key, n[key] AS value"):
            labels.setdefault(row["label"], {})[row["key"]] = type(row["value"]).__name__
        relationships = tuple(sorted(
            (row["s"], row["r"], row["t"]) for row in self._records(
                "MATCH (a)-[r]->(b) UNWIND labels(a) AS s UNWIND labels(b) AS t RETURN DISTINCT s, type(r) AS r, t")
        ))
        rel_props: dict[str, dict[str, str]] = {}
        for row in self._records("MATCH ()-[r]->() UNWIND keys(r) AS key RETURN DISTINCT type(r) AS r, key, r[key] AS value"):
            rel_props.setdefault(row["r"], {})[row["key"]] = type(row["value"]).__name__
        return GraphSchema(labels, relationships, rel_props)

    def schema(self) -> GraphSchema:
        return self._schema

    def run(self, query: str) -> QueryResult:
        import neo4j

        with self.driver.session() as session:
            tx = session.begin_transaction()
            try:
                result = tx.run(query)
                rows = [record.data() for record in result]
                summary = result.consume()
                warnings = tuple(n.description for n in summary.summary_notifications)
                changes = {k: v for k, v in vars(summary.counters).items() if isinstance(v, int) and v and not k.startswith("_")}
            except neo4j.exceptions.CypherSyntaxError as exc:
                return QueryResult(error=exc.message or str(exc), error_kind="syntax")
            except neo4j.exceptions.Neo4jError as exc:
                return QueryResult(error=exc.message or str(exc), error_kind="runtime")
            finally:
                tx.rollback()
        return QueryResult(rows=rows, warnings=warnings, changes=changes)

    def size(self) -> tuple[int, int]:
        nodes = self._records("MATCH (n) RETURN count(n) AS c")[0]["c"]
        edges = self._records("MATCH ()-[r]->() RETURN count(r) AS c")[0]["c"]
        return nodes, edges

    def close(self) -> None:
        self.driver.close()


_WRITE = re.compile(r"\b(CREATE|MERGE|SET|DELETE|REMOVE|DETACH|DROP)\b", re.IGNORECASE)
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def strip_strings(query: str) -> str:
    """The query with string literals blanked, so keywords inside them are not read as Cypher."""
    return _STRING.sub("''", query)


def is_write_query(query: str) -> bool:
    return bool(_WRITE.search(strip_strings(query)))


def open_graph(spec: str) -> GraphBackend:
    """A graph from `--graph`: a Cypher script path, or a bolt:// / neo4j:// URI."""
    if re.match(r"^(bolt|neo4j)(\+s|\+ssc)?://", spec):
        return BoltGraph(spec)
    return KgliteGraph(spec)
