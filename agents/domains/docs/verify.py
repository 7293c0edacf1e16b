"""Docs verification: an answer is accepted only when the documentation it
cites supports it, checked on the text itself rather than by a rating.

An answer cites sections as `[file#anchor]` and quotes them on its sources
lines, `[file#anchor] "quoted text"`. The checks, each recorded:

- the answer cites sections, and every cited section exists;
- it quotes them, and every quote occurs in the section it is quoted from
  (after whitespace and Markdown normalisation);
- every number, identifier, option name, path and code token in the answer
  appears in the cited sections (a simple, explainable hallucination check);
- support: the share of the answer's content words that occur in the cited
  sections (content-word precision) is at least SUPPORT_THRESHOLD;
- a "not covered" question gets a refusal, and the best BM25 section covers
  less than COVERED_THRESHOLD of the question's words (IDF-weighted);
- the question is well formed: no empty slot (a missing name leaves "Does  
  support ...?"), a question about a term asks about a noun phrase the cited
  sections hold (not "This" or "They"), a how-to goal is a verb phrase
  without the instruction after it ("How do I include query parameters, use
  `params`?"), and "when ...?" is followed by a clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.domains.docs.corpus import DocsCorpus
from evaluators.text import content_words
from agents.domains.docs.formats import LINK
from forge.records import Check

SUPPORT_THRESHOLD = 0.7
COVERED_THRESHOLD = 0.75
CITATION = re.compile(r"\[([^\[\]\s]+#[^\[\]\s]*)\]")
QUOTE = re.compile(r'"([^"\n]+)"')
REFUSAL = re.compile(r"\b(does not|doesn't|do not|don't) (cover|say|mention|describe|document|answer)|"
                     r"\bnot (covered|documented|mentioned|described) (in|by)\b", re.I)
SOURCES = re.compile(r"^\s*sources?:\s*$", re.I | re.M)
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
LIST_MARKER = re.compile(r"^\s*(\d+[.)]|[-*•])\s+", re.M)
ABBREVIATIONS = {"e.g", "i.e", "etc", "vs"}
TOKEN_PATTERNS = (
    re.compile(r"`([^`\n]+)`"),                                      # code
    re.compile(r"(?<![\w`-])--?[A-Za-z][\w-]*"),                      # options (not `r`-length)
    re.compile(r"(?<![\w.])\d+(?:[.,:]\d+)*[A-Za-z%]*"),              # numbers, with a unit
    re.compile(r"(?<![\w/])(?:~|\.{1,2})?/?[\w.-]+(?:/[\w.-]+)+/?"),  # paths
    re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\(\))?"),       # dotted names
    re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"),                 # snake_case
    re.compile(r"\b[a-z]+(?:[A-Z][a-z0-9]*)+\b|\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+\b"),  # camelCase, CamelCase
    re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b[A-Z]{1,5}\d+\w*\b"),  # CONSTANTS, codes like KS101
    re.compile(r"\b\w+\(\)"),                                        # calls
)
PRONOUNS = frozenset("""it its this that these those they them their he she him her we us you i me one here there
what which who whom whose such another other others each every all some any both either neither everything nothing
something anything none many most few several""".split())
DANGLING = frozenset("a an the to of and or but use than its their your my our".split())
# What follows a goal in "To do X, use the `y` keyword:" is the instruction, not the goal.
INSTRUCTION_TAIL = re.compile(r",\s+(?:use|run|pass|call|install|add|set|type|enter|see|do|then|you|we|simply|just|"
                              r"first|create|open|write|import|specify|provide|include|make)\b.*$", re.I)
CLAUSE = re.compile(r"\b(?:is|are|was|were|fails?|failed|cannot|can't|won't|doesn't|does not|don't|do not|not working|"
                    r"hangs?|stops?|returns?|raises?|times out|timed out|crash\w*|breaks?|stays?|stuck|locked|denied|"
                    r"gets?|shows?|says?|reports?)\b", re.I)
TERM_ASKS = (re.compile(r"^Define (?:the term )?(?P<term>.+?)\.$"),
             re.compile(r"^What (?:is|are) (?:meant by )?(?!(?:the )?(?:steps|way|difference|caveat|default)\b|"
                        r"(?:new|wrong|missing|different|possible|required|supported|recommended)\b)(?P<term>.+?)\?$"),
             re.compile(r"^What does the documentation say (?P<term>.+?) (?:is|are)\?$"),
             re.compile(r"^Tell me what (?P<term>.+?) is\.$"))
GOAL_ASKS = (re.compile(r"^(?:How do I|How can I|What is the way to|What are the steps to) (?P<goal>.+?)\?$"),
             re.compile(r"^I want to (?P<goal>.+?)\. What do I do\?$"))
ANAPHORA = re.compile(r"\b(?:this|that|these|those|it|them|the same|the above|the following|such)\b", re.I)
WHEN_ASKS = re.compile(r"^What (?:should I do|does the documentation suggest) when (?P<clause>.+?)\?$")
EMPTY_SLOT = re.compile(r"\S {2,}\S|\s[?.!,;:]|\(\s*\)|''|\"\"|``|[{}]|^\W")
QUOTE_CHARS = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "\u00a0": " "})


def plain(text: str) -> str:
    """Text as compared: links as their words, no code ticks, emphasis or
    escapes, straight quotes, single spaces."""
    text = LINK.sub(r"\1", text.translate(QUOTE_CHARS))
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|])", r"\1", text)
    text = re.sub(r"`+|\*\*|__|(?<!\w)[*_]|[*_](?!\w)", "", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class CitedAnswer:
    body: str
    """The answer without its sources lines."""
    citations: tuple[str, ...]
    quotes: tuple[tuple[str, str], ...]
    """(section id, quoted text) for each quote on a sources line."""

    @property
    def refuses(self) -> bool:
        return bool(REFUSAL.search(self.body))


def parse_answer(answer: str) -> CitedAnswer:
    """Citations anywhere but in a Markdown link's text ([encode/httpx#1434](url)); quotes on
    the lines that start with a citation."""
    body, quotes = [], []
    for line in answer.splitlines():
        cited = CITATION.match(line.strip().lstrip("-*• "))
        if cited:
            quotes += [(cited.group(1), q) for q in QUOTE.findall(line[line.index(cited.group(0)) + len(cited.group(0)):])]
        elif not SOURCES.match(line):
            body.append(line)
    text = "\n".join(body).strip()
    return CitedAnswer(text, tuple(dict.fromkeys(CITATION.findall(LINK.sub("", answer)))), tuple(quotes))


def format_answer(body: str, sources: list[tuple[str, list[str]]]) -> str:
    """The answer format the checks read: the body, then one line per cited section with its quotes."""
    lines = [f"[{sid}] " + " ".join(f'"{q}"' for q in quotes) for sid, quotes in sources]
    return f"{body}\n\nSources:\n" + "\n".join(lines)


def answer_tokens(body: str) -> list[str]:
    """The numbers, identifiers, option names, paths and code the answer states;
    each line of a fenced code block is one token."""
    found = [line.strip() for fence in FENCE.findall(body) for line in fence.splitlines() if line.strip()]
    body = LIST_MARKER.sub("", CITATION.sub(" ", FENCE.sub(" ", LINK.sub(r"\1", body))))  # a link's target is no claim
    for pattern in TOKEN_PATTERNS:
        for match in pattern.finditer(body):
            token = (match.group(1) if pattern.groups else match.group(0)).strip().rstrip(".,:;")
            if token and token.lower() not in ABBREVIATIONS:
                found.append(token)
    return list(dict.fromkeys(found))


def _contains(text: str, token: str) -> bool:
    token = plain(token)
    return bool(re.search(r"(?<![\w])" + re.escape(token) + r"(?![\w])", text)) if token[-1:].isalnum() \
        else token in text


def support(body: str, cited_text: str) -> tuple[float, list[str]]:
    """Content-word precision of the answer against its cited text, and the words not found there."""
    mine = content_words(plain(body))
    theirs = set(content_words(plain(cited_text)))
    if not mine:
        return 0.0, []
    missing = [w for w in mine if w not in theirs]
    return 1 - len(missing) / len(mine), list(dict.fromkeys(missing))


def check_covered_answer(corpus: DocsCorpus, answer: str) -> list[Check]:
    """The checks on an answer to a question the docs answer."""
    parsed = parse_answer(answer)
    if not parsed.citations:
        return [Check("cites_sections", False, "the answer cites no section; cite as [file#anchor]", "no_citation")]
    unknown = [c for c in parsed.citations if corpus.section(c) is None]
    if unknown:
        return [Check("citations_exist", False, f"no such section: {', '.join(unknown)}", "unknown_section")]
    checks = [Check("citations_exist", True, f"{', '.join(parsed.citations)} exist")]
    if parsed.refuses:
        checks.append(Check("answers_question", False, "the answer says the docs do not cover it, yet it cites "
                            f"{', '.join(parsed.citations)}", "needless_refusal"))
    cited = {c: plain(corpus.section(c).text) for c in parsed.citations}
    everything = "\n".join(cited.values())
    if not parsed.quotes:
        checks.append(Check("quotes_present", False, 'the answer quotes nothing; add [file#anchor] "quoted text"',
                            "no_quote"))
    else:
        wrong = [f'"{q}" ({sid})' for sid, q in parsed.quotes if plain(q) not in cited.get(sid, everything)]
        checks.append(Check("quotes_in_sections", False, f"not in the cited section: {'; '.join(wrong)}",
                            "quote_not_in_section") if wrong else
                      Check("quotes_in_sections", True, f"{len(parsed.quotes)} quote(s) found in their sections"))
    tokens = answer_tokens(parsed.body)
    ungrounded = [t for t in tokens if not _contains(everything, t)]
    checks.append(Check("tokens_grounded", False, f"not in the cited sections: {', '.join(ungrounded)}",
                        "ungrounded_token") if ungrounded else
                  Check("tokens_grounded", True, f"{len(tokens)} number(s), name(s) and code token(s), all in the "
                                                 "cited sections"))
    score, missing = support(parsed.body, everything)
    detail = f"support {score:.2f} (content-word precision; threshold {SUPPORT_THRESHOLD})" + (
        f"; not in the cited text: {', '.join(missing[:8])}" if missing else "")
    checks.append(Check("supported", score >= SUPPORT_THRESHOLD, detail, "" if score >= SUPPORT_THRESHOLD else "unsupported"))
    return checks


def is_term(term: str) -> bool:
    """A noun phrase worth asking about: not a pronoun, determiner or stop word."""
    bare = plain(term).strip(" '").lower()
    return bool(bare) and bare.split()[0] not in PRONOUNS and any(w not in PRONOUNS for w in content_words(bare))


def question_problems(question: str, cited_text: str = "") -> list[str]:
    """What makes a question ill formed (empty when nothing does). `cited_text`:
    the sections it is answered from, which a term asked about must come from."""
    problems = []
    question = question.strip()
    if EMPTY_SLOT.search(re.sub(r"`[^`]+`", "code", question)):
        problems.append("it has an empty slot (a doubled space, a space before punctuation, empty quotes)")
    last = re.findall(r"[\w']+", question.lower())
    if last and last[-1] in DANGLING:
        problems.append(f"it ends on {last[-1]!r}, as if a word were missing")
    for pattern in TERM_ASKS:
        if (m := pattern.match(question)) and len(m.group("term").split()) <= 6:
            term = re.sub(r"^(?:a|an|the)\s+", "", plain(m.group("term")), flags=re.I)
            if not is_term(term):
                problems.append(f"it asks about {term!r}, which is no term (a pronoun or determiner)")
            elif cited_text and 2 * sum(w in content_words(plain(cited_text)) for w in content_words(term)) < len(content_words(term)):
                problems.append(f"it asks about {term!r}, which the cited sections do not name")
    for pattern in GOAL_ASKS:
        if m := pattern.match(question):
            goal = m.group("goal")
            first = goal.split()[0].lower() if goal.split() else ""
            if INSTRUCTION_TAIL.search(goal):
                problems.append(f"the goal {goal!r} runs on into the instruction that answers it")
            if first in PRONOUNS or first in ("a", "an", "the"):
                problems.append(f"the goal {goal!r} is not a verb phrase")
            elif ANAPHORA.search(goal):
                problems.append(f"the goal {goal!r} leans on something said before it")
            if goal.count("(") != goal.count(")"):
                problems.append(f"the goal {goal!r} has an unclosed parenthesis")
    if (m := WHEN_ASKS.match(question)) and not CLAUSE.search(m.group("clause")):
        problems.append(f"'when' is followed by {m.group('clause')!r}, a noun phrase rather than a clause")
    return problems


def check_question(question: str, cited_text: str = "") -> Check:
    problems = question_problems(question, cited_text)
    if problems:
        return Check("question_well_formed", False, f"{question!r}: " + "; ".join(problems), "ill_formed_question")
    return Check("question_well_formed", True, "no empty slot; the term, goal or clause fits its template")


def check_not_covered(corpus: DocsCorpus, question: str, answer: str) -> list[Check]:
    """The checks on an answer to a question the docs do not answer."""
    parsed = parse_answer(answer)
    checks = [Check("refuses", True, "the answer says the docs do not cover it") if parsed.refuses else
              Check("refuses", False, "the question is not covered by the docs, but the answer answers it instead "
                    "of saying so", "answered_not_covered")]
    matches = corpus.search(question)
    if matches and matches[0].coverage >= COVERED_THRESHOLD:
        best = matches[0]
        checks.append(Check("not_in_docs", False, f"{best.section.id} covers {best.coverage:.2f} of the question "
                            f"(threshold {COVERED_THRESHOLD}): the docs may answer it", "covered_by_docs"))
    else:
        found = "; ".join(f"{m.section.id} {m.coverage:.2f} (lacks {', '.join(m.missing)})" for m in matches) or "nothing"
        checks.append(Check("not_in_docs", True, f"the best BM25 sections cover too little of the question "
                                                 f"(threshold {COVERED_THRESHOLD}): {found}"))
    return checks


def check_not_in_context(corpus: DocsCorpus, question: str, answer: str, passages, evidence: list[str]) -> list[Check]:
    """The checks on an answer to a question whose sections were left out of
    its context (evaluators/context.py): it says so and cites nothing, and no
    passage given holds the evidence (the quotes the answer from those sections
    rests on; without quotes, no passage covers the question's words)."""
    parsed = parse_answer(answer)
    checks = [Check("refuses", True, "the answer says the excerpts do not cover it") if parsed.refuses
              and not parsed.citations else
              Check("refuses", False, "the excerpts lack the sections that answer the question, but the answer does "
                    "not say so", "answered_without_source")]
    if evidence:
        held = [f'{p.id} holds "{q}"' for q in evidence for p in passages if plain(q) in plain(p.text)]
        checks.append(Check("not_in_context", False, "; ".join(held) + ": the excerpts may answer it", "covered_by_context")
                      if held else Check("not_in_context", True, f"no excerpt holds any of the {len(evidence)} "
                                                                 "quote(s) a right answer rests on"))
        return checks
    covered, best = max(((corpus.coverage(question, p.text)[0], p.id) for p in passages), default=(0.0, "none"))
    if covered >= COVERED_THRESHOLD:
        checks.append(Check("not_in_context", False, f"{best} covers {covered:.2f} of the question (threshold "
                            f"{COVERED_THRESHOLD}): the excerpts may answer it", "covered_by_context"))
    else:
        checks.append(Check("not_in_context", True, f"the best excerpt, {best}, covers {covered:.2f} of the question "
                                                    f"(threshold {COVERED_THRESHOLD})"))
    return checks
