"""A teacher on any OpenAI-compatible server, through the `openai` SDK.

Bounded concurrency; retries with exponential backoff and jitter on 429, 5xx,
timeouts and dropped connections, honouring Retry-After; JSON output requested
against the schema. The API key comes from OPENAI_API_KEY and is never stored
or logged.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import time

import openai
from pydantic import BaseModel
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from agents.teachers.base import LLMTeacher, TeacherUnavailable, output_schema
from agents.teachers.cache import ChatResult, ResponseCache
from forge.errors import InputError

MAX_RETRY_AFTER_S = 60.0


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def _describe(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    # The aiohttp transport reports a refused connection as a connect timeout:
    # the cause chain says what really happened.
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    return type(exc).__name__


def retry_after_s(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (Retry-After: seconds or HTTP date)."""
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        seconds = parsed.timestamp() - time.time() if parsed else 0.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class OpenAITeacher(LLMTeacher):
    def __init__(self, model: str, base_url: str, *, cache: ResponseCache, concurrency: int = 8,
                 timeout_s: float = 60.0, max_attempts: int = 6) -> None:
        super().__init__(cache)
        self.model = model
        self.base_url = base_url
        self.spec = f"openai:{model}@{base_url}"
        self.model_id = self.spec
        self.max_attempts = max_attempts
        self.limit = asyncio.Semaphore(concurrency)
        self.backoff = wait_exponential_jitter(multiplier=0.2, max=20.0)
        # The SDK's own retries are off: ours record every retry in the lineage.
        # aiohttp is the SDK's recommended transport for many concurrent requests.
        self.client = openai.AsyncOpenAI(base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY") or "unused",
                                         max_retries=0, timeout=timeout_s, http_client=openai.DefaultAioHttpClient())

    async def check_reachable(self) -> None:
        try:
            await self.client.models.list(timeout=10.0)
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise InputError(f"teacher unreachable: {_describe(exc)} at {self.base_url}. Start the server or fix "
                             "the URL in --teacher openai:<model>@<base_url>.") from exc
        except openai.AuthenticationError as exc:
            raise InputError(f"teacher at {self.base_url} refused the API key (HTTP 401). "
                             "Set OPENAI_API_KEY in the environment.") from exc
        except openai.APIStatusError:
            pass  # some compatible servers have no /models; the server answered, that is enough

    def _wait(self, state: RetryCallState) -> float:
        asked = retry_after_s(state.outcome.exception() if state.outcome else None)
        return asked if asked is not None else self.backoff(state)

    async def _chat(self, messages: list[dict[str, str]], output: type[BaseModel]) -> ChatResult:
        retries: list[str] = []

        def note(state: RetryCallState) -> None:
            retries.append(_describe(state.outcome.exception()))

        retrying = AsyncRetrying(stop=stop_after_attempt(self.max_attempts), wait=self._wait,
                                 retry=retry_if_exception(_retryable), before_sleep=note, reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    async with self.limit:
                        # client.post (the SDK's documented call for raw requests) with the
                        # body as text skips the typed create()'s walks over request and
                        # reply, about 2 ms a call: at hundreds of calls/s, most of a core.
                        # Errors, auth and connections are the SDK's as before.
                        body = await self.client.post("/chat/completions", cast_to=str, body={
                            "model": self.model,
                            "messages": messages,
                            "response_format": {"type": "json_schema", "json_schema": {
                                "name": output.__name__, "schema": output_schema(output)}},
                        })
        except openai.APIError as exc:
            raise TeacherUnavailable(f"{_describe(exc)} after {len(retries) + 1} attempts: {exc}",
                                     (*retries, _describe(exc))) from exc
        try:
            reply = json.loads(body)
            usage = reply.get("usage") or {}
            text = reply["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise TeacherUnavailable(f"the server's reply has no choices[0].message.content: {body[:300]}") from exc
        return ChatResult(text, usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), tuple(retries))

    async def close(self) -> None:
        await self.client.close()
        await super().close()
