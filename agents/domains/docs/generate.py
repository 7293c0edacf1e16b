"""The docs domain: questions about a user's documentation, answered from it
with citations and quotes that the verifier checks (verify.py).

The offline teacher reads the structure of the docs (facts.py)
and writes extractive answers, correct by construction: definition sentences
and release notes (factual), numbered procedures and code under a "To ...:"
lead-in (how_to), tables and option lists (configuration), errors,
troubleshooting headings and admonitions (troubleshooting), two definitions
or two alternative sections side by side (conceptual), one API name across
two pages (synthesis), and questions on topics the docs never mention,
answered by saying so (not_covered). Each question's template fits what it
is filled with (a noun phrase, a verb phrase, a clause, a section title).

Where the docs are big enough, a fifth of the sections (and of the
not-covered topics) is held out: training examples never use them, and the
held-out evaluation is built from them only.

Open book (`--context retrieved`, the default): each question comes with
passages of the docs (evaluators/context.py), as RAFT trains: the oracle
sections and distractors from BM25's near misses and at random, none of them
held out. In a fifth of the examples the oracle is left out, and the answer
says the excerpts do not cover the question. Held-out items and a user's
questions get BM25's best passages over all the docs, held-out sections
included, so the student is scored on reading pages it never saw.
"""

from __future__ import annotations

import logging
import random
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.domains.base import Critique, Domain, EvalFile, Task, context_chars, leave_out, with_steering
from agents.domains.docs.facts import DESCRIBED, OPTION_HEADER, Fact, find_facts, sentences
from agents.domains.docs import verify as check
from agents.domains.docs.corpus import DocsCorpus
from evaluators import context as book
from evaluators.text import content_words
from forge.errors import InputError
from forge.records import Check, Example, content_hash, stable_fraction
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
NOT_COVERED_ASKS = ("Does {product} support {topic}?", "How do I set up {topic} with {product}?",
                    "What does the documentation say about {topic}?", "Can {product} be used with {topic}?")
SYSTEM = ("Answer questions about the documentation of {product}. Cite each section you use as [file#anchor] and "
          "quote it on a sources line: [file#anchor] \"quoted text\". If the documentation does not cover the "
          "question, say so.")
OPEN_BOOK_SYSTEM = ("Answer questions about the documentation of {product} from the excerpts given after the question, "
                    "one per line as [file#anchor] text. Cite each excerpt you use as [file#anchor] and quote it on a "
                    "sources line: [file#anchor] \"quoted text\". If the excerpts do not answer the question, say so.")
NOT_IN_CONTEXT = "The excerpts given do not cover this, so I cannot answer it from them."


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


def quotable(text: str) -> str:
    """The longest stretch of plain text without a double quote (quotes are delimited by them)."""
    return max(check.plain(text).split('"'), key=len).strip(" ,;:")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _asked(term: str, article: str) -> str:
    """A term as a question names it: "a run", "the scheduler", "AnyIO", "`--limit`"."""
    plain_term = term.strip("*")
    return f"{article.lower()} {plain_term}" if article else plain_term


class DocsDomain(Domain):
    name = "docs"
    metric = "grounded answer accuracy"
    draft_model = DocsDraft
    answer_tokens = 256

    def __init__(self, corpus: DocsCorpus, context: str = "retrieved", context_chars: int = 1200) -> None:
        self.corpus = corpus
        self.product = corpus.title
        self.open_book = context == "retrieved"
        self.passage_chars = context_chars // book.PASSAGES
        self.system = (OPEN_BOOK_SYSTEM if self.open_book else SYSTEM).format(product=self.product)
        ids = sorted(corpus.sections)
        holding = len(ids) >= MIN_SECTIONS_TO_HOLD_OUT
        self.held_out = {sid for sid in ids if holding and stable_fraction(sid) < HELD_OUT_SHARE}
        facts = find_facts(corpus)
        self.facts: dict[bool, dict[str, list[Fact]]] = {False: defaultdict(list), True: defaultdict(list)}
        for fact in facts:
            held = [sid in self.held_out for sid in fact.sections]
            if fact.category == NOT_COVERED:
                self.facts[holding and stable_fraction(fact.data[0]) < HELD_OUT_SHARE][NOT_COVERED].append(fact)
            elif all(held) or not any(held):
                self.facts[all(held) and bool(held)][fact.category].append(fact)
        self.categories = tuple(c for c in CATEGORIES if self.facts[False][c])
        for category in CATEGORIES:
            if category not in self.categories:
                leave_out(category, f"these docs give nothing to ask of this kind ({CATEGORIES[category]})")
        covered = {c: len(self.facts[False][c]) for c in self.categories if c != NOT_COVERED}
        if not covered:
            raise InputError(f"--docs {corpus.root}: found nothing to ask about in {len(ids)} section(s): no definitions, "
                             "procedures, option tables or lists, errors or notes")
        # Each category's share follows what the docs offer for it; not-covered questions are a fixed sixth.
        self.default_weights = {**covered, NOT_COVERED: sum(covered.values()) / 5}

    # -- the offline teacher --------------------------------------------------------

    def _draft(self, fact: Fact, rng: random.Random) -> dict[str, Any]:
        """A question in a template whose grammar fits what the fact holds, and its extractive answer."""
        sid = fact.sections[0] if fact.sections else ""
        title = self.corpus.section(sid).title if sid else ""
        form = fact.form
        if form == "definition":
            term, article, sentence = fact.data
            asked = _asked(term, article)
            asks = (["What is {t}?", "What is meant by {t}?", "Define {t}."] if article else
                    ["What is {t}?", "Tell me what {t} is."])
            return self._answer(rng.choice(asks).format(t=asked), sentence, [(sid, [sentence])])
        if form == "changelog":
            version, entries = fact.data
            question = rng.choice(["What changed in {p} {v}?", "What is new in version {v} of {p}?",
                                   "What do the release notes of {p} {v} say?"]).format(p=self.product, v=version)
            lines, grouped = [], False
            for entry in entries:
                lines.append(f"{'  ' if grouped and not entry.endswith(':') else ''}- {entry}")
                grouped = grouped or entry.endswith(":")
            return self._answer(question, f"In {version}:\n" + "\n".join(lines),
                                [(sid, [e for e in entries if not e.endswith(":")][:4])])
        if form == "steps":
            goal, lead, steps = fact.data
            question = (rng.choice(["How do I {g}?", "What are the steps to {g}?", "I want to {g}. What do I do?"])
                        .format(g=goal) if goal else
                        rng.choice(["What steps does the '{t}' section give?", "Walk me through '{t}'."]).format(t=title))
            text = (lead + "\n" if goal else "") + "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
            return self._answer(question, text, [(sid, ([lead] if goal else []) + steps[:5])])
        if form == "code":
            goal, lead, code, language, then = fact.data
            question = rng.choice(["How do I {g}?", "How can I {g}?", "I want to {g}. What do I do?"]).format(g=goal)
            text = "\n\n".join(f"{said}\n\n```{label}\n{block}\n```" for said, block, label in ((lead, code, language), *then))
            return self._answer(question, text, [(sid, [lead] + [said for said, _, _ in then])])
        if form == "item":
            name, item = fact.data
            question = rng.choice(["What is {n}?", "What does the documentation say about {n}?",
                                   "Explain {n}."]).format(n=name.strip("*"))
            return self._answer(question, item, [(sid, [item])])
        if form == "row":
            header, row = fact.data
            described = next((j for j, h in enumerate(header) if j and DESCRIBED.match(h.strip())), None)
            others = [j for j in range(1, len(row)) if j != described]
            if described is not None and (not others or rng.random() < 0.6):
                asks = (["What does {n} do?", "What is {n} for?", "What is the {n} setting?", "Explain the {n} option."]
                        if OPTION_HEADER.match(header[0].strip()) else ["What is {n}?", "What does '{s}' say about {n}?"])
                question = rng.choice(asks).format(n=row[0], s=title)
                default = next((j for j, h in enumerate(header) if h.strip().lower() == "default"), None)
                text = f"{row[0]}: {row[described]}" + (f" The default is {row[default]}." if default is not None else "")
                return self._answer(question, text, [(sid, [row[described]])])
            j = rng.choice(others)
            column = _lower_first(header[j])
            question = rng.choice(["In '{s}', what is the {c} for {r}?", "What {c} does '{s}' give for {r}?",
                                   "According to '{s}', what is the {c} for {r}?"]).format(s=title, c=column, r=row[0])
            return self._answer(question, f"The {column} for {row[0]} is {row[j]}.", [(sid, [" | ".join(row)])])
        if form == "error":
            error, said = fact.data
            question = rng.choice(["What causes `{e}`?", "When do I get `{e}`?", "Why would I see `{e}`?"]).format(e=error)
            return self._answer(question, " ".join(said), [(sid, said)])
        if form == "heading":
            heading, said, is_clause = fact.data
            topic = re.sub(r"^troubleshooting\s+", "", heading, flags=re.I)
            asks = (["I get {h}. What should I do?", "How do I fix {h}?"] if heading[:1] in "\"'`" else
                    ["What should I do when {l}?", "What does the documentation suggest when {l}?"] if is_clause else
                    ["How do I troubleshoot {l}?", "What does the documentation say about {l}?"]
                    if topic != heading else ["How do I fix '{h}'?", "What does the documentation say about '{h}'?"])
            question = rng.choice(asks).format(l=_lower_first(topic), h=heading)
            section = self.corpus.section(sid)
            fix = "\n".join(f"{i}. {step}" for block in section.blocks if block.kind == "steps"
                            for i, (step,) in enumerate(block.rows, 1))
            return self._answer(question, " ".join(said) + (f"\n{fix}" if fix else ""), [(sid, said)])
        if form == "note":
            label, text = fact.data
            question = rng.choice(["What does the '{t}' section warn about?", "What is the caveat in '{t}'?"]
                                  if label in ("warning", "caution", "danger") else
                                  ["What does the note in '{t}' say?", "What should I keep in mind about '{t}'?"]
                                  ).format(t=title)
            return self._answer(question, text, [(sid, sentences(text)[:2])])
        if form == "pair":
            (term_a, article_a, def_a), (term_b, article_b, def_b) = fact.data
            a, b = _asked(term_a, article_a), _asked(term_b, article_b)
            question = rng.choice(["What is the difference between {a} and {b}?", "How does {a} differ from {b}?",
                                   "Compare {a} with {b}."]).format(a=a, b=b)
            return self._answer(question, f"{def_a}\n{def_b}", [(sid, [def_a, def_b])])
        if form == "siblings":
            title_a, lead_a, title_b, lead_b = fact.data
            question = rng.choice(["How do '{a}' and '{b}' differ?", "What is the difference between '{a}' and '{b}'?",
                                   "Compare '{a}' with '{b}'."]).format(a=title_a, b=title_b)
            return self._answer(question, f"{title_a}: {lead_a}\n{title_b}: {lead_b}",
                                [(fact.sections[0], [lead_a]), (fact.sections[1], [lead_b])])
        if form == "mention":
            name, first, second = fact.data
            question = rng.choice(["What does the documentation say about `{n}`?", "Where is `{n}` mentioned, and what "
                                   "do those pages say?", "Summarise what the docs say about `{n}`."]).format(n=name)
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
        if example.category == NOT_COVERED or self._oracle_missing(example):
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
        if self._oracle_missing(example):
            shown = example.payload["input"]
            ask = "Do these excerpts leave the question unanswered, so that the answer is right to say so?"
        elif example.category == NOT_COVERED:
            shown = self._shown(m.section.id for m in self.corpus.search(question))
            ask = "Do these sections leave the question unanswered, so that the answer is right to say so?"
        else:
            shown = self._shown(check.parse_answer(answer).citations)
            ask = "Is every statement of the answer supported by these sections?"
        return [{"role": "system", "content": "You review answers about documentation. " + Critique.instruction()},
                {"role": "user", "content": f"Question: {question}\n\nAnswer:\n{answer}\n\nSections:\n"
                                            f"{shown or '(none cited)'}\n\n{ask}"}]

    def to_example(self, task: Task, draft: dict[str, Any]) -> Example:
        example = self._example(task.category, draft["question"], draft["answer"])
        return self._in_context(example, task.seed) if self.open_book else example

    def _example(self, category: str, question: str, answer: str, sections: list[str] | None = None,
                 context: list[book.Passage] | None = None, withheld: str = "") -> Example:
        """`sections`: what a right answer cites (default: what `answer` cites); `context`: the passages
        an open-book student reads with the question; `withheld`: the answer from the sections the
        question is about, when the context leaves them out (`answer` then says so)."""
        cited = list(check.parse_answer(answer).citations) if sections is None else sections
        metadata: dict[str, Any] = {"sections": cited, "system": self.system}
        if context is not None:
            metadata["context"] = [p.id for p in context]
        if withheld:
            parsed = check.parse_answer(withheld)
            metadata |= {"oracle": list(parsed.citations), "evidence": [q for _, q in parsed.quotes]}
        return Example(self.name, category, "instruction",
                       {"instruction": question.strip(), "input": book.show(context or []), "output": answer.strip()},
                       metadata)

    # -- open book ----------------------------------------------------------------------

    def _passage(self, sid: str, keep: tuple[str, ...] | list[str] = (), question: str = "") -> book.Passage:
        section = self.corpus.section(sid)
        return book.Passage(sid, book.window(check.plain(section.text), self.passage_chars, keep, content_words(question)))

    def _in_context(self, example: Example, seed: str) -> Example:
        """A training example with the passages its student reads (RAFT): the
        sections its answer cites and distractors, never held-out sections; in a
        share of examples the distractors alone, and the answer says so."""
        question, answer = example.payload["instruction"], example.payload["output"]
        parsed = check.parse_answer(answer)
        oracle = [sid for sid in parsed.citations if self.corpus.section(sid)]
        if example.category == NOT_COVERED or not oracle:
            nearest = self.corpus.retrieve(question, book.PASSAGES, exclude=self.held_out)
            return self._example(example.category, question, answer, context=[self._passage(s, question=question)
                                                                             for s in nearest])
        rng = random.Random(f"context:{seed}")
        drop = rng.random() < book.MISSING_ORACLE_SHARE
        near = self.corpus.retrieve(" ".join(self.corpus.section(sid).text for sid in oracle), 3 * book.PASSAGES,
                                    exclude=self.held_out | set(oracle))
        ids = book.assemble(oracle, near, [sid for sid in self.corpus.order if sid not in self.held_out], rng,
                            drop_oracle=drop)
        quotes = {sid: [check.plain(q) for s, q in parsed.quotes if s == sid] for sid in oracle}
        passages = [self._passage(sid, quotes.get(sid, []), question) for sid in ids]
        return self._example(example.category, question, NOT_IN_CONTEXT, [], passages, answer) if drop else \
            self._example(example.category, question, answer, context=passages)

    def _retrieved(self, item: Example, leave_out_oracle: bool = False) -> Example:
        """An evaluation item with BM25's best passages over all the docs, held-out
        sections included; `leave_out_oracle`: the best ones but its reference sections."""
        question, reference = item.payload["instruction"], item.metadata["sections"]
        ids = self.corpus.retrieve(question, book.PASSAGES, exclude=set(reference) if leave_out_oracle else set())
        passages = [self._passage(sid, question=question) for sid in ids]
        if leave_out_oracle:
            return self._example(item.category, question, NOT_IN_CONTEXT, [], passages, item.payload["output"])
        return self._example(item.category, question, item.payload["output"], reference, passages)

    @staticmethod
    def _oracle_missing(example: Example) -> bool:
        """Whether the sections the question is about were left out of its context."""
        return bool(example.metadata.get("oracle"))

    def teaches_refusal(self, example: Example) -> bool:
        return example.category == NOT_COVERED or self._oracle_missing(example)

    def closed_book(self, item: Example) -> Example | None:
        """The item as a closed-book student gets it: the question alone."""
        if "context" not in item.metadata or self._oracle_missing(item):
            return None
        metadata = {k: v for k, v in item.metadata.items() if k != "context"}
        return Example(self.name, item.category, "instruction", {**item.payload, "input": ""},
                       {**metadata, "system": SYSTEM.format(product=self.product)})

    def ask(self, question: str) -> Example:
        """A user's question with the passages BM25 finds for it over all the docs."""
        asked = self._example("asked", question, "", sections=[])
        return self._retrieved(asked) if self.open_book else asked

    def check_answer(self, item: Example, answer: str) -> list[Check]:
        """A student's answer to an asked question: each citation in the context
        or not, each quote found in its section or not, and the answer's names
        and words found in what it cites; a refusal is one check."""
        parsed = check.parse_answer(answer)
        if parsed.refuses and not parsed.citations:
            return [Check("refusal", True, "the student says the excerpts do not answer the question")]
        if not parsed.citations:
            return [Check("cites_sections", False, "the answer cites no section", "no_citation")]
        shown = set(item.metadata.get("context", ()))
        checks = book.each_citation_in_context(parsed.citations, shown.__contains__,
                                               lambda sid: f"[{sid}]") if "context" in item.metadata else []
        for sid, quote in parsed.quotes:
            section = self.corpus.section(sid)
            found = section is not None and check.plain(quote) in check.plain(section.text)
            why = "" if found else " is not in that section" if section else " names no section of the docs"
            checks.append(Check("quote", found, f'[{sid}] "{quote}"{why}', "" if found else "quote_not_in_section"))
        if all(c.passed for c in checks):  # the words are weighed against sections that exist
            checks += [c for c in check.check_covered_answer(self.corpus, answer) if c.name in ("tokens_grounded", "supported")]
        return checks

    # -- verification -----------------------------------------------------------------

    def verify(self, example: Example) -> list[Check]:
        question, answer = example.payload["instruction"], example.payload["output"]
        context = book.read(example.payload["input"]) if "context" in example.metadata else None
        if example.category == NOT_COVERED:
            checks = [check.check_question(question)] + check.check_not_covered(self.corpus, question, answer)
        elif self._oracle_missing(example):
            about = "\n".join(s.text for sid in example.metadata["oracle"] if (s := self.corpus.section(sid)))
            checks = [check.check_question(question, about)] + check.check_not_in_context(
                self.corpus, question, answer, context or [], example.metadata.get("evidence", []))
        else:
            cited = "\n".join(s.text for sid in check.parse_answer(answer).citations if (s := self.corpus.section(sid)))
            checks = [check.check_question(question, cited)] + check.check_covered_answer(self.corpus, answer)
        if context is not None:
            parsed = check.parse_answer(answer)
            checks.append(book.check_within_context(parsed.citations, context, quotes=parsed.quotes, normal=check.plain))
        return checks

    def duplicate_key(self, example: Example) -> str:
        """Questions about one thing in one section, answered alike, are one example however they are phrased.
        A refusal for want of the oracle is keyed by the answer it withholds, so refusals repeat no more than
        answers do: keyed by the question, they piled up round after round while answers were deduplicated,
        and a student trained on that pile learned to refuse everything."""
        if self._oracle_missing(example):
            meta = example.metadata
            return content_hash([example.category, "withheld", sorted(meta["oracle"]), sorted(meta.get("evidence", []))])
        parsed = check.parse_answer(example.payload["output"])
        return content_hash([example.category, sorted(parsed.citations), check.plain(parsed.body).lower()])

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
        if not self.open_book:
            return list(items.values())
        # A share of the covered questions is asked with their sections left out: the right answer then says so.
        return [self._retrieved(item, item.category != NOT_COVERED and stable_fraction(item.id) < book.MISSING_ORACLE_SHARE)
                for item in items.values()]

    def load_eval(self, path: Path, limit: int | None = None) -> EvalFile:
        """{question, sections, answer?, category?} rows; `sections` are the ids a
        right answer cites, empty for a question the docs do not answer. A row
        citing a section the docs do not have is skipped."""
        read = read_rows(path, DocsEvalRow, "{question, sections, answer?, category?}")
        loaded = EvalFile(path, failing="cite sections not in the docs", ignored_fields=read.ignored)
        for line, row in read.rows[:limit]:
            missing = [sid for sid in row.sections if self.corpus.section(sid) is None]
            if missing:
                loaded.skipped.append((f"{path}:{line}", f"sections {', '.join(missing)} are not in the docs (ids look "
                                                         f"like {next(iter(self.corpus.sections))})"))
                continue
            category = row.category or ("factual" if row.sections else NOT_COVERED)
            item = self._example(category, row.question, row.answer, row.sections)
            loaded.items.append(self._retrieved(item) if self.open_book else item)
        return loaded

    def _grade(self, example: Example, answer: str) -> dict[str, float]:
        parsed = check.parse_answer(answer)
        reference, context = example.metadata["sections"], example.metadata.get("context")
        measures = {}
        if context is not None and reference:
            measures["retrieval_recall"] = len(set(reference) & set(context)) / len(reference)
        if not reference or measures.get("retrieval_recall") == 0:  # nothing to cite: the right answer says so
            return measures | {"refusal_correct": float(parsed.refuses and not parsed.citations)}
        reference, cited = set(reference), set(parsed.citations)
        grounded = [q for sid, q in parsed.quotes
                    if (section := self.corpus.section(sid)) and check.plain(q) in check.plain(section.text)]
        mine, theirs = content_words(check.plain(parsed.body)), content_words(check.plain(check.parse_answer(example.payload["output"]).body))
        common = sum(min(mine.count(w), theirs.count(w)) for w in set(mine))
        f1 = 2 * common / (len(mine) + len(theirs)) if mine and theirs else float(not theirs)
        return measures | {"citation_precision": len(cited & reference) / len(cited) if cited else 0.0,
                           "citation_recall": len(cited & reference) / len(reference),
                           "quote_grounding": len(grounded) / len(parsed.quotes) if parsed.quotes else 0.0,
                           "answer_overlap": f1}

    def answer_measures(self, example: Example, answer: str) -> dict[str, float]:
        """Citation precision and recall, quote grounding and answer overlap (token F1
        with the reference); whether the answer refuses where nothing answers the
        question (not covered by the docs, or not by the passages given); and, open
        book, whether retrieval brought the reference sections (recall@k)."""
        return self._grade(example, answer)

    def score_answer(self, example: Example, answer: str) -> Check:
        """Right when a question nothing answers is refused (not covered by the docs, or its
        sections not among the passages given); otherwise when the answer cites a reference
        section, every quote is grounded, and it overlaps the reference answer (token F1 >= 0.5)."""
        grade = self._grade(example, answer)
        if "refusal_correct" in grade:
            if grade["refusal_correct"]:
                return Check("answer_correct", True, "refuses, as it should")
            if example.category == NOT_COVERED:
                return Check("answer_correct", False, "the docs do not cover this, but the answer does not say so",
                             "answered_not_covered")
            return Check("answer_correct", False, "the passages given lack the sections that answer this, but the "
                         "answer does not say so", "answered_without_source")
        detail = ", ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in grade.items())
        if grade["citation_recall"] == 0:
            return Check("answer_correct", False, detail, "wrong_citations")
        if grade["quote_grounding"] < 1:
            return Check("answer_correct", False, detail, "quote_not_in_section")
        if grade["answer_overlap"] < 0.5:
            return Check("answer_correct", False, detail, "answer_differs")
        return Check("answer_correct", True, detail)


def open_domain(sources: dict[str, str]) -> DocsDomain:
    from agents.domains.docs.corpus import load_docs

    chars = context_chars(sources)
    corpus = load_docs(Path(sources["docs"]), sources.get("docs_title", ""))
    for problem in corpus.problems:  # the other files still load
        logging.getLogger("domainforge").warning("skipped %s", problem)
    return DocsDomain(corpus, sources.get("context", "retrieved"), chars)
