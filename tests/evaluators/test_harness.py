from agents.domains.cypher.verify import execution_match
from evaluators.harness import degenerate, split_feedback_test, summarise, ItemScore
from forge.records import Example


def test_execution_match_compares_results_not_text(graph):
    reference = "MATCH (n:Genre) RETURN n.name AS name"
    assert execution_match(reference, "MATCH (g:Genre) RETURN g.name AS genre", graph).passed  # aliases differ
    assert execution_match(reference, "MATCH (g:Genre) RETURN g.name ORDER BY g.name DESC", graph).passed
    wrong = execution_match(reference, "MATCH (g:Genre) RETURN g.name LIMIT 2", graph)
    assert not wrong.passed and wrong.reason == "wrong_result"
    broken = execution_match(reference, "MATCH (g:Genre RETURN g", graph)
    assert not broken.passed and broken.reason == "student_query_error"
    ordered = "MATCH (b:Book) RETURN b.title ORDER BY b.year DESC, b.title LIMIT 5"
    assert not execution_match(ordered, "MATCH (b:Book) RETURN b.title ORDER BY b.year ASC, b.title LIMIT 5", graph).passed


def test_execution_match_compares_the_changes_of_writes(graph):
    reference = "CREATE (:Genre {name: 'Solarpunk'})"
    assert execution_match(reference, "CREATE (g:Genre {name: 'Cozy'})", graph).passed  # same changes
    assert not execution_match(reference, "MATCH (g:Genre) RETURN g.name", graph).passed


def test_split_is_stable_and_covers_everything():
    items = [Example("cypher", "c", "instruction", {"instruction": f"q{i}", "input": "", "output": "o"}) for i in range(60)]
    feedback, test = split_feedback_test(items)
    assert len(feedback) + len(test) == 60 and 15 < len(feedback) < 45
    assert split_feedback_test(list(reversed(items)))[1] == list(reversed(test))


def test_summary_is_per_category_and_per_construct():
    scores = [ItemScore("1", "a", "q", "r", "x", True, "", {"recall": 1.0}, ("count", "one_hop")),
              ItemScore("2", "a", "q", "r", "y", False, "", {"recall": 0.5}, ("count",)), ItemScore("3", "b", "q", "r", "z", True, "")]
    assert summarise(scores) == {"accuracy": 2 / 3, "n": 3, "by_category": {"a": 0.5, "b": 1.0},
                                 "by_construct": {"count": [0.5, 2], "one_hop": [1.0, 1]},
                                 "measures_by_category": {"a": {"recall": 0.75}}, "measures": {"recall": 0.75}}


def test_degenerate_answers_are_loops_not_long_queries():
    assert degenerate("MATCH (n:Movie) RETURN n.d:title AS doradoradoradoradorador")
    assert degenerate("RETURN n.name, n.name, n.name, n.name, n.name")
    assert not degenerate("MATCH (p:Person)-[:PRODUCED]->(m:Movie) WHERE p.born < 1970 AND m.released > 2000 "
                          "RETURN p.name ORDER BY p.name LIMIT 3")
    assert not degenerate("MATCH (a)-[:R]->(b)-[:R]->(c)-[:R]->(d) RETURN d")
