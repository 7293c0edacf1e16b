"""The docs domain: questions about a user's documentation, answered from it
with citations and quotes that the verifier checks (evaluators/docs.py).

The offline teacher reads the structure of the docs and writes extractive
answers, correct by construction: definition sentences (factual), numbered
procedures and code under a "To ...:" lead-in (how_to), tables and option
lists (configuration), error messages, troubleshooting headings and
admonitions (troubleshooting), two definitions or two sibling sections side
by side (conceptual), one name across two pages (synthesis), and questions
on topics the docs never mention, answered by saying so (not_covered).

Where the docs are big enough, a fifth of the sections (and of the
not-covered topics) is held out: training examples never use them, and the
held-out evaluation is built from them only.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.domains.base import Domain, Task, with_steering
from evaluators import docs as check
from evaluators.docs_corpus import DocsCorpus, words
from evaluators.docs_formats import Block, Section
from forge.errors import InputError
from forge.records import Check, Example, stable_fraction
from forge.rows import read_rows

CATEGORIES = {
    "factual": "look up a fact or a definition",
    "how_to": "the steps to do something",
    "configuration": "what an option, parameter or setting does, or its default",
    "troubleshooting": "what an error message means and how to fix it; what a warning says",
    "conceptual": "how two things the docs describe differ",
    "synthesis": "what several sections say about one thing",
    "not_covered": "a question the docs do not answer; the right answer says so",
}
NOT_COVERED = "not_covered"
HELD_OUT_SHARE = 0.2
MIN_SECTIONS_TO_HOLD_OUT = 20
TOPICS = ("LDAP authentication", "Kubernetes autoscaling", "GraphQL subscriptions", "a Windows installer",
          "GPU acceleration", "S3 bucket replication", "SAML single sign-on", "Prometheus metrics export",
          "a web dashboard", "Docker Swarm deployment", "IPv6 multicast", "Redis cluster mode", "email alerts",
          "a Terraform provider", "ARM64 Android builds", "Oracle database backends", "FIPS 140-3 certification",
          "Bluetooth devices", "a COBOL API", "sharding across data centres", "voice commands", "Excel exports",
          "blockchain anchoring", "a VS Code extension", "SNMP traps", "Kafka Connect sinks", "right-to-left text",
          "licence key activation", "a mobile app", "HIPAA compliance reports", "quantum-safe encryption",
          "FTP uploads", "Active Directory group sync", "printing to network printers", "a plugin marketplace",
          "real-time video streaming", "offline maps", "a Rust SDK", "SOC 2 audit logs", "machine translation")
NOT_COVERED_ASKS = ("Does {product} support {topic}?", "How do I set up {topic} with {product}?",
                    "What does the documentation say about {topic}?", "Can {product} be used with {topic}?")
SYSTEM = ("Answer questions about the documentation of {product}. Cite each section you use as [file#anchor] and "
          "quote it on a sources line: [file#anchor] \"quoted text\". If the documentation does not cover the "
          "question, say so.")
# "A run is one execution of a job.": the verb is followed by what the term is, not by a participle
DEFINITION = re.compile(r"^(?P<article>An?|The)\s+(?P<term>\*\*[^*]{2,40}\*\*|[a-z][\w -]{1,30}?)\s+(?:is|are|means)\s+"
                        r"(?:a|an|the|one|either|any|what|how|when)\s")
NAMED = re.compile(r"^(?P<term>`[^`]{2,40}`|[A-Z][\w.-]+(?: [A-Z][\w.-]+){0,2})\s+(?:is|are)\s+(?:a|an|the)\s+\S")
TO_LEAD = re.compile(r"^To (?P<goal>[^:]{5,120}?)(?:, run)?:$")
OPTION_HEADER = re.compile(r"^(option|parameter|setting|variable|key|flag|field|argument|name)s?$", re.I)
DESCRIBED = re.compile(r"^(description|meaning|purpose|overrides|notes?|what\b.*|which\b.*)$", re.I)
OPTION_ITEM = re.compile(r"^(?P<name>`[^`]{1,60}`|\*\*[^*]{1,60}\*\*)\s*[-:–—]\s*(?P<text>.{3,})$")
ERROR = re.compile(r"\b[A-Z]{1,4}\d{2,4}:[^`\n]*|\b[\w.]*(?:Error|Exception)\b[^`\n]{0,80}")
TROUBLE_HEADING = re.compile(r"\b(error|errors|fails?|failed|problem|cannot|can't|not working|stays?|stuck|locked|"
                             r"timed out|denied|invalid|troubleshoot\w*)\b", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"'])")


class DocsDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=8, max_length=600)
    answer: str = Field(min_length=8, max_length=4000, description='The answer, then "Sources:" and one line per '
                        'cited section: [file#anchor] "quoted text".')


class DocsEvalRow(BaseModel):
    """One row of a user's evaluation file."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1)
    sections: list[str] = Field([], description="The section ids a right answer cites; empty for not_covered.")
    answer: str = Field("", description="A reference answer, for the overlap measure.")
    category: str = ""


@dataclass(frozen=True)
class Fact:
    """Something a template question can be built from, and the sections it rests on."""

    category: str
    sections: tuple[str, ...]
    data: tuple[Any, ...]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def quotable(text: str) -> str:
    """The longest stretch of plain text without a double quote (quotes are delimited by them)."""
    return max(check.plain(text).split('"'), key=len).strip()


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


class DocsDomain(Domain):
    name = "docs"
    description = "questions about your documentation, answered with citations and quotes checked against the text"
    metric = "grounded answer accuracy"
    draft_model = DocsDraft
    answer_tokens = 256

    def __init__(self, corpus: DocsCorpus) -> None:
        self.corpus = corpus
        self.product = corpus.title
        self.system = SYSTEM.format(product=self.product)
        ids = sorted(corpus.sections)
        holding = len(ids) >= MIN_SECTIONS_TO_HOLD_OUT
        self.held_out = {sid for sid in ids if holding and stable_fraction(sid) < HELD_OUT_SHARE}
        facts = self._facts()
        self.facts: dict[bool, dict[str, list[Fact]]] = {False: defaultdict(list), True: defaultdict(list)}
        for fact in facts:
            held = [sid in self.held_out for sid in fact.sections]
            if fact.category == NOT_COVERED:
                self.facts[holding and stable_fraction(fact.data[0]) < HELD_OUT_SHARE][NOT_COVERED].append(fact)
            elif all(held) or not any(held):
                self.facts[all(held) and bool(held)][fact.category].append(fact)
        self.categories = tuple(c for c in CATEGORIES if self.facts[False][c])
        if not self.categories:
            raise InputError(f"--docs {corpus.root}: found nothing to ask about in {len(ids)} section(s)")

    # -- what the docs offer -------------------------------------------------------

    def _facts(self) -> list[Fact]:
        facts = []
        by_parent: dict[tuple[str, tuple[str, ...]], list[Section]] = defaultdict(list)
        names: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for section in self.corpus.sections.values():
            by_parent[(section.file, section.path[:-1])].append(section)
            definitions = []
            previous: Block | None = None
            for block in section.blocks:
                facts += self._block_facts(section, block, previous, definitions)
                previous = block
            if len(definitions) >= 2:
                for a, b in zip(definitions, definitions[1:]):
                    if a[0].strip("*") != b[0].strip("*"):
                        facts.append(Fact("conceptual", (section.id,), (a, b)))
            said = [s for b in section.blocks if b.kind in ("paragraph", "note") for s in sentences(b.text)]
            said += [item for b in section.blocks if b.kind in ("steps", "list") for (item,) in b.rows]
            for name in dict.fromkeys(re.findall(r"`([^`\n]{3,40})`", section.text)):
                sentence = next((s for s in said if f"`{name}`" in s and '"' not in s and len(s) <= 300), None)
                if sentence:
                    names[name].append((section.id, sentence))
            if TROUBLE_HEADING.search(section.title):
                lead = next((b for b in section.blocks if b.kind == "paragraph"), None)
                if lead:
                    facts.append(Fact("troubleshooting", (section.id,), ("heading", section.title, lead.text)))
        for siblings in by_parent.values():
            leads = [(s, sentences(b.text)[0]) for s in siblings for b in s.blocks[:1]
                     if b.kind == "paragraph" and len(check.plain(sentences(b.text)[0])) > 30
                     and '"' not in sentences(b.text)[0]]
            for (a, lead_a), (b, lead_b) in zip(leads, leads[1:]):
                if set(words(a.title)) & set(words(b.title)):  # "Server options" and "Worker options"
                    facts.append(Fact("conceptual", (a.id, b.id), (a.title, lead_a, b.title, lead_b)))
        for name, places in names.items():
            pages = list(dict.fromkeys(places))
            for (sid_a, first), (sid_b, second) in zip(pages, pages[1:4]):
                if sid_a != sid_b:
                    facts.append(Fact("synthesis", (sid_a, sid_b), (name, first, second)))
        for topic in TOPICS:
            facts.append(Fact(NOT_COVERED, (), (topic,)))
        return facts

    def _block_facts(self, section: Section, block: Block, previous: Block | None, definitions: list) -> list[Fact]:
        facts = []
        sid = (section.id,)
        if block.kind in ("paragraph", "note"):
            for sentence in sentences(block.text):
                if '"' in sentence or len(sentence) > 300:
                    continue
                match = DEFINITION.match(sentence) or NAMED.match(sentence)
                if match and match.groupdict().get("article") == "The" and not match.group("term").startswith("**") \
                        and match.group("term").lower() not in section.title.lower():
                    continue  # "The same file is ..." points back at an earlier sentence
                if match:
                    facts.append(Fact("factual", sid, (match.group("term"), match.groupdict().get("article"), sentence)))
                    if DEFINITION.match(sentence):
                        definitions.append((match.group("term"), match.group("article"), sentence))
            for error in ERROR.findall(" ".join(re.findall(r"`([^`]+)`", block.text))):
                facts.append(Fact("troubleshooting", sid, ("error", error.strip(), block.text)))
        if block.kind == "note" and len(block.text) > 30:
            facts.append(Fact("troubleshooting", sid, ("note", block.label or "note", block.text)))
        lead = sentences(previous.text)[-1] if previous is not None and previous.kind == "paragraph" else ""
        goal = TO_LEAD.match(lead)
        if block.kind == "steps" and len(block.rows) >= 2:
            facts.append(Fact("how_to", sid, (goal.group("goal") if goal else "", lead, [r[0] for r in block.rows])))
        if block.kind == "code" and goal and len(block.text.splitlines()) <= 25:
            facts.append(Fact("how_to", sid, (goal.group("goal"), lead, block.text, block.label)))
        if block.kind == "table" and len(block.rows) >= 2 and len(block.rows[0]) >= 2:
            header = block.rows[0]
            for row in block.rows[1:]:
                if len(row) == len(header) and row[0]:
                    facts.append(Fact("configuration", sid, ("row", header, row)))
        if block.kind == "list":
            for (item,) in block.rows:
                option = OPTION_ITEM.match(item)
                if option:
                    facts.append(Fact("configuration", sid, ("item", option.group("name"), item)))
        return facts

    # -- the offline teacher --------------------------------------------------------

    def _draft(self, fact: Fact, rng: random.Random) -> dict[str, Any]:
        kind = fact.category
        sid = fact.sections[0] if fact.sections else ""
        if kind == "factual":
            term, article, sentence = fact.data
            plain_term = term.strip("*")
            asked = f"{article.lower()} {plain_term}" if article else plain_term
            question = rng.choice(["What is {t}?", "What does the documentation say {t} is?", "Define {t}."]).format(t=asked)
            return self._answer(question, sentence, [(sid, [sentence])])
        if kind == "how_to":
            goal, lead, body = fact.data[0], fact.data[1], fact.data[2]
            title = self.corpus.section(sid).title
            question = (rng.choice(["How do I {g}?", "What is the way to {g}?", "What are the steps to {g}?",
                                    "I want to {g}. What do I do?"]).format(g=goal) if goal else
                        rng.choice(["What steps does the documentation give for {t}?", "How do I go about {t}?",
                                    "Walk me through {t}."]).format(t=_lower_first(title)))
            if isinstance(body, list):
                text = (lead + "\n" if goal else "") + "\n".join(f"{i}. {step}" for i, step in enumerate(body, 1))
                return self._answer(question, text, [(sid, ([lead] if goal else []) + body[:5])])
            return self._answer(question, f"{lead}\n\n```{fact.data[3]}\n{body}\n```", [(sid, [lead])])
        if kind == "configuration":
            if fact.data[0] == "item":
                _, name, item = fact.data
                question = rng.choice(["What is {n}?", "What does the documentation say about {n}?",
                                       "Explain {n}."]).format(n=name)
                return self._answer(question, item, [(sid, [item])])
            _, header, row = fact.data
            described = next((j for j, h in enumerate(header) if j and DESCRIBED.match(h.strip())), None)
            others = [j for j in range(1, len(row)) if j != described]
            if described is not None and (not others or rng.random() < 0.6):
                asks = (["What does {n} do?", "What is {n} for?", "What is the {n} setting?", "Explain the {n} option."]
                        if OPTION_HEADER.match(header[0].strip()) else ["What is {n}?", "What does {s} say about {n}?"])
                question = rng.choice(asks).format(n=row[0], s=self.corpus.section(sid).title)
                default = next((j for j, h in enumerate(header) if h.strip().lower() == "default"), None)
                text = f"{row[0]}: {row[described]}" + (f" The default is {row[default]}." if default is not None else "")
                return self._answer(question, text, [(sid, [row[described]])])
            j = rng.choice(others)
            column = _lower_first(header[j])
            question = rng.choice(["In {s}, what is the {c} for {r}?", "What {c} does {s} give for {r}?",
                                   "According to {s}, what is the {c} for {r}?"]).format(
                s=self.corpus.section(sid).title, c=column, r=row[0])
            return self._answer(question, f"The {column} for {row[0]} is {row[j]}.", [(sid, [" | ".join(row)])])
        if kind == "troubleshooting":
            form = fact.data[0]
            if form == "note":
                _, label, text = fact.data
                title = _lower_first(self.corpus.section(sid).title)
                question = rng.choice(["What does the documentation warn about {t}?", "What is the caveat in {t}?"]
                                      if label in ("warning", "caution", "danger") else
                                      ["Is there a note about {t}?", "What should I keep in mind about {t}?"]).format(t=title)
                return self._answer(question, text, [(sid, sentences(text)[:2])])
            _, said, text = fact.data
            question = rng.choice(["I get `{s}`. What does it mean and how do I fix it?", "What causes `{s}`?",
                                   "How do I fix `{s}`?"] if form == "error" else
                                  ["What should I do when {l}?", "How do I troubleshoot this: {l}?",
                                   "Help: {l}. What now?"]).format(s=said, l=_lower_first(said))
            section = self.corpus.section(sid)
            fix = "\n".join(f"{i}. {step}" for block in section.blocks if block.kind == "steps"
                            for i, (step,) in enumerate(block.rows, 1))
            chosen = sentences(text)[:2]
            return self._answer(question, " ".join(chosen) + (f"\n{fix}" if fix else ""), [(sid, chosen)])
        if kind == "conceptual":
            if len(fact.sections) == 1:
                (term_a, article_a, def_a), (term_b, article_b, def_b) = fact.data
                a, b = f"{article_a.lower()} {term_a.strip('*')}", f"{article_b.lower()} {term_b.strip('*')}"
                question = rng.choice(["What is the difference between {a} and {b}?", "How does {a} differ from {b}?",
                                       "Compare {a} with {b}."]).format(a=a, b=b)
                return self._answer(question, f"{def_a}\n{def_b}", [(sid, [def_a, def_b])])
            title_a, lead_a, title_b, lead_b = fact.data
            question = rng.choice(["How do '{a}' and '{b}' differ?", "What is the difference between '{a}' and '{b}'?",
                                   "Compare '{a}' with '{b}'."]).format(a=title_a, b=title_b)
            return self._answer(question, f"{title_a}: {lead_a}\n{title_b}: {lead_b}",
                                [(fact.sections[0], [lead_a]), (fact.sections[1], [lead_b])])
        if kind == "synthesis":
            name, first, second = fact.data
            question = rng.choice(["What does the documentation say about `{n}`?", "Where is `{n}` mentioned, and what "
                                   "do those pages say?", "Summarise what the docs say about `{n}`.",
                                   "What do I need to know about `{n}`?"]).format(n=name)
            return self._answer(question, f"{first}\n{second}", [(fact.sections[0], [first]), (fact.sections[1], [second])])
        topic = fact.data[0]
        question = rng.choice(NOT_COVERED_ASKS).format(product=self.product, topic=topic)
        question = question[0].upper() + question[1:]
        return {"question": question, "answer": f"The documentation does not cover {topic}, so I cannot answer from it."}

    def _answer(self, question: str, body: str, sources: list[tuple[str, list[str]]]) -> dict[str, Any]:
        quoted = [(sid, [q for q in dict.fromkeys(quotable(s) for s in said) if len(q) >= 8]) for sid, said in sources]
        return {"question": question, "answer": check.format_answer(body, quoted)}

    def _pick(self, category: str, seed: str, held_out: bool) -> tuple[Fact, random.Random]:
        rng = random.Random(seed)
        pool = self.facts[held_out][category] or self.facts[False][category]
        return rng.choice(pool), rng

    def template_draft(self, task: Task, attempt: int) -> dict[str, Any]:
        fact, rng = self._pick(task.category, f"{task.seed}:{attempt}", held_out=False)
        return self._draft(fact, rng)

    def template_critique(self, example: Example) -> dict[str, str]:
        parsed = check.parse_answer(example.payload["output"])
        if example.category == NOT_COVERED:
            return ({"verdict": "agree", "reason": "the answer says the docs do not cover it"} if parsed.refuses else
                    {"verdict": "disagree", "reason": "the docs do not cover this, but the answer does not say so"})
        if not parsed.citations:
            return {"verdict": "disagree", "reason": "the answer cites no section"}
        return {"verdict": "agree", "reason": f"the answer rests on {', '.join(parsed.citations)}"}

    # -- LLM teachers and critics ---------------------------------------------------

    def _task_fact(self, task: Task) -> Fact:
        return self._pick(task.category, f"llm:{task.seed}", held_out=False)[0]

    def _shown(self, section_ids) -> str:
        return "\n\n".join(f"[{sid}] ({self.corpus.section(sid).where})\n{self.corpus.section(sid).text}"
                           for sid in section_ids if self.corpus.section(sid))

    def generation_messages(self, task: Task, feedback: str) -> list[dict[str, str]]:
        fact = self._task_fact(task)
        form = ('Reply with one JSON object {"question": "...", "answer": "..."} and nothing else. The answer ends '
                'with "Sources:" and one line per section it uses: [file#anchor] "a sentence copied exactly from it".')
        if task.category == NOT_COVERED:
            titles = "; ".join(s.title for s in list(self.corpus.sections.values())[:60])
            ask = (f"The documentation of {self.product} has these sections: {titles}.\nWrite a question a user might "
                   f"ask about {self.product} that these docs do NOT answer (for example about {fact.data[0]}), and "
                   "an answer that says the documentation does not cover it, without guessing.")
        else:
            ask = (f"Write one question of category '{task.category}' ({CATEGORIES[task.category]}) that these "
                   f"sections of the {self.product} documentation answer, and its answer, using only them:\n\n"
                   + self._shown(fact.sections))
        return [{"role": "system", "content": f"You write training data for a documentation assistant. {form}"},
                {"role": "user", "content": with_steering(ask, task, feedback, "Write a corrected answer.")}]

    def critique_messages(self, example: Example) -> list[dict[str, str]]:
        """The critic sees the cited sections in full (for a not-covered question,
        the sections BM25 finds closest) and judges whether they support the answer."""
        question, answer = example.payload["instruction"], example.payload["output"]
        if example.category == NOT_COVERED:
            shown = self._shown(m.section.id for m in self.corpus.search(question))
            ask = "Do these sections leave the question unanswered, so that the answer is right to say so?"
        else:
            shown = self._shown(check.parse_answer(answer).citations)
            ask = "Is every statement of the answer supported by these sections?"
        return [{"role": "system", "content": "You review answers about documentation. Reply with one JSON object: "
                                              '{"verdict": "agree" or "disagree", "reason": "..."} and nothing else.'},
                {"role": "user", "content": f"Question: {question}\n\nAnswer:\n{answer}\n\nSections:\n"
                                            f"{shown or '(none cited)'}\n\n{ask}"}]

    def to_example(self, task: Task, draft: dict[str, Any]) -> Example:
        return self._example(task.category, draft["question"], draft["answer"])

    def _example(self, category: str, question: str, answer: str, sections: list[str] | None = None) -> Example:
        cited = list(check.parse_answer(answer).citations) if sections is None else sections
        return Example(self.name, category, "instruction",
                       {"instruction": question.strip(), "input": "", "output": answer.strip()},
                       {"sections": cited, "system": self.system})

    # -- verification -----------------------------------------------------------------

    def verify(self, example: Example) -> list[Check]:
        question, answer = example.payload["instruction"], example.payload["output"]
        if example.category == NOT_COVERED:
            return check.check_not_covered(self.corpus, question, answer)
        return check.check_covered_answer(self.corpus, answer)

    # -- evaluation ---------------------------------------------------------------------

    def heldout_items(self) -> list[Example] | None:
        """Items built only from held-out sections and topics, each verified; None
        when the docs are too small to hold sections out (the cycle then makes them)."""
        if not self.held_out:
            return None
        items: dict[str, Example] = {}
        for category in self.categories:
            for k in range(12):
                if not self.facts[True][category]:
                    break
                fact, rng = self._pick(category, f"heldout:{category}:{k}", held_out=True)
                draft = self._draft(fact, rng)
                example = self._example(category, draft["question"], draft["answer"])
                if all(c.passed for c in self.verify(example)):
                    items.setdefault(example.payload["instruction"], example)
        return list(items.values())

    def load_eval(self, path: Path) -> list[Example]:
        """{question, sections, answer?, category?} rows; `sections` are the ids a
        right answer cites, empty for a question the docs do not answer."""
        items, problems = [], []
        for line, row in read_rows(path, DocsEvalRow, "{question, sections, answer?, category?}"):
            missing = [sid for sid in row.sections if self.corpus.section(sid) is None]
            if missing:
                problems.append(f"{path}:{line}: sections: {', '.join(missing)} not in the docs (ids look like "
                                f"{next(iter(self.corpus.sections))})")
            category = row.category or ("factual" if row.sections else NOT_COVERED)
            items.append(self._example(category, row.question, row.answer, row.sections))
        if problems:
            raise InputError(f"{len(problems)} problem(s) in {path}:\n  " + "\n  ".join(problems[:20]))
        return items

    def _grade(self, example: Example, answer: str) -> dict[str, float]:
        parsed = check.parse_answer(answer)
        if not example.metadata["sections"]:
            return {"refusal_correct": float(parsed.refuses)}
        reference, cited = set(example.metadata["sections"]), set(parsed.citations)
        grounded = [q for sid, q in parsed.quotes
                    if (section := self.corpus.section(sid)) and check.plain(q) in check.plain(section.text)]
        mine, theirs = words(check.plain(parsed.body)), words(check.plain(check.parse_answer(example.payload["output"]).body))
        common = sum(min(mine.count(w), theirs.count(w)) for w in set(mine))
        f1 = 2 * common / (len(mine) + len(theirs)) if mine and theirs else float(not theirs)
        return {"citation_precision": len(cited & reference) / len(cited) if cited else 0.0,
                "citation_recall": len(cited & reference) / len(reference),
                "quote_grounding": len(grounded) / len(parsed.quotes) if parsed.quotes else 0.0,
                "answer_overlap": f1}

    def answer_measures(self, example: Example, answer: str) -> dict[str, float]:
        """Citation precision and recall, quote grounding and answer overlap (token F1
        with the reference); for not-covered items, whether the answer refuses."""
        return self._grade(example, answer)

    def score_answer(self, example: Example, answer: str) -> Check:
        """Right when a not-covered question is refused; otherwise when the answer
        cites a reference section, every quote is grounded, and it overlaps the
        reference answer (token F1 >= 0.5)."""
        grade = self._grade(example, answer)
        if "refusal_correct" in grade:
            return (Check("answer_correct", True, "refuses, as it should") if grade["refusal_correct"] else
                    Check("answer_correct", False, "the docs do not cover this, but the answer does not say so",
                          "answered_not_covered"))
        detail = ", ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in grade.items())
        if grade["citation_recall"] == 0:
            return Check("answer_correct", False, detail, "wrong_citations")
        if grade["quote_grounding"] < 1:
            return Check("answer_correct", False, detail, "quote_not_in_section")
        if grade["answer_overlap"] < 0.5:
            return Check("answer_correct", False, detail, "answer_differs")
        return Check("answer_correct", True, detail)
