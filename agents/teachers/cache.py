"""A response cache, so rerunning the same command makes no new teacher calls.

Keyed by model, messages and output schema; stored in the workspace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forge.records import content_hash
from forge.store import open_cache


@dataclass(frozen=True)
class ChatResult:
    """One raw chat completion: its text, token counts, and why it was retried."""

    text: str
    tokens_in: int
    tokens_out: int
    retries: tuple[str, ...] = ()


class ResponseCache:
    """Teacher replies by key, in the workspace's cache (forge/store.py); building a teacher writes nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cache = open_cache(path, "teacher_replies")

    @staticmethod
    def key(model: str, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        return content_hash({"model": model, "messages": messages, "schema": schema}, length=32)

    def get(self, key: str) -> ChatResult | None:
        found = self.cache.get(key)
        return ChatResult(**json.loads(found)) if found else None

    def put(self, key: str, result: ChatResult) -> None:
        self.cache.put(key, json.dumps({"text": result.text, "tokens_in": result.tokens_in, "tokens_out": result.tokens_out}))

    def __len__(self) -> int:
        return len(self.cache)

    def close(self) -> None:
        self.cache.close()
