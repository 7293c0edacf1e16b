"""A user's own domain, defined by a YAML file (definition.py):
no code of ours names it.

The offline teacher renders the file's Jinja2 templates with values drawn from
its variables (or, for a category without templates, uses its seed examples);
an LLM teacher gets the category's instructions and seed examples as few-shot.
Every example is checked by the checks the file declares (verify.py),
and a `judge` check is graded by the critic against the file's rubric.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field

from agents.domains.base import Critique, Domain, EvalFile, Task, with_steering
from agents.domains.config.definition import JudgeCheck, LoadedDomain, Seed
from agents.domains.config import verify as checks
from forge.export import example_row
from forge.records import Check, Example
from forge.rows import read_rows

METRICS = {"exact": "exact match", "normalised": "normalised match", "regex": "regex match",
           "python": "pass rate", "judge": "judge pass rate"}


class ConfigDraft(BaseModel):
    """What a teacher returns for one example."""

    model_config = ConfigDict(extra="forbid")
    instruction: str = Field(min_length=1, max_length=4000, description="What the user asks.")
    output: str = Field(min_length=1, max_length=6000, description="The answer the model should learn.")


class Grade(BaseModel):
    """What a judge returns: a score against the rubric."""

    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=1, le=10, description="1: fails the rubric; 10: meets all of it.")
    reason: str = Field(max_length=400, description="One or two sentences on why.")


def grading_messages(rubric: str, example: Example, answer: str | None = None) -> list[dict[str, str]]:
    """The judge's chat: the rubric and the example, or (when scoring a
    student) the question, the reference answer and the student's answer."""
    question = checks.target_text(example, "instruction")
    reference = checks.last_answer(example)
    shown = (f"Question:\n{question}\n\nAnswer to grade:\n{reference}" if answer is None else
             f"Question:\n{question}\n\nReference answer:\n{reference}\n\nAnswer to grade:\n{answer}")
    return [{"role": "system", "content": "You grade answers against a rubric. Reply with one JSON object: "
                                          '{"score": 1-10, "reason": "..."} and nothing else.'},
            {"role": "user", "content": f"Rubric:\n{rubric}\n\n{shown}"}]


class ConfigDomain(Domain):
    draft_model = ConfigDraft

    def __init__(self, loaded: LoadedDomain, sandbox=None,
                 grader: Callable[[Example, str], tuple[float, str]] | None = None) -> None:
        spec = self.spec = loaded.spec
        self.loaded, self.sandbox, self.grader = loaded, sandbox, grader
        self.name, self.description = spec.name, spec.description
        self.categories = tuple(spec.categories)
        self.default_weights = {name: category.weight for name, category in spec.categories.items()}
        self.metric = METRICS[spec.evaluation.scoring.type]
        self.judge = next((c for c in spec.checks if isinstance(c, JudgeCheck)), None)
        self.critique_model = Grade if self.judge else Critique
        self.needs_llm_critic = self.judge is not None
        self.blocking_verify = sandbox is not None  # sandbox runs block: off the event loop

    # -- the offline teacher and critic ---------------------------------------

    def _seeds(self, category: str) -> list[Seed]:
        return [s for s in self.loaded.seeds if s.category in (category, None)]

    def template_draft(self, task: Task, attempt: int) -> dict[str, Any]:
        rng = random.Random(f"{task.seed}:{attempt}")
        templates = self.loaded.templates.get(task.category)
        if not templates:
            seed = rng.choice(self._seeds(task.category))
            return {"instruction": seed.instruction, "input": seed.input, "output": seed.output}
        index = rng.randrange(len(templates))
        asked, answered = self.loaded.references[task.category][index]
        names = sorted({ref.partition(".")[0] for ref in asked | answered})
        values = {name: self.loaded.variables[name](rng) for name in names}
        instruction, input_, output = (template.render(**values) for template in templates[index])
        used = {ref: _lookup(values, ref) for ref in sorted(answered)}
        return {"instruction": instruction, "input": input_, "output": output,
                "values": {ref: str(v) for ref, v in used.items() if not isinstance(v, dict)}}

    def template_critique(self, example: Example) -> dict[str, str]:
        """A deterministic critic: every value the answer was built from must be
        named in the question, or the question does not say what is asked."""
        values = example.metadata.get("values") or {}
        question = checks.target_text(example, "instruction").casefold()
        missing = [f"{ref}={value!r}" for ref, value in values.items() if value.casefold() not in question]
        if missing:
            return {"verdict": "disagree", "reason": f"the answer uses {', '.join(missing)}, which the question never mentions"}
        if values:
            return {"verdict": "agree", "reason": "the question names every value the answer uses"}
        return {"verdict": "agree", "reason": "a seed example from the domain file"}

    # -- LLM teachers ------------------------------------------------------------

    def generation_messages(self, task: Task, feedback: str) -> list[dict[str, str]]:
        rng = random.Random(task.seed)
        pool = self._seeds(task.category) or self.loaded.seeds
        shots = "\n".join(json.dumps({"instruction": s.instruction + (f"\n\n{s.input}" if s.input else ""),
                                      "output": s.output}, ensure_ascii=False)
                          for s in rng.sample(pool, min(3, len(pool))))
        instructions = self.spec.categories[task.category].instructions
        system = (f"You write training data for a specialist model: {self.description}."
                  + (f"\nThe model answers under this system prompt: {self.spec.system_prompt}" if self.spec.system_prompt else "")
                  + '\nReply with one JSON object: {"instruction": "...", "output": "..."} and nothing else.')
        user = (f"Write one new example of category '{task.category}'" + (f": {instructions}" if instructions else ".")
                + f"\n\nExamples from the domain's seed set:\n{shots}\n\nWrite a different one; do not copy these.")
        return [{"role": "system", "content": system}, {"role": "user", "content": with_steering(user, task, feedback)}]

    def critique_messages(self, example: Example) -> list[dict[str, str]]:
        if self.judge:
            return grading_messages(self.judge.rubric, example)
        return [{"role": "system", "content": "You review training data. " + Critique.instruction()},
                {"role": "user", "content": f"Domain: {self.description}\n"
                                            + "\n".join(f"{role}: {text}" for role, text in example.turns())
                                            + "\n\nIs the answer correct and complete for the question?"}]

    def critique_check(self, critic: str, reply: dict[str, Any]) -> Check:
        if not self.judge:
            return super().critique_check(critic, reply)
        name = self.judge.name or "judge"
        passed = reply["score"] >= self.judge.threshold
        detail = f"{critic}: score {reply['score']}/10 (threshold {self.judge.threshold:g}): {reply['reason']}"
        return Check(name, passed, detail, "" if passed else (self.judge.reason or "judge_below_threshold"))

    def to_example(self, task: Task, draft: dict[str, Any]) -> Example:
        return self._example(task.category, draft["instruction"], draft.get("input", ""), draft["output"],
                             draft.get("values"))

    def _example(self, category: str, instruction: str, input_: str, output: str,
                 values: dict[str, str] | None = None) -> Example:
        metadata: dict[str, Any] = {"values": values} if values else {}
        instruction, input_, output = instruction.strip(), input_.strip(), output.strip()
        if self.spec.format == "chat":
            system = [{"role": "system", "content": self.spec.system_prompt}] if self.spec.system_prompt else []
            user = instruction + (f"\n\n{input_}" if input_ else "")
            turns = system + [{"role": "user", "content": user}, {"role": "assistant", "content": output}]
            return Example(self.name, category, "messages", {"messages": turns}, metadata)
        if self.spec.system_prompt:
            metadata["system"] = self.spec.system_prompt
        return Example(self.name, category, "instruction", {"instruction": instruction, "input": input_, "output": output},
                       metadata)

    # -- verification ------------------------------------------------------------

    def verify(self, example: Example) -> list[Check]:
        """The file's checks in its order; a judge check is the critic's (critique_check)."""
        results = []
        for i, check in enumerate(self.spec.checks):
            if check.type == "judge":
                continue
            text = checks.target_text(example, check.target)
            if check.type == "regex":
                passed, detail = checks.check_regex(text, check.must_match, check.must_not_match)
            elif check.type == "length":
                passed, detail = checks.check_length(text, check.min_chars, check.max_chars, check.min_words, check.max_words)
            elif check.type == "json_schema":
                passed, detail = checks.check_json_schema(text, self.loaded.schemas[i])
            elif check.type == "python":
                passed, detail = checks.check_python(self.loaded.functions[check.function], example_row(example))
            else:
                passed, detail = checks.check_in_sandbox(text, self.sandbox, check.file, check.command, check.code == "whole")
            name = check.name or f"{check.type}_{i + 1}"
            results.append(Check(name, passed, detail, "" if passed else (check.reason or name)))
        return results

    # -- evaluation --------------------------------------------------------------

    def heldout_items(self) -> list[Example] | None:
        if self.loaded.heldout is None:
            return None
        return [self._example(row.category or self.categories[0], row.instruction, row.input, row.output)
                for row in self.loaded.heldout]

    def load_eval(self, path: Path, limit: int | None = None) -> EvalFile:
        """{instruction, input?, output, category?} rows, like the file's own held-out set. A row
        of a category the domain lacks, or whose reference answer fails the domain's own
        scoring, is skipped (a judge's scoring is not tried on references: a call per row)."""
        read = read_rows(path, Seed, "{instruction, output, input?, category?}")
        loaded = EvalFile(path, failing="are not of this domain or fail its scoring", ignored_fields=read.ignored)
        for line, row in read.rows[:limit]:
            if row.category is not None and row.category not in self.categories:
                loaded.skipped.append((f"{path}:{line}", f"category {row.category!r} is not one of "
                                                         f"{', '.join(self.categories)}"))
                continue
            item = self._example(row.category or self.categories[0], row.instruction, row.input, row.output)
            if self.spec.evaluation.scoring.type != "judge" and not (scored := self.score_answer(item, row.output)).passed:
                loaded.skipped.append((f"{path}:{line}", f"the reference answer fails the scoring: {scored.detail[:200]}"))
                continue
            loaded.items.append(item)
        return loaded

    def heldout_size(self, count: int) -> int:
        share = self.spec.evaluation.share
        return max(4, round(share * count)) if share else super().heldout_size(count)

    def score_answer(self, example: Example, answer: str) -> Check:
        scoring, reference = self.spec.evaluation.scoring, checks.last_answer(example)
        if scoring.type == "python":
            passed, detail = checks.check_python(self.loaded.functions[scoring.function], example_row(example), answer)
        elif scoring.type == "regex":
            pattern = self.loaded.pattern.render(**example_row(example))
            passed, detail = checks.regex_match(answer, pattern)
        elif scoring.type == "judge":
            grade, reason = self.grader(example, answer)
            passed = grade >= scoring.threshold
            detail = f"judge score {grade:g}/10 (threshold {scoring.threshold:g}): {reason}"
        elif scoring.type == "exact":
            passed, detail = checks.exact_match(answer, reference)
        else:
            passed, detail = checks.normalised_match(answer, reference)
        return Check("answer_correct", passed, detail, "" if passed else "wrong_answer")

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()


def _lookup(values: dict[str, Any], ref: str) -> Any:
    """`year` or `book.title` from the drawn values."""
    name, _, field = ref.partition(".")
    value = values[name]
    return value[field] if field and isinstance(value, dict) else value


def load_config_domain(path: Path, sandbox_backend: str) -> ConfigDomain:
    """Read and check the file, then open what its checks and scoring need."""
    from agents.domains.config.definition import load_domain_file

    loaded = load_domain_file(path)
    sandbox = None
    if any(check.type == "sandbox" for check in loaded.spec.checks):
        from agents.domains.base import open_sandbox_for

        sandbox = open_sandbox_for({"sandbox": sandbox_backend})
    grader = None
    if loaded.spec.evaluation.scoring.type == "judge":
        scoring = loaded.spec.evaluation.scoring
        grader = grade_with(scoring.grader, scoring.rubric)
    return ConfigDomain(loaded, sandbox, grader)


def grade_with(grader: str, rubric: str) -> Callable[[Example, str], tuple[float, str]]:
    """A judge for scoring answers: one call to the grader per answer."""
    from agents.teachers import grader as open_grader

    ask = open_grader(grader, Grade)

    def grade(example: Example, answer: str) -> tuple[float, str]:
        reply = ask(grading_messages(rubric, example, answer))
        if reply.data is None:
            return 0.0, f"the grader gave no usable grade: {reply.problem}"
        return float(reply.data["score"]), reply.data["reason"]

    return grade


def open_domain(sources: dict[str, str]) -> ConfigDomain:
    return load_config_domain(Path(sources["domain_config"]), sources["sandbox"])
