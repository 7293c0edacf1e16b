"""What a domain is: the `Domain` protocol, its registry `DomainEntry` and the
`Source`s it declares, and the pieces every domain shares (`Task`, `Critique`,
`with_steering`, the `SANDBOX` source).

A domain is a plugin: one package, `agents/domains/<name>/`, whose
`__init__.py` holds its `ENTRY` and whose modules hold everything else it is.
The cycle, the CLI and the service only ever talk to this protocol.
"""

from __future__ import annotations

import logging
import os
from abc import abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from forge.errors import InputError
from forge.records import Check, Example
from sandbox import BACKENDS

DATA = Path(__file__).resolve().parents[2] / "data"
"""The resources we ship (demo graph, fixtures), which domains' defaults point at."""


@dataclass(frozen=True)
class Task:
    """What one generation slot should produce."""

    slot: int
    category: str
    seed: str
    focus: str = ""  # a topic the student failed on (set by the improvement loop)
    emphasis: tuple[tuple[str, float], ...] = ()
    """(construct, weight) pairs: what the student got wrong last round, for domains that compose examples from constructs."""


def with_steering(prompt: str, task: Task, feedback: str, redo: str = "Write a corrected example.") -> str:
    """A generation prompt plus what steers it: the topic the student failed on
    (from the improvement loop) and the findings on a rejected attempt."""
    if task.focus:
        prompt += f"\nFocus on this topic, where the student model is weak: {task.focus}"
    if feedback:
        prompt += f"\n\nYour previous attempt was rejected:\n{feedback}\n{redo}"
    return prompt


class Critique(BaseModel):
    """What a critic returns, in every domain that does not ask for more."""

    model_config = ConfigDict(extra="forbid")
    verdict: str = Field(pattern="^(agree|disagree)$", description="agree if the answer is right for the question")
    reason: str = Field(max_length=300, description="One sentence on why.")

    @staticmethod
    def instruction() -> str:
        """How every domain's critique prompt asks for this reply."""
        return 'Reply with one JSON object: {"verdict": "agree" or "disagree", "reason": "..."} and nothing else.'


@dataclass(frozen=True)
class Source:
    """One input a domain reads (a graph, a repository, a rules file, a
    sandbox back end), declared once. The CLI and the service build their
    options from these declarations, so no command names a domain."""

    name: str
    """Option name in snake_case: `domain_config` is `--domain-config` on the command line."""
    help: str
    kind: str = "path"
    """`path` (made absolute), `text` (kept as given: a URI, say) or `choice`."""
    required: bool = False
    default: str | None = None
    """Used when the option is not given (after `env`)."""
    env: str | None = None
    """An environment variable that, when set, replaces the default."""
    choices: tuple[str, ...] = ()
    identity: bool = True
    """Whether the value decides what is produced (and so belongs in run ids);
    False for where work runs, such as the sandbox back end."""

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def expects(self) -> str:
        return f"one of {', '.join(self.choices)}" if self.kind == "choice" else "a path" if self.kind == "path" else "a value"

    def resolve(self, given: str | None) -> str | None:
        """The value a run uses: what the user gave, else the environment, else the default."""
        value = given if given is not None else (os.environ.get(self.env) if self.env else None) or self.default
        if value is None:
            return None
        if self.kind == "choice" and value not in self.choices:
            raise InputError(f"{self.option} {value!r} is not valid: choose {self.expects}")
        return str(Path(value).expanduser().resolve()) if self.kind == "path" else value


@dataclass(frozen=True)
class DomainEntry:
    """What the registry knows of a domain without importing it: enough for
    `--help`, option parsing and the service's job schema."""

    description: str
    """One line, shown in `--domain` help."""
    sources: tuple[Source, ...]
    open: str
    """`module:function` that builds the domain from its resolved sources (raising InputError on bad input);
    imported only when the domain is opened."""
    commands: str = ""
    """`module:attribute` of a Typer app with the domain's own subcommands, if it has any."""
    example: dict[str, str] = field(default_factory=dict)
    """Sources beyond the defaults that open the domain on shipped data; the
    conformance suite (tests/agents/test_domain_conformance.py) opens it so."""


CONTEXT = Source("context", "what the student reads with each question: retrieved (passages found for it, with "
                 "the sources it answers from, as RAFT trains; the default) or none (closed book: it answers from "
                 "memory)", kind="choice", choices=("retrieved", "none"), default="retrieved")
CONTEXT_CHARS = Source("context_chars", "the most characters of passages shown with one question, over 4 passages "
                       "(default 1200, about 300 tokens: keep question, passages and answer inside the student's "
                       "max_seq_len; smollm2_135m's is 512)", kind="text", default="1200")


def context_chars(sources: dict[str, str]) -> int:
    """The `context_chars` source as a number; InputError when it is not one."""
    chars = sources.get("context_chars", CONTEXT_CHARS.default)
    if not chars.isdigit() or int(chars) < 100:
        raise InputError(f"--context-chars {chars!r} is not valid: give a number of characters of 100 or more, "
                         "such as 2000")
    return int(chars)


SANDBOX = Source("sandbox", "where code runs: docker (a warm container pool; the default) or bwrap (bubblewrap)",
                 kind="choice", choices=BACKENDS, default="docker", identity=False)


@dataclass
class EvalFile:
    """A user's evaluation file as a domain read it: the items to score, the
    rows whose reference fails (they cannot be scored, so they are skipped),
    and the fields the format does not use."""

    path: Path
    items: list[Example] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(file:line, why) for each row whose reference fails."""
    failing: str = "fail their own check"
    """What a skipped reference does, for the summary: "do not run on kglite"."""
    ignored_fields: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        """Rows read, skipped ones included."""
        return len(self.items) + len(self.skipped)

    @property
    def summary(self) -> str:
        return f"{len(self.skipped)} of {self.rows} references {self.failing}"


def leave_out(category: str, why: str) -> None:
    """Say up front that the sources cannot feed `category`, and why, rather than fail its slots one by one."""
    logging.getLogger("domainforge").warning("%s: %s; its share goes to the other categories", category, why)


def open_sandbox_for(sources: dict[str, str], size: int = 2, limits=None):
    """The sandbox the `sandbox` source names; InputError when it cannot start."""
    from sandbox import Limits, SandboxError, open_sandbox

    try:
        return open_sandbox(sources["sandbox"], size=size, limits=limits or Limits())
    except SandboxError as exc:
        raise InputError(str(exc)) from exc


class Domain(Protocol):
    """Everything a domain provides. Domains subclass this protocol, so the
    optional members below come with their defaults."""

    name: str
    metric: str
    """What `score_answer` measures, in words ("execution accuracy")."""
    categories: tuple[str, ...]
    draft_model: type[BaseModel]
    """The JSON object a teacher returns for one example."""

    # -- optional behaviour, with its default ----------------------------------

    default_weights: dict[str, float] = {}
    """Share of each category in a round's first plan; empty means equal."""
    critique_model: type[BaseModel] = Critique
    blocking_verify: bool = False
    """True when `verify` blocks (sandbox runs): the graph then runs it off the event loop."""
    needs_llm_critic: bool = False
    """True when a critique cannot come from the template teacher (a rubric to grade)."""
    answer_tokens: int = 128
    """The most tokens a student may write for one held-out answer."""
    revision: str = ""
    """The version of its sources the domain read (a repository's commit). It is
    part of a run's id, so a new one starts a new run."""

    # -- generation ------------------------------------------------------------

    @abstractmethod
    def template_draft(self, task: Task, attempt: int) -> dict[str, Any]:
        """The offline teacher's draft: deterministic in the task seed and attempt."""
        ...

    @abstractmethod
    def template_critique(self, example: Example) -> dict[str, Any]:
        """The offline critic's reply, shaped like `critique_model`."""
        ...

    @abstractmethod
    def generation_messages(self, task: Task, feedback: str) -> list[dict[str, str]]:
        """The chat an LLM teacher gets for one slot (feedback: a rejected attempt's findings)."""
        ...

    @abstractmethod
    def critique_messages(self, example: Example) -> list[dict[str, str]]:
        ...

    @abstractmethod
    def to_example(self, task: Task, draft: dict[str, Any]) -> Example:
        ...

    def critique_check(self, critic: str, reply: dict[str, Any]) -> Check:
        """The critic's reply as a recorded check."""
        if reply["verdict"] == "agree":
            return Check("critic_agrees", True, f"{critic}: {reply['reason']}")
        return Check("critic_agrees", False, f"{critic}: {reply['reason']}", "critic_disagrees")

    # -- verification ----------------------------------------------------------

    @abstractmethod
    def verify(self, example: Example) -> list[Check]:
        """Every check on one example, each with its evidence."""
        ...

    def duplicate_key(self, example: Example) -> str | None:
        """What makes two examples one beyond identical content (the same
        question phrased twice, say); None: only identical content does."""
        return None

    # -- evaluation of the student ---------------------------------------------

    def heldout_items(self) -> list[Example] | None:
        """Evaluation items the domain brings (a user's file); None means the
        cycle generates them with the template teacher."""
        return None

    def load_eval(self, path: Path, limit: int | None = None) -> EvalFile:
        """A user's evaluation file (`--eval`; its first `limit` rows) as held-out
        items that `score_answer` scores. A row whose reference fails (does not
        run, cites what does not exist) is skipped and said why; InputError names
        the line and field of every row not in the format."""
        raise InputError(f"domain {self.name} reads no evaluation files")

    def heldout_size(self, count: int) -> int:
        """How many items to generate for evaluation when `--heldout` is not given."""
        return 120

    @abstractmethod
    def score_answer(self, example: Example, answer: str) -> Check:
        """Whether a student's answer to a held-out item is right, with why."""
        ...

    def teaches_refusal(self, example: Example) -> bool:
        """Whether the example's right answer says the sources shown do not answer it
        (the loop keeps such examples to a share of what a round trains on)."""
        return False

    def closed_book(self, item: Example) -> Example | None:
        """The item without the passages an open-book student reads with it, so the
        report can set open and closed book side by side; None when it has none."""
        return None

    # -- answering users (`loop.py ask`, POST /api/ask) ---------------------------

    def ask(self, question: str) -> Example:
        """A user's question as the student gets it, with the passages it reads."""
        raise InputError(f"domain {self.name} answers no free questions: ask a domain that reads passages "
                         "(--context retrieved)")

    def check_answer(self, item: Example, answer: str) -> list[Check]:
        """The domain's checks on a student's answer to an asked question, one per
        citation and quote where it has them."""
        raise InputError(f"domain {self.name} answers no free questions")

    def answer_measures(self, example: Example, answer: str) -> dict[str, float]:
        """Measures of one answer beyond right or wrong, averaged per category in the report."""
        return {}

    def close(self) -> None:
        """Release what the domain holds (a graph connection, a sandbox pool)."""
        return None
