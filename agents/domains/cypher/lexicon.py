"""Words for a graph's schema: labels as nouns, properties as what people call
them, relationship types as verbs, and what each property is for.

Everything here is read off the schema and a sample of the data, so it works
on any graph: `unitsInStock` is "units in stock", `SUPPLIES` is "supplies" (and
"supplied by" the other way), `PART_OF` is "is part of", and a string column
whose values are all distinct names the node rather than describing it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

_PREPOSITIONS = {"in", "on", "at", "of", "for", "from", "to", "with", "by", "under", "near", "into", "about", "as"}
_IRREGULAR_PARTICIPLES = {"wrote": "written", "knows": "known", "made": "made", "bought": "bought", "sold": "sold",
                          "built": "built", "taught": "taught", "won": "won", "led": "led", "held": "held",
                          "gave": "given", "took": "taken", "saw": "seen", "has": "had", "owns": "owned"}
_STATIVE = {"based", "located", "situated", "born", "set", "listed", "stored", "hosted", "employed", "married", "related",
            "tagged", "classified", "categorized", "filed", "placed", "made", "headquartered", "registered"}
"""Participles that say what something is ("based in"), not what it did ("acted in")."""
_PAST = {"wrote", "made", "bought", "sold", "built", "taught", "won", "led", "held", "gave", "took", "saw", "knew"}
_KEY = re.compile(r"(?:^id$|Id$|ID$|_id$|^key$|Key$|_key$|[cC]ode$|uuid$)")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_YEAR_WORDS = ("year", "born", "released", "founded", "established", "published", "created", "died", "built")
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
                10: "ten", 11: "eleven", 12: "twelve"}
MISSING = {"", "NULL", "null", "None", "N/A", "n/a"}
"""Strings that stand for no value (Northwind keeps `NULL` cells as the string)."""


def name_words(name: str) -> str:
    """A schema name as words: LIVES_IN -> lives in, unitsInStock -> units in stock, Book -> book."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").lower().strip()


def plural(label: str) -> str:
    word = name_words(label)
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    if word.endswith("person"):
        return word[:-6] + "people"
    return word + ("es" if word.endswith(("s", "x", "z", "ch", "sh")) else "s")


def article(phrase: str) -> str:
    vowel = phrase[:1] in "aeio" or phrase[:1] == "u" and not phrase.startswith(("uni", "use", "usu", "ut"))
    return ("an " if vowel else "a ") + phrase


def some(phrase: str) -> str:
    """A property as a noun phrase: "a unit price", but "units in stock"."""
    first = phrase.split()[0]
    return phrase if first.endswith("s") and not first.endswith(("ss", "us", "is")) else article(phrase)


PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED = frozenset("""all and as asc ascending by call case contains count create delete desc descending detach distinct
else end ends exists false in is limit match merge not null on optional or order remove return set skip starts then
true union unwind when where with xor yield""".split())


def ident(name: str) -> str:
    """A label, relationship type or property name as Cypher must write it: as
    it is when plain, else in backticks (spaces, hyphens, Unicode, reserved words)."""
    if PLAIN_NAME.match(name) and name.lower() not in RESERVED:
        return name
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class Field:
    """One property and what people use it for, judged from its values:

    - `name`: identifies a node (mostly distinct words; `name`/`title` preferred);
    - `unique`: distinct per node but not what it is called (an address);
    - `category`: few values shared by many nodes (a country), for grouping and equality;
    - `number`, `year`, `date`: ranges, comparisons, order and aggregates;
    - `flag`: a boolean;
    - `key`, `code`, `text`: identifiers, phone numbers, long text and blobs,
      never compared with a literal;
    - `other`: lists, maps and temporal values, never compared either.
    """

    owner: str
    name: str
    role: str
    values: tuple[Any, ...]
    cast: str = ""
    """`toFloat` where numbers are stored as text, so comparisons are numeric."""

    @property
    def comparable(self) -> bool:
        return self.role in ("name", "unique", "category", "number", "year", "date", "flag")

    @property
    def ordered(self) -> bool:
        return self.role in ("number", "year", "date")

    def expr(self, var: str) -> str:
        access = f"{var}.{ident(self.name)}"
        return f"{self.cast}({access})" if self.cast else access


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def profile(owner: str, name: str, raw: list[Any]) -> Field:
    """What a property is for, from a sample of its values."""
    values = [v for v in raw if v is not None and not (isinstance(v, str) and v.strip() in MISSING)
              and not (isinstance(v, float) and not math.isfinite(v))]
    if not values:
        return Field(owner, name, "text", ())
    if not all(isinstance(v, (str, int, float, bool)) for v in values):
        # lists, maps, dates and times from a server: shown and counted, never compared with a literal
        return Field(owner, name, "other", ())
    distinct = len(set(map(repr, values)))
    if all(isinstance(v, bool) for v in values):
        return Field(owner, name, "flag", (True, False))
    if _KEY.search(name):
        return Field(owner, name, "key", tuple(values))
    numbers = [_number(v) for v in values]
    stored_as_numbers = all(isinstance(v, (int, float)) for v in values)
    if all(n is not None for n in numbers) and (stored_as_numbers or distinct > 5):
        cast = "toFloat" if any(isinstance(v, str) for v in values) else ""
        ordered = tuple(sorted(numbers if cast else values))
        year = all(float(n).is_integer() and 1800 <= n <= 2100 for n in numbers) and any(w in name.lower() for w in _YEAR_WORDS)
        return Field(owner, name, "year" if year else "number", ordered, cast)
    strings = [str(v) for v in values]
    if sum(bool(_DATE.match(s)) for s in strings) >= 0.9 * len(strings):
        return Field(owner, name, "date", tuple(sorted(strings)))
    letters = sum(ch.isalpha() for s in strings for ch in s) / max(1, sum(len(s) for s in strings))
    mean_words = sum(len(s.split()) for s in strings) / len(strings)
    if letters < 0.5 or strings[0].startswith(("0x", "http", "#")):
        return Field(owner, name, "code", tuple(values))
    if mean_words > 5 or max(map(len, strings)) > 80:
        return Field(owner, name, "text", tuple(values))
    if distinct >= 0.9 * len(values) and len(values) > 3:
        return Field(owner, name, "name" if re.search(r"(?i)name|title", name) else "unique", tuple(values))
    if distinct <= max(3, 0.7 * len(values)):
        return Field(owner, name, "category", tuple(values))
    return Field(owner, name, "unique", tuple(values))


def display_key(fields: dict[str, Field]) -> str:
    """The property a node is called by: a name-like one, else any distinct one, else a key."""
    for roles in (("name",), ("unique",), ("key",)):
        candidates = sorted(f.name for f in fields.values() if f.role in roles)
        if candidates:
            return min(candidates, key=lambda p: (p.lower() not in ("name", "title"), len(p), p))
    # Too few nodes to judge (three movies): a property called name or title, else any but a list or a map.
    scalars = sorted(f.name for f in fields.values() if f.role != "other") or sorted(fields)
    return min(scalars, key=lambda p: (p.lower() not in ("name", "title"), p))


def property_words(owner: str, name: str) -> str:
    """What people call a property: `productName` on Product is the "name"."""
    said, owner_word = name_words(name), name_words(owner)
    if said.startswith(owner_word + " ") and len(said) > len(owner_word) + 1:
        return said[len(owner_word) + 1:]
    return said


def measure_words(f: Field) -> str:
    """A property as something to sort or rank by: "unit price", but "year born" for `born`."""
    said = property_words(f.owner, f.name)
    return f"year {said}" if f.role == "year" and said.endswith(("ed", "born")) else said


def _agree(verb: str, plural_subject: bool) -> str:
    """A verb in the third person singular, for a plural subject."""
    if not plural_subject or verb in _PAST or verb.endswith("ed"):
        return verb
    if verb == "has":
        return "have"
    if verb == "is":
        return "are"
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    if verb.endswith(("ches", "shes", "sses", "xes")):
        return verb[:-2]
    return verb[:-1] if verb.endswith("s") and not verb.endswith("ss") else verb


def _participle(verb: str) -> str:
    if verb in _IRREGULAR_PARTICIPLES:
        return _IRREGULAR_PARTICIPLES[verb]
    if verb.endswith("ed"):
        return verb
    if verb.endswith("ies"):
        return verb[:-3] + "ied"
    stem = verb[:-1] if verb.endswith("s") else verb
    return stem + ("d" if stem.endswith("e") else "ed")


@dataclass(frozen=True)
class Relation:
    """A relationship type as a verb phrase, read from the source's side
    (`forward`) or the target's (`backward`)."""

    type: str
    target: str = ""
    """The target's label: IN_GENRE to a Genre reads "is in", since the genre is named after it."""

    @property
    def _words(self) -> list[str]:
        said = name_words(self.type).split()
        return said[:-1] if len(said) > 1 and self.target and said[-1] == name_words(self.target) else said

    @property
    def _is_verb(self) -> bool:
        first = self._words[0]
        return first not in _PREPOSITIONS and first not in _STATIVE and (first in _PAST or first in _IRREGULAR_PARTICIPLES or first.endswith(("s", "ed")))

    def forward(self, plural_subject: bool) -> str:
        """What the source does: "supplies", "are part of", "acted in"."""
        first, *rest = self._words
        if self._is_verb and not (first.endswith("ed") and rest[:1] == ["by"]):
            return " ".join([_agree(first, plural_subject), *rest])
        return ("are " if plural_subject else "is ") + " ".join(self._words)

    def backward(self, other: str, other_plural: bool = False) -> str:
        """What is said of the target, given the source's phrase: "supplied by
        {other}", "that {other} acted in", "that {other} is part of"."""
        first, *rest = self._words
        if first.endswith("ed") and rest == ["by"]:  # PUBLISHED_BY: the target did it
            return f"that {first} {other}"
        if not self._is_verb:
            return f"that {other} {'are' if other_plural else 'is'} {' '.join(self._words)}"
        if rest:
            return f"that {other} {' '.join([_agree(first, other_plural), *rest])}"
        return f"{_participle(first)} by {other}"
