"""Personal data in text: find it, and replace it with typed placeholders.

Each kind is found by what decides it best, offline:

- emails: the address pattern;
- IBANs: country code, check digits and account, validated by python-stdnum
  (the country's length and the mod-97 check digits; not the national check
  digits inside, which a typo fails while the rest still identifies an account);
- card numbers: 13-19 digits, with spaces or dashes, that pass the Luhn check;
- IP addresses: v4 and v6 that `ipaddress` accepts (loopback and 0.0.0.0
  are not anyone's, so they stay: code examples need them; a CIDR range is
  a network, not an address);
- phone numbers: Google's libphonenumber (`phonenumbers`), which knows every
  country's numbering plan, so a product code or a year is not a phone
  number. International numbers (+44 ...) are found whatever the region;
  numbers written the national way (020 7946 0958) are looked for in every
  region of PHONE_REGIONS, plus any the user adds. A bare run of digits
  (4155552671) counts only after a word that announces a number ("call",
  "mobile", "Telefon"): alone it is more often a timestamp or an id;
- street addresses: a house number, a street name and a street type, whose
  extent (unit, city, state, ZIP) the `usaddress` parser decides, and the
  continental forms ("Hauptstraße 5, 10115 Berlin", "12 rue de la Paix,
  75002 Paris", "Via Roma 10", "Keizersgracht 123, 1015 CJ Amsterdam");
- person names: no named-entity model can be installed offline, so names are
  looked for where text introduces, greets, addresses or signs with one ("my
  name is", "je m'appelle", "Hi", "Dr.", "Regards,") and kept only when the
  `probablepeople` parser reads the words as a person's name. In a conversation, a name found
  in one turn is replaced in every turn, and so are its parts (the first
  name alone, the surname alone).

Names are not looked for inside code, where a capitalised word is an identifier.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass

KINDS = ("email", "iban", "card", "ip_address", "phone", "street_address", "person_name")
PLACEHOLDER = {kind: f"[{kind.upper()}]" for kind in KINDS}
# Regions whose national formats are recognised by default: the largest
# English-speaking and European ones and the other big numbering plans.
PHONE_REGIONS = ("US", "GB", "CA", "AU", "IE", "NZ", "IN", "ZA", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT",
                 "SE", "PL", "PT", "BR", "MX", "JP")

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d|/\d)")
IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:/])")
STREET_TYPES = ("Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Parkway|Pkwy|"
                "Terrace|Ter|Circle|Cir|Highway|Hwy|Square|Sq|Alley|Crescent|Close|Row|Trail")
STREET = re.compile(rf"\b\d{{1,6}}[A-Za-z]?(?:\s+[A-Z][\w'.-]*){{1,4}}\s+(?:{STREET_TYPES})\b\.?")
ADDRESS_LABELS = {"AddressNumber", "AddressNumberPrefix", "AddressNumberSuffix", "StreetNamePreDirectional",
                  "StreetNamePreModifier", "StreetNamePreType", "StreetName", "StreetNamePostType",
                  "StreetNamePostDirectional", "StreetNamePostModifier", "OccupancyType", "OccupancyIdentifier",
                  "SubaddressType", "SubaddressIdentifier", "PlaceName", "StateName", "ZipCode", "CountryName"}
# Continental Europe: the street, then the number (German, Dutch, Italian,
# Spanish, Portuguese), or the number, then the street (French); then
# perhaps a postal code and a town.
WORD = r"[A-ZÀ-ÖØ-Þ][\wÀ-ÿ'’.-]*"
STREET_SUFFIX = (r"(?:stra(?:ß|ss)e|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|steig|pfad|gracht|straat|"
                 r"laan|plein|kade|singel|dijk|vej|gatan|gade)")
STREET_PREFIX = r"(?:Via|Viale|Piazza|Corso|Largo|Calle|C/|Avenida|Avda\.|Paseo|Plaza|Carrer|Rua|Travessa|Praça)"
FRENCH_TYPE = r"(?:rue|avenue|av\.|boulevard|bd|place|chemin|allée|impasse|quai|cours|route)"
TOWN = rf"(?:,?\s+(?:[A-Z]{{1,2}}-)?\d{{4,5}}(?:\s?[A-Z]{{2}})?\s+{WORD}(?:\s+(?:am|an|der|im|sur|de|di)?\s*{WORD})?)?"
CONTINENTAL = (
    re.compile(rf"\b(?:{WORD}\s+)?(?:[A-ZÀ-Þ][\wà-ÿ-]*{STREET_SUFFIX}|{WORD}\s+Stra(?:ß|ss)e)\s+\d{{1,4}}\s?[a-zA-Z]?\b{TOWN}"),
    re.compile(rf"\b{STREET_PREFIX}\s+(?:(?:de|del|de la|di|da|do|dos)\s+)?{WORD}(?:\s+{WORD}){{0,3}},?\s+(?:n\.?º?\s*)?"
               rf"\d{{1,4}}[a-zA-Z]?\b{TOWN}"),
    re.compile(rf"\b\d{{1,4}}(?:\s?(?:bis|ter))?,?\s+{FRENCH_TYPE}\s+(?:(?:de la|de l'|du|des|de|d')\s*)?"
               rf"{WORD}(?:\s+{WORD}){{0,3}}{TOWN}"),
)
NAME = r"(?P<name>[A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+){0,2})"
FULL_NAME = r"(?P<name>[A-Z][a-z'-]+(?:[\s-]+[A-Z][a-z'-]+){1,2})"
NAME_CUES = (
    re.compile(rf"\b(?i:my name is|my name's|call me|name:|mein name ist|je m'appelle|je suis|me llamo|mi nombre es|"
               rf"mi chiamo|ik ben|mijn naam is|ich bin)\s+{NAME}(?=[\s.,!?:;]|$)"),
    re.compile(rf"\b(?i:i am|i'm|this is|speaking with)\s+{FULL_NAME}(?=[\s.,!?:;]|$)"),  # "I'm Stuck" is no name
    re.compile(rf"(?:^|\n|[.!?:]\s)\s*(?i:hi|hello|hey|dear|thanks|thank you|cheers)[ ,]+{NAME}(?=\s*[,.!:\n]|\s*$)"),
    re.compile(rf"(?i:regards|best|thanks|cheers|sincerely|best wishes|kind regards)[,!]?\s*\n\s*(?:[-–—]\s*)?{NAME}\s*(?=\n|$)"),
    re.compile(rf"\b(?:Mr|Mrs|Ms|Mx|Dr|Prof|Miss)\.?\s+{NAME}(?=[\s.,!?:;']|$)"),
)
CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.S)
PHONE_CUE = re.compile(r"(?i)\b(?:phone|tel|telephone|call|ring|mobile|cell|number|no|text|sms|whatsapp|fax|contact|"
                       r"reach|dial|telefon|handy|téléphone|portable|teléfono|móvil|celular|telefono|cellulare|bel)\b"
                       r"\W{0,4}(?:\w+\W{1,4}){0,3}$")


@dataclass(frozen=True)
class Found:
    kind: str
    start: int
    end: int


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


def _ibans(text: str) -> list[tuple[int, int]]:
    from stdnum import iban

    return [m.span() for m in IBAN.finditer(text) if iban.is_valid(m.group(), check_country=False)]


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


def _phones(text: str, regions: tuple[str, ...]) -> list[tuple[int, int]]:
    """Numbers that are valid in one of the regions (or internationally, with +)."""
    import phonenumbers

    if sum(c.isdigit() for c in text) < 6:  # too few digits for any number: skip the matchers
        return []
    spans = set()
    for region in regions:
        spans.update((m.start, m.end) for m in
                     phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID))
    return sorted((a, b) for a, b in spans if not text[a:b].isdigit() or PHONE_CUE.search(text[max(0, a - 40):a]))


def _streets(text: str) -> list[tuple[int, int]]:
    """A number, a street and its type, then as much of what follows on the line
    (unit, city, state, ZIP) as usaddress reads as parts of an address; and the
    continental forms."""
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
    for pattern in CONTINENTAL:
        spans += [m.span() for m in pattern.finditer(text)]
    return spans


def find_names(text: str) -> list[tuple[int, int]]:
    """Spans of names that a cue introduces and probablepeople reads as a person's."""
    prose = CODE.sub(lambda m: " " * len(m.group()), text)
    spans = []
    for cue in NAME_CUES:
        for match in cue.finditer(prose):
            # "Jean-Luc Picard" reads as a company to the parser, "Jean Luc Picard" as a person
            if _is_person(match.group("name")) or _is_person(match.group("name").replace("-", " ")):
                spans.append(match.span("name"))
    return spans


def _is_person(words: str) -> bool:
    import probablepeople

    try:
        return probablepeople.tag(words)[1] == "Person"
    except probablepeople.RepeatedLabelError:
        return False


def _mentions(text: str, names: set[str]) -> list[tuple[int, int]]:
    """Every occurrence of the known names and of their parts, outside code, longest first."""
    if not names:
        return []
    parts = {part for name in names for part in [name, *re.split(r"[\s]+", name)] if len(part) > 1}
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True))
                         + r")(?![\w-])")
    prose = CODE.sub(lambda m: " " * len(m.group()), text)
    return [m.span() for m in pattern.finditer(prose)]


def find(text: str, regions: tuple[str, ...] = PHONE_REGIONS, names: set[str] | None = None) -> list[Found]:
    """Every piece of personal data in the text, without overlaps: where two
    kinds claim the same characters, the earlier kind in KINDS wins (an IBAN
    holds digits a card or phone number would read). `names`: the names to
    find, with their parts (a conversation's); by default, the text's own."""
    if names is None:
        names = {text[a:b] for a, b in find_names(text)}
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    spans = {"email": lambda: [m.span() for m in EMAIL.finditer(text)], "iban": lambda: _ibans(text),
             "card": lambda: _cards(text), "ip_address": lambda: _ips(text), "phone": lambda: _phones(text, regions),
             "street_address": lambda: _streets(text),
             "person_name": lambda: _mentions(text, names)}
    for kind in KINDS:
        for start, end in sorted(spans[kind](), key=lambda s: (s[0], -s[1])):
            if all(end <= a or start >= b for a, b in taken):
                taken.append((start, end))
                found.append(Found(kind, start, end))
    return sorted(found, key=lambda f: f.start)


def _replace(text: str, found: list[Found]) -> Scrubbed:
    for item in sorted(found, key=lambda f: -f.start):
        text = text[:item.start] + PLACEHOLDER[item.kind] + text[item.end:]
    return Scrubbed(text, Counter(item.kind for item in found))


def scrub(text: str, regions: tuple[str, ...] = PHONE_REGIONS) -> Scrubbed:
    """The text with every kind of personal data replaced by its placeholder ([EMAIL], [PHONE], ...)."""
    return _replace(text, find(text, regions))


def scrub_conversation(texts: list[str], regions: tuple[str, ...] = PHONE_REGIONS) -> list[Scrubbed]:
    """Each turn scrubbed, with every name found in any turn replaced in all of
    them, its parts included ("Margaret" where "Margaret Oyelaran" introduced herself)."""
    names = {text[a:b] for text in texts for a, b in find_names(text)}
    return [_replace(text, find(text, regions, names)) for text in texts]


def find_pii(text: str, regions: tuple[str, ...] = PHONE_REGIONS) -> Counter:
    """How many of each kind the text holds."""
    return Counter(item.kind for item in find(text, regions))
