"""The MTG judge domain: rulings grounded in the Comprehensive Rules, and, when
the user supplies the Infraction Procedure Guide, tournament rulings grounded
in it.

Templates are correct by construction: rule and keyword questions are answered
from the rule text with its citation; combat, stack and state-based-action
scenarios are answered by a small rules model (verify.py), citing the
rules that decide them; tournament questions are built from an infraction's
own definition, examples, upgrade and remedy, and answered with its penalty.
Every example carries the seed's `rule_reference`.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.domains.base import Critique, Domain, EvalFile, Task, leave_out, with_steering
from agents.domains.mtg import verify as mtg
from agents.domains.mtg.ipg import InfractionProcedureGuide
from agents.domains.mtg.rules import ComprehensiveRules
from forge.errors import InputError
from forge.records import Check, Example
from forge.rows import read_rows

CATEGORIES = {
    "rule_explanation": "what a numbered rule says",
    "keyword_ability": "how a keyword ability from rule 702 works",
    "combat_damage": "combat damage with first strike, double strike, deathtouch, trample and lifelink",
    "stack_resolution": "spells resolving last in, first out, with counterspells and pump spells",
    "state_based_actions": "zero toughness, lethal damage, zero life, the legend rule",
}
TOURNAMENT = "tournament"  # only with an Infraction Procedure Guide
SCENARIOS = ("combat_damage", "stack_resolution", "state_based_actions")
NAMES = ("Grizzly Bear", "Hill Giant", "Ogre Brute", "Elvish Scout", "Stone Wall", "Night Viper", "Sun Knight",
         "Ember Hound", "River Serpent", "Iron Golem", "Marsh Stalker", "Dawn Paladin")
KEYWORDS = ("first strike", "double strike", "deathtouch", "trample", "lifelink")
KEYWORD_RULES = {"first strike": "702.7b", "double strike": "702.4b", "deathtouch": "702.2c", "trample": "702.19b",
                 "lifelink": "702.15b"}
SCENARIO_RULES = {  # what the rules model cites in each kind of scenario
    "combat_damage": ("510.1a", "510.2", "704.5g", *KEYWORD_RULES.values()),
    "stack_resolution": ("405.5", "608.2b", "701.6a", "704.5g"),
    "state_based_actions": ("704.5a", "704.5f", "704.5g", "704.5j"),
}


class RulingEvalRow(BaseModel):
    """One row of a user's evaluation file."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1)
    outcome: str = Field("", description="The expected 'Outcome: ...' line.")
    rules: list[str] = Field([], description="Rules a right answer cites: 704.5f, CR 510.1a, IPG 2.1.")
    answer: str = ""
    category: str = "eval"

    @model_validator(mode="after")
    def something_to_score(self) -> RulingEvalRow:
        if not self.outcome and not self.rules:
            raise ValueError("give outcome, rules or both: there is nothing to score the answer against")
        return self


class RulingDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=10, max_length=1200)
    answer: str = Field(min_length=10, max_length=3000, description="Cite rules as 'CR 704.5f' (tournament rulings: "
                        "'IPG 2.1'); scenarios and tournament rulings end with an 'Outcome:' line.")


def _describe(creature: dict[str, Any]) -> str:
    keywords = f" with {' and '.join(creature['keywords'])}" if creature["keywords"] else ""
    return f"{creature['name']} ({creature['power']}/{creature['toughness']}{keywords})"


class MtgDomain(Domain):
    name = "mtg"
    metric = "ruling accuracy"
    draft_model = RulingDraft

    def __init__(self, rules: ComprehensiveRules, ipg: InfractionProcedureGuide | None = None) -> None:
        self.rules = rules
        self.ipg = ipg
        self.citable = [r.number for r in rules.numbered if len(r.text) > 40]
        self.keywords = [n for n in rules.children("702") if rules.children(n)]
        # Said up front, not found slot by slot: a category these rules cannot feed leaves the schedule.
        lacking: dict[str, str] = {}
        if not self.citable:
            lacking["rule_explanation"] = "these rules have no numbered rule with a sentence to explain"
        if not self.keywords:
            lacking["keyword_ability"] = "these rules have no keyword ability under rule 702 with subrules"
        for category, numbers in SCENARIO_RULES.items():
            if absent := [n for n in numbers if rules.rule(n) is None]:
                lacking[category] = f"the rules model cites {', '.join(absent)}, which these rules do not have"
        self.categories = tuple(c for c in CATEGORIES if c not in lacking) + ((TOURNAMENT,) if ipg else ())
        if not self.categories:
            raise InputError(f"the Comprehensive Rules effective {rules.effective_date} give no ruling to write: "
                             f"{'; '.join(lacking.values())}. Pass the whole plain-text rules with --rules PATH.")
        for category, why in lacking.items():
            leave_out(category, why)

    def citations(self, text: str) -> list[str]:
        """CR rule numbers and, with a guide loaded, its sections as 'IPG 2.1'."""
        return self.rules.citations(text) + ([f"IPG {n}" for n in self.ipg.citations(text)] if self.ipg else [])

    # -- scenarios (derived from the task seed, so any teacher sees the same one) --

    def scenario(self, task: Task) -> dict[str, Any]:
        rng = random.Random(f"scenario:{task.seed}")
        names = rng.sample(NAMES, 3)
        if task.category == "combat_damage":
            def creature(name: str, attacker: bool) -> dict[str, Any]:
                keywords = sorted(rng.sample(KEYWORDS, rng.choice([0, 1, 1, 2]))) if attacker or rng.random() < 0.4 else []
                if "first strike" in keywords and "double strike" in keywords:
                    keywords.remove("first strike")
                return {"name": name, "power": rng.randint(1, 6), "toughness": rng.randint(1, 6), "keywords": keywords}
            return {"attacker": creature(names[0], True),
                    "blockers": [creature(n, False) for n in names[1:1 + rng.choice([0, 1, 1, 2])]],
                    "defender_life": rng.choice([20, 12, 7, 3])}
        if task.category == "stack_resolution":
            toughness, damage, pump = rng.randint(1, 4), rng.randint(1, 5), rng.randint(1, 4)
            stack = [{"name": "Shock Bolt", "kind": "damage", "amount": damage, "caster": "Alice"},
                     {"name": "Giant Growth", "kind": "pump", "amount": pump, "caster": "Bob"}]
            if rng.random() < 0.5:
                stack.append({"name": "Cancel", "kind": "counter", "target": "Giant Growth", "caster": "Alice"})
            return {"creature": names[0], "toughness": toughness, "stack": stack}
        kind = rng.choice(["zero_toughness", "lethal_damage", "zero_life", "legend_rule"])
        return {"kind": kind, "creature": names[0], "toughness": rng.randint(1, 5), "shrink": rng.randint(1, 6),
                "damage": rng.randint(0, 6), "life": rng.randint(1, 5), "hit": rng.randint(1, 6)}

    def solve(self, category: str, spec: dict[str, Any]) -> tuple[str, list[str], list[str]]:
        """(outcome sentence, explanation sentences, cited rules) from the rules model."""
        if category == "combat_damage":
            attacker = mtg.Creature(**{**spec["attacker"], "keywords": tuple(spec["attacker"]["keywords"])})
            blockers = [mtg.Creature(**{**b, "keywords": tuple(b["keywords"])}) for b in spec["blockers"]]
            outcome = mtg.resolve_combat(attacker, blockers, spec["defender_life"])
            cites = ["510.1a", "510.2"] + [KEYWORD_RULES[k] for c in [attacker, *blockers] for k in c.keywords]
            if outcome.dies:
                cites.append("704.5g")
            why = ["Each creature assigns combat damage equal to its power (CR 510.1a), and it is dealt at once (CR 510.2)."]
            for keyword in sorted({k for c in [attacker, *blockers] for k in c.keywords}):
                why.append(f"{keyword.capitalize()} changes this (CR {KEYWORD_RULES[keyword]}).")
            if outcome.dies:
                why.append("A creature with lethal damage is destroyed as a state-based action (CR 704.5g).")
            return outcome.sentence(), why, list(dict.fromkeys(cites))
        if category == "stack_resolution":
            outcome = mtg.resolve_stack(spec["toughness"], spec["stack"])
            why = ["The last spell put on the stack resolves first (CR 405.5).",
                   "Each spell checks its targets and applies its effects as it resolves (CR 608.2b)."]
            cites = ["405.5", "608.2b"]
            if outcome.countered:
                why.append("A countered spell leaves the stack without resolving (CR 701.6a).")
                cites.append("701.6a")
            if not outcome.survives:
                why.append("Damage at least equal to toughness is lethal (CR 704.5g).")
                cites.append("704.5g")
            return outcome.sentence(spec["creature"]), why, cites
        kind, name = spec["kind"], spec["creature"]
        if kind == "zero_toughness":
            dies = spec["toughness"] - spec["shrink"] <= 0
            return (f"Outcome: {name} {'dies' if dies else 'survives'}.",
                    [f"Its toughness becomes {spec['toughness'] - spec['shrink']}; a creature with toughness 0 or less "
                     "is put into its owner's graveyard (CR 704.5f)."], ["704.5f"])
        if kind == "lethal_damage":
            dies = spec["damage"] >= spec["toughness"]
            return (f"Outcome: {name} {'dies' if dies else 'survives'}.",
                    [f"It has {spec['damage']} damage and toughness {spec['toughness']}; damage at least equal to "
                     "toughness destroys it (CR 704.5g)."], ["704.5g"])
        if kind == "zero_life":
            loses = spec["life"] - spec["hit"] <= 0
            return (f"Outcome: the player {'loses the game' if loses else 'keeps playing'}.",
                    [f"Their life becomes {spec['life'] - spec['hit']}; a player with 0 or less life loses the game "
                     "(CR 704.5a)."], ["704.5a"])
        return (f"Outcome: one {name} stays on the battlefield; the other goes to the graveyard.",
                ["With two legendary permanents of the same name, their controller chooses one and puts the rest "
                 "into the graveyard (CR 704.5j)."], ["704.5j"])

    def question(self, category: str, spec: dict[str, Any]) -> str:
        if category == "combat_damage":
            blockers = spec["blockers"]
            blocked = (f"and is blocked by {' and '.join(_describe(b) for b in blockers)}" if blockers
                       else "and is not blocked")
            return (f"{_describe(spec['attacker'])} attacks {blocked}. The defending player is at "
                    f"{spec['defender_life']} life. What happens in combat damage?")
        if category == "stack_resolution":
            casts = [f"{s['caster']} casts {s['name']} " + (
                f"dealing {s['amount']} damage to {spec['creature']}" if s["kind"] == "damage" else
                f"giving {spec['creature']} +{s['amount']}/+{s['amount']}" if s["kind"] == "pump" else
                f"countering {s['target']}") for s in spec["stack"]]
            return (f"{spec['creature']} has toughness {spec['toughness']}. " + ", then in response ".join(casts) +
                    ". How does the stack resolve, and does the creature survive?")
        kind, name = spec["kind"], spec["creature"]
        return {
            "zero_toughness": f"{name} has toughness {spec['toughness']} and gets -{spec['shrink']}/-{spec['shrink']}. "
                              "What happens when state-based actions are checked?",
            "lethal_damage": f"{name} has toughness {spec['toughness']} and {spec['damage']} damage marked on it. "
                             "What happens when state-based actions are checked?",
            "zero_life": f"A player at {spec['life']} life takes {spec['hit']} damage. What do state-based actions do?",
            "legend_rule": f"A player controls two legendary permanents named {name}. What do state-based actions do?",
        }[kind]

    # -- tournament questions (from the guide; derived from the seed like scenarios) --

    def tournament_case(self, task: Task) -> dict[str, Any]:
        rng = random.Random(f"tournament:{task.seed}")
        section = rng.choice(self.ipg.infractions)
        forms = (["penalty"] + ["example"] * 2 * bool(section.examples) + ["upgrade"] * bool(section.part("Upgrade"))
                 + ["remedy"] * bool(section.part("Additional Remedy")))
        case = {"infraction": section.number, "form": rng.choice(forms)}
        if case["form"] == "example":
            case["example"] = rng.randrange(len(section.examples))
        return case

    def tournament_question(self, case: dict[str, Any]) -> str:
        section = self.ipg.section(case["infraction"])
        if case["form"] == "example":
            return (f"At a Competitive REL tournament: {section.examples[case['example']]} Which infraction is this, "
                    "and what is the penalty?")
        name = section.short_title
        return {"penalty": f"At Competitive REL, what counts as {name}, and what is its penalty?",
                "upgrade": f"At Competitive REL, when is the penalty for {name} upgraded?",
                "remedy": f"At Competitive REL, what does a judge do to fix {name} besides the penalty?"}[case["form"]]

    def tournament_answer(self, case: dict[str, Any]) -> str:
        section = self.ipg.section(case["infraction"])
        tail = {"example": "", "penalty": f" Its penalty: {section.penalty}.",
                "upgrade": f" Upgrade: {section.part('Upgrade')}",
                "remedy": f" Additional remedy: {section.part('Additional Remedy')}"}[case["form"]]
        return (f"This is {section.title} (IPG {section.number}): {section.part('Definition')}{tail}\n"
                f"Outcome: {section.title}; penalty: {section.penalty}.")

    # -- what the example graph calls ---------------------------------------

    def template_draft(self, task: Task, attempt: int) -> dict[str, str]:
        rng = random.Random(f"{task.seed}:{attempt}")
        if task.category == "rule_explanation":
            number = rng.choice(self.citable)
            rule = self.rules.rule(number)
            ask = rng.choice(["What does rule {n} of the Comprehensive Rules say?", "Explain CR {n}.",
                              "What is rule {n} about?"])
            answer = f"Rule {number} says: {rule.text}" + (f" {' '.join(rule.examples)}" if rule.examples else "")
            return {"question": ask.format(n=number), "answer": answer + f" (CR {number})"}
        if task.category == "keyword_ability":
            section = rng.choice(self.keywords)
            title = self.rules.rule(section).text
            parts = self.rules.children(section)[:2]
            text = " ".join(f"{self.rules.rule(p).text} (CR {p})" for p in parts)
            ask = rng.choice(["How does {k} work?", "What does the keyword ability {k} do?", "Explain {k}."])
            return {"question": ask.format(k=title), "answer": f"{title} is defined in rule {section}. {text}"}
        if task.category == TOURNAMENT:
            case = self.tournament_case(Task(task.slot, task.category, f"{task.seed}:{attempt}"))
            return {"question": self.tournament_question(case), "answer": self.tournament_answer(case),
                    "tournament_case": case}
        spec = self.scenario(Task(task.slot, task.category, f"{task.seed}:{attempt}"))
        outcome, why, _ = self.solve(task.category, spec)
        return {"question": self.question(task.category, spec), "answer": " ".join(why) + "\n" + outcome,
                "scenario": spec}

    def generation_messages(self, task: Task, feedback: str) -> list[dict[str, str]]:
        if task.category in SCENARIOS:
            ask = (f"Answer this ruling question: {self.question(task.category, self.scenario(task))}\nCite the rules "
                   "that decide it as 'CR 704.5g' and end with one line that starts with 'Outcome:'.")
        elif task.category == TOURNAMENT:
            index = "; ".join(f"{s.number} {s.title}" for s in self.ipg.infractions)
            ask = (f"Answer this tournament question as a judge: {self.tournament_question(self.tournament_case(task))}"
                   f"\nThe Infraction Procedure Guide effective {self.ipg.effective_date} lists: {index}.\nCite it as "
                   "'IPG 2.1' and end with one line 'Outcome: <infraction>; penalty: <penalty>.'")
        else:
            ask = f"Write one question of category '{task.category}' ({CATEGORIES[task.category]}) and its answer, citing the rules as 'CR 702.19b'."
        return [{"role": "system", "content": "You are a Magic: The Gathering judge writing training data. Reply with "
                                              'one JSON object: {"question": "...", "answer": "..."} and nothing else.'},
                {"role": "user", "content": with_steering(ask, task, feedback, "Write a corrected answer.")}]

    def to_example(self, task: Task, draft: dict[str, Any]) -> Example:
        metadata: dict[str, Any] = {"rule_reference": self.citations(draft["answer"]),
                                    "rules_effective": self.rules.effective_date}
        if task.category in SCENARIOS:
            metadata["scenario"] = draft.get("scenario") or self.scenario(task)
        if task.category == TOURNAMENT:
            metadata["tournament_case"] = draft.get("tournament_case") or self.tournament_case(task)
            metadata["ipg_effective"] = self.ipg.effective_date
        return Example(self.name, task.category, "instruction",
                       {"instruction": draft["question"].strip(), "input": "", "output": draft["answer"].strip()}, metadata)

    def critique_messages(self, example: Example) -> list[dict[str, str]]:
        answer = example.payload["output"]
        texts = [f"CR {n}: {rule.full_text}" for n in self.rules.citations(answer) if (rule := self.rules.rule(n))]
        if self.ipg:
            texts += [f"IPG {n}: {section.full_text} Penalty: {section.penalty}"
                      for n in self.ipg.citations(answer) if (section := self.ipg.section(n))]
        cited = "\n".join(texts)
        return [{"role": "system", "content": "You are a senior Magic: The Gathering judge reviewing training data. "
                                              + Critique.instruction()},
                {"role": "user", "content": f"Question: {example.payload['instruction']}\n\nRuling: {example.payload['output']}"
                                            f"\n\nFull text of the cited rules:\n{cited or '(none cited)'}\n\n"
                                            "Does the ruling follow from these rules?"}]

    def template_critique(self, example: Example) -> dict[str, str]:
        cited = self.citations(example.payload["output"])
        if not cited:
            return {"verdict": "disagree", "reason": "the ruling cites no rule"}
        return {"verdict": "agree", "reason": f"the ruling rests on {', '.join(cited)}"}

    def outcome(self, example: Example, answer: str) -> Check | None:
        """A scenario's outcome against the rules model, a tournament ruling's
        infraction and penalty against the guide; None for other questions."""
        if (spec := example.metadata.get("scenario")) is not None:
            return mtg.check_outcome(self.solve(example.category, spec)[0], answer)
        if (case := example.metadata.get("tournament_case")) is not None:
            return mtg.check_infraction(self.ipg.section(case["infraction"]), answer)
        if (expected := example.metadata.get("expected_outcome")) is not None:
            return mtg.check_outcome(expected, answer)
        return None

    def verify(self, example: Example) -> list[Check]:
        question, answer = example.payload["instruction"], example.payload["output"]
        document = self.ipg if example.category == TOURNAMENT else self.rules
        checks = mtg.check_citations(document, question, answer)
        if document is self.ipg and self.rules.citations(answer):  # a tournament ruling may cite game rules too
            checks += mtg.check_citations(self.rules, question, answer)
        outcome = self.outcome(example, answer)
        return checks + ([outcome] if outcome else [])

    def _grade(self, example: Example, answer: str) -> tuple[float | None, float | None, Check | None]:
        """Citation precision and recall against the reference (None when the item
        names no rules), and the outcome check (None where there is none)."""
        reference = set(example.metadata.get("rule_reference", []))
        if not reference:
            return None, None, self.outcome(example, answer)
        cited = set(self.citations(answer))
        precision = len(cited & reference) / len(cited) if cited else 0.0
        return precision, len(cited & reference) / len(reference), self.outcome(example, answer)

    def answer_measures(self, example: Example, answer: str) -> dict[str, float]:
        """Citation precision and recall, and outcome correctness, where the item has them."""
        precision, recall, outcome = self._grade(example, answer)
        measures = {} if precision is None else {"citation_precision": precision, "citation_recall": recall}
        if outcome is not None:
            measures["outcome_correct"] = float(outcome.passed)
        return measures

    def score_answer(self, example: Example, answer: str) -> Check:
        """Correct when the outcome (if any) is right and citation precision and recall
        (if the item names rules) are both at least 0.5."""
        precision, recall, outcome = self._grade(example, answer)
        detail = "no reference rules" if precision is None else f"citation precision {precision:.2f}, recall {recall:.2f}"
        if outcome is not None and not outcome.passed:
            return Check("ruling_correct", False, f"{detail}; {outcome.detail}", outcome.reason)
        if precision is not None and (recall < 0.5 or precision < 0.5):
            return Check("ruling_correct", False, detail, "wrong_citations")
        return Check("ruling_correct", True, detail)

    def _exists(self, citation: str) -> bool:
        if citation.startswith("IPG"):
            return self.ipg is not None and self.ipg.section(citation.removeprefix("IPG").strip()) is not None
        return self.rules.rule(citation) is not None

    def load_eval(self, path: Path, limit: int | None = None) -> EvalFile:
        """{question, outcome?, rules?, answer?, category?} rows: an expected
        'Outcome: ...' line, the rules a right answer cites ("704.5f", "CR 510.1a",
        "IPG 2.1"), or both; a row citing a rule the loaded documents lack is skipped."""
        read = read_rows(path, RulingEvalRow, "{question, outcome and/or rules, answer?, category?}")
        loaded = EvalFile(path, ignored_fields=read.ignored, failing=f"cite rules not in the loaded rules (CR "
                          f"effective {self.rules.effective_date}" + (f", IPG effective {self.ipg.effective_date})"
                                                                        if self.ipg else ")"))
        for line, row in read.rows[:limit]:
            rules = [rule.removeprefix("CR ").strip() for rule in row.rules]
            missing = [rule for rule in rules if not self._exists(rule)]
            if missing:
                loaded.skipped.append((f"{path}:{line}", f"rules {', '.join(missing)} are not in the loaded rules"))
                continue
            metadata: dict[str, Any] = {"rule_reference": rules}
            if row.outcome:
                metadata["expected_outcome"] = row.outcome if row.outcome.startswith("Outcome:") else f"Outcome: {row.outcome}"
            reference = row.answer or " ".join(filter(None, [metadata.get("expected_outcome"), *(f"(CR {r})" for r in rules)]))
            loaded.items.append(Example(self.name, row.category, "instruction",
                                        {"instruction": row.question, "input": "", "output": reference}, metadata))
        return loaded


def open_domain(sources: dict[str, str]) -> MtgDomain:
    from agents.domains.mtg.ipg import load_ipg
    from agents.domains.mtg.rules import load_rules

    return MtgDomain(load_rules(sources["rules"]), load_ipg(sources["ipg"]) if sources.get("ipg") else None)
