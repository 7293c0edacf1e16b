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
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.domains.base import Critique, Domain, Task, open_sandbox_for, with_steering
from agents.domains.repo import verify as check
from evaluators.execution import code_of
from agents.domains.repo.index import CITATION, RepoIndex, Symbol, is_test_path
from agents.domains.repo.unit_tests import standalone_test
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
HELD_OUT_SHARE = 0.2
MIN_FUNCTIONS_TO_HOLD_OUT = 20
GO_ERROR = re.compile(r"\b(Err\w+|errors\.New|fmt\.Errorf)\b")
PY_RAISE = re.compile(r"^\s*raise (\w+)")


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

    def __init__(self, index: RepoIndex, sandbox) -> None:
        self.index, self.sandbox = index, sandbox
        self.verifier = check.RepoVerifier(index, sandbox)
        self.revision = index.revision
        code = [s for s in index.symbols if not s.is_test and not is_test_path(s.path)]  # tests are not what users ask about
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
        meta = {"language": symbol.language, "symbol": symbol.name, "lines": symbol.where, "revision": self.revision}
        if draft.get("other"):
            meta["other"] = draft["other"]
        return Example(self.name, task.category, "instruction",
                       {"instruction": draft["instruction"].strip(), "input": "", "output": draft["output"].strip()}, meta)

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
        if example.category == "implement":
            return self.verifier.verify_implementation(symbol, code_of(output))
        if example.category == "write_test":
            return self.verifier.verify_tests(symbol, code_of(output))
        checks = check.check_grounding(self.index, output, example.metadata.get("revision", self.revision))
        return checks + check.check_snippets(output, symbol.language)

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
                example = self.to_example(Task(0, category, ""), draft)
                if example.payload["instruction"] not in items and all(c.passed for c in self.verify(example)):
                    items[example.payload["instruction"]] = example
        return list(items.values())

    def score_answer(self, example: Example, answer: str) -> Check:
        """Implementations: the repository's tests pass with the answer in place.
        Tests: they pass on the code and catch a stub and a mutant. Prose: every
        check on citations and identifiers passes, and it cites the lines that hold
        what was asked about."""
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
        if example.category in SANDBOXED:
            return {}
        named = check.named_identifiers(answer)
        known = self.index.identifiers
        return {"cites_reference": float(self._cites_reference(example, answer)),
                "identifiers_grounded": sum(n.split(".")[-1] in known for n in named) / len(named) if named else 0.0}

    def close(self) -> None:
        self.sandbox.close()


def open_domain(sources: dict[str, str]) -> RepoDomain:
    from agents.domains.repo.index import index_repository
    from sandbox import Limits

    index = index_repository(Path(sources["repo"]))
    # Go builds run several compiler processes and threads: more memory and pids than a lone Python test.
    sandbox = open_sandbox_for(sources, limits=Limits(timeout_s=120, memory_mb=1024, pids=256))
    try:
        return RepoDomain(index, sandbox)
    except InputError:
        sandbox.close()
        raise
