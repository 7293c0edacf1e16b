"""A local GGUF teacher run in process by llama-cpp-python.

The output schema is compiled to a grammar, so every reply parses. One model
instance is not thread-safe: calls run one at a time in a worker thread, so the
event loop keeps serving the rest of the graph meanwhile.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel

from agents.teachers.base import LLMTeacher, TeacherUnavailable, output_schema
from agents.teachers.cache import ChatResult, ResponseCache


# llama-cpp-python's schema converter lets raw control characters into JSON
# strings (`char ::= [^"\\]`), which no JSON parser accepts; llama.cpp's own
# converter excludes them, and so do we.
_LOOSE_CHAR = re.compile(r'^char ::= \[\^"\\\\\]', re.MULTILINE)
_STRICT_CHAR = r'char ::= [^"\\\x7F\x00-\x1F]'


GRAMMAR_MAX_LENGTH = 500


def without_long_string_bounds(schema):
    """The schema without string length bounds above GRAMMAR_MAX_LENGTH: the
    converter spells a bound of n characters as n nested optional rules, and
    sampling under a few thousand crashes llama.cpp (a segfault). Short bounds
    stay, so a weak model's rambling stops early. Replies are still validated
    against the full schema."""
    if isinstance(schema, dict):
        long = schema.get("maxLength", 0) > GRAMMAR_MAX_LENGTH
        return {k: without_long_string_bounds(v) for k, v in schema.items()
                if not (long and k in ("minLength", "maxLength"))}
    if isinstance(schema, list):
        return [without_long_string_bounds(v) for v in schema]
    return schema


@lru_cache(maxsize=16)
def json_grammar(schema_json: str):
    from llama_cpp import LlamaGrammar
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    gbnf, replaced = _LOOSE_CHAR.subn(lambda _: _STRICT_CHAR, json_schema_to_gbnf(schema_json))
    if not replaced and "\\x00-\\x1F" not in gbnf:
        raise RuntimeError("llama-cpp-python's JSON grammar changed shape; check its `char` rule excludes control characters")
    return LlamaGrammar.from_string(gbnf, verbose=False)


@lru_cache(maxsize=2)
def load_model(path: str, n_ctx: int, model_id: str):
    """A GGUF file loaded once per process: a run probes its teachers before it starts, then opens them again for
    every round. `model_id` (size and time) is part of the key, so a file changed in place is loaded again."""
    from llama_cpp import Llama

    return Llama(model_path=path, n_ctx=n_ctx, verbose=False)


# Free the models while llama_cpp still exists: at interpreter teardown its functions are gone and freeing fails.
atexit.register(load_model.cache_clear)


class LlamaCppTeacher(LLMTeacher):
    def __init__(self, path: str | Path, *, cache: ResponseCache, n_ctx: int = 0, seed: int = 0,
                 max_tokens: int = 1024, temperature: float = 0.7) -> None:
        super().__init__(cache)
        path = Path(path)
        self.spec = f"llamacpp:{path}"
        stat = path.stat()
        self.model_id = f"{self.spec}:{stat.st_size}:{int(stat.st_mtime)}"
        self.llm = load_model(str(path), n_ctx, self.model_id)
        self.llm.set_seed(seed)  # sampling starts where a freshly loaded model's would
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.lock = asyncio.Lock()

    async def _chat(self, messages: list[dict[str, str]], output: type[BaseModel]) -> ChatResult:
        async with self.lock:
            try:
                response = await asyncio.to_thread(
                    self.llm.create_chat_completion,
                    messages=messages,
                    grammar=json_grammar(json.dumps(without_long_string_bounds(output_schema(output)), sort_keys=True)),
                    max_tokens=self.max_tokens,
                    temperature=self.temperature,
                )
            except ValueError as exc:  # llama-cpp-python's "Requested tokens (n) exceed context window of m"
                if "context window" not in str(exc):
                    raise
                raise TeacherUnavailable(f"{self.spec}: the prompt does not fit the model's context ({exc}); shorten "
                                         "the prompt or load the model with a larger n_ctx", ("context_overflow",)) from exc
        usage = response.get("usage") or {}
        return ChatResult(response["choices"][0]["message"]["content"] or "",
                          usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))
