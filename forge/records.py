"""The records every domain shares: an Example, the Verdict on it, and its Lineage.

An example's id is a hash of its content, so writing the same example twice is
a no-op and a rerun can never duplicate data.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Format = Literal["instruction", "messages"]


def content_hash(value: Any, length: int = 16) -> str:
    """A stable hex digest of any JSON-serialisable value."""
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def stable_fraction(text: str) -> float:
    """A number in [0, 1] fixed by the text: how splits stay the same from run to run."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


@dataclass(frozen=True)
class Example:
    """One training example.

    `payload` is `{"instruction", "input", "output"}` for the `instruction`
    format and `{"messages": [{"role", "content"}, ...]}` for `messages`.
    `metadata` holds domain facts (`schema`, `rule_reference`, `language`, ...)
    that do not change what the example teaches, so they are not in the id.
    """

    domain: str
    category: str
    format: Format
    payload: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return content_hash({"domain": self.domain, "format": self.format, "payload": self.payload})

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **asdict(self)}

    def turns(self) -> list[tuple[str, str]]:
        """The example as (who, text) pairs, for people to read."""
        if self.format == "messages":
            return [(m["role"], m["content"]) for m in self.payload["messages"]]
        extra = f"\n{self.payload['input']}" if self.payload.get("input") else ""
        return [("question", self.payload.get("instruction", "") + extra), ("answer", self.payload.get("output", ""))]

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Example:
        return cls(row["domain"], row["category"], row["format"], row["payload"], row.get("metadata") or {})


@dataclass(frozen=True)
class Check:
    """One verification step. A failed check carries a short `reason` code
    (`cypher_syntax_error`, `teacher_output_invalid`, ...) that `audit` filters by,
    and a `detail` with the evidence (error text, row count, critic's words)."""

    name: str
    passed: bool
    detail: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        if not self.passed and not self.reason:
            raise ValueError(f"check {self.name!r} failed without a reason code")


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]

    @property
    def accepted(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [check.reason for check in self.checks if not check.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "reasons": self.reasons, "checks": [vars(c).copy() for c in self.checks]}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Verdict:
        return cls(tuple(Check(**c) for c in row["checks"]))


@dataclass
class TeacherCall:
    """What one teacher request cost and how it went (kept in the lineage)."""

    node: str
    attempt: int
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    retries: list[str] = field(default_factory=list)
    cached: bool = False
    repaired: bool = False
    error: str = ""


@dataclass
class Lineage:
    """Where an example came from: run, round, slot, who wrote and judged it, and
    every node's outcome in the example graph (`events`), in order."""

    run_id: str
    round: int
    slot: int
    teacher: str
    critic: str
    prompt_hash: str = ""
    attempts: int = 0
    motivated_by: str | None = None
    node: str = ""
    """The Ray node that made it; empty for a run in one process."""
    started_at: float = field(default_factory=time.time)
    finished_at: float = 0.0
    calls: list[TeacherCall] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tokens_in(self) -> int:
        return sum(c.tokens_in for c in self.calls)

    @property
    def tokens_out(self) -> int:
        return sum(c.tokens_out for c in self.calls)

    @property
    def retries(self) -> int:
        return sum(len(c.retries) for c in self.calls)

    def event(self, node: str, attempt: int, ok: bool, **detail: Any) -> None:
        self.events.append({"node": node, "attempt": attempt, "ok": ok, "at": round(time.time(), 3), **detail})

    def to_dict(self) -> dict[str, Any]:
        # Shallow copies: asdict's deep recursion cost more than the rest of a
        # slot's bookkeeping. Events hold only JSON values.
        return {**vars(self), "calls": [vars(c).copy() for c in self.calls], "events": list(self.events),
                "tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "retries": self.retries}


@dataclass(frozen=True)
class StoredExample:
    """An example as it was produced in one slot, with its verdict and lineage."""

    example: Example
    verdict: Verdict
    lineage: dict[str, Any]
    run_id: str
    slot: int
    human: dict[str, Any] | None = None
    """A person's latest verdict: accepted, note, who, at."""


@dataclass
class Job:
    """A background `generate` or `run` command started by the service."""

    id: str
    command: str
    """generate or run"""
    argv: list[str]
    status: str
    """running, succeeded, failed or cancelled"""
    exit_code: int | None
    created_at: float
    ended_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def agreement(judged: list[tuple[bool, bool, list[str]]]) -> dict[str, Any]:
    """`Store.human_agreement` from (verifier accepted, person accepted, the verifier's reasons) per judged example:
    how often people agreed with the verifier, overall and per reason it rejected for (a person accepting such an
    example disagrees). Every back end reads the rows its own way and counts them here."""
    by_reason: dict[str, dict[str, int]] = {}
    for verifier, person, reasons in judged:
        # an accepted example may also have come out of later slots as a `duplicate`: not the verifier's verdict
        for reason in ["(accepted)"] if verifier else sorted(set(reasons)):
            counts = by_reason.setdefault(reason, {"judged": 0, "overturned": 0})
            counts["judged"] += 1
            counts["overturned"] += verifier != person
    return {"judged": len(judged), "overturned": sum(v != p for v, p, _ in judged), "by_reason": by_reason}
