"""Property-based: any small graph a user brings (random labels and
relationship types, properties of every type, lists and nulls, names that
need backticks, isolated nodes, self-loops, one label) either opens with the
categories it can feed, or is refused with a clear message before anything
is written; and every slot of a run on it ends accepted, or rejected with a
reason that is not a crash of ours."""

import asyncio

import pytest
from hypothesis import HealthCheck, event, given, settings

from agents.domains.cypher.generate import CypherDomain
from agents.domains.cypher.graphdb import KgliteGraph
from agents.generation import GenerationConfig, run_generation
from agents.teachers.template import TemplateTeacher
from forge.errors import InputError
from forge.sqlite_store import SQLiteStore
from tests.strategies import crashes, examples, random_graphs, template_run


@pytest.mark.slow
@settings(max_examples=examples(30), deadline=None, print_blob=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                                    HealthCheck.too_slow])
@given(graph=random_graphs())
def test_any_small_graph_generates_or_is_refused_up_front(graph, tmp_path_factory):
    folder = tmp_path_factory.mktemp("graph")
    (folder / "graph.cypher").write_text(graph.script(), encoding="utf-8")
    try:
        domain = CypherDomain(KgliteGraph(folder / "graph.cypher"))
    except InputError as exc:
        event("refused up front")
        assert str(exc)  # refused with a message, nothing written
        return
    summary = template_run(domain, "cypher", {"graph": str(folder)}, folder / "examples.sqlite", 2 * len(domain.categories))
    event(f"{len(domain.categories)} categories")
    assert not crashes(summary), (crashes(summary), graph.script()[:2000])
    domain.close()


LISTS = """CREATE (:Movie {title: 'The Godfather', year: 1972, genres: ['drama', 'crime'], aliases: []});
CREATE (:Movie {title: 'Heat', year: 1995, genres: ['crime', 'thriller'], aliases: ['Heat (1995)']});
CREATE (:Movie {title: 'Alien', year: 1979, genres: ['horror', 'sci-fi'], aliases: []});
CREATE (:Person {name: 'Al Pacino', born: 1940, nicknames: ['Al']});
CREATE (:Person {name: 'Robert De Niro', born: 1943, nicknames: []});
CREATE (:Person {name: 'Sigourney Weaver', born: 1949, nicknames: ['Siggy']});
MATCH (p:Person {name: 'Al Pacino'}), (m:Movie {title: 'The Godfather'}) CREATE (p)-[:ACTED_IN {roles: ['Michael']}]->(m);
MATCH (p:Person {name: 'Al Pacino'}), (m:Movie {title: 'Heat'}) CREATE (p)-[:ACTED_IN {roles: ['Vincent Hanna']}]->(m);
MATCH (p:Person {name: 'Robert De Niro'}), (m:Movie {title: 'Heat'}) CREATE (p)-[:ACTED_IN {roles: ['Neil McCauley']}]->(m);
MATCH (p:Person {name: 'Sigourney Weaver'}), (m:Movie {title: 'Alien'}) CREATE (p)-[:ACTED_IN {roles: ['Ripley']}]->(m);
"""
ONE_RELATIONSHIP = """CREATE (:Team {name: 'Reds', founded: 1901});
CREATE (:Team {name: 'Blues', founded: 1920});
CREATE (:Player {name: 'Ann', age: 24});
CREATE (:Player {name: 'Bo', age: 31});
CREATE (:Player {name: 'Cy', age: 28});
MATCH (p:Player {name: 'Ann'}), (t:Team {name: 'Reds'}) CREATE (p)-[:PLAYS_FOR]->(t);
MATCH (p:Player {name: 'Bo'}), (t:Team {name: 'Blues'}) CREATE (p)-[:PLAYS_FOR]->(t);
MATCH (p:Player {name: 'Cy'}), (t:Team {name: 'Reds'}) CREATE (p)-[:PLAYS_FOR]->(t);
"""


def test_the_two_graphs_that_crashed_generate_and_name_what_they_cannot_feed(tmp_path):
    """A graph with list-valued properties, and one with a single relationship type (no two-hop path)."""
    from tests.conftest import run_cli

    for name, script in (("lists", LISTS), ("one_relationship", ONE_RELATIONSHIP)):
        (tmp_path / f"{name}.cypher").write_text(script)
        ws = tmp_path / f"ws-{name}"
        result = run_cli("generate", "--domain", "cypher", "--graph", str(tmp_path / f"{name}.cypher"), "--count", "40",
                         "--workspace", str(ws))
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        assert "paths: this graph gives no query of this level" in result.stderr
        audit = run_cli("audit", str(ws), "--limit", "100").stdout
        assert "generator_error" not in result.stdout + audit and "Traceback" not in result.stderr
        assert "40 slots" in result.stdout


def test_a_draft_that_raises_fails_its_slot_only(tmp_path, monkeypatch):
    """An unexpected exception while drafting (a bug meeting an input) rejects that slot as generator_error,
    with the traceback in its lineage; the other slots are made."""
    (tmp_path / "g.cypher").write_text(LISTS)
    domain = CypherDomain(KgliteGraph(tmp_path / "g.cypher"))
    real = domain.template_draft

    def sometimes(task, attempt):
        if task.slot % 3 == 0:
            raise ZeroDivisionError("a bug meets an input")
        return real(task, attempt)

    monkeypatch.setattr(domain, "template_draft", sometimes)
    store = SQLiteStore(tmp_path / "examples.sqlite")
    config = GenerationConfig(domain="cypher", sources={"graph": "lists"}, teacher="template", critic="template",
                              count=12, max_attempts=2)
    teacher = TemplateTeacher(domain)
    asyncio.run(run_generation(domain, teacher, teacher, store, config))
    summary = store.summary(config.run_id)
    assert summary["rejected_by_reason"].get("generator_error") == 4 and summary["accepted"] + summary["rejected"] == 12
    failed = [s for s in store.produced(run_id=config.run_id) if "generator_error" in s.verdict.reasons]
    assert all("ZeroDivisionError: a bug meets an input" in str(s.lineage) for s in failed)
    assert all("Traceback (most recent call last)" in str(s.lineage) for s in failed)
