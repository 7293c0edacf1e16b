"""The Cypher verifier against the real demo graph in kglite."""

import pytest

from agents.domains.cypher.verify import schema_names, verify_cypher
from agents.domains.cypher.graphdb import GraphLoadError, KgliteGraph, split_statements


def reasons(checks):
    return [c.reason for c in checks if not c.passed]


def test_a_good_read_passes_every_check(graph):
    checks = verify_cypher("MATCH (a:Author)-[:WROTE]->(b:Book) RETURN a.name AS name, count(b) AS n", graph)
    assert [c.name for c in checks] == ["parses", "executes", "known_schema", "returns_rows"]
    assert all(c.passed for c in checks)


@pytest.mark.parametrize("query, reason", [
    ("MATCH (a:Author RETURN a", "cypher_syntax_error"),
    ("MATCH (a:Author) RETURN 1/0 AS z", "execution_error"),
    ("MATCH (a:Writer) RETURN a.name", "unknown_schema"),
    ("MATCH (a:Author)-[:PENNED]->(b:Book) RETURN b.title", "unknown_schema"),
    ("MATCH (a:Author) RETURN a.surname", "unknown_schema"),
    ("MATCH (a:Author {surname: 'x'}) RETURN a.name", "unknown_schema"),
    ("MATCH (a:Author) WHERE a.born > 3000 RETURN a.name", "no_rows"),
])
def test_bad_queries_are_rejected_with_the_right_reason(graph, query, reason):
    checks = verify_cypher(query, graph)
    assert reason in reasons(checks), checks
    failed = next(c for c in checks if not c.passed)
    assert failed.detail  # the evidence is recorded


def test_writes_run_isolated_and_never_change_the_shared_graph(graph):
    before = graph.size()
    for query in ["CREATE (:Genre {name: 'Solarpunk'})",
                  "MATCH (a:Author) DETACH DELETE a",
                  "MATCH (b:Book) SET b.price = 0.0 RETURN b.title"]:
        checks = verify_cypher(query, graph)
        assert all(c.passed for c in checks), checks
        assert "rolled back" in checks[-1].detail
    assert graph.size() == before
    assert graph.run("MATCH (g:Genre {name: 'Solarpunk'}) RETURN g").rows == []
    assert graph.run("MATCH (b:Book) WHERE b.price = 0.0 RETURN b").rows == []


def test_schema_names_ignore_strings_and_functions():
    labels, rels, props = schema_names(
        "MATCH (a:Author {name: 'x.y (:Fake)'})-[r:WROTE|:LIVES_IN]->(b:Book) "
        "WHERE toLower(b.title) CONTAINS 'a:b' RETURN a.name, count(b) AS n, 3.5 AS f")
    assert labels == {"Author", "Book"} and rels == {"WROTE", "LIVES_IN"} and props == {"name", "title"}


def test_schema_introspection(graph):
    schema = graph.schema()
    assert set(schema.labels) == {"Author", "Book", "City", "Genre", "Publisher", "Reader"}
    assert ("Author", "WROTE", "Book") in schema.relationships
    assert schema.relationship_properties["RATED"] == {"stars": "Int64"}
    assert "(:Reader)-[:RATED {stars: Int64}]->(:Book)" in schema.describe()
    nodes, edges = graph.size()
    assert nodes >= 100 and edges >= 300


def test_script_splitting_respects_quotes_and_comments():
    script = "// header\nCREATE (:A {s: 'x;y'});\n\nCREATE (:B {s: \"it's\"})\n;CREATE (:C)"
    assert split_statements(script) == [(2, "CREATE (:A {s: 'x;y'})"), (4, "CREATE (:B {s: \"it's\"})"), (5, "CREATE (:C)")]


def test_bad_graph_scripts_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.cypher"
    bad.write_text("CREATE (:A {x: 1});\nCREATE (:B {y: );\n")
    with pytest.raises(GraphLoadError, match=r"bad\.cypher:2: .*syntax"):
        KgliteGraph(bad)
    with pytest.raises(GraphLoadError, match="cannot read"):
        KgliteGraph(tmp_path / "missing.cypher")
    empty = tmp_path / "empty.cypher"
    empty.write_text("// nothing\n")
    with pytest.raises(GraphLoadError, match="no Cypher statements"):
        KgliteGraph(empty)
    binary = tmp_path / "binary.cypher"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(GraphLoadError, match="cannot read"):
        KgliteGraph(binary)
