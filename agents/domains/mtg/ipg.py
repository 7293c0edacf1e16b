"""The Magic Infraction Procedure Guide (IPG), parsed from its text as a user
supplies it: the PDF that Wizards publishes, saved as text (`pdftotext`, with
or without `-layout`), or the same text copied by hand.

Structure: a title with an `Effective <date>` line, the contents (skipped,
with or without dot leaders), then numbered sections: classes (`2. Game Play Errors`)
and entries (`2.1. Game Play Error — Missed Trigger`), an infraction's entry
ending with its penalty (`No Penalty`, `Warning`, `Game Loss`, `Match Loss`,
`Disqualification`), on its heading line or the next. An infraction's text is
split under the headings Definition, Examples (`A.`, `B.`, ...), Philosophy,
Additional Remedy and Upgrade. The appendices end the parse. Rulings cite
entries as `IPG 2.1`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from agents.domains.mtg.rules import read_document, word_idf

PENALTIES = ("No Penalty", "Warning", "Game Loss", "Match Loss", "Disqualification")
CLASS = re.compile(r"^(\d)\.\s+(\S.*)$")
ENTRY = re.compile(r"^(\d\.\d+)\.?\s+(\S.*)$")
WITH_PENALTY = re.compile(rf"^(.+?)\s+(?:Penalty:\s*)?({'|'.join(PENALTIES)})$")
PENALTY_LINE = re.compile(rf"^(?:Penalty:\s*)?({'|'.join(PENALTIES)})$")
HEADINGS = {"definition": "Definition", "examples": "Examples", "example": "Examples", "philosophy": "Philosophy",
            "additional remedy": "Additional Remedy", "upgrade": "Upgrade"}
EXAMPLE = re.compile(r"^([A-Z])\.\s+(\S.*)$")
DOT_LEADER = re.compile(r"\.{4,}|(?:\. ){4,}")
PAGE_NUMBER = re.compile(r"^\d{1,3}$")
EFFECTIVE = re.compile(r"Effective(?: as of)?:?\s+([A-Z][a-z]+ \d{1,2}, \d{4})")
# IPG 2.1 · IPG section 2.1 · (IPG 2.5, 2.6) · IPG 2.5 and 2.6 · Infraction Procedure Guide, section 3.1
CITATION = re.compile(r"\b(?:IPG|Infraction Procedure Guide)\s*,?\s*(?:sections?\s+|§\s*)?(\d\.\d+|\d)\b"
                      r"((?:\s*,\s*(?:and\s+|or\s+)?\d\.\d+\b|\s+(?:and|or|&)\s+\d\.\d+\b)*)")


@dataclass(frozen=True)
class Section:
    number: str  # "2" for a class, "2.1" for an entry
    title: str  # "Game Play Error — Missed Trigger"
    penalty: str | None = None  # infractions only
    parts: tuple[tuple[str, str], ...] = ()  # (heading, text); "Text" for prose before any heading
    examples: tuple[str, ...] = ()

    def part(self, heading: str) -> str:
        return next((text for name, text in self.parts if name == heading), "")

    @property
    def name(self) -> str:
        """The infraction without its class: "Missed Trigger"."""
        return re.split(r"\s+[—–-]\s+", self.title, maxsplit=1)[-1]

    @property
    def short_title(self) -> str:
        """What a ruling calls it: the name, or the whole title where the name
        alone says nothing ("Unsporting Conduct — Minor")."""
        return self.name if len(self.name.split()) > 1 else self.title

    @property
    def full_text(self) -> str:
        return " ".join((self.title, *(text for _, text in self.parts), *self.examples))


@dataclass
class InfractionProcedureGuide:
    effective_date: str
    sections: dict[str, Section] = field(default_factory=dict)

    @property
    def infractions(self) -> list[Section]:
        return [s for s in self.sections.values() if s.penalty]

    # How the verifier names this document, its citations and its checks.
    cite_as = "IPG 2.1"
    check_prefix = "ipg_"
    # Measured on our fixture: template rulings score 1.0 (they quote the
    # definition); citing another infraction for the same ruling scores below
    # 0.1 five times in six. Not yet measured on the published guide.
    relevance_threshold = 0.1

    @property
    def title(self) -> str:
        return f"the Infraction Procedure Guide effective {self.effective_date}"

    @cached_property
    def word_idf(self) -> dict[str, float]:
        return word_idf([s.full_text for s in self.sections.values()])

    def section(self, number: str) -> Section | None:
        return self.sections.get(number.strip().rstrip("."))

    def cited_text(self, number: str) -> str | None:
        """What a citation stands for: an infraction's title and definition (its
        examples and philosophy would dilute relevance), a section's text otherwise."""
        section = self.section(number)
        if section is None:
            return None
        return f"{section.title} {section.part('Definition') or section.part('Text')}"

    def citations(self, text: str) -> list[str]:
        """Section numbers cited in free text, in order: "IPG 2.5 and 2.6" -> ["2.5", "2.6"]."""
        found: list[str] = []
        for match in CITATION.finditer(text):
            found.append(match.group(1))
            found += re.findall(r"\d\.\d+", match.group(2))
        return list(dict.fromkeys(found))


def _lines(text: str) -> list[str]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    return [re.sub(r"\s+", " ", line).strip() for line in text.split("\n")]


def _section(number: str, heading: str, body: list[str]) -> Section:
    title, penalty = heading, None
    if match := WITH_PENALTY.match(heading):
        title, penalty = match.group(1), match.group(2)
    elif body and (match := PENALTY_LINE.match(body[0])):
        penalty, body = match.group(1), body[1:]
    parts: list[tuple[str, list[str]]] = [("Text", [])]
    examples: list[str] = []
    for line in body:
        if line.lower() in HEADINGS:
            parts.append((HEADINGS[line.lower()], []))
        elif parts[-1][0] == "Examples" and (match := EXAMPLE.match(line)):
            examples.append(match.group(2))
        elif parts[-1][0] == "Examples" and examples:
            examples[-1] += " " + line
        else:
            parts[-1][1].append(line)
    return Section(number, title.strip(), penalty,
                   tuple((name, " ".join(text)) for name, text in parts if text), tuple(examples))


def parse_ipg(text: str) -> InfractionProcedureGuide:
    lines = _lines(text)
    effective = EFFECTIVE.search("\n".join(lines[:40]))
    guide = InfractionProcedureGuide(effective.group(1) if effective else "undated")
    # A heading must come after the one before it (2.6 after 2.5, 3 after 2.x), so
    # numbered list items in the prose are not taken for sections. Contents with
    # dot leaders are skipped; contents without them are headings with no text,
    # dropped when "1." comes again.
    last, current, body = (0, 0), None, []

    def in_text() -> bool:
        return bool(body) or any(s.parts for s in guide.sections.values())

    for line in lines:
        if not line or PAGE_NUMBER.match(line) or DOT_LEADER.search(line):
            continue
        if line.lower().startswith("appendix"):
            if in_text():
                break
            continue  # listed in contents without dot leaders
        entry, klass = ENTRY.match(line), CLASS.match(line)
        key = (int(entry.group(1).split(".")[0]), int(entry.group(1).split(".")[1])) if entry else \
              (int(klass.group(1)), 0) if klass else None
        if key == (1, 0) and current and not in_text():
            guide.sections.clear()
            last, current = (0, 0), None
        if key and key > last and (klass and key[0] == last[0] + 1 or entry and key[0] in (last[0], last[0] + 1)):
            if current:
                guide.sections[current[0]] = _section(current[0], current[1], body)
            number = entry.group(1) if entry else klass.group(1)
            current, body, last = (number, (entry or klass).group(2)), [], key
        elif current:
            body.append(line)
    if current:
        guide.sections[current[0]] = _section(current[0], current[1], body)
    if not guide.infractions:
        raise ValueError("found no infraction headings such as '2.1. Game Play Error — Missed Trigger No Penalty'")
    return guide


def load_ipg(path: str | Path) -> InfractionProcedureGuide:
    return read_document(path, parse_ipg, "the Infraction Procedure Guide", "Save the PDF that Wizards publishes as "
                         "text (pdftotext IPG.pdf ipg.txt) and pass it with --ipg PATH.")
