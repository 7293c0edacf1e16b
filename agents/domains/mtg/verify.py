"""MTG verification: citations must exist in the loaded Comprehensive Rules (or,
for tournament questions, the Infraction Procedure Guide) and be relevant to
the question; a scenario's stated outcome must equal the one a small rules
model computes, and a tournament ruling must name the infraction and the
penalty the guide gives it.

The model covers what the template scenarios use: combat damage with first
strike, double strike, deathtouch, trample and lifelink (one attacker, up to
two blockers); a stack of a damage spell, a pump spell and a counterspell
resolving last in, first out; and state-based actions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from agents.domains.mtg.ipg import PENALTIES, Section
from agents.domains.mtg.rules import rule_words
from forge.records import Check

# -- the rules model ----------------------------------------------------------

@dataclass(frozen=True)
class Creature:
    name: str
    power: int
    toughness: int
    keywords: tuple[str, ...] = ()

    def has(self, keyword: str) -> bool:
        return keyword in self.keywords


@dataclass(frozen=True)
class CombatOutcome:
    dies: tuple[str, ...]
    player_damage: int
    defender_life: int
    attacker_life: int

    def sentence(self) -> str:
        dead = ", ".join(self.dies) if self.dies else "no creature"
        return (f"Outcome: dies: {dead}; defending player takes {self.player_damage} damage "
                f"(life {self.defender_life}); attacking player life {self.attacker_life}.")


def resolve_combat(attacker: Creature, blockers: list[Creature], defender_life: int = 20,
                   attacker_life: int = 20) -> CombatOutcome:
    damage: dict[str, int] = {c.name: 0 for c in [attacker, *blockers]}
    deathtouched: set[str] = set()
    dead: list[str] = []
    player_damage, gained_attacker, gained_defender = 0, 0, 0
    everyone = [attacker, *blockers]
    first_strike = any(c.has("first strike") or c.has("double strike") for c in everyone)
    steps = ["first", "regular"] if first_strike else ["regular"]
    for step in steps:
        def deals(c: Creature) -> bool:
            if c.name in dead:
                return False
            if step == "first":
                return c.has("first strike") or c.has("double strike")
            return not first_strike or c.has("double strike") or not c.has("first strike")

        dealt: list[tuple[Creature, str, int]] = []  # (source, target name or "player", amount)
        if deals(attacker):
            remaining = attacker.power
            alive = [b for b in blockers if b.name not in dead]
            if not blockers:
                dealt.append((attacker, "player", remaining))
            elif not alive:
                if attacker.has("trample"):  # 702.19d: all of it to the player
                    dealt.append((attacker, "player", remaining))
            else:
                for i, blocker in enumerate(alive):
                    lethal = 1 if attacker.has("deathtouch") else max(0, blocker.toughness - damage[blocker.name])
                    last = i == len(alive) - 1
                    amount = remaining if last and not attacker.has("trample") else min(remaining, lethal)
                    dealt.append((attacker, blocker.name, amount))
                    remaining -= amount
                if remaining > 0 and attacker.has("trample"):
                    dealt.append((attacker, "player", remaining))
        for blocker in blockers:
            if deals(blocker):
                dealt.append((blocker, attacker.name, blocker.power))
        for source, target, amount in dealt:
            if amount <= 0:
                continue
            if target == "player":
                player_damage += amount
            else:
                damage[target] += amount
                if source.has("deathtouch"):
                    deathtouched.add(target)
            if source.has("lifelink"):
                if source is attacker:
                    gained_attacker += amount
                else:
                    gained_defender += amount
        for c in everyone:  # state-based actions after each damage step
            if c.name not in dead and (damage[c.name] >= c.toughness or c.name in deathtouched):
                dead.append(c.name)
    return CombatOutcome(tuple(sorted(dead)), player_damage, defender_life - player_damage + gained_defender,
                         attacker_life + gained_attacker)


@dataclass(frozen=True)
class StackOutcome:
    survives: bool
    countered: tuple[str, ...]

    def sentence(self, creature: str) -> str:
        countered = ", ".join(self.countered) if self.countered else "nothing"
        return f"Outcome: {creature} {'survives' if self.survives else 'dies'}; countered: {countered}."


def resolve_stack(toughness: int, stack: list[dict]) -> StackOutcome:
    """stack: bottom first; items {"name", "kind": damage|pump|counter, "amount", "target": spell name}."""
    pending = list(stack)
    countered: list[str] = []
    damage, bonus = 0, 0
    while pending:
        spell = pending.pop()  # the top (last added) resolves first
        if spell["kind"] == "counter":
            for other in pending:
                if other["name"] == spell["target"]:
                    pending.remove(other)
                    countered.append(other["name"])
                    break
        elif spell["kind"] == "pump":
            bonus += spell["amount"]
        elif spell["kind"] == "damage":
            damage += spell["amount"]
        if damage >= toughness + bonus:
            return StackOutcome(False, tuple(countered))
    return StackOutcome(True, tuple(countered))


# -- checks ----------------------------------------------------------------------

class CitedDocument(Protocol):
    """What rulings cite: the Comprehensive Rules or the Infraction Procedure Guide."""

    title: str
    cite_as: str
    check_prefix: str
    relevance_threshold: float
    word_idf: dict[str, float]

    def citations(self, text: str) -> list[str]: ...

    def cited_text(self, number: str) -> str | None: ...


def relevance(document: CitedDocument, number: str, text: str) -> tuple[float, list[str]]:
    """IDF-weighted share of the cited text's content words that the question
    and answer use, and the shared words."""
    words = rule_words(document.cited_text(number) or "")
    shared = words & rule_words(text)
    idf = document.word_idf

    def weight(ws: set[str]) -> float:
        return sum(max(idf.get(w, 1.0), 0.05) for w in ws)

    score = weight(shared) / weight(words) if words else 0.0
    return score, sorted(shared, key=lambda w: -idf.get(w, 1.0))


def check_citations(document: CitedDocument, question: str, answer: str) -> list[Check]:
    """Every citation exists in the document, and each is relevant to the question and answer."""
    prefix = document.check_prefix
    cited = document.citations(answer)
    if not cited:
        return [Check(f"cites_{prefix or 'rules'}", False, f"the answer cites nothing from {document.title} "
                      f"(e.g. '{document.cite_as}')", "no_citation")]
    missing = [n for n in cited if document.cited_text(n) is None]
    if missing:
        return [Check(f"{prefix}citations_exist", False, f"citations that do not exist in {document.title}: "
                      f"{', '.join(missing)}", "nonexistent_citation")]
    checks = [Check(f"{prefix}citations_exist", True, f"{', '.join(cited)} exist in {document.title}")]
    scores = {n: relevance(document, n, question + " " + answer) for n in cited}
    report = "; ".join(f"{n}: {s:.2f} ({', '.join(w[:6])})" for n, (s, w) in scores.items())
    threshold = document.relevance_threshold
    weak = [n for n, (s, _) in scores.items() if s < threshold]
    if weak:
        checks.append(Check(f"{prefix}citations_relevant", False, f"below relevance {threshold}: {', '.join(weak)}. "
                            f"Scores: {report}", "irrelevant_citation"))
    else:
        checks.append(Check(f"{prefix}citations_relevant", True, f"relevance scores: {report}"))
    return checks


def _outcome_line(answer: str) -> str:
    return next((line.strip() for line in answer.splitlines() if line.strip().startswith("Outcome:")), "")


def check_outcome(expected_sentence: str, answer: str) -> Check:
    stated = _outcome_line(answer)
    if not stated:
        return Check("outcome_correct", False, "the answer states no 'Outcome:' line", "no_outcome")
    if stated == expected_sentence:
        return Check("outcome_correct", True, f"matches the rules model: {expected_sentence}")
    return Check("outcome_correct", False, f"the answer says {stated!r}; the rules model computes "
                 f"{expected_sentence!r}", "wrong_outcome")


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[—–-]", " ", text.lower()))


def check_infraction(section: Section, answer: str) -> Check:
    """The answer's 'Outcome:' line names the infraction and exactly the penalty the guide gives it."""
    stated = _outcome_line(answer)
    if not stated:
        return Check("infraction_correct", False, "the answer states no 'Outcome: <infraction>; penalty: <penalty>.' "
                     "line", "no_outcome")
    penalties = [p for p in PENALTIES if _plain(p) in _plain(stated)]
    if _plain(section.short_title) not in _plain(stated):
        return Check("infraction_correct", False, f"the answer says {stated!r}; the guide's infraction is "
                     f"{section.title} (IPG {section.number})", "wrong_infraction")
    if penalties != [section.penalty]:
        return Check("infraction_correct", False, f"the answer says {stated!r}; IPG {section.number} gives "
                     f"{section.title} the penalty {section.penalty}", "wrong_penalty")
    return Check("infraction_correct", True, f"{section.title}, {section.penalty} (IPG {section.number})")
