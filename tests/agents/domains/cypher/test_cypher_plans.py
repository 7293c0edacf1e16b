"""The compositional Cypher generator: plans from any graph's schema and data,
questions realised from the same plan, and the constructs each query uses."""

import re
from collections import Counter
from pathlib import Path

import pytest

from agents.domains.base import Task
from agents.domains.cypher.lexicon import Relation, profile, property_words
from agents.domains.cypher.verify import CONSTRUCTS, query_constructs
from agents.domains.cypher.graphdb import open_graph

REPO = Path(__file__).resolve().parents[4]
NORTHWIND = REPO.parent / "shared" / "data" / "cypher" / "northwind.cypher"
GRAPHS = [REPO / "data" / "cypher" / "bookstore.cypher", NORTHWIND]


@pytest.fixture(scope="module", params=[g for g in GRAPHS if g.is_file()], ids=lambda p: p.stem)
def domain(request):
    from agents.domains.cypher.generate import CypherDomain

    opened = CypherDomain(open_graph(str(request.param)))
    yield opened
    opened.close()


def test_relationship_types_read_as_verbs_both_ways():
    assert Relation("SUPPLIES").forward(plural_subject=True) == "supply"
    assert Relation("SUPPLIES").backward("the supplier Tokyo Traders") == "supplied by the supplier Tokyo Traders"
    assert Relation("PART_OF").forward(False) == "is part of"
    assert Relation("PART_OF").backward("the product Chai") == "that the product Chai is part of"
    assert Relation("ACTED_IN").backward("Tom Hanks") == "that Tom Hanks acted in"
    assert Relation("WROTE").backward("an author") == "written by an author"
    assert Relation("BASED_IN").forward(True) == "are based in"
    assert Relation("IN_GENRE", target="Genre").backward("a book") == "that a book is in"
    assert property_words("Product", "unitsInStock") == "units in stock" and property_words("Product", "productName") == "name"


def test_properties_are_used_as_people_use_them():
    assert profile("Category", "picture", ["0x151C2F00020000000D000E0014002100FFFFFFFF"] * 8).role == "code"
    assert profile("Customer", "customerID", ["ALFKI", "ANATR", "ANTON", "AROUT"]).role == "key"
    assert profile("Customer", "phone", ["030-0074321", "(5) 555-4729", "(5) 555-3932", "(171) 555-7788"]).role == "code"
    assert profile("Order", "orderDate", ["1996-07-04 00:00:00.000", "1996-07-05 00:00:00.000"] * 4).role == "date"
    freight = profile("Order", "freight", ["32.38", "11.61", "65.83", "41.34", "51.30", "58.17", "22.98"])
    assert freight.role == "number" and freight.cast == "toFloat" and freight.expr("o") == "toFloat(o.freight)"
    assert profile("Customer", "country", ["Germany", "Mexico", "Mexico", "UK", "Sweden", "Germany"]).role == "category"
    assert profile("Person", "born", [1956, 1964, 1970, 1961, 1943, 1967, 1990]).role == "year"
    assert profile("Product", "productName", [f"Product {i}" for i in range(20)]).role == "name"
    assert profile("Review", "summary", ["A long and winding review of the whole thing, with opinions"] * 5).role == "text"


def test_values_a_bolt_server_returns_are_never_compared_with_a_literal():
    """What the neo4j driver hands back for temporal, spatial, list and map properties: role `other`."""
    from neo4j.spatial import WGS84Point
    from neo4j.time import Date, DateTime, Duration, Time

    for values in ([Date(2024, 5, 1), Date(1999, 1, 2)] * 3, [DateTime(2024, 5, 1, 10, 30, 0)] * 4,
                   [Time(10, 30, 0)] * 4, [Duration(days=3), Duration(months=1)] * 3,
                   [WGS84Point((10.7, 59.9)), WGS84Point((2.35, 48.85))] * 3, [["drama", "crime"], []] * 3,
                   [{"a": 1}] * 4, [Date(2024, 5, 1), "2024-05-02", None] * 3):
        field = profile("Film", "released", values)
        assert field.role == "other" and not field.comparable and not field.ordered, values


def test_every_level_yields_verified_examples_the_critic_accepts(domain):
    for level in domain.categories:
        accepted = 0
        for slot in range(20):
            draft = domain.template_draft(Task(slot, level, f"plans:{slot}"), attempt=1)
            example = domain.to_example(Task(slot, level, "t"), draft)
            passed = all(c.passed for c in domain.verify(example))
            accepted += passed and domain.template_critique(example)["verdict"] == "agree"
        assert accepted >= 16, f"{level}: only {accepted}/20 accepted"


def test_plans_cover_the_constructs_people_ask_about(domain):
    seen = Counter()
    for slot in range(240):
        level = domain.categories[slot % len(domain.categories)]
        draft = domain.template_draft(Task(slot, level, f"cover:{slot}"), attempt=1)
        seen.update(query_constructs(draft["cypher"]))
        # Keys, codes and blobs are never compared with a literal.
        for field in ("picture", "phone", "fax", "customerID", "productID", "orderID", "categoryID", "supplierID"):
            assert not re.search(rf"\.{field}\s*(=|<|>|STARTS|CONTAINS)", draft["cypher"]), draft
    wanted = set(CONSTRUCTS) - {"null_check"}
    if not any(domain.schema.relationship_properties.values()):
        wanted.discard("relationship_property")
    assert wanted <= set(seen), f"never generated: {sorted(wanted - set(seen))}"
    assert seen["two_hops"] + seen["three_or_more_hops"] >= 20 and seen["and"] >= 12


def test_emphasis_shifts_plans_toward_the_constructs_the_student_failed(domain):
    def share(emphasis):
        drafts = [domain.template_draft(Task(s, "complex_retrieval", f"e:{s}", emphasis=emphasis), 1) for s in range(80)]
        return sum("not_exists" in query_constructs(d["cypher"]) for d in drafts) / 80

    assert share((("not_exists", 1.0),)) >= 1.5 * share(()) > 0


def test_the_critic_rejects_a_question_that_says_more_or_less_than_its_query(domain):
    from forge.records import Example

    def verdict(question, cypher):
        example = Example("cypher", "simple_aggregation", "instruction", {"instruction": question, "input": "", "output": cypher})
        return domain.template_critique(example)["verdict"]

    label = sorted(domain.schema.labels)[0]
    query = f"MATCH (n:{label}) RETURN count(n) AS count"
    assert verdict(f"How many {label.lower()} nodes are there?", query) == "agree"
    assert verdict(f"List the {label.lower()} nodes.", query) == "disagree"  # a count the question never asks for
    assert verdict(f"How many {label.lower()} nodes are there, of the first 5?", query) == "disagree"  # a number it never uses
    limited = f"MATCH (n:{label}) RETURN n.name LIMIT 3"
    assert verdict(f"Name any three {label.lower()} nodes.", limited) == "agree"  # numbers may be words


def test_constructs_are_read_from_anyones_query():
    assert query_constructs("MATCH (c:Category) WHERE NOT EXISTS { MATCH (c)<-[:PART_OF]-(p:Product) WHERE p.discontinued "
                            "= TRUE } RETURN c.categoryName") == ("not_exists",)
    assert query_constructs("MATCH (c:Customer)-[:PURCHASED]->(o:Order)-[r:ORDERS]->(p:Product) RETURN c.companyName, "
                            "SUM(r.quantity) AS total ORDER BY total DESC LIMIT 5") == (
        "two_hops", "relationship_property", "numeric_aggregate", "grouping", "order_by", "limit")
    assert query_constructs("MATCH (p:Product) WHERE p.productName STARTS WITH 'Ch' OR p.unitPrice < 10 RETURN p") == (
        "comparison", "string_match", "or")
    assert query_constructs("MATCH (s:Supplier) WHERE s.fax IS NOT NULL RETURN s") == ("null_check",)
    assert "optional_match" in query_constructs("MATCH (c:Customer) OPTIONAL MATCH (c)-[:PURCHASED]->(o) RETURN c, count(o)")
    assert query_constructs("MATCH p = shortestPath((a:A {n: 'x'})-[*..8]-(b:B {n: 'y'})) RETURN length(p)") == (
        "variable_length", "shortest_path")
