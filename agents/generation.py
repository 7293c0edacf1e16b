"""A generation run: N numbered slots, each turned into one stored example by
the example graph, with many slots in flight at once.

The run id is a hash of everything that decides what the slots produce (domain,
graph, teachers, seed, round), so running the same command again resumes: slots
already in the store are skipped, and only unfinished ones run.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

from agents.domains.base import Domain, Task
from agents.example_graph import build_example_graph
from agents.teachers.base import Teacher
from forge.errors import InputError
from forge.options import option
from forge.records import Lineage, content_hash
from forge.store import Store


@dataclass(frozen=True)
class GenerationConfig:
    domain: str
    """A registry name (agents/domains)."""
    sources: dict[str, str]
    """What the domain reads, by source name: {"graph": script or URI}, {"rules": path, "ipg": path}."""
    teacher: str = option("template", "Who writes the examples: template (offline, per-domain generators) | "
                                      "openai:<model>[@<base_url>] (any OpenAI-compatible server) | llamacpp:<path.gguf> "
                                      "(a local model) | llamacpp:smollm2 (the shipped SmolLM2-135M).")
    critic: Optional[str] = option(None, "Who reviews them (same forms as --teacher); defaults to the teacher.")
    count: int = option(100, "Number of example slots in this run.", min=1)
    concurrency: int = option(8, "Examples (and teacher calls) in flight at once.", min=1)
    max_attempts: int = option(3, "Generate+repair attempts per example before rejecting it.", min=1)
    seed: int = option(0, "Seed for template choices, splits and training; part of the run id.")
    timeout: float = option(60.0, "Seconds before one teacher request times out (then it is retried).", min=0.1)
    executor: str = option("local", "Where the slots run: local (this process) | ray (the Ray cluster RAY_ADDRESS "
                                    "names, else one started here) | ray:HOST:PORT (the head of a cluster started "
                                    "with `ray start --head`). With Ray, --concurrency is the total over its nodes.")
    round: int = 0
    weights: dict[str, float] = field(default_factory=dict)
    """Category -> share; empty means the domain's default weights."""
    focus: dict[str, list[list[str]]] = field(default_factory=dict)
    """Category -> [[feedback item id, topic], ...]: what the student failed on last round."""
    emphasis: dict[str, float] = field(default_factory=dict)
    """Construct -> weight: the constructs the student got wrong last round (domains that compose examples use it)."""
    revision: str = ""
    """The version of the sources the domain read (Domain.revision)."""

    def __post_init__(self) -> None:
        if self.critic is None:
            object.__setattr__(self, "critic", self.teacher)
        if self.executor != "local" and self.executor.partition(":")[0] != "ray":
            raise InputError(f"--executor {self.executor!r} is not local, ray or ray:HOST:PORT")

    def identity(self) -> dict:
        """What decides the slots' content, the revision of the sources included.
        Left out: count (a bigger --count extends the same run), concurrency, the
        teacher timeout, the executor, and sources that only say where work runs (the sandbox back end)."""
        from agents.domains import DOMAINS

        where = {s.name for s in DOMAINS[self.domain].sources if not s.identity}
        key = {k: v for k, v in asdict(self).items() if k not in ("count", "concurrency", "timeout", "executor")}
        for optional in ("revision", "emphasis"):  # left out when unset, so earlier run ids stay as they were
            if not key[optional]:
                del key[optional]
        key["sources"] = {k: v for k, v in self.sources.items() if k not in where}
        return key

    @property
    def run_id(self) -> str:
        return f"{self.domain}-r{self.round}-{content_hash(self.identity(), 10)}"


def category_schedule(categories: tuple[str, ...], weights: dict[str, float], count: int) -> list[str]:
    """Spread `count` slots over categories in proportion to `weights`,
    interleaved (smooth weighted round-robin) so any prefix is balanced too."""
    shares = {c: float(weights.get(c, 1.0 if not weights else 0.0)) for c in categories}
    total = sum(shares.values())
    if total <= 0:
        raise ValueError(f"category weights {weights} give no category a positive share")
    current = dict.fromkeys(categories, 0.0)
    schedule = []
    for _ in range(count):
        for c in categories:
            current[c] += shares[c]
        chosen = max(categories, key=lambda c: current[c])
        current[chosen] -= total
        schedule.append(chosen)
    return schedule


@dataclass(frozen=True)
class SlotOutcome:
    """What one filled slot adds to a run's progress (the example and its lineage are in the store)."""

    slot: int
    accepted: bool
    reasons: tuple[str, ...]
    teacher_calls: int
    tokens_in: int
    tokens_out: int


@dataclass
class RunProgress:
    """What this invocation did so far (slots finished earlier are `skipped`)."""

    total: int
    skipped: int
    done: int = 0
    accepted: int = 0
    rejected_by_reason: Counter = field(default_factory=Counter)
    teacher_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0

    def add(self, outcome: SlotOutcome) -> None:
        self.done += 1
        self.accepted += outcome.accepted
        self.rejected_by_reason.update(outcome.reasons)
        self.teacher_calls += outcome.teacher_calls
        self.tokens_in += outcome.tokens_in
        self.tokens_out += outcome.tokens_out

    def to_dict(self) -> dict[str, Any]:
        """As a progress event shows it: slots done of the total, and what they cost."""
        return {"total": self.total, "done": self.skipped + self.done, "accepted": self.accepted,
                "rejected": self.done - self.accepted, "rejected_by_reason": dict(self.rejected_by_reason.most_common()),
                "teacher_calls": self.teacher_calls, "tokens_in": self.tokens_in, "tokens_out": self.tokens_out}


def unfinished_slots(store: Store, config: GenerationConfig) -> list[int]:
    finished = store.finished_slots(config.run_id)
    return [slot for slot in range(config.count) if slot not in finished]


async def fill_slot(graph, store: Store, config: GenerationConfig, schedule: list[str], slot: int, teacher: Teacher,
                    critic: Teacher, node: str = "", lost_on: tuple[str, ...] = ()) -> SlotOutcome:
    """Make slot `slot`'s example with the example graph and record it in the store.
    `node` names where it ran; `lost_on` the nodes that were lost while they held it (Ray)."""
    category = schedule[slot]
    failures = config.focus.get(category) or [["", ""]]
    motivated_by, topic = failures[slot % len(failures)]
    task = Task(slot=slot, category=category, seed=f"{config.seed}:{config.round}:{slot}", focus=topic,
                emphasis=tuple(sorted(config.emphasis.items())))
    lineage = Lineage(run_id=config.run_id, round=config.round, slot=slot, teacher=teacher.spec, critic=critic.spec,
                      motivated_by=motivated_by or None, node=node)
    for lost in lost_on:
        lineage.event("rerun", 0, True, lost_on=lost)
    state = await graph.ainvoke({"task": task, "lineage": lineage})
    lineage.finished_at = time.time()
    store.record(config.run_id, slot, state["example"], state["verdict"], lineage)
    verdict = state["verdict"]
    return SlotOutcome(slot, verdict.accepted, tuple(verdict.reasons), len(lineage.calls), lineage.tokens_in,
                       lineage.tokens_out)


async def run_generation(domain: Domain, teacher: Teacher, critic: Teacher, store: Store, config: GenerationConfig,
                         on_slot: Callable[[RunProgress], None] | None = None) -> RunProgress:
    """Fill every unfinished slot of the run in this process; return what was done."""
    store.start_run(config.run_id, domain.name, asdict(config))
    schedule = category_schedule(domain.categories, config.weights or domain.default_weights, config.count)
    unfinished = unfinished_slots(store, config)
    todo = iter(unfinished)
    progress = RunProgress(total=config.count, skipped=config.count - len(unfinished))
    graph = build_example_graph(domain, teacher, critic, store, config.max_attempts)
    # Everything loaded so far (libraries, the graph, the domain) lives for the
    # whole run; frozen, the collector stops re-scanning it on every full pass,
    # which otherwise stalls the event loop for milliseconds at a time.
    gc.freeze()

    async def worker() -> None:
        # One shared iterator: `next` runs between awaits, so no slot is taken twice.
        for slot in todo:
            progress.add(await fill_slot(graph, store, config, schedule, slot, teacher, critic))
            if on_slot:
                on_slot(progress)

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, config.concurrency)):
            group.create_task(worker())
    return progress
