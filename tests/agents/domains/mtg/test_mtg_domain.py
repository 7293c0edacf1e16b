"""The MTG domain: templates verified against the rules (our fixture, and the
real Comprehensive Rules when MTG_CR_PATH is set) and our Infraction Procedure
Guide fixture, hand-made bad rulings rejected with their reasons, and the rules
model's combat arithmetic."""

import json
import os
import sqlite3

import pytest

from agents.domains import Task
from agents.domains.mtg.generate import CATEGORIES, MtgDomain
from agents.domains.mtg.verify import Creature, resolve_combat, resolve_stack
from agents.domains.mtg.ipg import load_ipg
from agents.domains.mtg.rules import load_rules
from forge.records import Example
from tests.conftest import REPO, run_cli

SOURCES = [REPO / "data" / "mtg" / "rules_fixture.txt"] + ([os.environ["MTG_CR_PATH"]] if os.environ.get("MTG_CR_PATH") else [])
IPG = REPO / "data" / "mtg" / "ipg_fixture.txt"


@pytest.fixture(scope="module", params=SOURCES, ids=lambda p: "real" if "Magic" in str(p) else "fixture")
def domain(request):
    return MtgDomain(load_rules(request.param), load_ipg(IPG))


def test_every_category_verifies_from_templates(domain):
    assert domain.categories == (*CATEGORIES, "tournament")
    assert MtgDomain(domain.rules).categories == tuple(CATEGORIES)  # no guide, no tournament questions
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
    ("The giant hits the player for 3.", "no_citation", "cites nothing from the Comprehensive Rules"),
])
def test_bad_rulings_are_rejected_with_the_reason(domain, answer, reason, named):
    assert_rejected(domain.verify(ruling(answer)), reason, named)


def assert_rejected(checks, reason, named):
    """A check failed with `reason`, and its evidence names `named`."""
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


TARDY = ("At a Competitive REL tournament: A player arrives at their table three minutes after the start of the "
         "round. Which infraction is this, and what is the penalty?")


def tournament_ruling(answer, form="example"):
    return Example("mtg", "tournament", "instruction", {"instruction": TARDY, "input": "", "output": answer},
                   {"tournament_case": {"infraction": "3.1", "form": form, "example": 0}, "rule_reference": ["IPG 3.1"]})


TARDY_RIGHT = "Outcome: Tournament Error — Tardiness; penalty: Game Loss."


@pytest.mark.parametrize("answer, reason, named", [
    (f"The player was not in their seat when the round began (IPG 3.1, 3.9).\n{TARDY_RIGHT}", "nonexistent_citation", "3.9"),
    ("The player was not in their seat when the round began (IPG 3.1).\n"
     "Outcome: Tournament Error — Tardiness; penalty: Warning.", "wrong_penalty", "Game Loss"),
    ("The player was not in their seat when the round began (IPG 3.1).\n"
     "Outcome: Tournament Error — Slow Play; penalty: Game Loss.", "wrong_infraction", "Tardiness"),
    (f"The player arrived late to the round (IPG 2.3).\n{TARDY_RIGHT}", "irrelevant_citation", "2.3"),
    (f"The player arrived late, per CR 100.1.\n{TARDY_RIGHT}", "no_citation", "Infraction Procedure Guide"),
    ("The player was not in their seat when the round began (IPG 3.1).", "no_outcome", "Outcome"),
])
def test_bad_tournament_rulings_are_rejected_with_the_reason(domain, answer, reason, named):
    assert_rejected(domain.verify(tournament_ruling(answer)), reason, named)


def test_a_correct_tournament_ruling_passes_and_the_critic_sees_the_guide(domain):
    example = tournament_ruling(f"A player who is not in their seat when the round begins is tardy (IPG 3.1).\n{TARDY_RIGHT}")
    checks = domain.verify(example)
    assert all(c.passed for c in checks), checks
    assert "relevance scores: 3.1" in next(c.detail for c in checks if c.name == "ipg_citations_relevant")
    critic_prompt = domain.critique_messages(example)[1]["content"]
    assert "IPG 3.1: Tournament Error — Tardiness" in critic_prompt and "Penalty: Game Loss" in critic_prompt
    teacher_prompt = domain.generation_messages(Task(0, "tournament", "t:0"), "")[1]["content"]
    assert "3.1 Tournament Error — Tardiness" in teacher_prompt and "Outcome: <infraction>; penalty: <penalty>" in teacher_prompt


def test_student_tournament_rulings_are_scored_by_citations_infraction_and_penalty(domain):
    item = tournament_ruling(f"Late for the round (IPG 3.1).\n{TARDY_RIGHT}")
    assert domain.score_answer(item, item.payload["output"]).passed
    assert domain.score_answer(item, "Late (IPG 3.1).\nOutcome: Tournament Error — Tardiness; penalty: Match Loss."
                               ).reason == "wrong_penalty"
    assert domain.score_answer(item, f"Late (IPG 3.3).\n{TARDY_RIGHT}").reason == "wrong_citations"


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
    assert set(by_category) == set(CATEGORIES) and all(n > 0 for n in by_category.values())
    assert run_cli("export", str(ws)).returncode == 0
    row = json.loads((ws / "exports" / "accepted.jsonl").read_text().splitlines()[0])
    assert row["rule_reference"]
    bad = run_cli("generate", "--domain", "mtg", "--rules", str(tmp_path / "nope.txt"), "--workspace", str(tmp_path / "w2"))
    assert bad.returncode == 2 and "Comprehensive Rules" in bad.stderr
    bad_ipg = run_cli("generate", "--domain", "mtg", "--ipg", str(SOURCES[0]), "--workspace", str(tmp_path / "w3"))
    assert bad_ipg.returncode == 2 and "not the Infraction Procedure Guide" in bad_ipg.stderr
    assert not (tmp_path / "w2").exists() and not (tmp_path / "w3").exists()


def test_tournament_questions_through_the_cli(tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("generate", "--domain", "mtg", "--rules", str(SOURCES[-1]), "--ipg", str(IPG), "--count", "120",
                     "--workspace", str(ws))
    assert result.returncode == 0, result.stderr
    assert "category tournament" in result.stdout
    assert run_cli("export", str(ws)).returncode == 0
    rows = [json.loads(line) for line in (ws / "exports" / "accepted.jsonl").read_text().splitlines()]
    tournament = [r for r in rows if r["category"] == "tournament"]
    assert len(tournament) >= 15 and all(r["rule_reference"][0].startswith("IPG ") for r in tournament)


def test_student_answers_are_measured_per_category(domain):
    from evaluators.harness import score_answers, summarise

    scenario = Example("mtg", "combat_damage", "instruction", {"instruction": COMBAT, "input": "", "output": RIGHT},
                       {"scenario": SPEC, "rule_reference": ["510.1a", "510.2"]})
    tardy = tournament_ruling(f"Late (IPG 3.1).\n{TARDY_RIGHT}")
    answers = [f"Power is damage (CR 510.1a, 704.5a).\n{RIGHT}", "Late (IPG 3.1).\nOutcome: Tardiness; penalty: Warning."]
    scores = score_answers([scenario, tardy], answers, domain.score_answer, domain.answer_measures)
    measures = summarise(scores)["measures_by_category"]
    assert measures["combat_damage"] == {"citation_precision": 0.5, "citation_recall": 0.5, "outcome_correct": 1.0}
    assert measures["tournament"] == {"citation_precision": 1.0, "citation_recall": 1.0, "outcome_correct": 0.0}


def test_rules_without_what_a_category_needs_leave_it_out_and_say_so(tmp_path, caplog):
    text = (REPO / "data" / "mtg" / "rules_fixture.txt").read_text(encoding="utf-8-sig")
    path = tmp_path / "rules.txt"
    path.write_text(text.replace("510.2. All assigned", "Note: all assigned"))
    with caplog.at_level("WARNING", logger="domainforge"):
        domain = MtgDomain(load_rules(path))
    assert "combat_damage" not in domain.categories and "stack_resolution" in domain.categories
    assert "combat_damage: the rules model cites 510.2, which these rules do not have" in caplog.text
