"""A local GGUF teacher run in process by llama-cpp-python.

The output schema is compiled to a grammar, so every reply parses. One model
instance is not thread-safe: calls run one at a time in a worker thread, so the
event loop keeps serving the rest of the graph meanwhile.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import BaseModel

from agents.teachers.base import LLMTeacher
from agents.teachers.cache import ChatResult, ResponseCache


class LlamaCppTeacher(LLMTeacher):
    def __init__(self, path: str | Path, *, cache: ResponseCache, n_ctx: int = 4096, seed: int = 0,
                 max_tokens: int = 1024, temperature: float = 0.7) -> None:
        from llama_cpp import Llama

        super().__init__(cache)
        path = Path(path)
        self.spec = f"llamacpp:{path}"
        stat = path.stat()
        self.model_id = f"{self.spec}:{stat.st_size}:{int(stat.st_mtime)}"
        self.llm = Llama(model_path=str(path), n_ctx=n_ctx, seed=seed, verbose=False)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.lock = asyncio.Lock()

    async def _chat(self, messages: list[dict[str, str]], output: type[BaseModel]) -> ChatResult:
        async with self.lock:
            response = await asyncio.to_thread(
                self.llm.create_chat_completion,
                messages=messages,
                response_format={"type": "json_object", "schema": output.model_json_schema()},
                max_tokens=self.max_tokens,
                temperature=self.temperature,
            )
        usage = response.get("usage") or {}
        return ChatResult(response["choices"][0]["message"]["content"] or "",
                          usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))
