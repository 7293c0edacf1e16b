"""Conversations as users have them, read into our `messages` format.

- `sharegpt`: a JSON array or JSONL of `{"conversations": [{"from", "value"}]}`
  (`human`/`gpt`, and the other speaker names ShareGPT dumps use);
- `openai`: JSONL of `{"messages": [{"role", "content"}]}`, content a string or
  a list of text parts (what `chat import` writes, and what OpenAI's fine-tuning takes);
- `csv`: a support log, one row per message (conversation id, role, text and
  timestamp columns, named by options), grouped by conversation and put in
  time order.

A record that cannot be read becomes a `BadRecord` with its file, line and
why; the others are read all the same.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from forge.errors import InputError
from forge.rows import CATEGORY_NAMES, text_lines

FORMATS = ("sharegpt", "openai", "csv")
SPEAKERS = {"human": "user", "user": "user", "customer": "user", "client": "user", "prompter": "user",
            "gpt": "assistant", "chatgpt": "assistant", "assistant": "assistant", "bard": "assistant",
            "bing": "assistant", "model": "assistant", "agent": "assistant", "support": "assistant",
            "bot": "assistant", "system": "system"}


@dataclass(frozen=True)
class Record:
    """One conversation as read: where it was, and its turns in our format."""

    where: str
    """file:line of its first line (for CSV, of its first row)."""
    messages: list[dict[str, str]]
    source_id: str = ""
    category: str = ""
    """A category the record names (an evaluation file's), if any."""


@dataclass(frozen=True)
class BadRecord:
    where: str
    reason: str


@dataclass
class CsvColumns:
    conversation: str = "conversation_id"
    role: str = "role"
    text: str = "text"
    timestamp: str = "timestamp"


@dataclass
class Read:
    records: list[Record] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)


def _turn(who: Any, text: Any, known: dict[str, str]) -> tuple[dict[str, str] | None, str]:
    """One turn in our format, or why it cannot be one."""
    if not isinstance(who, str) or who.strip().lower() not in known:
        return None, f"unknown speaker {who!r}: use one of {', '.join(sorted(set(known)))}"
    if isinstance(text, list):  # OpenAI content parts
        if any(not isinstance(p, dict) or p.get("type") != "text" for p in text):
            return None, "content has parts that are not text (images, audio): only text conversations are imported"
        text = "\n".join(str(p.get("text", "")) for p in text)
    if not isinstance(text, str):
        return None, f"turn text must be a string, got {type(text).__name__}"
    return {"role": known[who.strip().lower()], "content": text}, ""


def _json_objects(path: Path, text: str) -> list[tuple[int, Any, str]]:
    """(line, object or None, error) for each record of a JSON array or a JSONL file."""
    decoder = json.JSONDecoder()
    stripped = text.lstrip()
    if not stripped.startswith("["):
        found = []
        for number, line in enumerate(text_lines(text), start=1):
            if line.strip():
                try:
                    found.append((number, json.loads(line), ""))
                except json.JSONDecodeError as exc:
                    found.append((number, None, f"not valid JSON ({exc.msg} at column {exc.colno})"))
        return found
    try:  # a JSON array: each element's line, by decoding one element at a time
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno}). A JSON array "
                         "must be valid as a whole; JSONL (one record per line) lets the good lines import.") from exc
    found, i = [], text.index("[") + 1
    while True:
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        if i >= len(text) or text[i] == "]":
            return found
        value, end = decoder.raw_decode(text, i)
        found.append((text.count("\n", 0, i) + 1, value, ""))
        i = end


@dataclass(frozen=True)
class JsonLayout:
    """Where a JSON format keeps a conversation's turns, and each turn's speaker and text."""

    turns: str
    speaker: str
    text: str
    speakers: dict[str, str]

    @property
    def expected(self) -> str:
        return f'expected {{"{self.turns}": [{{"{self.speaker}": ..., "{self.text}": ...}}, ...]}}'


SHAREGPT = JsonLayout("conversations", "from", "value", SPEAKERS)
OPENAI = JsonLayout("messages", "role", "content", {"system": "system", "user": "user", "assistant": "assistant"})


def read_json(path: Path, layout: JsonLayout) -> Read:
    read = Read()
    for line, row, error in _json_objects(path, _text(path)):
        where = f"{path}:{line}"
        turns = row.get(layout.turns) if isinstance(row, dict) else None
        if error or not isinstance(turns, list) or not turns:
            read.bad.append(BadRecord(where, error or layout.expected))
            continue
        messages, problem = [], ""
        for i, t in enumerate(turns):
            message, problem = (_turn(t.get(layout.speaker), t.get(layout.text), layout.speakers)
                                if isinstance(t, dict) else (None, "not an object"))
            if message is None:
                problem = f"{layout.turns}[{i}]: {problem}"
                break
            messages.append(message)
        if problem:
            read.bad.append(BadRecord(where, problem))
        else:
            category = next((row[k] for k in ("category", *CATEGORY_NAMES) if isinstance(row.get(k), str)), "")
            read.records.append(Record(where, messages, str(row.get("id", "")), category))
    return read


def _when(value: str) -> datetime:
    value = value.strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.fromtimestamp(float(value))  # epoch seconds; ValueError when it is neither


def read_csv(path: Path, columns: CsvColumns) -> Read:
    """Rows grouped by conversation id and ordered by timestamp (ties keep file
    order). A bad row spoils its whole conversation, which is reported once."""
    read = Read()
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in vars(columns).values() if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}:1: no column {', '.join(map(repr, missing))}; the header has "
                             f"{', '.join(reader.fieldnames or []) or 'nothing'}. Name the columns with --conversation-column, "
                             "--role-column, --text-column and --timestamp-column.")
        conversations: dict[str, list[tuple[datetime, int, dict[str, str]]]] = {}
        first_line: dict[str, int] = {}
        spoiled: dict[str, tuple[int, str]] = {}
        line = reader.line_num
        for row in reader:
            start, line = line + 1, reader.line_num
            key = (row.get(columns.conversation) or "").strip()
            if not key:
                read.bad.append(BadRecord(f"{path}:{start}", f"empty {columns.conversation}: the row belongs to no conversation"))
                continue
            first_line.setdefault(key, start)
            if None in row or None in row.values():  # csv's marks for extra and missing fields
                fields = sum(v is not None for k, v in row.items() if k is not None) + len(row.get(None) or [])
                spoiled.setdefault(key, (start, f"the row has {fields} fields, the header {len(reader.fieldnames)}"))
                continue
            message, problem = _turn(row[columns.role], row[columns.text], SPEAKERS)
            try:
                when = _when(row[columns.timestamp])
            except (ValueError, OverflowError, OSError):
                problem = problem or f"{columns.timestamp} {row[columns.timestamp]!r} is not an ISO 8601 time or epoch seconds"
            if problem:
                spoiled.setdefault(key, (start, problem))
                continue
            if when.tzinfo is not None:  # compare aware times in UTC, beside naive ones
                when = when.astimezone(timezone.utc).replace(tzinfo=None)
            conversations.setdefault(key, []).append((when, start, message))
    for key, line in first_line.items():
        if key in spoiled:
            read.bad.append(BadRecord(f"{path}:{spoiled[key][0]}", f"conversation {key}: {spoiled[key][1]}"))
        else:
            turns = sorted(conversations[key], key=lambda t: (t[0], t[1]))
            read.records.append(Record(f"{path}:{line}", [m for _, _, m in turns], key))
    read.bad.sort(key=lambda b: int(b.where.rpartition(":")[2]))
    return read


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}") from exc


def read_conversations(path: Path, format: str, columns: CsvColumns | None = None) -> Read:
    if format not in FORMATS:
        raise InputError(f"unknown format {format!r}: choose one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise InputError(f"{path} is not a file: pass a {format} file of conversations")
    if format == "csv":
        return read_csv(path, columns or CsvColumns())
    return read_json(path, SHAREGPT if format == "sharegpt" else OPENAI)
