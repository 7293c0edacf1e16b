"""The SQLite back end of storage: the store (examples, slots, verdicts, jobs; WAL),
a key-value table for caches, and the cycle's LangGraph checkpoints. The only
module that opens SQLite files; everything else goes through forge/store.py.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from forge.errors import InputError
from forge.records import Example, Job, Lineage, StoredExample, Verdict, agreement

SCHEMA_VERSION = 1
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
CREATE TABLE IF NOT EXISTS human_verdicts (
    example_id TEXT NOT NULL REFERENCES examples(id),
    accepted INTEGER NOT NULL,
    note TEXT NOT NULL,
    who TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS human_verdicts_by_example ON human_verdicts(example_id, at);
-- A person's latest word on each example (SQLite takes the other columns from the MAX(at) row).
CREATE VIEW IF NOT EXISTS latest_human_verdicts AS
    SELECT example_id, accepted, note, who, MAX(at) AS at FROM human_verdicts GROUP BY example_id;
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    argv TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    created_at REAL NOT NULL,
    ended_at REAL
);
"""


class SQLiteStore:
    """The default store: one SQLite file in the workspace, safe for one writer per slot at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (only an OS crash can
        # lose the last commits), and is several times faster than FULL.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=10000")
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            self.db.close()
            raise InputError(f"store {self.path} has schema version {version}, newer than this DomainForge knows "
                             f"({SCHEMA_VERSION}). Upgrade DomainForge on this machine.")
        self.db.executescript(SCHEMA)  # version 0 (before versions were kept) has the same tables
        if version != SCHEMA_VERSION:
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def target(self) -> str:
        return str(self.path.resolve())

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

    def produced(self, *, accepted: bool | None = None, reason: str | None = None, run_id: str | None = None,
                 category: str | None = None, text: str | None = None, example_id: str | None = None,
                 round_: int | None = None, limit: int | None = None, offset: int = 0) -> Iterator[StoredExample]:
        """Produced examples, oldest first. `accepted` and `reason` are the
        verifier's; `text` searches the example's content."""
        sql = ("SELECT e.domain, e.category, e.format, e.payload, e.metadata, s.verdict, s.lineage, s.run_id, s.slot, "
               "h.accepted, h.note, h.who, h.at FROM slots s JOIN examples e ON e.id = s.example_id "
               "LEFT JOIN latest_human_verdicts h ON h.example_id = e.id WHERE 1=1")
        args: list[Any] = []
        for clause, value in (("s.accepted = ?", None if accepted is None else int(accepted)),
                              ("EXISTS (SELECT 1 FROM json_each(s.reasons) WHERE value = ?)", reason),
                              ("s.run_id = ?", run_id), ("e.category = ?", category), ("e.id = ?", example_id),
                              ("json_extract(s.lineage, '$.round') = ?", round_),
                              ("instr(lower(e.payload), lower(?)) > 0", text)):
            if value is not None:
                sql += f" AND {clause}"
                args.append(value)
        sql += " ORDER BY s.finished_at, s.slot LIMIT ? OFFSET ?"
        args += [-1 if limit is None else limit, offset]
        for domain, category_, fmt, payload, metadata, verdict, lineage, run, slot, *human in self.db.execute(sql, args):
            example = Example(domain, category_, fmt, json.loads(payload), json.loads(metadata))
            person = None
            if human[0] is not None:
                person = {"accepted": bool(human[0]), "note": human[1], "who": human[2], "at": human[3]}
            yield StoredExample(example, Verdict.from_dict(json.loads(verdict)), json.loads(lineage), run, slot, person)

    def accepted_examples(self, domain: str | None = None) -> Iterator[Example]:
        """What the verifier accepted, unless a person rejected it, and what a
        person accepted: the data export and curation read."""
        sql = ("SELECT e.domain, e.category, e.format, e.payload, e.metadata FROM examples e "
               "LEFT JOIN latest_human_verdicts h ON h.example_id = e.id WHERE COALESCE(h.accepted, e.accepted) = 1")
        args: tuple[Any, ...] = ()
        if domain is not None:
            sql += " AND e.domain = ?"
            args = (domain,)
        for d, category, fmt, payload, metadata in self.db.execute(sql + " ORDER BY e.created_at, e.id", args):
            yield Example(d, category, fmt, json.loads(payload), json.loads(metadata))

    def judge(self, example_id: str, accepted: bool, note: str, who: str) -> None:
        """Record a person's verdict on an example; KeyError when there is no such example."""
        if self.db.execute("SELECT 1 FROM examples WHERE id = ?", (example_id,)).fetchone() is None:
            raise KeyError(example_id)
        self.db.execute("INSERT INTO human_verdicts VALUES (?, ?, ?, ?, ?)",
                        (example_id, int(accepted), note, who, time.time()))

    def human_agreement(self) -> dict[str, Any]:
        rows = self.db.execute(
            "SELECT e.accepted, h.accepted, (SELECT json_group_array(j.value) FROM slots s, json_each(s.reasons) j "
            "WHERE s.example_id = e.id) FROM latest_human_verdicts h JOIN examples e ON e.id = h.example_id").fetchall()
        return agreement([(bool(verifier), bool(person), json.loads(reasons)) for verifier, person, reasons in rows])

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

    def runs(self) -> list[dict[str, Any]]:
        """Every generation run, oldest first: run_id, domain, created_at."""
        return [{"run_id": r, "domain": d, "created_at": t}
                for r, d, t in self.db.execute("SELECT run_id, domain, created_at FROM runs ORDER BY created_at")]

    def add_job(self, job: Job) -> None:
        self.db.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?)", (job.id, job.command, json.dumps(job.argv),
                        job.status, job.exit_code, job.created_at, job.ended_at))

    def end_job(self, job_id: str, status: str, exit_code: int | None = None) -> None:
        """Mark a running job ended; a job that already ended keeps its status."""
        self.db.execute("UPDATE jobs SET status = ?, exit_code = ?, ended_at = ? WHERE id = ? AND status = 'running'",
                        (status, exit_code, time.time(), job_id))

    def job(self, job_id: str) -> Job | None:
        row = self.db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def jobs(self, status: str | None = None) -> list[Job]:
        """Jobs, newest first; only those with `status` if given."""
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        return [_job(row) for row in self.db.execute(f"SELECT * FROM jobs {where} ORDER BY created_at DESC", args)]

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


def _job(row: tuple) -> Job:
    job_id, command, argv, status, exit_code, created_at, ended_at = row
    return Job(job_id, command, json.loads(argv), status, exit_code, created_at, ended_at)


class SQLiteCache:
    """Text values by key in one SQLite table; opens its file on first use, so
    building something that may cache writes nothing."""

    def __init__(self, path: Path, table: str) -> None:
        self.path, self.table = path, table
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        return self._db

    def get(self, key: str) -> str | None:
        row = self.db.execute(f"SELECT value FROM {self.table} WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        self.db.execute(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?)", (key, value))

    def __len__(self) -> int:
        return self.db.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


@contextmanager
def sqlite_checkpointer(path: Path) -> Iterator[Any]:
    """LangGraph checkpoints in an SQLite file: a cycle resumes at its last finished step."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    connection = sqlite3.connect(path, check_same_thread=False)
    try:
        yield SqliteSaver(connection)
    finally:
        connection.close()
