"""A generation run spread over a Ray cluster (`--executor ray[:HOST:PORT]`).

One `SlotWorker` actor per node holds the domain, its teachers, its sandbox
pool and a connection to the store, all opened once. The driver hands each
actor batches of slot numbers; the actor fills them with the same example graph
as a run in one process and records each slot in the store itself, so the
driver only keeps count. A lost node or actor costs only its batches in flight:
the slots among them that the store has not recorded go to the other actors, and
their lineage says on which node they were lost. The store keys slots by
(run, slot), so every slot is recorded exactly once.

Every node needs the project installed (scripts/setup.sh) and the domain's
sources at the same paths; with more than one machine the store must be
shared: --store postgresql://...
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections import defaultdict, deque
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable

from agents.domains.base import Domain
from agents.generation import (GenerationConfig, RunProgress, SlotOutcome, category_schedule, fill_slot,
                               unfinished_slots)
from forge.errors import InputError
from forge.store import Store, open_store

BATCHES_IN_FLIGHT = 2
"""Per actor: while it fills one batch, the next is already there."""


class SlotWorker:
    """The actor on one node: everything a slot needs, opened once, and the slots it is handed."""

    def __init__(self, config: dict[str, Any], store_target: str, cache_path: str) -> None:
        import ray

        from agents.domains import load_domain

        self.config = GenerationConfig(**config)
        self.domain = load_domain(self.config.domain, self.config.sources)
        self.store = open_store(store_target)
        self.cache_path = Path(cache_path)
        self.node = f"{ray.util.get_node_ip_address()}/{ray.get_runtime_context().get_node_id()[:8]}"
        self.teachers = None
        self.graph = None

    def where(self) -> str:
        return self.node

    async def fill(self, slots: list[int], lost_on: dict[int, list[str]]) -> list[SlotOutcome]:
        if self.graph is None:  # teachers belong to the event loop that uses them: the actor's
            from agents.example_graph import build_example_graph
            from agents.teachers import open_teachers

            config = self.config
            self.teachers = open_teachers(self.domain, config.teacher, config.critic, cache_path=self.cache_path,
                                          concurrency=config.concurrency, timeout_s=config.timeout)
            self.graph = build_example_graph(self.domain, self.teachers.teacher, self.teachers.critic, self.store,
                                             config.max_attempts)
            self.schedule = category_schedule(self.domain.categories, config.weights or self.domain.default_weights,
                                              config.count)
        return list(await asyncio.gather(*(
            fill_slot(self.graph, self.store, self.config, self.schedule, slot, self.teachers.teacher,
                      self.teachers.critic, self.node, tuple(lost_on.get(slot, ()))) for slot in slots)))

    async def close(self) -> None:
        if self.teachers is not None:
            await self.teachers.close()
        self.domain.close()
        self.store.close()


def connect(executor: str):
    """The `ray` module, connected to the cluster `executor` names (ray:HOST:PORT, or RAY_ADDRESS), or to one
    started in this process on 127.0.0.1."""
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray needs Ray: pip install -e '.[ray]' (scripts/setup.sh installs it)") from None
    if ray.is_initialized():
        return ray
    address = executor.partition(":")[2] or os.environ.get("RAY_ADDRESS") or None
    try:
        if address:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        else:
            ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, logging_level=logging.ERROR,
                     log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise InputError(f"cannot reach the Ray cluster at {address}: {exc}\nStart its head with "
                         "`ray start --head --node-ip-address HOST --port PORT`, or use --executor local.") from None
    return ray


def run_on_ray(domain: Domain, store: Store, config: GenerationConfig, cache_path: Path,
               on_slot: Callable[[RunProgress], None] | None = None) -> RunProgress:
    """Fill every unfinished slot of the run on the cluster's nodes; return what was done."""
    ray = connect(config.executor)
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    store.start_run(config.run_id, domain.name, asdict(config))
    todo = deque(unfinished_slots(store, config))
    progress = RunProgress(total=config.count, skipped=config.count - len(todo))
    if not todo:
        return progress
    nodes = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) >= 1]
    if not nodes:
        raise InputError("the Ray cluster has no node with a CPU to run slots on: start workers with "
                         "`ray start --address HEAD:PORT --num-cpus N`")
    per_actor = max(1, math.ceil(config.concurrency / len(nodes)))
    worker = ray.remote(num_cpus=1)(SlotWorker)
    actors = [worker.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(
        asdict(replace(config, concurrency=per_actor)), store.target, str(cache_path)) for node in nodes]
    try:
        # A node that cannot open the domain (a source missing there, no sandbox) stops the run before any slot.
        node_of = dict(zip(actors, ray.get([actor.where.remote() for actor in actors])))
    except ray.exceptions.RayError as exc:
        raise InputError(f"a Ray worker could not open domain {config.domain}: {exc}") from None

    alive = set(actors)
    lost_on: dict[int, list[str]] = defaultdict(list)
    in_flight: dict[Any, tuple[Any, list[int]]] = {}

    def hand_out() -> None:
        for actor in actors:
            while actor in alive and todo and sum(a is actor for a, _ in in_flight.values()) < BATCHES_IN_FLIGHT:
                batch = [todo.popleft() for _ in range(min(per_actor, len(todo)))]
                in_flight[actor.fill.remote(batch, {s: lost_on[s] for s in batch if s in lost_on})] = (actor, batch)

    try:
        hand_out()
        while in_flight:
            [ready], _ = ray.wait(list(in_flight), num_returns=1)
            actor, batch = in_flight.pop(ready)
            try:
                outcomes = ray.get(ready)
            except (ray.exceptions.RayActorError, ray.exceptions.NodeDiedError):
                alive.discard(actor)
                recorded = store.finished_slots(config.run_id)
                again = [slot for slot in batch if slot not in recorded]
                for slot in again:
                    lost_on[slot].append(node_of[actor])
                todo.extendleft(reversed(again))
                # Slots it recorded before it was lost count as done; what they were is in the store.
                progress.done += len(batch) - len(again)
                if not alive:
                    raise InputError(f"every Ray worker was lost, with {len(todo)} slots of run {config.run_id} "
                                       "unfinished; run the same command again to finish them") from None
            else:
                for outcome in outcomes:
                    progress.add(outcome)
            if on_slot:
                on_slot(progress)
            hand_out()
    finally:
        for actor in alive:
            try:
                ray.get(actor.close.remote(), timeout=60)
            except ray.exceptions.RayError:
                pass  # lost while closing: its slots are recorded already
            ray.kill(actor)
    return progress
