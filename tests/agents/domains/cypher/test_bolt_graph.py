"""The Bolt back end against a real Neo4j-compatible server (Neo4j, NornicDB,
Memgraph). Set NEO4J_URI (and NEO4J_USER / NEO4J_PASSWORD) to run it; no such
server exists on the CI machine, so it is skipped there."""

import os

import pytest

from agents.domains.cypher.verify import verify_cypher
from agents.domains.cypher.graphdb import BoltGraph, GraphLoadError

URI = os.environ.get("NEO4J_URI")
needs_server = pytest.mark.skipif(not URI, reason="NEO4J_URI is not set: no Neo4j-compatible server to test against")


@needs_server
def test_bolt_reads_writes_and_rolls_back():
    graph = BoltGraph(URI)
    before = graph.size()
    assert graph.schema().labels, "the server's database is empty: load data/cypher/bookstore.cypher into it"
    checks = verify_cypher("CREATE (:DomainForgeProbe {name: 'x'})", graph)
    assert graph.size() == before
    assert checks[0].passed


def test_unreachable_server_is_a_clear_input_error():
    with pytest.raises(GraphLoadError, match="cannot reach graph server"):
        BoltGraph("bolt://127.0.0.1:9")
