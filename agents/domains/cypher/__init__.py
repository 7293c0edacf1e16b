"""Cypher: natural-language questions and the Cypher that answers them.

generate.py composes them from query plans (plans.py) phrased with the graph's
own names (lexicon.py); verify.py runs them against the graph database
(graphdb.py: the embedded kglite engine or a Bolt server).
"""

from agents.domains.base import DATA, DomainEntry, Source

ENTRY = DomainEntry(
    "natural-language questions and the Cypher that answers them, checked against a graph database",
    (Source("graph", "a Cypher script to load into the embedded kglite engine, or a bolt:// / neo4j:// URI of a "
                     "Neo4j-compatible server (default: our demo graph, data/cypher/bookstore.cypher)", kind="text",
            default=str(DATA / "cypher" / "bookstore.cypher")),),
    open="agents.domains.cypher.generate:open_domain")
