"""The teacher protocol, and the part every LLM teacher shares: the response
cache, schema validation, and one repair attempt for malformed output."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from agents.teachers.cache import ChatResult, ResponseCache
from forge.records import TeacherCall


@dataclass(frozen=True)
class TeacherRequest:
    """One request. `task` / `example` are what the template teacher reads
    instead of `messages`."""

    purpose: str  # "generate" or "critique"
    messages: list[dict[str, str]]
    output: type[BaseModel]
    attempt: int
    task: Any = None
    example: Any = None


@dataclass(frozen=True)
class TeacherReply:
    """`data` is the validated JSON object, or None with `call.error` saying why."""

    data: dict[str, Any] | None
    raw: str
    call: TeacherCall
    problem: str = ""


class Teacher(Protocol):
    spec: str

    async def complete(self, request: TeacherRequest) -> TeacherReply: ...
    async def check_reachable(self) -> None: ...
    async def close(self) -> None: ...


class TeacherUnavailable(Exception):
    """The teacher could not answer after every retry; `failures` names what
    each attempt met ("timeout", "HTTP 500"), for the lineage."""

    def __init__(self, message: str, failures: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.failures = failures


@lru_cache(maxsize=None)
def output_schema(output: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of a reply model; pydantic rebuilds it on every call otherwise."""
    return output.model_json_schema()


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def parse_reply(text: str, output: type[BaseModel]) -> tuple[dict[str, Any] | None, str]:
    """The validated object, or None and what is wrong with the text."""
    try:
        return output.model_validate_json(_FENCE.sub("", text.strip())).model_dump(), ""
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}" for e in exc.errors()[:3])
        return None, problems


class LLMTeacher:
    """Shared logic of the LLM back ends; subclasses implement `_chat` (one raw
    call) and `model_id` (what the cache key names)."""

    spec: str
    model_id: str

    def __init__(self, cache: ResponseCache) -> None:
        self.cache = cache

    async def _chat(self, messages: list[dict[str, str]], output: type[BaseModel]) -> ChatResult:
        raise NotImplementedError

    async def check_reachable(self) -> None:
        return None

    async def close(self) -> None:
        self.cache.close()

    async def _cached_chat(self, messages: list[dict[str, str]], output: type[BaseModel], call: TeacherCall) -> str:
        key = self.cache.key(self.model_id, messages, output_schema(output))
        hit = self.cache.get(key)
        if hit is not None:
            call.cached = True
            return hit.text
        result = await self._chat(messages, output)
        self.cache.put(key, result)
        call.cached = False
        call.tokens_in += result.tokens_in
        call.tokens_out += result.tokens_out
        call.retries.extend(result.retries)
        return result.text

    async def complete(self, request: TeacherRequest) -> TeacherReply:
        call = TeacherCall(node=request.purpose, attempt=request.attempt, model=self.spec)
        started = time.perf_counter()
        try:
            text = await self._cached_chat(request.messages, request.output, call)
            data, problem = parse_reply(text, request.output)
            if data is None:
                call.repaired = True
                repair = request.messages + [
                    {"role": "assistant", "content": text},
                    {"role": "user", "content": f"That reply is not valid: {problem}. Reply with only the corrected JSON "
                                                f"object matching this schema: {json.dumps(output_schema(request.output))}"},
                ]
                text = await self._cached_chat(repair, request.output, call)
                data, problem = parse_reply(text, request.output)
        except TeacherUnavailable as exc:
            call.retries.extend(exc.failures)
            call.error = "teacher_unavailable"
            call.latency_s = time.perf_counter() - started
            return TeacherReply(None, "", call, str(exc))
        call.latency_s = time.perf_counter() - started
        if data is None:
            call.error = "teacher_output_invalid"
        return TeacherReply(data, text, call, problem)
