"""The agentic coding domain (Python first): write, fix, explain and test real
functions from a repository the user points to.

Functions with a docstring and doctest examples are extracted with `ast`; the
examples become pytest tests, so every category can be verified by running
code in the sandbox. Categories follow the seed's mix: generation 40%, bug
fixing 30%, explanation 20%, test generation 10%.
"""

from __future__ import annotations

import ast
import builtins
import doctest
import random
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.domains.base import Critique, Domain, EvalFile, Task, open_sandbox_for, with_steering
from agents.domains.coding import verify
from evaluators import execution
from evaluators.mutation import mutants
from evaluators.python_ast import parse_python
from forge.errors import InputError
from forge.records import Check, Example
from forge.rows import read_rows

CATEGORIES = {
    "generation": "write a function from its specification",
    "bug_fixing": "find and fix the bug in a function",
    "explanation": "explain what a function does",
    "test_generation": "write pytest tests for a function",
}
WEIGHTS = {"generation": 0.4, "bug_fixing": 0.3, "explanation": 0.2, "test_generation": 0.1}


class CodingDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instruction: str = Field(min_length=10, max_length=4000, description="The task, with any code it refers to in ```python fences.")
    output: str = Field(min_length=1, max_length=6000, description="The answer; code in ```python fences.")


@dataclass(frozen=True)
class Function:
    """One documented function of the repository, ready to run on its own."""

    name: str
    path: str
    source: str  # the module's imports and the function
    signature: str
    summary: str
    examples: tuple[tuple[str, str], ...]  # (expression, expected repr) from the docstring

    @property
    def tests(self) -> str:
        body = "\n".join(f"    assert {_operand(expr)} == {want}" for expr, want in self.examples)
        return f"def test_{self.name}():\n{body}\n"

    @property
    def without_docstring(self) -> str:
        tree = parse_python(self.source)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and ast.get_docstring(node):
                node.body = node.body[1:] or [ast.Pass()]
        return ast.unparse(tree) + "\n"


def _operand(expr: str) -> str:
    """`f(x) is None` must be parenthesised before `== True`, or Python chains the comparisons."""
    node = parse_python(expr, mode="eval").body
    return f"({expr})" if isinstance(node, (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.IfExp, ast.Lambda)) else expr


def doctest_asserts(docstring: str) -> tuple[tuple[str, str], ...]:
    """(expression, expected) of each doctest example an `assert expression == expected` checks: one line
    that is an expression, with a value shown that is one too. `print(x)` compares `str(x)` with the
    text shown. Others are left out: assignments, statements, exceptions, ELLIPSIS and other directives."""
    found = []
    for example in doctest.DocTestParser().get_examples(docstring):
        source, want = example.source.strip(), example.want.strip()
        if not want or example.exc_msg is not None or example.options:
            continue
        try:
            call = parse_python(source, mode="eval").body
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print"
                    and len(call.args) == 1 and not call.keywords):
                source, want = f"str({ast.unparse(call.args[0])})", repr(want)
            parse_python(want, mode="eval")
        except SyntaxError:
            continue
        found.append((source, want))
    return tuple(found)


def extract_functions(repo: Path) -> list[Function]:
    """Module-level functions with a docstring and at least one doctest example."""
    found = []
    for path in sorted(repo.rglob("*.py")):
        if any(part.startswith(".") or part in ("tests", "test", "venv", ".venv") for part in path.parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
            tree = parse_python(text)
        except (SyntaxError, UnicodeDecodeError):
            continue
        imports = [ast.get_source_segment(text, n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        module_names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        for node in tree.body:
            docstring = ast.get_docstring(node) if isinstance(node, ast.FunctionDef) else None
            if not docstring:
                continue
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            if (used & module_names) - {node.name}:
                continue  # needs other code of its module: not runnable on its own
            examples = doctest_asserts(docstring)
            if not examples:
                continue
            source = "\n".join(imports + [ast.get_source_segment(text, node)]) + "\n"
            signature = f"{node.name}({ast.unparse(node.args)})"
            summary = docstring.split("\n\n")[0].replace("\n", " ").strip()
            found.append(Function(node.name, str(path.relative_to(repo)), source, signature, summary, examples))
    return found


def fence(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"


class PublishedTask(BaseModel):
    """A row of a published benchmark, as published: HumanEval (prompt, test,
    entry_point, canonical_solution) or MBPP (text or prompt, code, test_list,
    test_setup_code, test_imports). Their other fields are ignored."""

    model_config = ConfigDict(extra="ignore")
    task_id: str | int
    prompt: str | None = None
    entry_point: str | None = None
    test: str | None = None
    canonical_solution: str = ""
    text: str | None = None
    code: str | None = None
    test_list: list[str] | None = None
    test_setup_code: str = ""
    test_imports: list[str] = []

    @model_validator(mode="after")
    def one_format(self) -> PublishedTask:
        if self.test_list is not None:
            if not (self.text or self.prompt) or not self.code or not self.test_list:
                raise ValueError("an MBPP task needs text (or prompt), code and a non-empty test_list")
        elif not (self.prompt and self.test and self.entry_point):
            raise ValueError("a task needs HumanEval's prompt, test and entry_point, or MBPP's text, code and test_list")
        return self

    def entry(self) -> str:
        """The function the tests call: HumanEval names it; for MBPP, the first call in the first test."""
        if self.entry_point:
            return self.entry_point
        calls = [n.func.id for n in ast.walk(parse_python(self.test_list[0])) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Name) and n.func.id not in dir(builtins)]
        return calls[0] if calls else ""

    def to_example(self) -> Example:
        name = self.entry()
        if self.test_list is None:  # HumanEval: complete the function the prompt begins
            instruction = f"Complete this Python function.\n\n{fence(self.prompt)}"
            reference, tests = self.prompt + self.canonical_solution, f"{self.test}\n\ncheck({name})"
            imports = "\n".join(line for line in self.prompt.splitlines() if line.startswith(("import ", "from ")))
        else:  # MBPP's own prompt: the task and the tests the code must pass
            instruction = f"{self.text or self.prompt}\nYour code should pass these tests:\n\n{fence(chr(10).join(self.test_list))}"
            reference = self.code
            tests = "\n".join([*self.test_imports, self.test_setup_code, *self.test_list])
            imports = "\n".join(self.test_imports)
        return Example("coding", "generation", "instruction", {"instruction": instruction, "input": "", "output": fence(reference)},
                       {"language": "python", "entry_point": name, "task_id": str(self.task_id),
                        "published_tests": tests, "prompt_code": self.prompt if self.test_list is None else "",
                        "imports": imports})


class CodingDomain(Domain):
    name = "coding"
    metric = "pass@1"
    categories = tuple(CATEGORIES)
    default_weights = WEIGHTS
    draft_model = CodingDraft
    blocking_verify = True  # sandbox runs take tens of milliseconds: verify off the event loop
    answer_tokens = 384  # a whole function

    def __init__(self, repo: Path, sandbox, language: str = "python") -> None:
        if language not in execution.TOOLCHAINS:
            raise InputError(f"language {language!r} is not supported yet: choose one of {', '.join(execution.TOOLCHAINS)}")
        self.functions = extract_functions(repo)
        if not self.functions:
            raise InputError(f"no usable function in {repo}: the coding domain needs module-level functions whose "
                             "docstrings have doctest examples (>>> call / expected result)")
        self.by_name = {f.name: f for f in self.functions}
        self.repo, self.sandbox, self.language = repo, sandbox, language

    # -- templates -----------------------------------------------------------

    def template_draft(self, task: Task, attempt: int) -> dict[str, str]:
        rng = random.Random(f"{task.seed}:{attempt}")
        function = rng.choice(self.functions)
        draft = self._template_text(task.category, function, rng)
        return {**draft, "entry_point": function.name}

    def _template_text(self, category: str, function: Function, rng: random.Random) -> dict[str, str]:
        examples = "\n".join(f">>> {e}\n{w}" for e, w in function.examples)
        if category == "generation":
            ask = rng.choice(["Write a Python function `{sig}`: {summary}",
                              "Implement `{sig}` in Python. {summary}",
                              "Complete this task in Python. {summary} The function is `{sig}`."])
            instruction = ask.format(sig=function.signature, summary=function.summary)
            if rng.random() < 0.7:
                instruction += f"\n\nExamples:\n{fence(examples)}"
            return {"instruction": instruction, "output": fence(function.source)}
        if category == "bug_fixing":
            mutant = rng.choice(mutants(function.source, function.name))
            ask = rng.choice(["This function should do the following: {summary} It has a bug. Fix it.",
                              "Find and fix the bug. Expected behaviour: {summary}",
                              "The code below is wrong. {summary} Return the corrected function."])
            return {"instruction": ask.format(summary=function.summary) + "\n\n" + fence(mutant.source),
                    "output": fence(function.source)}
        if category == "explanation":
            ask = rng.choice(["Explain what this Python function does.", "What does this code do?",
                              "Describe the behaviour of this function, with an example."])
            expr, want = rng.choice(function.examples)
            answer = (f"`{function.name}` does the following: {function.summary[0].lower()}{function.summary[1:]}\n\n"
                      f"For example, `{expr}` gives `{want}`:\n\n{fence(f'{expr}  # {want}')}")
            return {"instruction": f"{ask}\n\n{fence(function.without_docstring)}", "output": answer}
        ask = rng.choice(["Write pytest tests for this function.", "Add unit tests (pytest) for the code below.",
                          "Write tests that check this function's behaviour."])
        return {"instruction": f"{ask}\n\n{fence(function.source)}", "output": fence(function.tests)}

    def generation_messages(self, task: Task, feedback: str) -> list[dict[str, str]]:
        function = random.Random(task.seed).choice(self.functions)
        user = (f"Source function (from {function.path}):\n{fence(function.source)}\n\n"
                f"Write one training example of category '{task.category}': {CATEGORIES[task.category]}. "
                f"Base it on `{function.name}`. Put all code in ```python fences. For bug_fixing, the instruction "
                "shows a buggy version and the output the corrected function; for test_generation the output is "
                f"pytest functions named test_*; for generation the output defines `{function.name}`.")
        return [{"role": "system", "content": "You write training data for a coding assistant. Reply with one JSON "
                                              'object: {"instruction": "...", "output": "..."} and nothing else.'},
                {"role": "user", "content": with_steering(user, task, feedback)}]

    def _function_for(self, draft: dict[str, str]) -> Function:
        """The template says which function it used; for an LLM's draft, the one it names."""
        if draft.get("entry_point") in self.by_name:
            return self.by_name[draft["entry_point"]]
        text = draft["instruction"] + "\n" + draft["output"]
        named = [f for f in self.functions if f"{f.name}(" in text or f"`{f.name}`" in text]
        return max(named, key=lambda f: len(f.name)) if named else self.functions[0]

    def to_example(self, task: Task, draft: dict[str, str]) -> Example:
        function = self._function_for(draft)
        return Example(self.name, task.category, "instruction",
                       {"instruction": draft["instruction"].strip(), "input": "", "output": draft["output"].strip()},
                       {"language": self.language, "entry_point": function.name, "source": function.path})

    def critique_messages(self, example: Example) -> list[dict[str, str]]:
        return [{"role": "system", "content": "You review coding training data. " + Critique.instruction()},
                {"role": "user", "content": f"Category: {example.category}\n\nInstruction:\n{example.payload['instruction']}\n\n"
                                            f"Answer:\n{example.payload['output']}\n\nIs the answer correct, complete "
                                            "and what the instruction asks for?"}]

    def template_critique(self, example: Example) -> dict[str, str]:
        """Deterministic review: the answer is about the function it names, and
        code answers come in a fenced block."""
        name = example.metadata.get("entry_point", "")
        text = example.payload["instruction"] + example.payload["output"]
        if name not in text:
            return {"verdict": "disagree", "reason": f"the example never names `{name}`"}
        if example.category != "explanation" and not execution.code_blocks(example.payload["output"]):
            return {"verdict": "disagree", "reason": "the answer has no fenced code block"}
        return {"verdict": "agree", "reason": f"a {example.category} example about `{name}`"}

    # -- verification and scoring --------------------------------------------

    def verify(self, example: Example) -> list[Check]:
        function = self.by_name.get(example.metadata.get("entry_point", ""))
        if function is None:
            return [Check("entry_point", False, f"no function {example.metadata.get('entry_point')!r} in {self.repo}",
                          "missing_entry_point")]
        instruction, output = example.payload["instruction"], example.payload["output"]
        if example.category == "generation":
            return execution.verify_implementation(self.sandbox, execution.code_of(output), function.tests, function.name)
        if example.category == "bug_fixing":
            blocks = execution.code_blocks(instruction)
            if not blocks:
                return [Check("buggy_code_shown", False, "the instruction shows no code to fix", "no_code")]
            return verify.verify_bug_fix(self.sandbox, blocks[-1], execution.code_of(output), function.tests, function.name)
        if example.category == "test_generation":
            return execution.verify_tests(self.sandbox, execution.code_of(output), function.source, function.name)
        return verify.verify_compiles(self.sandbox, execution.code_blocks(instruction) + execution.code_blocks(output))

    def load_eval(self, path: Path, limit: int | None = None) -> EvalFile:
        """HumanEval- or MBPP-format files as they are published. A task whose
        reference solution fails its own tests (in the sandbox) is skipped."""
        read = read_rows(path, PublishedTask, "a HumanEval task (task_id, prompt, test, entry_point) or an MBPP task "
                                              "(task_id, text, code, test_list)")
        loaded = EvalFile(path, failing="fail their own tests", ignored_fields=read.ignored)
        # One at a time: scoring parses with Python 3.11's ast, which is not safe in threads
        # ("AST constructor recursion depth mismatch").
        for line, task in read.rows[:limit]:
            item = task.to_example()
            check = self._reference_passes(item)
            if check is not None and not check.passed:
                loaded.skipped.append((f"{path}:{line}", f"{task.task_id}: the reference solution fails its tests: "
                                                         f"{check.detail[-200:]}"))
            else:
                loaded.items.append(item)
        return loaded

    def _reference_passes(self, item: Example) -> Check | None:
        """The published reference, scored as an answer would be; None for a task published without one."""
        if execution.code_of(item.payload["output"]).strip() == item.metadata["prompt_code"].strip():
            return None
        return self.score_answer(item, item.payload["output"])

    def score_answer(self, example: Example, answer: str) -> Check:
        """pass@1: the student's code passes the function's tests (for test generation:
        its tests pass and kill a mutant; for explanations: its code compiles). A
        published task runs its own tests; an answer that only continues a
        HumanEval prompt is run after that prompt."""
        meta = example.metadata
        if "published_tests" in meta:
            code = execution.code_of(answer)
            program = (f"{meta['imports']}\n{code}" if execution.defines(code, meta["entry_point"]) or not meta["prompt_code"]
                       else meta["prompt_code"] + code)
            return verify.passes_published_tests(self.sandbox, program, meta["published_tests"])
        function = self.by_name[meta["entry_point"]]
        if example.category in ("generation", "bug_fixing"):
            checks = execution.verify_implementation(self.sandbox, execution.code_of(answer), function.tests, function.name)[:1]
        elif example.category == "test_generation":
            checks = execution.verify_tests(self.sandbox, execution.code_of(answer), function.source, function.name)
        else:
            checks = verify.verify_compiles(self.sandbox, execution.code_blocks(answer))
        failed = [c for c in checks if not c.passed]
        return failed[0] if failed else Check("pass_at_1", True, checks[-1].detail)

    def close(self) -> None:
        self.sandbox.close()


def open_domain(sources: dict[str, str]) -> CodingDomain:
    repo = Path(sources["repo"])
    if not repo.is_dir():
        raise InputError(f"--repo {repo} is not a directory. Point it at a Python repository.")
    sandbox = open_sandbox_for(sources)
    try:
        return CodingDomain(repo, sandbox)
    except InputError:
        sandbox.close()
        raise
