"""What a documentation set offers to ask about: the facts the docs domain's
offline teacher builds questions from, each with the sections it rests on.

Only what makes a question worth training on is kept. A definition's term is
a noun phrase (never "This" or "They"), a how-to goal is the verb phrase of a
"To ...:" lead without the instruction after it, an option has a description
of some words (not just a type), an error is one an if/when sentence or an
errors page talks about, a troubleshooting heading is asked about as the
clause or noun phrase it is, two sections are compared only when their titles
say they are alternatives ("Server options" and "Worker options"), a name
is followed across pages only when it is an API name, and a pointer ("see
the troubleshooting guide") is no answer.

| category, form | data |
|---|---|
| factual, definition | term, article ("a", "the" or ""), sentence |
| factual, changelog | version, its entries (group headings as `Heading:`) |
| how_to, steps | goal ("" for a bare procedure), lead, steps |
| how_to, code | goal, lead, code, language, the steps that follow ((lead, code, language), ...) |
| configuration, item | name, the item |
| configuration, row | table header, row |
| troubleshooting, error | error, its sentences |
| troubleshooting, heading | title, what the section says to do (its resolution, else its lead), whether the title is a clause |
| troubleshooting, note | kind (note, warning, ...), text |
| conceptual, pair | (term, article, sentence) twice |
| conceptual, siblings | title, lead, title, lead |
| synthesis, mention | name, sentence on one page, sentence on another |
| not_covered, topic | topic |
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.domains.docs import verify as check
from agents.domains.docs.verify import ANAPHORA, CLAUSE, INSTRUCTION_TAIL, PRONOUNS, is_term
from agents.domains.docs.corpus import DocsCorpus
from evaluators.text import content_words
from agents.domains.docs.formats import Block, Section

TOPICS = ("LDAP authentication", "Kubernetes autoscaling", "GraphQL subscriptions", "a Windows installer",
          "GPU acceleration", "S3 bucket replication", "SAML single sign-on", "Prometheus metrics export",
          "a web dashboard", "Docker Swarm deployment", "IPv6 multicast", "Redis cluster mode", "email alerts",
          "a Terraform provider", "ARM64 Android builds", "Oracle database backends", "FIPS 140-3 certification",
          "Bluetooth devices", "a COBOL API", "sharding across data centres", "voice commands", "Excel exports",
          "blockchain anchoring", "a VS Code extension", "SNMP traps", "Kafka Connect sinks", "right-to-left text",
          "licence key activation", "a mobile app", "HIPAA compliance reports", "quantum-safe encryption",
          "FTP uploads", "Active Directory group sync", "printing to network printers", "a plugin marketplace",
          "real-time video streaming", "offline maps", "a Rust SDK", "SOC 2 audit logs", "machine translation")
# "A run is one execution of a job.": the verb is followed by what the term is, not by a participle
DEFINITION = re.compile(r"^(?P<article>An?|The)\s+(?P<term>\*\*[^*]{2,40}\*\*|[a-z][\w -]{1,30}?)\s+(?:is|are|means)\s+"
                        r"(?:a|an|the|one|either|any|what|how|when)\s")
NAMED = re.compile(r"^(?P<term>`[^`]{2,40}`|[A-Z][\w.-]+(?: [A-Z][\w.-]+){0,2})\s+(?:is|are)\s+(?:a|an|the)\s+\S")
TO_LEAD = re.compile(r"^To (?P<goal>[^:]{5,160}?)(?:, run)?:$")
OPTION_HEADER = re.compile(r"^(option|parameter|setting|variable|key|flag|field|argument|name)s?$", re.I)
DESCRIBED = re.compile(r"^(description|meaning|purpose|overrides|notes?|what\b.*|which\b.*)$", re.I)
OPTION_ITEM = re.compile(r"^(?P<name>`[^`\s]{1,60}`|\*\*[^*]{1,60}\*\*)\s*[-:–—]\s*(?P<text>.{3,})$")
ERROR_NAME = re.compile(r"^(?:[\w.]*(?:Error|Exception|Warning)|[A-Z]{1,4}\d{2,4}:.*)$")
# Where a sentence says when an error happens: "`X` is raised when ...", "... raises `X` if ...", "fails with `X`".
OCCURS = ("`{e}`(?: (?:class|exception|error))? (?:is|are|will be|gets|may be) (?:raised|thrown|returned|reported)",
          "`{e}`(?: (?:class|exception|error))? (?:occurs|happens|means)",
          "(?:raises|raise[sd]?|throws|fails? with|you (?:will |may |might )?(?:get|see|receive)) (?:an? |the )?`{e}`")
TROUBLE_HEADING = re.compile(r"\b(error|errors|fails?|failed|problem|problems|cannot|can't|not working|stays?|stuck|"
                             r"locked|timed out|denied|invalid|troubleshoot\w*)\b", re.I)
TROUBLE_PAGE = re.compile(r"(troubleshoot|error|exception|faq|problem)", re.I)
VERSION = re.compile(r"^(?:v(?:ersion)?\s*)?(?P<version>\d+(?:\.\d+)+[\w.+-]*)(?:\s*[(\[-].*)?$", re.I)
POINTER = re.compile(r"^(?:see|refer to|please (?:see|refer)|for (?:more|further) (?:information|details)|"
                     r"more information|check out|read more)\b|\brefer to (?:the|our)\b", re.I)
# A sentence that leans on the one before it, or leads into what follows, says nothing alone.
LEANING = re.compile(r"^(?:the (?:former|latter|above|following|same)|this|that|these|those|it|its|they|such|here|"
                     r"there|for example|e\.g\.|also|however|then|so|thus|otherwise|instead|alternatively|similarly|"
                     r"(?:\w+\s+){1,3}then)\b", re.I)
RESOLUTION = re.compile(r"^\W*(?:resolution|solution|fix|workaround|how to fix it)\W*\s*", re.I)
LABELLED = re.compile(r"^\W*(?:similar issues|related|see also|description)\W", re.I)
# A changelog's group heading: "New functions", "Bug fixes:", "Potentially breaking changes".
GROUP = re.compile(r"^(?!.*`)(?=(?:\S+\s+){0,4}\S+:?$)(?:new|changes?|bug ?fix|fix(?:es|ed)?|improvements?|other|"
                   r"potentially breaking|breaking|deprecat|removed?|added|updates?|features?|security|internal|misc)",
                   re.I)
CONTINUES = re.compile(r"^(?:then|next|finally|after that|now|afterwards)\b", re.I)
TASK_TITLE = re.compile(r"^(?:\w+ing|install|configure|set|run|deploy|create|add|enable|use|build|upgrade|migrate|"
                        r"connect|write|start|get)\b", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"'])")


@dataclass(frozen=True)
class Fact:
    """Something a template question can be built from, and the sections it rests on."""

    category: str
    form: str
    sections: tuple[str, ...]
    data: tuple[Any, ...]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def is_api_name(name: str) -> bool:
    """A name from an API rather than an English word: dotted, called, snake or camel case, a constant, an option."""
    return bool(re.search(r"[._()/:=-]|[a-z][A-Z]|^[A-Z][A-Z0-9_]{2,}$|\d", name)) and " " not in name.strip()


def goal_of(lead: str) -> str:
    """The goal of a "To ...:" lead, without the instruction after it or an aside in parentheses."""
    match = TO_LEAD.match(lead)
    if not match:
        return ""
    goal = INSTRUCTION_TAIL.sub("", re.sub(r"\s*\([^)]*\)", "", match.group("goal"))).strip(" ,")
    first = goal.split()[0].lower() if goal.split() else ""
    if len(goal.split()) < 2 or first in PRONOUNS or first in ("a", "an", "the") or ANAPHORA.search(goal):
        return ""  # "To do this, ...", "To get the same behaviour as X, ...": the goal needs what came before
    return goal


def is_pointer(text: str) -> bool:
    return bool(POINTER.search(check.plain(text)))


def stands_alone(sentence: str) -> bool:
    """A sentence that makes sense without its neighbours: no "The former", no
    lead-in to a code block ending in a colon, no pointer elsewhere."""
    text = check.plain(sentence)
    return not LEANING.match(text) and not text.rstrip().endswith(":") and not is_pointer(text) \
        and len(text.split()) >= 6


def describes(text: str) -> bool:
    """A description in words, not a type in bold or code (**byte**, or **byte iterator**)."""
    prose = re.sub(r"\*\*[^*]*\*\*|`[^`]*`|\b(?:or|and)\b", " ", text)
    return len(re.findall(r"\b[A-Za-z]{2,}\b", check.plain(prose))) >= 4


def remedy(section: Section) -> list[str]:
    """What a troubleshooting section says to do: its resolution paragraphs, else its lead; at most 4 sentences."""
    paragraphs = [b.text for b in section.blocks if b.kind in ("paragraph", "note") and not LABELLED.match(b.text)]
    start = next((i for i, p in enumerate(paragraphs) if RESOLUTION.match(p)), None)
    chosen = paragraphs[start:] if start is not None else paragraphs[:1]
    said = [s for p in chosen for s in sentences(RESOLUTION.sub("", p, count=1)) if not is_pointer(s)]
    return [s[0].upper() + s[1:] for s in said[:4] if '"' not in check.plain(s)]


def find_facts(corpus: DocsCorpus) -> list[Fact]:
    facts = []
    by_parent: dict[tuple[str, tuple[str, ...]], list[Section]] = defaultdict(list)
    names: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for section in corpus.sections.values():
        if len(section.path) > 1 or section.title != Path(section.file).stem:  # not a page's untitled preamble
            by_parent[(section.file, section.path[:-1])].append(section)
        version = VERSION.match(section.title)
        # A release's entries, with the group headings among them ("New functions:")
        entries = [row[0].rstrip(":") + ":" if GROUP.match(row[0]) else row[0]
                   for b in section.blocks if b.kind == "list" for row in b.rows]
        entries = entries[:12]
        while entries and entries[-1].endswith(":"):  # a heading cut off from its entries
            entries.pop()
        if version and entries:
            facts.append(Fact("factual", "changelog", (section.id,), (version.group("version"), entries)))
            continue  # a release's notes are news, not definitions or how-tos
        definitions: list[tuple[str, str, str]] = []
        previous: Block | None = None
        for block in section.blocks:
            facts += _block_facts(section, block, previous, definitions)
            previous = block
        for a, b in zip(definitions, definitions[1:]):
            if a[0].strip("*").lower() != b[0].strip("*").lower():
                facts.append(Fact("conceptual", "pair", (section.id,), (a, b)))
        said = [s for b in section.blocks if b.kind in ("paragraph", "note") for s in sentences(b.text)]
        said += [item for b in section.blocks if b.kind in ("steps", "list") for (item,) in b.rows]
        for name in dict.fromkeys(re.findall(r"`([^`\n]{3,40})`", section.text)):
            sentence = next((s for s in said if f"`{name}`" in s and '"' not in s and len(s) <= 300
                             and stands_alone(s)), None)
            if sentence and is_api_name(name):
                names[name].append((section.id, sentence))
        clause = bool(CLAUSE.search(section.title))
        about_trouble = clause or section.title.lower().startswith("troubleshooting") \
            or (TROUBLE_PAGE.search(section.file) and TROUBLE_HEADING.search(section.title))
        said = remedy(section)
        if about_trouble and TROUBLE_HEADING.search(section.title) and said and stands_alone(said[0]):
            facts.append(Fact("troubleshooting", "heading", (section.id,), (section.title, said, clause)))
    for siblings in by_parent.values():
        leads = [(s, sentences(b.text)[0]) for s in siblings for b in s.blocks[:1]
                 if b.kind == "paragraph" and len(check.plain(sentences(b.text)[0])) > 30
                 and '"' not in sentences(b.text)[0] and not is_pointer(b.text)]
        for (a, lead_a), (b, lead_b) in zip(leads, leads[1:]):
            if _alternatives(a.title, b.title) and _names_own_title(a.title, b.title, lead_a) \
                    and _names_own_title(b.title, a.title, lead_b):
                facts.append(Fact("conceptual", "siblings", (a.id, b.id), (a.title, lead_a, b.title, lead_b)))
    for name, places in names.items():
        pages = list(dict.fromkeys(places))
        for (sid_a, first), (sid_b, second) in zip(pages, pages[1:4]):
            if sid_a != sid_b and check.plain(first) != check.plain(second):
                facts.append(Fact("synthesis", "mention", (sid_a, sid_b), (name, first, second)))
    facts += [Fact("not_covered", "topic", (), (topic,)) for topic in TOPICS]
    return facts


def _names_own_title(title: str, other: str, lead: str) -> bool:
    """The lead of a section says which of the alternatives it is about (the word its title does not share)."""
    own = set(content_words(title)) - set(content_words(other))
    return bool(own & set(content_words(check.plain(lead))))


def _alternatives(a: str, b: str) -> bool:
    """Titles of two things of one kind: the same words but one ("Server options", "Worker options")."""
    wa, wb = a.lower().split(), b.lower().split()
    return 2 <= len(wa) == len(wb) <= 4 and sum(x != y for x, y in zip(wa, wb)) == 1


def _continued(section: Section, block: Block) -> tuple[tuple[str, str, str], ...]:
    """The steps that carry on after a procedure's code: "Then, run the tests:" and its code, and so on."""
    blocks = list(section.blocks)
    after, found = blocks[blocks.index(block) + 1:], []
    while len(after) >= 2 and after[0].kind == "paragraph" and CONTINUES.match(after[0].text) and after[1].kind == "code":
        found.append((after[0].text, after[1].text, after[1].label))
        after = after[2:]
    return tuple(found)


def _block_facts(section: Section, block: Block, previous: Block | None, definitions: list) -> list[Fact]:
    facts = []
    sid = (section.id,)
    if block.kind in ("paragraph", "note"):
        for sentence in sentences(block.text):
            if '"' in sentence or len(sentence) > 300:
                continue
            match = DEFINITION.match(sentence) or NAMED.match(sentence)
            if not match or not is_term(match.group("term")):
                continue
            article = match.groupdict().get("article") or ""
            if article == "The" and not match.group("term").startswith("**") \
                    and match.group("term").lower() not in section.title.lower():
                continue  # "The same file is ..." points back at an earlier sentence
            facts.append(Fact("factual", "definition", sid, (match.group("term"), article, sentence)))
            if DEFINITION.match(sentence):
                definitions.append((match.group("term"), article, sentence))
        for sentence in sentences(block.text):
            for error in dict.fromkeys(e.strip() for e in re.findall(r"`([^`]+)`", sentence)):
                said_when = any(re.search(p.format(e=re.escape(error)), sentence, re.I) for p in OCCURS)
                if ERROR_NAME.match(error) and said_when and stands_alone(sentence):
                    facts.append(Fact("troubleshooting", "error", sid, (error, [sentence])))
    if block.kind == "note" and len(block.text) > 30 and not is_pointer(block.text):
        facts.append(Fact("troubleshooting", "note", sid, (block.label or "note", block.text)))
    lead = sentences(previous.text)[-1] if previous is not None and previous.kind == "paragraph" else ""
    goal = goal_of(lead)
    if block.kind == "steps" and len(block.rows) >= 2 and (goal or len(block.rows) >= 3 and TASK_TITLE.match(section.title)):
        facts.append(Fact("how_to", "steps", sid, (goal, lead, [r[0] for r in block.rows])))
    if block.kind == "code" and goal and len(block.text.splitlines()) <= 25:
        facts.append(Fact("how_to", "code", sid, (goal, lead, block.text, block.label, _continued(section, block))))
    if block.kind == "table" and len(block.rows) >= 2 and len(block.rows[0]) >= 2:
        header = block.rows[0]
        for row in block.rows[1:]:
            if len(row) == len(header) and row[0] and len(row[0].split()) <= 4 and any(describes(c) for c in row[1:]):
                facts.append(Fact("configuration", "row", sid, (header, row)))
    if block.kind == "list":
        for (item,) in block.rows:
            option = OPTION_ITEM.match(item)
            if option and describes(option.group("text")):
                facts.append(Fact("configuration", "item", sid, (option.group("name"), item)))
    return facts
