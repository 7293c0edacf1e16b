"""Storage behind one door: what the pipeline, the service and the jobs need
from it, and the functions that open it. Nothing else names a back end.

A generation run is a set of numbered *slots*; each finished slot is written in
one transaction together with its example, so a crash loses at most the slots
in flight and a restart re-runs exactly those. Examples are keyed by content
hash: writing one twice stores it once. Rejected examples are kept with every
reason, for `audit`. Jobs are the service's background commands.

SQLite (forge/sqlite_store.py) is the back end today. A new back end
implements `Store` and `Cache` and is chosen in `open_store` and `open_cache`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ContextManager, Iterator, Protocol

from forge.records import Example, Job, Lineage, StoredExample, Verdict


class Store(Protocol):
    """Examples, slots, verdicts and jobs."""

    def start_run(self, run_id: str, domain: str, config: dict[str, Any]) -> None: ...
    def runs(self) -> list[dict[str, Any]]: ...
    def finished_slots(self, run_id: str) -> set[int]: ...
    def record(self, run_id: str, slot: int, example: Example, verdict: Verdict, lineage: Lineage) -> None: ...
    def is_accepted(self, example_id: str) -> bool: ...
    def produced(self, *, accepted: bool | None = None, reason: str | None = None, run_id: str | None = None,
                 category: str | None = None, text: str | None = None, example_id: str | None = None,
                 round_: int | None = None, limit: int | None = None, offset: int = 0) -> Iterator[StoredExample]: ...
    def accepted_examples(self, domain: str | None = None) -> Iterator[Example]: ...
    def judge(self, example_id: str, accepted: bool, note: str, who: str) -> None: ...
    def human_agreement(self) -> dict[str, Any]: ...
    def summary(self, run_id: str | None = None) -> dict[str, Any]: ...
    def add_job(self, job: Job) -> None: ...
    def end_job(self, job_id: str, status: str, exit_code: int | None = None) -> None: ...
    def job(self, job_id: str) -> Job | None: ...
    def jobs(self, status: str | None = None) -> list[Job]: ...
    def close(self) -> None: ...


class Cache(Protocol):
    """Text values by key (teacher replies, sandbox outcomes): a rerun repeats no work."""

    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str) -> None: ...
    def __len__(self) -> int: ...
    def close(self) -> None: ...


def open_store(path: str | Path) -> Store:
    from forge.sqlite_store import SQLiteStore

    return SQLiteStore(path)


def open_cache(path: str | Path, table: str) -> Cache:
    from forge.sqlite_store import SQLiteCache

    return SQLiteCache(Path(path), table)


def open_checkpointer(path: str | Path) -> ContextManager[Any]:
    """A cycle's LangGraph checkpointer, open for the `with` block: the cycle resumes at its last finished step."""
    from forge.sqlite_store import sqlite_checkpointer

    return sqlite_checkpointer(Path(path))
