"""Where a generation run's slots are filled: in this process (agents/generation.py,
the default) or on the nodes of a Ray cluster (agents/ray_generation.py), as
`--executor` says. Both record every slot in the same store the same way."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Callable

from agents.domains.base import Domain
from agents.generation import GenerationConfig, RunProgress, run_generation
from agents.teachers import open_teachers
from forge.store import Store


async def generate_run(domain: Domain, store: Store, config: GenerationConfig, *, cache_path: Path,
                       on_slot: Callable[[RunProgress], None] | None = None) -> RunProgress:
    """Fill every unfinished slot of the run where `config.executor` says; return what was done."""
    if config.executor != "local":
        from agents.ray_generation import run_on_ray

        return await asyncio.to_thread(run_on_ray, domain, store, config, cache_path, on_slot)
    teachers = open_teachers(domain, config.teacher, config.critic, cache_path=cache_path,
                             concurrency=config.concurrency, timeout_s=config.timeout)
    try:
        return await run_generation(domain, teachers.teacher, teachers.critic, store, config, on_slot)
    finally:
        await teachers.close()
