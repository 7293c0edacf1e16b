"""The PostgreSQL back end of the store: a team's shared system of record for
examples, slots, verdicts, human verdicts and jobs, which any number of
workers, the service, `audit` and `export` read and write over the network.
psycopg 3 with a connection pool; the only module that imports psycopg.

The schema is versioned (`schema_version`) and migrated forward under an
advisory lock, so two workers that open a new database at once create it
once; a database newer than this code is a clear error. Examples are keyed by
content hash and slots by (run, slot), so two workers that finish the same
slot store one row. The password (URI, PGPASSWORD or ~/.pgpass) is never
printed: every message names the store by `masked(uri)`.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any, Callable, Iterator, TypeVar

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from forge.errors import InputError, masked
from forge.records import Example, Job, Lineage, StoredExample, Verdict, agreement

SCHEMA_VERSION = 1
MIGRATIONS = {
    1: """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    config JSONB NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE examples (
    id TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    category TEXT NOT NULL,
    format TEXT NOT NULL,
    payload JSONB NOT NULL,
    metadata JSONB NOT NULL,
    accepted BOOLEAN NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE slots (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    slot INTEGER NOT NULL,
    example_id TEXT NOT NULL REFERENCES examples(id),
    accepted BOOLEAN NOT NULL,
    reasons JSONB NOT NULL,
    verdict JSONB NOT NULL,
    lineage JSONB NOT NULL,
    finished_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, slot)
);
CREATE INDEX slots_by_example ON slots(example_id);
CREATE TABLE human_verdicts (
    example_id TEXT NOT NULL REFERENCES examples(id),
    accepted BOOLEAN NOT NULL,
    note TEXT NOT NULL,
    who TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);
CREATE INDEX human_verdicts_by_example ON human_verdicts(example_id, at);
CREATE VIEW latest_human_verdicts AS
    SELECT DISTINCT ON (example_id) example_id, accepted, note, who, at
    FROM human_verdicts ORDER BY example_id, at DESC;
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    argv JSONB NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    created_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION
);
""",
}
LOCK = 7_402_113  # the advisory lock that serialises migrations


OUTAGE_S = 120.0
"""How long an operation waits for the server to come back (a restart, a failover) before the command gives up."""

Result = TypeVar("Result")

# The pool logs each failed reconnection with the raw error; outage_tolerant says once what is happening.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)


def outage_tolerant(operation: Callable[..., Result]) -> Callable[..., Result]:
    """`operation`, retried while the server cannot be reached, for up to OUTAGE_S; then an InputError that says
    so. Every write is idempotent (slots and examples are keyed), so running one again after a lost reply
    stores it once."""

    @functools.wraps(operation)
    def retried(self: PostgresStore, *args: Any, **kwargs: Any) -> Result:
        def waiting(state: RetryCallState) -> None:
            if state.attempt_number == 1:
                logging.getLogger("domainforge.store").warning(
                    "store %s: %s; retrying for up to %.0f s", self.name, _first_line(state.outcome.exception()), OUTAGE_S)
        retrying = Retrying(retry=retry_if_exception_type(psycopg.OperationalError), reraise=True,
                            wait=wait_exponential(multiplier=0.2, max=5), stop=stop_after_delay(OUTAGE_S),
                            before_sleep=waiting)
        try:
            return retrying(operation, self, *args, **kwargs)
        except psycopg.OperationalError as exc:
            raise InputError(f"store {self.name}: the server did not answer for {OUTAGE_S:.0f} s "
                             f"({_first_line(exc)}). Finished slots are kept: run the same command again when "
                             "PostgreSQL is back.") from None
    return retried


def _first_line(exc: BaseException | None) -> str:
    return str(exc).strip().splitlines()[0] if exc and str(exc).strip() else type(exc).__name__


class PostgresStore:
    """The shared store: one PostgreSQL database, many writers."""

    def __init__(self, uri: str, pool_size: int = 4) -> None:
        self.uri = uri
        self.name = masked(uri)
        try:  # one plain connection first: a wrong password or database fails at once, with the server's words
            psycopg.connect(uri, connect_timeout=10).close()
        except psycopg.Error as exc:
            raise InputError(f"store {self.name}: cannot connect: {' '.join(str(exc).replace(uri, self.name).split())}\n"
                             "Check that PostgreSQL runs there and that the user, password (in the URI, PGPASSWORD or "
                             "~/.pgpass) and database are right.") from None
        # check: a connection that a server restart broke is replaced when it is taken, not used. timeout: how
        # long taking one waits while the pool reconnects; past it, outage_tolerant says so once and keeps trying.
        self.pool = ConnectionPool(uri, min_size=1, max_size=pool_size, kwargs={"autocommit": True}, open=True,
                                   name="domainforge", check=ConnectionPool.check_connection, timeout=5)
        self._migrate()

    @property
    def target(self) -> str:
        return self.uri

    def _migrate(self) -> None:
        with self.pool.connection() as db, db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            version = row[0] if row else 0
            if version > SCHEMA_VERSION:
                raise InputError(f"store {self.name} has schema version {version}, newer than this DomainForge "
                                 f"knows ({SCHEMA_VERSION}). Upgrade DomainForge on this machine.")
            for step in range(version + 1, SCHEMA_VERSION + 1):
                db.execute(MIGRATIONS[step])
            if row is None:
                db.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION,))
            elif version < SCHEMA_VERSION:
                db.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION,))

    @outage_tolerant
    def _rows(self, sql: str, args: tuple | list = ()) -> list[tuple]:
        with self.pool.connection() as db:
            return db.execute(sql, args).fetchall()

    @outage_tolerant
    def _run(self, sql: str, args: tuple | list = ()) -> None:
        with self.pool.connection() as db:
            db.execute(sql, args)

    def start_run(self, run_id: str, domain: str, config: dict[str, Any]) -> None:
        self._run("INSERT INTO runs VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                  (run_id, domain, Jsonb(config), time.time()))

    def finished_slots(self, run_id: str) -> set[int]:
        return {row[0] for row in self._rows("SELECT slot FROM slots WHERE run_id = %s", (run_id,))}

    @outage_tolerant
    def record(self, run_id: str, slot: int, example: Example, verdict: Verdict, lineage: Lineage) -> None:
        now = time.time()
        with self.pool.connection() as db, db.transaction():
            # A rejected copy of this content may exist from another slot; an
            # accepted verdict upgrades it, a rejected one never downgrades.
            db.execute("INSERT INTO examples VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE "
                       "SET accepted = TRUE WHERE excluded.accepted",
                       (example.id, example.domain, example.category, example.format, Jsonb(example.payload),
                        Jsonb(example.metadata), verdict.accepted, now))
            db.execute("INSERT INTO slots VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                       (run_id, slot, example.id, verdict.accepted, Jsonb(verdict.reasons), Jsonb(verdict.to_dict()),
                        Jsonb(lineage.to_dict()), now))

    def is_accepted(self, example_id: str) -> bool:
        return bool(self._rows("SELECT 1 FROM examples WHERE id = %s AND accepted", (example_id,)))

    def produced(self, *, accepted: bool | None = None, reason: str | None = None, run_id: str | None = None,
                 category: str | None = None, text: str | None = None, example_id: str | None = None,
                 round_: int | None = None, limit: int | None = None, offset: int = 0) -> Iterator[StoredExample]:
        """Produced examples, oldest first. `accepted` and `reason` are the
        verifier's; `text` searches the example's content."""
        sql = ("SELECT e.domain, e.category, e.format, e.payload, e.metadata, s.verdict, s.lineage, s.run_id, s.slot, "
               "h.accepted, h.note, h.who, h.at FROM slots s JOIN examples e ON e.id = s.example_id "
               "LEFT JOIN latest_human_verdicts h ON h.example_id = e.id WHERE TRUE")
        args: list[Any] = []
        for clause, value in (("s.accepted = %s", accepted), ("s.reasons ? %s", reason),
                              ("s.run_id = %s", run_id), ("e.category = %s", category), ("e.id = %s", example_id),
                              ("(s.lineage->>'round')::int = %s", round_),
                              ("strpos(lower(e.payload::text), lower(%s)) > 0", text)):
            if value is not None:
                sql += f" AND {clause}"
                args.append(value)
        sql += " ORDER BY s.finished_at, s.slot LIMIT %s OFFSET %s"
        args += [limit, offset]
        for domain, category_, fmt, payload, metadata, verdict, lineage, run, slot, *human in self._rows(sql, args):
            person = None
            if human[0] is not None:
                person = {"accepted": human[0], "note": human[1], "who": human[2], "at": human[3]}
            yield StoredExample(Example(domain, category_, fmt, payload, metadata), Verdict.from_dict(verdict), lineage,
                                run, slot, person)

    def accepted_examples(self, domain: str | None = None) -> Iterator[Example]:
        """What the verifier accepted, unless a person rejected it, and what a
        person accepted: the data export and curation read."""
        sql = ("SELECT e.domain, e.category, e.format, e.payload, e.metadata FROM examples e "
               "LEFT JOIN latest_human_verdicts h ON h.example_id = e.id WHERE COALESCE(h.accepted, e.accepted)")
        args: tuple[Any, ...] = ()
        if domain is not None:
            sql += " AND e.domain = %s"
            args = (domain,)
        for d, category, fmt, payload, metadata in self._rows(sql + " ORDER BY e.created_at, e.id", args):
            yield Example(d, category, fmt, payload, metadata)

    @outage_tolerant
    def judge(self, example_id: str, accepted: bool, note: str, who: str) -> None:
        """Record a person's verdict on an example; KeyError when there is no such example."""
        with self.pool.connection() as db:
            if db.execute("SELECT 1 FROM examples WHERE id = %s", (example_id,)).fetchone() is None:
                raise KeyError(example_id)
            db.execute("INSERT INTO human_verdicts VALUES (%s, %s, %s, %s, %s)",
                       (example_id, accepted, note, who, time.time()))

    def human_agreement(self) -> dict[str, Any]:
        rows = self._rows(
            "SELECT e.accepted, h.accepted, (SELECT COALESCE(jsonb_agg(j), '[]') FROM slots s, "
            "jsonb_array_elements_text(s.reasons) j WHERE s.example_id = e.id) "
            "FROM latest_human_verdicts h JOIN examples e ON e.id = h.example_id")
        return agreement(rows)

    def summary(self, run_id: str | None = None) -> dict[str, Any]:
        where, args = ("WHERE s.run_id = %s", (run_id,)) if run_id else ("", ())
        accepted, rejected, tokens_in, tokens_out, calls, retries = self._rows(
            "SELECT COUNT(*) FILTER (WHERE accepted), COUNT(*) FILTER (WHERE NOT accepted), "
            "COALESCE(SUM((lineage->>'tokens_in')::bigint), 0), COALESCE(SUM((lineage->>'tokens_out')::bigint), 0), "
            "COALESCE(SUM(jsonb_array_length(lineage->'calls')), 0), COALESCE(SUM((lineage->>'retries')::bigint), 0) "
            f"FROM slots s {where}", args)[0]
        by_reason = dict(self._rows(
            f"SELECT j, COUNT(*) FROM slots s, jsonb_array_elements_text(s.reasons) j {where} "
            "GROUP BY j ORDER BY COUNT(*) DESC, j", args))
        by_category = {c: {"accepted": a, "rejected": r} for c, a, r in self._rows(
            "SELECT e.category, COUNT(*) FILTER (WHERE s.accepted), COUNT(*) FILTER (WHERE NOT s.accepted) "
            f"FROM slots s JOIN examples e ON e.id = s.example_id {where} GROUP BY e.category ORDER BY e.category", args)}
        return {"accepted": accepted, "rejected": rejected, "rejected_by_reason": by_reason,
                "by_category": by_category, "tokens_in": int(tokens_in), "tokens_out": int(tokens_out),
                "teacher_calls": int(calls), "retries": int(retries)}

    def runs(self) -> list[dict[str, Any]]:
        """Every generation run, oldest first: run_id, domain, created_at."""
        return [{"run_id": r, "domain": d, "created_at": t}
                for r, d, t in self._rows("SELECT run_id, domain, created_at FROM runs ORDER BY created_at")]

    def add_job(self, job: Job) -> None:
        self._run("INSERT INTO jobs VALUES (%s, %s, %s, %s, %s, %s, %s)", (job.id, job.command, Jsonb(job.argv),
                  job.status, job.exit_code, job.created_at, job.ended_at))

    def end_job(self, job_id: str, status: str, exit_code: int | None = None) -> None:
        """Mark a running job ended; a job that already ended keeps its status."""
        self._run("UPDATE jobs SET status = %s, exit_code = %s, ended_at = %s WHERE id = %s AND status = 'running'",
                  (status, exit_code, time.time(), job_id))

    def job(self, job_id: str) -> Job | None:
        rows = self._rows("SELECT * FROM jobs WHERE id = %s", (job_id,))
        return Job(*rows[0]) if rows else None

    def jobs(self, status: str | None = None) -> list[Job]:
        """Jobs, newest first; only those with `status` if given."""
        where, args = ("WHERE status = %s", (status,)) if status else ("", ())
        return [Job(*row) for row in self._rows(f"SELECT * FROM jobs {where} ORDER BY created_at DESC", args)]

    def close(self) -> None:
        self.pool.close()
