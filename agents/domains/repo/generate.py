"""The repository-expert domain: a model that knows one codebase (Go or
Python), with every example checked against the code (verify.py).

Categories follow the seed: implement a function from its signature and doc;
explain a function or a package; how a function is used (its real call
sites); write a test for a function; how a function handles errors; and
repository Q&A (where is X, how do A and B differ, which function does Y).
Answers cite `path:start-end` lines at the analysed revision.

The offline teacher writes from the analysis (index.py): the
repository's own code, doc comments, call sites and tests, so its examples
are right by construction and the verifier still checks each one. Where the
repository is big enough, a fifth of its functions is held out: no training
example uses them, and the held-out evaluation is built from them.

Open book (`--context retrieved`, the default): each question comes with
spans of the code (passages.py), as RAFT trains: the spans its answer cites
and distractors (BM25's near misses and random declarations, never held-out
ones). An implementation task reads the function's tests and callers, not
the function; a test-writing task reads the function, not its tests. In a
fifth of the prose examples the cited spans are left out, and the answer
says the code shown does not hold what is asked. Held-out items get BM25's
best spans over the whole repository.
"""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.domains.base import Critique, Domain, Task, context_chars, leave_out, open_sandbox_for, with_steering
from agents.domains.repo import verify as check
from evaluators.execution import code_of
from agents.domains.repo.index import CITATION, RepoIndex, Symbol, is_test_path
from agents.domains.repo.passages import AROUND_CALL, CodeRetriever, covers, overlaps, span
from agents.domains.repo.unit_tests import standalone_test
from evaluators import context as book
from forge.errors import InputError
from forge.records import Check, Example, stable_fraction

CATEGORIES = {
    "implement": "implement a function from its signature and doc comment",
    "explain": "explain what a function or a package does",
    "usage": "how a function is used in the repository, from its real call sites",
    "write_test": "write a test for a function",
    "error_handling": "how a function handles and reports errors",
    "repo_qa": "where something is implemented, how two things differ, which function does something",
}
WEIGHTS = {"implement": 0.25, "explain": 0.15, "usage": 0.15, "write_test": 0.15, "error_handling": 0.1, "repo_qa": 0.2}
SANDBOXED = ("implement", "write_test")
NEEDS = {"implement": "documented functions that tests call", "explain": "doc comments",
         "usage": "functions called elsewhere in the code", "write_test": "documented functions that tests call",
         "error_handling": "functions that return or raise errors", "repo_qa": "doc comments"}
HELD_OUT_SHARE = 0.2
MIN_FUNCTIONS_TO_HOLD_OUT = 20
GO_ERROR = re.compile(r"\b(Err\w+|errors\.New|fmt\.Errorf)\b")
PY_RAISE = re.compile(r"^\s*raise (\w+)")
NOT_IN_CONTEXT = "The code shown does not include what this question is about, so I cannot answer from it."
REFUSAL = re.compile(r"\b(?:does not|doesn't|do not|don't) (?:include|show|contain|cover)\b", re.I)


class RepoDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instruction: str = Field(min_length=10, max_length=4000, description="The question or task about the repository.")
    output: str = Field(min_length=1, max_length=6000, description="The answer. Cite code as `path:start-end`; "
                                                                   "code in ```go or ```python fences.")


def fence(code: str, language: str) -> str:
    return f"```{language}\n{code.rstrip()}\n```"


def lead(doc: str, name: str) -> str:
    """A doc comment without the name it starts with: "Restock adds n units" -> "adds n units"."""
    first = re.split(r"(?<=\.)\s", doc, maxsplit=1)[0].rstrip(".")
    return first[len(name):].strip() if first.startswith(name + " ") else first[:1].lower() + first[1:]


class RepoDomain(Domain):
    name = "repo"
    metric = "grounded answer accuracy"
    categories = tuple(CATEGORIES)
    default_weights = WEIGHTS
    draft_model = RepoDraft
    blocking_verify = True  # sandbox runs take seconds
    answer_tokens = 384

    def __init__(self, index: RepoIndex, sandbox, context: str = "retrieved", context_chars: int = 1200) -> None:
        self.index, self.sandbox = index, sandbox
        self.open_book = context == "retrieved"
        self.max_lines = max(6, context_chars // book.PASSAGES // 25)  # a passage's lines, at ~25 characters each
        self.verifier = check.RepoVerifier(index, sandbox)
        self.revision = index.revision
        # Tests and generated files are not what users ask about.
        code = [s for s in index.symbols if not s.is_test and not is_test_path(s.path) and s.path not in index.generated]
        if index.generated:
            logging.getLogger("domainforge").warning("left out %d generated file(s), which say DO NOT EDIT: %s",
                                                     len(index.generated), ", ".join(sorted(index.generated)[:5]))
        self.by_name = {s.name: s for s in code}
        functions = [s for s in code if s.is_callable]
        holding = len(functions) >= MIN_FUNCTIONS_TO_HOLD_OUT
        self.held_out = {s.name for s in functions if holding and stable_fraction(s.name) < HELD_OUT_SHARE}
        self.pools: dict[bool, dict[str, list[Symbol]]] = {held: {c: [] for c in CATEGORIES} for held in (False, True)}
        for s in code:
            pools = self.pools[s.name in self.held_out]
            tested = bool(index.tests_for(s)) if s.is_callable else False
            if s.is_callable and s.doc and tested:
                pools["implement"].append(s)
                pools["write_test"].append(s)
            if s.doc:
                pools["explain"].append(s)
                pools["repo_qa"].append(s)
            if s.is_callable and index.call_sites(s):
                pools["usage"].append(s)
            if s.is_callable and self._error_lines(s):
                pools["error_handling"].append(s)
        if not any(self.pools[False].values()):
            raise InputError(f"{index.root} has no documented functions or types to write examples about. The repo "
                             "domain needs Go or Python code with doc comments (and tests, to implement functions).")
        self.categories = tuple(c for c in CATEGORIES if self.pools[False][c])
        for category in CATEGORIES:
            if category not in self.categories:
                leave_out(category, f"this repository gives nothing of this kind ({CATEGORIES[category]}: it needs "
                                    f"{NEEDS[category]})")
        self.retriever = CodeRetriever(index, code) if self.open_book else None

    # -- the offline teacher ---------------------------------------------------------

    def _pick(self, category: str, seed: str, held_out: bool = False) -> tuple[Symbol, random.Random]:
        rng = random.Random(seed)
        pool = self.pools[held_out][category] or self.pools[False][category]
        return rng.choice(pool), rng

    def template_draft(self, task: Task, attempt: int) -> dict[str, Any]:
        symbol, rng = self._pick(task.category, f"{task.seed}:{attempt}")
        return self._draft(task.category, symbol, rng)

    def _source(self, symbol: Symbol) -> str:
        return self.index.files[symbol.path][symbol.span[0]:symbol.span[1]].decode(errors="replace")

    def _draft(self, category: str, s: Symbol, rng: random.Random) -> dict[str, Any]:
        lang = s.language
        if category == "implement":
            ask = rng.choice(["Implement `{sig}` in {path}. {doc}", "Write the body of this function from {path}:\n\n{code}\n\n{doc}",
                              "In package {pkg}, implement `{sig}`: {doc}"])
            signature = s.signature.split("\n")[0]
            instruction = ask.format(sig=signature, path=s.path, pkg=s.package, doc=s.doc,
                                     code=fence(signature + (" { ... }" if lang == "go" else ": ..."), lang))
            return {"instruction": instruction, "output": fence(self._definition(s), lang), "symbol": s.name}
        if category == "explain":
            return self._explain(s, rng)
        if category == "usage":
            sites = self.index.call_sites(s)[:3]
            ask = rng.choice(["How is `{n}` used in this repository?", "Show me where `{n}` is called and how.",
                              "Where does the code call `{n}`?"])
            lines = [f"`{s.short}` is defined at `{s.where}` and called in {len(self.index.call_sites(s))} place(s). "
                     "For example:"]
            lines += [f"- `{c.path}:{c.line}`, in {c.caller}: {c.text.replace('`', '')}" for c in sites]
            return {"instruction": ask.format(n=s.name), "output": "\n".join(lines), "symbol": s.name}
        if category == "write_test":
            ask = rng.choice(["Write a test for `{n}` ({path}).", "Add a unit test that checks `{n}`.",
                              "Write a table-driven test for `{n}`." if lang == "go" else "Write tests for `{n}`."])
            return {"instruction": ask.format(n=s.name, path=s.path), "output": fence(self._test_for(s), lang),
                    "symbol": s.name}
        if category == "error_handling":
            ask = rng.choice(["How does `{n}` handle errors?", "What errors can `{n}` report, and when?",
                              "Describe the error handling in `{n}`."])
            lines = [f"`{s.short}` (`{s.where}`) handles errors at these lines:"]
            for number, text in self._error_lines(s)[:4]:
                named = (GO_ERROR.findall(text) if lang == "go" else PY_RAISE.findall(text))
                sentinel = next((n for n in named if not n.startswith(("errors.", "fmt."))), "")
                how = f"returns `{sentinel}`" if lang == "go" and sentinel else f"raises `{sentinel}`" if sentinel else "fails"
                lines.append(f"- `{s.path}:{number}` {how}: {text.strip().replace('`', '')}")
            return {"instruction": ask.format(n=s.name), "output": "\n".join(lines), "symbol": s.name}
        return self._question(s, rng)

    def _explain(self, s: Symbol, rng: random.Random) -> dict[str, Any]:
        if rng.random() < 0.25:  # the package around it
            members = [m for m in self.index.symbols if m.package == s.package and m.doc and not m.is_test
                       and m.name not in self.held_out][:8]
            name = s.package if s.package != "." else self.index.root.name
            lines = [f"Package {name} ({len(members)} documented declarations shown) provides:"]
            lines += [f"- `{m.short}` (`{m.where}`): {lead(m.doc, m.short)}." for m in members]
            return {"instruction": rng.choice([f"What does the package in {s.package} provide?",
                                               f"Explain the {name} package."]), "output": "\n".join(lines),
                    "symbol": s.name}
        internal = [c for c in s.calls if c in {x.short for x in self.index.symbols if not x.is_test} and c != s.short]
        text = f"`{s.short}` (`{s.where}`) {lead(s.doc, s.short)}."
        if s.is_callable:
            text += f" Its signature is {s.signature.splitlines()[0].replace('`', '')}."
        if internal:
            text += " It calls " + ", ".join(f"`{c}`" for c in internal[:4]) + " from this repository."
        ask = rng.choice(["Explain what `{n}` does.", "What is `{n}` for?", "Describe `{n}` in {path}."])
        return {"instruction": ask.format(n=s.name, path=s.path), "output": text, "symbol": s.name}

    def _question(self, s: Symbol, rng: random.Random) -> dict[str, Any]:
        kind = rng.choice(["where", "difference", "which"])
        peers = [p for p in self.pools[s.name in self.held_out]["repo_qa"] if p.kind == s.kind and p.name != s.name]
        if kind == "difference" and peers:
            other = rng.choice(peers)
            return {"instruction": f"What is the difference between `{s.name}` and `{other.name}`?",
                    "output": f"`{s.short}` (`{s.where}`) {lead(s.doc, s.short)}.\n"
                              f"`{other.short}` (`{other.where}`) {lead(other.doc, other.short)}.",
                    "symbol": s.name, "other": other.name}
        if kind == "which" and s.is_callable:
            what = lead(s.doc, s.short)
            return {"instruction": f"Which function {what}?", "output": f"`{s.short}` (`{s.where}`) {what}.",
                    "symbol": s.name}
        return {"instruction": rng.choice([f"Where is `{s.name}` implemented?", f"Where is `{s.name}` defined?"]),
                "output": f"`{s.short}` is a {s.kind} defined at `{s.where}`.", "symbol": s.name}

    def _definition(self, s: Symbol) -> str:
        source = self._source(s)
        return source if not s.indent else "\n".join(
            line.removeprefix(s.indent) for line in source.splitlines())

    def _test_for(self, s: Symbol) -> str:
        """The repository's own test of the function, as a file of its own in the repository's style."""
        return standalone_test(self.index, self.index.tests_for(s)[0])

    def _error_lines(self, s: Symbol) -> list[tuple[int, str]]:
        lines = self.index.text(s.path).splitlines()[s.start - 1:s.end]
        found = []
        for offset, line in enumerate(lines):
            go_error = s.language == "go" and line.strip().startswith("return") and GO_ERROR.search(line)
            if go_error or (s.language == "python" and PY_RAISE.match(line)):
                found.append((s.start + offset, line))
        return found

    def template_critique(self, example: Example) -> dict[str, str]:
        """Deterministic review: the example is about the symbol it names, code
        answers come fenced, prose answers cite lines."""
        name = example.metadata.get("symbol", "")
        text = example.payload["instruction"] + example.payload["output"]
        if name.split(".")[-1] not in text:
            return {"verdict": "disagree", "reason": f"the example never names `{name}`"}
        if example.category in SANDBOXED and "```" not in example.payload["output"]:
            return {"verdict": "disagree", "reason": "the answer has no fenced code block"}
        if example.category not in SANDBOXED and not CITATION.search(example.payload["output"]):
            return {"verdict": "disagree", "reason": "the answer cites no lines of the repository"}
        return {"verdict": "agree", "reason": f"a {example.category} example about `{name}`"}

    # -- an LLM teacher ------------------------------------------------------------

    def generation_messages(self, task: Task, feedback: str) -> list[dict[str, str]]:
        symbol, _ = self._pick(task.category, f"llm:{task.seed}")
        numbered = "\n".join(f"{symbol.start + i}: {line}" for i, line in
                             enumerate(self.index.text(symbol.path).splitlines()[symbol.start - 1:symbol.end]))
        sites = "\n".join(f"{c.path}:{c.line}: {c.text}" for c in self.index.call_sites(symbol)[:5]) or "(none)"
        user = (f"Repository code, {symbol.path} lines {symbol.start}-{symbol.end} ({symbol.language}):\n{numbered}\n\n"
                f"Where it is called:\n{sites}\n\nWrite one training example of category '{task.category}': "
                f"{CATEGORIES[task.category]}. Base it on `{symbol.name}`. Cite code as `path:start-end` with the line "
                f"numbers above; name identifiers in backticks; put code in ```{symbol.language} fences. For implement, "
                "the output is the whole function; for write_test, a complete test file.")
        return [{"role": "system", "content": "You write training data about one code repository. Reply with one JSON "
                                              'object: {"instruction": "...", "output": "..."} and nothing else.'},
                {"role": "user", "content": with_steering(user, task, feedback)}]

    def critique_messages(self, example: Example) -> list[dict[str, str]]:
        return [{"role": "system", "content": "You review training data about a code repository. "
                                              + Critique.instruction()},
                {"role": "user", "content": f"Category: {example.category}\n\nQuestion:\n{example.payload['instruction']}"
                                            f"\n\nAnswer:\n{example.payload['output']}\n\nIs the answer correct and "
                                            "what the question asks for?"}]

    def to_example(self, task: Task, draft: dict[str, Any]) -> Example:
        symbol = self._symbol_for(draft)
        example = self._example(task.category, draft, symbol)
        return self._in_context(example, symbol, task.seed) if self.open_book else example

    def _example(self, category: str, draft: dict[str, Any], symbol: Symbol) -> Example:
        """The example as a closed-book student reads it."""
        meta = {"language": symbol.language, "symbol": symbol.name, "lines": symbol.where, "revision": self.revision}
        if draft.get("other"):
            meta["other"] = draft["other"]
        return Example(self.name, category, "instruction",
                       {"instruction": draft["instruction"].strip(), "input": "", "output": draft["output"].strip()},
                       meta)

    # -- open book -------------------------------------------------------------------

    def _passage(self, symbol: Symbol, whole: bool = False) -> book.Passage:
        return span(self.index, symbol.path, symbol.start, symbol.end, None if whole else self.max_lines)

    def _cited(self, answer: str) -> list[book.Passage]:
        """A passage for each span the answer cites: the declaration that holds it, whole, or the lines around it."""
        found: dict[str, book.Passage] = {}
        for path, start, end in CITATION.findall(answer):
            first, last = int(start), int(end or start)
            if path not in self.index.files:
                continue
            holder = next((s for s in self.index.symbols if s.path == path and s.start <= first and last <= s.end), None)
            passage = self._passage(holder, whole=True) if holder else span(
                self.index, path, max(1, first - AROUND_CALL), last + AROUND_CALL)
            found.setdefault(passage.id, passage)
        return list(found.values())

    def _with_context(self, example: Example, passages: list[book.Passage], answer: str | None = None,
                      withheld: list[str] = ()) -> Example:
        meta = {**example.metadata, "context": [p.id for p in passages]}
        if withheld:
            meta["oracle"] = list(withheld)
        payload = {**example.payload, "input": book.show(passages)}
        if answer is not None:
            payload["output"] = answer
        return Example(self.name, example.category, "instruction", payload, meta)

    def _in_context(self, example: Example, symbol: Symbol, seed: str) -> Example:
        """A training example with the code its student reads (RAFT): what its
        answer cites (an implementation: the function's tests and callers; a
        test: the function) and distractors, none held out; in a share of prose
        examples the distractors alone, and the answer says so."""
        rng = random.Random(f"context:{seed}")
        if example.category == "implement":
            helpful = [span(self.index, t.path, t.start, t.end, self.max_lines) for t in self.index.tests_for(symbol)[:2]]
            helpful += [span(self.index, c.path, max(1, c.line - AROUND_CALL), c.line + AROUND_CALL)
                        for c in self.index.call_sites(symbol)[:1]]
        elif example.category == "write_test":
            helpful = [self._passage(symbol, whole=True)]
        else:
            helpful = self._cited(example.payload["output"])
        drop = example.category not in SANDBOXED and rng.random() < book.MISSING_ORACLE_SHARE
        shown = {p.id: p for p in helpful}
        # what a distractor must not be: held out, asked about, or holding lines of it or of what the answer cites
        barred = self.held_out | {symbol.name, example.metadata.get("other", "")} | {
            s.name for s in self.retriever.symbols if any(overlaps(s.where, pid) for pid in [*shown, symbol.where])}
        near = [s.name for s in self.retriever.retrieve(f"{symbol.name} {symbol.doc}", 3 * book.PASSAGES, barred)]
        pool = [s.name for s in self.retriever.symbols if s.name not in barred]
        ids = book.assemble(list(shown), near, pool, rng, drop_oracle=drop)
        passages = [shown[i] if i in shown else self._passage(self.by_name[i]) for i in ids]
        if drop:
            return self._with_context(example, passages, NOT_IN_CONTEXT, [p.id for p in helpful])
        return self._with_context(example, passages)

    def _retrieved(self, item: Example, leave_out_oracle: bool = False) -> Example:
        """An evaluation item with BM25's best declarations over the whole repository,
        held-out ones included (never, for an implementation, the function itself);
        `leave_out_oracle`: without the declaration asked about."""
        symbol = self.by_name[item.metadata["symbol"]]
        hidden = leave_out_oracle or item.category == "implement"
        exclude = {s.name for s in self.retriever.symbols if overlaps(s.where, symbol.where)} if hidden else set()
        found = self.retriever.retrieve(item.payload["instruction"], book.PASSAGES, exclude=exclude)
        passages = [self._passage(s) for s in found]
        if leave_out_oracle:
            return self._with_context(item, passages, NOT_IN_CONTEXT, [symbol.where])
        return self._with_context(item, passages)

    def closed_book(self, item: Example) -> Example | None:
        if "context" not in item.metadata or item.metadata.get("oracle"):
            return None
        return Example(self.name, item.category, "instruction", {**item.payload, "input": ""},
                       {k: v for k, v in item.metadata.items() if k != "context"})

    def ask(self, question: str) -> Example:
        """A user's question with the declarations BM25 finds for it (open book)."""
        asked = Example(self.name, "asked", "instruction", {"instruction": question, "input": "", "output": ""},
                        {"revision": self.revision})
        if not self.open_book:
            return asked
        return self._with_context(asked, [self._passage(s) for s in self.retriever.retrieve(question, book.PASSAGES)])

    def check_answer(self, item: Example, answer: str) -> list[Check]:
        """Each citation inside the context or not; the cited spans exist and hold what
        the answer names; a refusal is one check."""
        cited = self._citations(answer)
        if REFUSAL.search(answer) and not cited:
            return [Check("refusal", True, "the student says the code shown does not answer the question")]
        shown = book.read(item.payload["input"])
        checks = book.each_citation_in_context(cited, lambda c: any(covers(p, c) for p in shown),
                                               lambda c: f"`{c}`") if "context" in item.metadata else []
        return checks + check.check_grounding(self.index, answer, self.revision)

    @staticmethod
    def _citations(answer: str) -> list[str]:
        return [f"{p}:{a}" + (f"-{b}" if b else "") for p, a, b in CITATION.findall(answer)]

    def _symbol_for(self, draft: dict[str, Any]) -> Symbol:
        """The template says which symbol it used; for an LLM's draft, the longest one it names."""
        if draft.get("symbol") in self.by_name:
            return self.by_name[draft["symbol"]]
        text = draft["instruction"] + "\n" + draft["output"]
        named = [s for s in self.by_name.values() if f"`{s.name}`" in text or f"{s.short}(" in text]
        return max(named, key=lambda s: len(s.name)) if named else next(iter(self.by_name.values()))

    # -- verification and scoring ------------------------------------------------------

    def verify(self, example: Example) -> list[Check]:
        symbol = self.by_name.get(example.metadata.get("symbol", ""))
        if symbol is None:
            return [Check("symbol_exists", False, f"no {example.metadata.get('symbol')!r} in {self.index.root}",
                          "unknown_symbol")]
        output = example.payload["output"]
        if example.metadata.get("oracle"):
            return self._check_withheld(example)
        within = []
        if "context" in example.metadata and example.category not in SANDBOXED:
            within = [book.check_within_context(self._citations(output), book.read(example.payload["input"]), covers)]
        if example.category == "implement":
            return self.verifier.verify_implementation(symbol, code_of(output))
        if example.category == "write_test":
            return self.verifier.verify_tests(symbol, code_of(output))
        checks = check.check_grounding(self.index, output, example.metadata.get("revision", self.revision))
        return checks + check.check_snippets(output, symbol.language) + within

    def teaches_refusal(self, example: Example) -> bool:
        return self._unanswerable(example)

    @staticmethod
    def _unanswerable(example: Example) -> bool:
        """Whether the context lacks what the question is about: left out on purpose, or
        retrieval missed it (a held-out prose question); the right answer then says so."""
        meta = example.metadata
        return bool(meta.get("oracle")) or ("context" in meta and example.category not in SANDBOXED
                                             and not any(overlaps(c, meta["lines"]) for c in meta["context"]))

    def _check_withheld(self, example: Example) -> list[Check]:
        """An answer to a question whose code was left out of its context: it says
        so and cites nothing, and no passage shown overlaps the code left out."""
        output = example.payload["output"]
        refuses = bool(REFUSAL.search(output)) and not CITATION.search(output)
        checks = [Check("refuses", True, "the answer says the code shown does not include it") if refuses else
                  Check("refuses", False, "the context lacks the code that answers the question, but the answer does "
                        "not say so", "answered_without_source")]
        shown = book.read(example.payload["input"])
        overlapping = [f"{p.id} overlaps {o}" for o in example.metadata["oracle"] for p in shown
                       if overlaps(p.id, o)]
        checks.append(Check("not_in_context", False, "; ".join(overlapping), "covered_by_context") if overlapping else
                      Check("not_in_context", True, f"no passage shown overlaps {', '.join(example.metadata['oracle'])}"))
        return checks

    def heldout_items(self) -> list[Example] | None:
        """Items about held-out functions only, each verified; None when the
        repository is too small to hold functions out (the cycle then makes them)."""
        if not self.held_out:
            return None
        items: dict[str, Example] = {}
        for category in self.categories:
            for k in range(3 if category in SANDBOXED else 8):
                if not self.pools[True][category]:
                    break
                symbol, rng = self._pick(category, f"heldout:{category}:{k}", held_out=True)
                draft = self._draft(category, symbol, rng)
                example = self._example(category, draft, symbol)
                if example.payload["instruction"] not in items and all(c.passed for c in self.verify(example)):
                    items[example.payload["instruction"]] = example
        if not self.open_book:
            return list(items.values())
        # A share of the prose questions is asked without the code they are about: the right answer then says so.
        return [self._retrieved(item, item.category not in SANDBOXED and stable_fraction(item.id) < book.MISSING_ORACLE_SHARE)
                for item in items.values()]

    def score_answer(self, example: Example, answer: str) -> Check:
        """Implementations: the repository's tests pass with the answer in place.
        Tests: they pass on the code and catch a stub and a mutant. Prose: every
        check on citations and identifiers passes, and it cites the lines that hold
        what was asked about."""
        if self._unanswerable(example):
            refused = bool(REFUSAL.search(answer)) and not CITATION.search(answer)
            return Check("refuses", refused, "refuses, as it should" if refused else "the context lacks the code that "
                         "answers this, but the answer does not say so", "" if refused else "answered_without_source")
        checks = self.verify(Example(self.name, example.category, "instruction",
                                     {**example.payload, "output": answer}, example.metadata))
        failed = [c for c in checks if not c.passed]
        if failed:
            return failed[0]
        if example.category not in SANDBOXED and not self._cites_reference(example, answer):
            return Check("cites_reference", False, f"the answer does not cite {example.metadata['lines']}",
                         "wrong_citation")
        return Check("correct", True, checks[-1].detail if checks else "")

    def _cites_reference(self, example: Example, answer: str) -> bool:
        path, lines = example.metadata["lines"].split(":")
        first, last = (int(n) for n in lines.split("-"))
        return any(p == path and int(a) <= last and int(b or a) >= first for p, a, b in CITATION.findall(answer))

    def answer_measures(self, example: Example, answer: str) -> dict[str, float]:
        """Prose: whether the answer cites the reference lines and names only what exists;
        open book, whether retrieval brought the reference, and whether a question whose
        code was left out is refused."""
        if example.category in SANDBOXED:
            return {}
        retrieved = {} if "context" not in example.metadata or example.metadata.get("oracle") else {
            "retrieval_recall": float(any(overlaps(c, example.metadata["lines"]) for c in example.metadata["context"]))}
        if self._unanswerable(example):
            return retrieved | {"refusal_correct": float(self.score_answer(example, answer).passed)}
        named = check.named_identifiers(answer)
        known = self.index.identifiers
        return retrieved | {"cites_reference": float(self._cites_reference(example, answer)),
                            "identifiers_grounded": sum(n.split(".")[-1] in known for n in named) / len(named)
                            if named else 0.0}

    def close(self) -> None:
        self.sandbox.close()


def open_domain(sources: dict[str, str]) -> RepoDomain:
    from agents.domains.repo.index import index_repository
    from sandbox import Limits

    index = index_repository(Path(sources["repo"]))
    # Go builds run several compiler processes and threads: more memory and pids than a lone Python test.
    sandbox = open_sandbox_for(sources, limits=Limits(timeout_s=120, memory_mb=1024, pids=256))
    try:
        return RepoDomain(index, sandbox, sources.get("context", "retrieved"), context_chars(sources))
    except InputError:
        sandbox.close()
        raise
