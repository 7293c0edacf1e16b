"""Where examples live: SQLite (WAL) behind a small interface.

A generation run is a set of numbered *slots*; each finished slot is written in
one transaction together with its example, so a crash loses at most the slots
in flight and a restart re-runs exactly those. Examples are keyed by content
hash: writing one twice stores it once. Rejected examples are kept with every
reason, for `audit`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Protocol

from forge.records import Example, Lineage, Verdict

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS examples (
    id TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    category TEXT NOT NULL,
    format TEXT NOT NULL,
    payload TEXT NOT NULL,
    metadata TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS slots (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    slot INTEGER NOT NULL,
    example_id TEXT NOT NULL REFERENCES examples(id),
    accepted INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    verdict TEXT NOT NULL,
    lineage TEXT NOT NULL,
    finished_at REAL NOT NULL,
    PRIMARY KEY (run_id, slot)
);
CREATE INDEX IF NOT EXISTS slots_by_example ON slots(example_id);
"""


@dataclass(frozen=True)
class StoredExample:
    """An example as it was produced in one slot, with its verdict and lineage."""

    example: Example
    verdict: Verdict
    lineage: dict[str, Any]
    run_id: str
    slot: int


class Store(Protocol):
    """What the pipeline needs from storage. `SQLiteStore` is the default; a
    PostgreSQL store for multi-machine runs implements the same methods."""

    def start_run(self, run_id: str, domain: str, config: dict[str, Any]) -> None: ...
    def finished_slots(self, run_id: str) -> set[int]: ...
    def record(self, run_id: str, slot: int, example: Example, verdict: Verdict, lineage: Lineage) -> None: ...
    def is_accepted(self, example_id: str) -> bool: ...
    def produced(self, *, accepted: bool | None = None, reason: str | None = None,
                 run_id: str | None = None, limit: int | None = None) -> Iterator[StoredExample]: ...
    def accepted_examples(self, domain: str | None = None) -> Iterator[Example]: ...
    def summary(self, run_id: str | None = None) -> dict[str, Any]: ...
    def close(self) -> None: ...


class SQLiteStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (only an OS crash can
        # lose the last commits), and is several times faster than FULL.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(SCHEMA)

    def start_run(self, run_id: str, domain: str, config: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?)",
            (run_id, domain, json.dumps(config, sort_keys=True), time.time()),
        )

    def finished_slots(self, run_id: str) -> set[int]:
        return {row[0] for row in self.db.execute("SELECT slot FROM slots WHERE run_id = ?", (run_id,))}

    def record(self, run_id: str, slot: int, example: Example, verdict: Verdict, lineage: Lineage) -> None:
        now = time.time()
        with self._transaction():
            # A rejected copy of this content may exist from another slot; an
            # accepted verdict upgrades it, a rejected one never downgrades.
            self.db.execute(
                "INSERT INTO examples VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE "
                "SET accepted = 1 WHERE excluded.accepted = 1",
                (example.id, example.domain, example.category, example.format,
                 json.dumps(example.payload, ensure_ascii=False), json.dumps(example.metadata, ensure_ascii=False),
                 int(verdict.accepted), now),
            )
            self.db.execute(
                "INSERT OR IGNORE INTO slots VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, slot, example.id, int(verdict.accepted), json.dumps(verdict.reasons),
                 json.dumps(verdict.to_dict(), ensure_ascii=False), json.dumps(lineage.to_dict(), ensure_ascii=False), now),
            )

    def is_accepted(self, example_id: str) -> bool:
        row = self.db.execute("SELECT 1 FROM examples WHERE id = ? AND accepted = 1", (example_id,)).fetchone()
        return row is not None

    def produced(self, *, accepted: bool | None = None, reason: str | None = None,
                 run_id: str | None = None, limit: int | None = None) -> Iterator[StoredExample]:
        sql = ("SELECT e.domain, e.category, e.format, e.payload, e.metadata, s.verdict, s.lineage, s.run_id, s.slot "
               "FROM slots s JOIN examples e ON e.id = s.example_id WHERE 1=1")
        args: list[Any] = []
        if accepted is not None:
            sql += " AND s.accepted = ?"
            args.append(int(accepted))
        if reason is not None:
            sql += " AND EXISTS (SELECT 1 FROM json_each(s.reasons) WHERE value = ?)"
            args.append(reason)
        if run_id is not None:
            sql += " AND s.run_id = ?"
            args.append(run_id)
        sql += " ORDER BY s.finished_at, s.slot"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        for domain, category, fmt, payload, metadata, verdict, lineage, run, slot in self.db.execute(sql, args):
            example = Example(domain, category, fmt, json.loads(payload), json.loads(metadata))
            yield StoredExample(example, Verdict.from_dict(json.loads(verdict)), json.loads(lineage), run, slot)

    def accepted_examples(self, domain: str | None = None) -> Iterator[Example]:
        sql = "SELECT domain, category, format, payload, metadata FROM examples WHERE accepted = 1"
        args: tuple[Any, ...] = ()
        if domain is not None:
            sql += " AND domain = ?"
            args = (domain,)
        for d, category, fmt, payload, metadata in self.db.execute(sql + " ORDER BY created_at, id", args):
            yield Example(d, category, fmt, json.loads(payload), json.loads(metadata))

    def summary(self, run_id: str | None = None) -> dict[str, Any]:
        where, args = ("WHERE run_id = ?", (run_id,)) if run_id else ("", ())
        accepted, rejected, tokens_in, tokens_out, calls, retries = self.db.execute(
            "SELECT COALESCE(SUM(accepted), 0), COALESCE(SUM(1 - accepted), 0), "
            "COALESCE(SUM(json_extract(lineage, '$.tokens_in')), 0), COALESCE(SUM(json_extract(lineage, '$.tokens_out')), 0), "
            "COALESCE(SUM(json_array_length(lineage, '$.calls')), 0), COALESCE(SUM(json_extract(lineage, '$.retries')), 0) "
            f"FROM slots {where}", args).fetchone()
        by_reason = dict(self.db.execute(
            f"SELECT j.value, COUNT(*) FROM slots s, json_each(s.reasons) j {where.replace('run_id', 's.run_id')} "
            "GROUP BY j.value ORDER BY COUNT(*) DESC", args).fetchall())
        by_category = {c: {"accepted": a, "rejected": r} for c, a, r in self.db.execute(
            f"SELECT e.category, SUM(s.accepted), SUM(1 - s.accepted) FROM slots s JOIN examples e ON e.id = s.example_id "
            f"{where.replace('run_id', 's.run_id')} GROUP BY e.category ORDER BY e.category", args)}
        return {"accepted": accepted, "rejected": rejected, "rejected_by_reason": by_reason,
                "by_category": by_category, "tokens_in": tokens_in, "tokens_out": tokens_out,
                "teacher_calls": calls, "retries": retries}

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # The connection is in autocommit mode, so each slot is exactly one
        # explicit transaction.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
