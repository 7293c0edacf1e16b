"""Storage behind one door: what the pipeline, the service and the jobs need
from it, and the functions that open it. Nothing else names a back end.

A generation run is a set of numbered *slots*; each finished slot is written in
one transaction together with its example, so a crash loses at most the slots
in flight and a restart re-runs exactly those. Examples are keyed by content
hash: writing one twice stores it once. Rejected examples are kept with every
reason, for `audit`. Jobs are the service's background commands.

Two back ends implement `Store`: SQLite (forge/sqlite_store.py), one file in
the workspace, the default; and PostgreSQL (forge/postgres_store.py), shared
by a team and by workers on other machines. `open_store` chooses by the target:
a path, or a postgresql:// URI. Caches and checkpoints stay in local SQLite
files: they are per machine. A new back end implements `Store` (and `Cache`
if it serves caches) and is chosen here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ContextManager, Iterator, Protocol

from forge.records import Example, Job, Lineage, StoredExample, Verdict


class Store(Protocol):
    """Examples, slots, verdicts and jobs."""

    @property
    def target(self) -> str:
        """What `open_store` opens to reach this store from another process or machine (a URI may hold a
        password: never print it)."""
        ...

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


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_store_uri(target: str | Path) -> bool:
    """Whether `target` names a database server rather than a file."""
    return str(target).startswith(POSTGRES_SCHEMES)


def open_store(target: str | Path) -> Store:
    """The store at `target`: a postgresql:// URI, or the path of an SQLite file. InputError when it cannot open."""
    if is_store_uri(target):
        from forge.postgres_store import PostgresStore

        return PostgresStore(str(target))
    from forge.sqlite_store import SQLiteStore

    return SQLiteStore(target)


def open_cache(path: str | Path, table: str) -> Cache:
    from forge.sqlite_store import SQLiteCache

    return SQLiteCache(Path(path), table)


def open_checkpointer(path: str | Path) -> ContextManager[Any]:
    """A cycle's LangGraph checkpointer, open for the `with` block: the cycle resumes at its last finished step."""
    from forge.sqlite_store import sqlite_checkpointer

    return sqlite_checkpointer(Path(path))
