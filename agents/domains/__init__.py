"""The domains. A domain is a generator here (`agents/domains/<name>.py`), a
verifier in `evaluators/<name>.py`, and one entry in `DOMAINS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field

from forge.errors import InputError


@dataclass(frozen=True)
class Task:
    """What one generation slot should produce."""

    slot: int
    category: str
    seed: str
    focus: str = ""  # a topic the student failed on (set by the improvement loop)


def with_steering(prompt: str, task: Task, feedback: str, redo: str = "Write a corrected example.") -> str:
    """A generation prompt plus what steers it: the topic the student failed on
    (from the improvement loop) and the findings on a rejected attempt."""
    if task.focus:
        prompt += f"\nFocus on this topic, where the student model is weak: {task.focus}"
    if feedback:
        prompt += f"\n\nYour previous attempt was rejected:\n{feedback}\n{redo}"
    return prompt


class Critique(BaseModel):
    """What a critic returns, in every domain."""

    model_config = ConfigDict(extra="forbid")
    verdict: str = Field(pattern="^(agree|disagree)$", description="agree if the answer is right for the question")
    reason: str = Field(max_length=300, description="One sentence on why.")


def _cypher(options: dict[str, Any]):
    from agents.domains.cypher import CypherDomain
    from evaluators.graphdb import open_graph

    return CypherDomain(open_graph(options["graph"]))


def _coding(options: dict[str, Any]):
    from pathlib import Path

    from agents.domains.coding import CodingDomain
    from sandbox import SandboxError, open_sandbox

    repo = Path(options["repo"])
    if not repo.is_dir():
        raise InputError(f"--repo {repo} is not a directory. Point it at a Python repository.")
    try:
        sandbox = open_sandbox(options.get("sandbox", "docker"), size=options.get("sandbox_size", 2))
    except SandboxError as exc:
        raise InputError(str(exc)) from exc
    try:
        return CodingDomain(repo, sandbox)
    except InputError:
        sandbox.close()
        raise


def _mtg(options: dict[str, Any]):
    from agents.domains.mtg import MtgDomain
    from evaluators.mtg_ipg import load_ipg
    from evaluators.mtg_rules import load_rules

    return MtgDomain(load_rules(options["rules"]), load_ipg(options["ipg"]) if options.get("ipg") else None)


DOMAINS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "cypher": _cypher,
    "coding": _coding,
    "mtg": _mtg,
}


def load_domain(name: str, options: dict[str, Any]):
    """Build a domain by name; `options` holds its CLI settings (e.g. `graph`)."""
    if name not in DOMAINS:
        raise InputError(f"unknown domain {name!r}: choose one of {', '.join(sorted(DOMAINS))}")
    return DOMAINS[name](options)
