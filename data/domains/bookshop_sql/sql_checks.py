"""Checks and scoring for the bookshop_sql domain, named in bookshop_sql.yaml
as `sql_checks:<function>`. Queries run against the shipped database, loaded
into memory once per process; an authorizer lets a query read and nothing
else, so a generated query can never change or attach anything.
"""

from __future__ import annotations

import csv
import re
import sqlite3
import threading
import time
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIME_LIMIT_S = 2.0
READ_ONLY = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
_lock = threading.Lock()


@lru_cache(maxsize=1)
def database() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.executescript((HERE / "schema.sql").read_text())
    for table in ("authors", "books", "reviews"):
        with (HERE / f"{table}.csv").open(newline="") as f:
            rows = list(csv.reader(f))
        db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows[1:])
    db.commit()
    db.set_authorizer(lambda action, *_: sqlite3.SQLITE_OK if action in READ_ONLY else sqlite3.SQLITE_DENY)
    return db


def sql_of(text: str) -> str:
    """The query in an answer: its fenced block if it has one, else the text."""
    fenced = re.search(r"```(?:sql)?\s*\n(.*?)```", text, re.DOTALL)
    return (fenced.group(1) if fenced else text).strip()


def run(query: str) -> list[tuple]:
    """The query's rows; sqlite3.Error if it fails, is not read-only, or runs too long."""
    deadline = time.monotonic() + TIME_LIMIT_S
    with _lock:
        db = database()
        db.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            return db.execute(query).fetchall()
        finally:
            db.set_progress_handler(None, 0)


def executes(example: dict) -> tuple[bool, str]:
    """The answer is one SQL query that runs on the bookshop database."""
    try:
        rows = run(sql_of(example["output"]))
    except sqlite3.Error as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return True, f"ran: {len(rows)} rows"


def returns_rows(example: dict) -> tuple[bool, str]:
    """A question about the shop has an answer in it: at least one row, not only NULLs."""
    try:
        rows = run(sql_of(example["output"]))
    except sqlite3.Error as exc:
        return False, f"did not run: {exc}"
    if not rows:
        return False, "the query returns no rows on the bookshop database"
    if all(value is None for row in rows for value in row):
        return False, f"the query returns only NULL ({len(rows)} rows)"
    return True, f"{len(rows)} rows, first {rows[0]}"


def _normalised(rows: list[tuple], ordered: bool) -> list[tuple]:
    values = [tuple(round(v, 4) if isinstance(v, float) else v for v in row) for row in rows]
    return values if ordered else sorted(values, key=repr)


def same_rows(item: dict, answer: str) -> tuple[bool, str]:
    """Execution accuracy: the student's query returns the reference's rows
    (in order when the reference orders them); column names do not matter."""
    reference = sql_of(item["output"])
    expected = run(reference)
    try:
        got = run(sql_of(answer))
    except sqlite3.Error as exc:
        return False, f"the answer does not run: {exc}"
    ordered = re.search(r"\border\s+by\b", reference, re.IGNORECASE) is not None
    if _normalised(got, ordered) == _normalised(expected, ordered):
        return True, f"{len(got)} rows match"
    return False, f"expected {len(expected)} rows {expected[:3]}, got {len(got)} rows {got[:3]}"
