"""The Magic: The Gathering Comprehensive Rules (CR), parsed from the official
plain-text document as Wizards publishes it (byte-order mark, CRLF, CR or LF).

Structure: introduction, contents, then the rules (chapters `7.`, sections
`704.`, rules `704.5.`, subrules `704.5f`, each possibly followed by `Example:`
lines), the glossary (blank-line separated entries) and the credits. Rules and
subrules are what a ruling cites.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, TypeVar

from evaluators.text import content_words
from forge.errors import InputError

T = TypeVar("T")

CHAPTER = re.compile(r"^(\d)\. (.+)$")
SECTION = re.compile(r"^(\d{3})\. (.+)$")
RULE = re.compile(r"^(\d{3}\.\d+)\. (.+)$")
SUBRULE = re.compile(r"^(\d{3}\.\d+[a-z])\.? (.+)$")
EFFECTIVE = re.compile(r"effective as of ([A-Z][a-z]+ \d{1,2}, \d{4})")

# A citation: 704.5f, 608.2, 704.5f-g, 702.19b-702.19d; a bare section (704) only after "rule(s)" or "CR".
CITATION = re.compile(r"(?:\b(?:CR|[Rr]ules?|[Ss]ection)\s+)?\b(\d{3}\.\d+[a-z]?)(?:\s*[-–]\s*(\d{3}\.\d+[a-z]|[a-z])\b)?"
                      r"|\b(?:CR|[Rr]ules?)\s+(\d{3})\b")


def rule_words(text: str) -> set[str]:
    """The words a rule and an answer are compared on: content words of four letters or more."""
    return {w for w in content_words(text) if len(w) > 3 and w.isalpha()}


def word_idf(texts: list[str]) -> dict[str, float]:
    """Inverse document frequency of each content word over `texts`: words
    every text uses (player, creature, game) weigh little."""
    frequency: dict[str, int] = {}
    for text in texts:
        for word in rule_words(text):
            frequency[word] = frequency.get(word, 0) + 1
    return {w: math.log(len(texts) / (1 + n)) for w, n in frequency.items()}


@dataclass(frozen=True)
class Rule:
    number: str
    text: str
    examples: tuple[str, ...] = ()

    @property
    def full_text(self) -> str:
        return " ".join((self.text, *self.examples))


@dataclass
class ComprehensiveRules:
    effective_date: str
    rules: dict[str, Rule] = field(default_factory=dict)  # chapters, sections, rules and subrules, in order
    glossary: dict[str, tuple[str, str]] = field(default_factory=dict)  # lower-case term -> (term, definition)

    @property
    def numbered(self) -> list[Rule]:
        """Rules and subrules (704.5, 704.5f): what rulings cite."""
        return [r for n, r in self.rules.items() if "." in n]

    # How the verifier names this document, its citations and its checks.
    cite_as = "CR 704.5f"
    check_prefix = ""
    # Measured on the April 2026 rules: template citations score >= 0.064 (p1),
    # a random rule cited for the same question scores below 0.06 two times in three.
    relevance_threshold = 0.06

    @property
    def title(self) -> str:
        return f"the Comprehensive Rules effective {self.effective_date}"

    @cached_property
    def word_idf(self) -> dict[str, float]:
        return word_idf([r.full_text for r in self.numbered])

    def cited_text(self, number: str) -> str | None:
        """What a citation of `number` stands for: the rule, and its parent's title when that is short."""
        rule = self.rule(number)
        if rule is None:
            return None
        parent = self.rule(self.parent(number) or "")
        return rule.full_text + (" " + parent.text if parent and len(parent.text) < 60 else "")

    def rule(self, number: str) -> Rule | None:
        return self.rules.get(number.strip().rstrip("."))

    def parent(self, number: str) -> str | None:
        if re.fullmatch(r"\d{3}\.\d+[a-z]", number):
            return number[:-1]
        if re.fullmatch(r"\d{3}\.\d+", number):
            return number.split(".")[0]
        if re.fullmatch(r"\d{3}", number):
            return number[0]
        return None

    def children(self, number: str) -> list[str]:
        return [n for n in self.rules if self.parent(n) == number]

    def term(self, name: str) -> tuple[str, str] | None:
        return self.glossary.get(name.strip().lower())

    def citations(self, text: str) -> list[str]:
        """Rule numbers cited in free text, in order, ranges expanded (704.5f-h -> f, g, h)."""
        found: list[str] = []
        for match in CITATION.finditer(text):
            start, end, section = match.groups()
            if section:
                found.append(section)
                continue
            found.append(start)
            if end:
                base, first = (start[:-1], start[-1]) if start[-1].isalpha() else (start, "")
                last = end[-1] if end[-1].isalpha() else ""
                if first and last and (len(end) == 1 or end[:-1] == base):
                    found += [base + chr(c) for c in range(ord(first) + 1, ord(last) + 1)]
                elif not end[-1].isalpha() or len(end) > 1:
                    found.append(end)
        return list(dict.fromkeys(found))


def parse_rules(text: str) -> ComprehensiveRules:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    effective = EFFECTIVE.search(text)
    if not effective:
        raise ValueError("no 'These rules are effective as of <date>' line: is this the Comprehensive Rules text?")
    starts = [i for i, line in enumerate(lines) if CHAPTER.match(line.strip()) and line.strip().startswith("1. ")]
    if len(starts) < 2:
        raise ValueError("could not find the rules after the contents (a second '1. Game Concepts' line)")
    rules = ComprehensiveRules(effective.group(1))
    last: Rule | None = None
    i = starts[1]
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if line == "Glossary":
            break
        if not line:
            continue
        for pattern in (SUBRULE, RULE, SECTION, CHAPTER):
            match = pattern.match(line)
            if match:
                last = Rule(match.group(1), match.group(2).strip())
                rules.rules[last.number] = last
                break
        else:
            if last is not None:  # an "Example:" or a continuation of the previous rule
                last = Rule(last.number, last.text, last.examples + (line,))
                rules.rules[last.number] = last
    entry: list[str] = []
    for line in lines[i:] + [""]:
        line = line.strip()
        if line == "Credits":
            break
        if line:
            entry.append(line)
        elif entry:
            rules.glossary[entry[0].lower()] = (entry[0], " ".join(entry[1:]))
            entry = []
    if entry and entry[0] != "Credits":
        rules.glossary[entry[0].lower()] = (entry[0], " ".join(entry[1:]))
    return rules


def read_document(path: str | Path, parse: Callable[[str], T], name: str, how_to_get: str) -> T:
    """Read a published text document (UTF-8, with or without a byte-order
    mark) and parse it; a missing file or a parse failure is an InputError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {name} at {path}: {exc.strerror}. {how_to_get}") from exc
    try:
        return parse(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path} is not {name} as text: {exc}") from exc


def load_rules(path: str | Path) -> ComprehensiveRules:
    return read_document(path, parse_rules, "the Comprehensive Rules", "Download the plain-text version from Wizards "
                         "of the Coast's rules page and pass it with --rules PATH.")
