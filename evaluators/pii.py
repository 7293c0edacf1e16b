"""Personal data in text: find it, and replace it with typed placeholders.

Each kind is found by what decides it best, offline:

- emails: the address pattern;
- phone numbers: Google's libphonenumber (`phonenumbers`), which knows every
  country's numbering plan, so a product code or a year is not a phone number;
- card numbers: 13-19 digits, with spaces or dashes, that pass the Luhn check;
- IP addresses: v4 and v6 that `ipaddress` accepts (loopback and 0.0.0.0
  are not anyone's, so they stay: code examples need them);
- street addresses: a house number, a street name and a street type, whose
  extent (unit, city, state, ZIP) the `usaddress` parser decides;
- person names: no named-entity model can be installed offline, so names are
  looked for where text introduces, greets or signs with one ("my name is",
  "Hi", "Regards,") and kept only when the `probablepeople` parser reads the
  words as a person's name. A name with no such cue is not found.

Names are not looked for inside code, where a capitalised word is an identifier.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass

KINDS = ("email", "phone", "card", "ip_address", "street_address", "person_name")
PLACEHOLDER = {kind: f"[{kind.upper()}]" for kind in KINDS}

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
STREET_TYPES = ("Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Parkway|Pkwy|"
                "Terrace|Ter|Circle|Cir|Highway|Hwy|Square|Sq|Alley|Crescent|Close|Row|Trail")
STREET = re.compile(rf"\b\d{{1,6}}[A-Za-z]?(?:\s+[A-Z][\w'.-]*){{1,4}}\s+(?:{STREET_TYPES})\b\.?")
ADDRESS_LABELS = {"AddressNumber", "AddressNumberPrefix", "AddressNumberSuffix", "StreetNamePreDirectional",
                  "StreetNamePreModifier", "StreetNamePreType", "StreetName", "StreetNamePostType",
                  "StreetNamePostDirectional", "StreetNamePostModifier", "OccupancyType", "OccupancyIdentifier",
                  "SubaddressType", "SubaddressIdentifier", "PlaceName", "StateName", "ZipCode", "CountryName"}
NAME = r"(?P<name>[A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+){0,2})"
FULL_NAME = r"(?P<name>[A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+){1,2})"
NAME_CUES = (
    re.compile(rf"\b(?i:my name is|my name's|call me|name:)\s+{NAME}(?=[\s.,!?:;]|$)"),
    re.compile(rf"\b(?i:i am|i'm|this is|speaking with)\s+{FULL_NAME}(?=[\s.,!?:;]|$)"),  # "I'm Stuck" is no name
    re.compile(rf"(?:^|\n|[.!?:]\s)\s*(?i:hi|hello|hey|dear|thanks|thank you|cheers)[ ,]+{NAME}(?=\s*[,.!:\n]|\s*$)"),
    re.compile(rf"(?i:regards|best|thanks|cheers|sincerely|best wishes|kind regards)[,!]?\s*\n\s*(?:[-–—]\s*)?{NAME}\s*(?=\n|$)"),
)
CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.S)


@dataclass(frozen=True)
class Scrubbed:
    text: str
    found: Counter
    """How many of each kind were replaced."""


def _luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _cards(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and _luhn(digits) and len(set(digits)) > 1:
            spans.append(match.span())
    return spans


def _ips(text: str) -> list[tuple[int, int]]:
    spans = []
    for pattern in (IPV4, IPV6):
        for match in pattern.finditer(text):
            if pattern is IPV6 and len(re.findall(r"[0-9A-Fa-f]+", match.group())) < 3:
                continue  # a[1::2] is a slice
            try:
                address = ipaddress.ip_address(match.group())
            except ValueError:
                continue
            if not (address.is_loopback or address.is_unspecified):
                spans.append(match.span())
    return spans


def _phones(text: str, region: str) -> list[tuple[int, int]]:
    import phonenumbers

    return [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)]


def _streets(text: str) -> list[tuple[int, int]]:
    """A number, a street and its type, then as much of what follows on the line
    (unit, city, state, ZIP) as usaddress reads as parts of an address."""
    import usaddress

    spans = []
    for match in STREET.finditer(text):
        end = match.end()
        rest = text[end:end + 80].split("\n")[0]
        position = 0
        for token, label in usaddress.parse(rest):
            found = rest.find(token, position)
            if found < 0 or label not in ADDRESS_LABELS or not re.fullmatch(r"[\s,#]*", rest[position:found]) \
                    or label in ("PlaceName", "StateName") and not token[0].isupper():
                break
            position = found + len(token)
            if label == "ZipCode":
                break
        spans.append((match.start(), end + len(rest[:position].rstrip(" ,"))))
    return spans


def _names(text: str) -> list[tuple[int, int]]:
    import probablepeople

    prose = CODE.sub(lambda m: " " * len(m.group()), text)
    spans = []
    for cue in NAME_CUES:
        for match in cue.finditer(prose):
            try:
                _, kind = probablepeople.tag(match.group("name"))
            except probablepeople.RepeatedLabelError:
                continue
            if kind == "Person":
                spans.append(match.span("name"))
    return spans


def _replace(text: str, spans: list[tuple[int, int]], kind: str, found: Counter) -> str:
    kept: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    for start, end in reversed(kept):
        text = text[:start] + PLACEHOLDER[kind] + text[end:]
    found[kind] += len(kept)
    return text


def scrub(text: str, region: str = "US") -> Scrubbed:
    """The text with every kind of personal data replaced by its placeholder
    ([EMAIL], [PHONE], ...). Cards go before phones, which would read part of one."""
    found: Counter = Counter()
    text = _replace(text, [m.span() for m in EMAIL.finditer(text)], "email", found)
    text = _replace(text, _cards(text), "card", found)
    text = _replace(text, _ips(text), "ip_address", found)
    text = _replace(text, _phones(text, region), "phone", found)
    text = _replace(text, _streets(text), "street_address", found)
    text = _replace(text, _names(text), "person_name", found)
    return Scrubbed(text, +found)


def find_pii(text: str, region: str = "US") -> Counter:
    """How many of each kind the text holds."""
    return scrub(text, region).found
