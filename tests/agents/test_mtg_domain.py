"""The MTG domain: templates verified against the rules (our fixture, and the
real Comprehensive Rules when MTG_CR_PATH is set), hand-made bad rulings
rejected with their reasons, and the rules model's combat arithmetic."""

import json
import os
import sqlite3

import pytest

from agents.domains import Task
from agents.domains.mtg import MtgDomain
from evaluators.mtg import Creature, resolve_combat, resolve_stack
from evaluators.mtg_rules import load_rules
from forge.records import Example
from tests.conftest import REPO, run_cli

SOURCES = [REPO / "data" / "mtg" / "rules_fixture.txt"] + ([os.environ["MTG_CR_PATH"]] if os.environ.get("MTG_CR_PATH") else [])


@pytest.fixture(scope="module", params=SOURCES, ids=lambda p: "real" if "Magic" in str(p) else "fixture")
def domain(request):
    return MtgDomain(load_rules(request.param))


def test_every_category_verifies_from_templates(domain):
    for category in domain.categories:
        accepted = 0
        for slot in range(30):
            task = Task(slot, category, f"t:{slot}")
            example = domain.to_example(task, domain.template_draft(task, 1))
            accepted += all(c.passed for c in domain.verify(example))
            assert example.metadata["rule_reference"]
        assert accepted >= 27, f"{category}: {accepted}/30"


COMBAT = "Hill Giant (3/3) attacks and is not blocked. The defending player is at 20 life. What happens in combat damage?"
SPEC = {"attacker": {"name": "Hill Giant", "power": 3, "toughness": 3, "keywords": []}, "blockers": [], "defender_life": 20}
RIGHT = "Outcome: dies: no creature; defending player takes 3 damage (life 17); attacking player life 20."


def ruling(answer):
    return Example("mtg", "combat_damage", "instruction", {"instruction": COMBAT, "input": "", "output": answer},
                   {"scenario": SPEC})


@pytest.mark.parametrize("answer, reason, named", [
    (f"The giant deals combat damage equal to its power (CR 510.1a), see also CR 510.9z.\n{RIGHT}", "nonexistent_citation", "510.9z"),
    ("Each attacking creature assigns combat damage equal to its power (CR 510.1a).\n"
     "Outcome: dies: Hill Giant; defending player takes 0 damage (life 20); attacking player life 20.", "wrong_outcome", "rules model"),
    (f"The unblocked giant deals its 3 damage to the defending player (CR 405.5).\n{RIGHT}", "irrelevant_citation", "405.5"),
    ("The giant hits the player for 3.", "no_citation", "cites no rule"),
])
def test_bad_rulings_are_rejected_with_the_reason(domain, answer, reason, named):
    checks = domain.verify(ruling(answer))
    failed = [c for c in checks if not c.passed]
    assert reason in [c.reason for c in failed], checks
    assert named in next(c.detail for c in failed if c.reason == reason)


def test_a_correct_ruling_passes_with_relevance_reported(domain):
    checks = domain.verify(ruling(f"Each attacking creature assigns combat damage equal to its power (CR 510.1a).\n{RIGHT}"))
    assert all(c.passed for c in checks), checks
    assert "relevance scores: 510.1a" in next(c.detail for c in checks if c.name == "citations_relevant")


def test_student_rulings_are_scored_by_citations_and_outcome(domain):
    item = ruling(f"Combat damage equals power (CR 510.1a).\n{RIGHT}")
    item = Example(item.domain, item.category, item.format, item.payload, {**item.metadata, "rule_reference": ["510.1a"]})
    assert domain.score_answer(item, item.payload["output"]).passed
    assert domain.score_answer(item, "Outcome: dies: Hill Giant; defending player takes 0 damage (life 20); "
                                     "attacking player life 20. (CR 510.1a)").reason == "wrong_outcome"
    assert domain.score_answer(item, f"CR 704.5a.\n{RIGHT}").reason == "wrong_citations"


def test_the_rules_model():
    ogre = Creature("Ogre", 5, 5, ("trample",))
    assert resolve_combat(ogre, [Creature("Bear", 2, 2)]).player_damage == 3
    knight = resolve_combat(Creature("Knight", 2, 2, ("first strike",)), [Creature("Bear", 2, 2)])
    assert knight.dies == ("Bear",)  # the bear dies before it deals damage
    viper = resolve_combat(Creature("Viper", 1, 1, ("deathtouch", "trample")), [Creature("Wall", 0, 8)])
    assert viper.dies == ("Wall",) and viper.player_damage == 0
    champion = resolve_combat(Creature("Champion", 3, 3, ("double strike", "trample")), [Creature("Bear", 2, 2)])
    assert champion.player_damage == 4 and champion.dies == ("Bear",)
    assert resolve_combat(Creature("Cleric", 2, 2, ("lifelink",)), []).attacker_life == 22
    shock = {"name": "Shock", "kind": "damage", "amount": 2}
    growth = {"name": "Growth", "kind": "pump", "amount": 3}
    assert resolve_stack(2, [shock, growth]).survives  # the pump, cast last, resolves first
    countered = resolve_stack(2, [shock, growth, {"name": "Cancel", "kind": "counter", "target": "Growth"}])
    assert not countered.survives and countered.countered == ("Growth",)


def test_generate_mtg_through_the_cli(tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("generate", "--domain", "mtg", "--rules", str(SOURCES[-1]), "--count", "300", "--workspace", str(ws))
    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(ws / "examples.sqlite")
    by_category = dict(db.execute("SELECT e.category, SUM(s.accepted) FROM slots s JOIN examples e ON e.id = s.example_id "
                                  "GROUP BY e.category"))
    assert set(by_category) == set(MtgDomain.categories) and all(n > 0 for n in by_category.values())
    assert run_cli("export", str(ws)).returncode == 0
    row = json.loads((ws / "exports" / "accepted.jsonl").read_text().splitlines()[0])
    assert row["rule_reference"]
    bad = run_cli("generate", "--domain", "mtg", "--rules", str(tmp_path / "nope.txt"), "--workspace", str(tmp_path / "w2"))
    assert bad.returncode == 2 and "Comprehensive Rules" in bad.stderr
