"""Cleaning imported conversations, one step after another, each counted:

    scrub personal data ─► repair turns ─► language ─► duplicates ─► fits the student

Scrubbing comes first, so nothing after it (the store, the report, a rejected
record's evidence) ever holds the unscrubbed text. Every record that could be
read ends as an example with one check per step it reached: accepted when all
passed, rejected with the failing step's reason, and kept for `audit`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from agents.domains.chat.verify import TokenBudget
from agents.domains.chat.formats import Read
from evaluators.curation import duplicate_of
from evaluators.pii import PHONE_REGIONS, scrub_conversation
from forge.errors import InputError
from forge.records import Check, Example

CATEGORY = "imported"
CODE = re.compile(r"```.*?(?:```|\Z)", re.S)


@dataclass
class Cleaned:
    """One record after cleaning: its scrubbed example and the checks it reached."""

    where: str
    example: Example
    checks: list[Check]

    @property
    def accepted(self) -> bool:
        return all(c.passed for c in self.checks)


@dataclass
class ImportReport:
    records: int = 0
    unreadable: int = 0
    pii_replaced: Counter = field(default_factory=Counter)
    """Placeholders put in, by kind."""
    conversations_with_pii: int = 0
    repairs: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    """By reason, unreadable records included."""
    accepted: int = 0

    def to_dict(self) -> dict:
        return {"records": self.records, "unreadable": self.unreadable, "pii_replaced": dict(self.pii_replaced),
                "conversations_with_pii": self.conversations_with_pii, "repairs": dict(self.repairs),
                "rejected": dict(self.rejected), "accepted": self.accepted}


def scrub_turns(messages: list[dict[str, str]], regions: tuple[str, ...] = PHONE_REGIONS
                ) -> tuple[list[dict[str, str]], Counter]:
    """The turns with personal data replaced (a name found in one turn, in all
    of them), and how many of each kind were."""
    results = scrub_conversation([m["content"] for m in messages], regions)
    scrubbed = [{"role": m["role"], "content": r.text} for m, r in zip(messages, results)]
    return scrubbed, sum((r.found for r in results), Counter())


def repair_turns(messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], Counter, tuple[str, str] | None]:
    """The turns made learnable: empty turns dropped, a speaker's consecutive
    turns merged (support logs split messages), opening assistant turns (a
    greeting before the user speaks) and a last unanswered user turn dropped.
    Returns (turns, what was repaired, (reason, detail) when it cannot be)."""
    notes: Counter = Counter()
    kept: list[dict[str, str]] = []
    for i, m in enumerate(messages):
        text = m["content"].strip()
        if not text:
            notes["empty turn dropped"] += 1
            continue
        if m["role"] == "system" and (i or kept):
            return [], notes, ("role_order", f"turn {i + 1} is a system turn in the middle of the conversation")
        if kept and kept[-1]["role"] == m["role"]:
            kept[-1] = {"role": m["role"], "content": kept[-1]["content"] + "\n" + text}
            notes[f"consecutive {m['role']} turns merged"] += 1
            continue
        kept.append({"role": m["role"], "content": text})
    system = kept[:1] if kept and kept[0]["role"] == "system" else []
    turns = kept[len(system):]
    while turns and turns[0]["role"] == "assistant":
        turns = turns[1:]
        notes["opening assistant turn dropped"] += 1
    if turns and turns[-1]["role"] == "user":
        turns = turns[:-1]
        notes["unanswered last user turn dropped"] += 1
    if len(turns) < 2:
        return [], notes, ("too_few_turns", "no user turn with an assistant answer is left")
    return system + turns, notes, None


def detect_language(messages: list[dict[str, str]]) -> str:
    """The language of what people wrote, code left out (py3langid, offline)."""
    import py3langid

    text = CODE.sub(" ", "\n".join(m["content"] for m in messages if m["role"] != "system"))
    return py3langid.classify(text)[0]


def check_options(language: str, regions: list[str]) -> None:
    """InputError for a language py3langid does not know or a region libphonenumber does not."""
    import phonenumbers
    import py3langid

    py3langid.classify("")  # loads the model, and with it the language list
    known = py3langid.langid.IDENTIFIER.nb_classes
    if language != "any" and language not in known:
        raise InputError(f"--language {language!r} is not a language code py3langid knows: use 'any' or one of "
                         f"{', '.join(known)}")
    for region in regions:
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise InputError(f"--phone-region {region!r} is not a region libphonenumber knows: use an ISO 3166 code "
                             "such as US, GB, DE or IN")


def clean(read: Read, *, source_format: str, budget: TokenBudget, language: str = "en",
          regions: tuple[str, ...] = PHONE_REGIONS,
          on_progress: Callable[[int, int], None] = lambda done, total: None) -> tuple[list[Cleaned], ImportReport]:
    report = ImportReport(records=len(read.records) + len(read.bad), unreadable=len(read.bad))
    report.rejected.update("unreadable" for _ in read.bad)
    cleaned: list[Cleaned] = []
    for done, record in enumerate(read.records, start=1):
        on_progress(done, len(read.records))
        messages, found = scrub_turns(record.messages, regions)
        report.pii_replaced += found
        report.conversations_with_pii += bool(found)
        checks = [Check("pii_scrubbed", True, ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in sorted(found.items()))
                        or "none found")]
        repaired, notes, problem = repair_turns(messages)
        if problem:
            checks.append(Check("turns", False, problem[1], problem[0]))
        else:
            messages = repaired
            report.repairs += notes
            checks.append(Check("turns", True, "; ".join(f"{what} ({n})" for what, n in notes.items()) or "in order"))
            detected = detect_language(messages)
            if language != "any" and detected != language:
                checks.append(Check("language", False, f"written in {detected!r} (py3langid), not {language!r}",
                                    "wrong_language"))
            else:
                checks.append(Check("language", True, f"written in {detected!r}"))
        example = Example("chat", CATEGORY, "messages", {"messages": messages},
                          {"source": record.where, "source_format": source_format, "source_id": record.source_id})
        cleaned.append(Cleaned(record.where, example, checks))
    alive = [c for c in cleaned if c.accepted]
    for item, duplicate in zip(alive, duplicate_of([e.example.payload for e in alive])):
        if duplicate:
            kind, j = duplicate
            item.checks.append(Check("unique", False, f"{'repeats' if kind == 'exact' else 'nearly repeats'} the "
                                                      f"conversation at {alive[j].where}",
                                     "duplicate" if kind == "exact" else "near_duplicate"))
        else:
            item.checks.append(Check("unique", True, "no earlier conversation in the file is the same or nearly so"))
            item.checks.append(budget.check(item.example.payload["messages"]))
    for item in cleaned:
        if item.accepted:
            report.accepted += 1
        else:
            report.rejected.update(c.reason for c in item.checks if not c.passed)
    return cleaned, report
