"""A response cache, so rerunning the same command makes no new teacher calls.

Keyed by model, messages and output schema; stored in the workspace as SQLite.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forge.records import content_hash


@dataclass(frozen=True)
class ChatResult:
    """One raw chat completion: its text, token counts, and why it was retried."""

    text: str
    tokens_in: int
    tokens_out: int
    retries: tuple[str, ...] = ()


class ResponseCache:
    """Opens its file on first use, so building a teacher writes nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, text TEXT NOT NULL, "
                             "tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL)")
        return self._db

    @staticmethod
    def key(model: str, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        return content_hash({"model": model, "messages": messages, "schema": schema}, length=32)

    def get(self, key: str) -> ChatResult | None:
        row = self.db.execute("SELECT text, tokens_in, tokens_out FROM responses WHERE key = ?", (key,)).fetchone()
        return ChatResult(*row) if row else None

    def put(self, key: str, result: ChatResult) -> None:
        self.db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                        (key, result.text, result.tokens_in, result.tokens_out))

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
