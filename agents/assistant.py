"""The assistant a trained student makes: a user's question, the passages the
domain retrieves for it, the student's answer, and the domain's own checks on
that answer (each quote verified or not, each citation inside the context or
not). `loop.py ask` and the service's POST /api/ask both answer through here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agents.domains import DOMAINS, all_sources, domain_choice, load_domain
from evaluators import context as book
from forge.errors import InputError
from forge.workspace import Workspace


def answering_domain(domain: str | None, given: dict[str, str | None]) -> str:
    """The domain `ask` means: the one named, else the only one that reads every source given (`--docs`: docs)."""
    declared = all_sources()
    unknown = [name for name in given if name not in declared]
    if unknown:
        raise InputError(f"no source {', '.join(unknown)}: the sources are {', '.join(declared)}")
    if domain is not None:
        return domain
    named = [name for name, value in given.items() if value is not None]
    readers = [set(declared[name][1]) for name in named]
    candidates = set.intersection(*readers) if readers else set()
    if len(candidates) != 1:
        # the domains a student reads passages in: those that declare the `context` source
        readers = declared["context"][1] if "context" in declared else []
        ways = " or ".join(f"{DOMAINS[d].sources[0].option} DIR ({d})" for d in readers)
        raise InputError(f"say what to ask about: {ways}, or --domain NAME")
    return candidates.pop()


@dataclass(frozen=True)
class Student:
    path: Path
    kind: str
    """`transformers` (a trained student folder) or `gguf` (an export)."""


def find_student(given: str | Path) -> Student:
    """A GGUF file, a trained student folder (a run's round_<n>/student), or a
    workspace, which means its newest trained student."""
    path = Path(given).expanduser().resolve()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise InputError(f"--student {path} is a file but not a GGUF model: pass a .gguf written by export-gguf, "
                             "a trained student folder, or a workspace")
        return Student(path, "gguf")
    if not path.is_dir():
        raise InputError(f"--student {path} does not exist: pass a workspace, a trained student folder "
                         "(WORKSPACE/runs/<run>/round_<n>/student) or a GGUF file")
    if (path / "config.json").is_file() or (path / "adapter_config.json").is_file():
        return Student(path, "transformers")
    if (path / "runs").is_dir():
        trained = Workspace(path).students()
        if not trained:
            raise InputError(f"workspace {path} has no trained student yet: run `python loop.py run` on it first")
        return Student(trained[-1], "transformers")
    raise InputError(f"--student {path} is neither a workspace (no runs/) nor a trained student folder "
                     "(no config.json or adapter_config.json)")


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    checks: list[dict[str, Any]]
    context: list[dict[str, str]]
    """The passages the student read, in order: {id, text}."""
    student: str

    @property
    def verified(self) -> bool:
        return all(c["passed"] for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verified": self.verified}


def answer(question: str, student: str | Path, domain: str | None, sources: dict[str, str | None]) -> Answer:
    """The student's answer to one question, with the context it read and the
    domain's checks; InputError on a bad question, student, domain or source."""
    from evaluators.harness import answer_with_gguf, answer_with_transformers

    if not question.strip():
        raise InputError("the question is empty: ask something, in quotes")
    name, resolved = domain_choice(answering_domain(domain, sources), sources)
    found = find_student(student)
    opened = load_domain(name, resolved)
    try:
        item = opened.ask(question.strip())
        respond = answer_with_gguf if found.kind == "gguf" else answer_with_transformers
        (said,) = respond(found.path, [item], max_new_tokens=opened.answer_tokens)
        checks = [asdict(c) for c in opened.check_answer(item, said)]
    finally:
        opened.close()
    passages = [asdict(p) for p in book.read(item.payload.get("input", ""))]
    return Answer(item.payload["instruction"], said, checks, passages, str(found.path))
