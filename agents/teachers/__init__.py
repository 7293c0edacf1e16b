"""Teachers write and critique examples. One protocol, chosen by a spec string:

    template                      offline, deterministic, per-domain generators (default)
    openai:<model>[@<base_url>]   any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp server)
    llamacpp:<path.gguf>          a local GGUF model in process, JSON-schema grammar
    llamacpp:smollm2              the same, with a model we ship (forge/models.py)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from forge.errors import InputError
from forge.models import SHIPPED, gguf_path
from forge.workspace import cache_root

from agents.teachers.base import Teacher, TeacherReply, TeacherRequest

__all__ = ["Teacher", "TeacherReply", "TeacherRequest", "TeacherSpec", "TeacherPair", "parse_teacher_spec",
           "make_teacher", "open_teachers", "grader"]

SPEC_HELP = "use 'template', 'openai:<model>[@<base_url>]', 'llamacpp:<path.gguf>' or 'llamacpp:smollm2'"


@dataclass(frozen=True)
class TeacherSpec:
    kind: str  # template | openai | llamacpp
    model: str = ""
    base_url: str = ""

    def __str__(self) -> str:
        if self.kind == "template":
            return "template"
        if self.kind == "openai":
            return f"openai:{self.model}@{self.base_url}"
        return f"llamacpp:{self.model}"


def parse_teacher_spec(spec: str) -> TeacherSpec:
    spec = spec.strip()
    if spec == "template":
        return TeacherSpec("template")
    kind, _, rest = spec.partition(":")
    if kind == "openai" and rest:
        model, _, base_url = rest.partition("@")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1")
        if not model or not re.match(r"^https?://[^\s/]+", base_url):
            raise InputError(f"malformed teacher spec {spec!r}: expected openai:<model>@http(s)://host[:port]/v1")
        return TeacherSpec("openai", model, base_url.rstrip("/"))
    if kind == "llamacpp" and rest in SHIPPED:
        return TeacherSpec("llamacpp", str(gguf_path(rest)))
    if kind == "llamacpp" and rest:
        path = Path(rest).expanduser()
        if path.suffix != ".gguf" or not path.is_file():
            raise InputError(f"teacher spec {spec!r}: {path} is not a .gguf file that exists. Pass the path of a "
                             f"GGUF model, e.g. llamacpp:models/teacher.Q4_K_M.gguf, or a shipped one: "
                             f"{', '.join(f'llamacpp:{name}' for name in SHIPPED)}")
        return TeacherSpec("llamacpp", str(path.resolve()))
    raise InputError(f"malformed teacher spec {spec!r}: {SPEC_HELP}")


def make_teacher(spec: TeacherSpec, domain, *, cache_path: Path, concurrency: int, timeout_s: float = 60.0) -> Teacher:
    """Build the teacher a spec names. LLM teachers share the workspace's response cache."""
    if spec.kind == "template":
        from agents.teachers.template import TemplateTeacher

        return TemplateTeacher(domain)
    from agents.teachers.cache import ResponseCache

    cache = ResponseCache(cache_path)
    if spec.kind == "openai":
        from agents.teachers.openai_compat import OpenAITeacher

        return OpenAITeacher(spec.model, spec.base_url, cache=cache, concurrency=concurrency, timeout_s=timeout_s)
    from agents.teachers.llamacpp import LlamaCppTeacher

    return LlamaCppTeacher(spec.model, cache=cache)


@dataclass(frozen=True)
class TeacherPair:
    """The generator and the critic of a run (one object when their specs are the same)."""

    teacher: Teacher
    critic: Teacher

    async def check_reachable(self) -> None:
        await self.teacher.check_reachable()
        if self.critic is not self.teacher:
            await self.critic.check_reachable()

    async def close(self) -> None:
        await self.teacher.close()
        if self.critic is not self.teacher:
            await self.critic.close()


def open_teachers(domain, teacher: str, critic: str, *, cache_path: Path, concurrency: int,
                  timeout_s: float = 60.0) -> TeacherPair:
    """The teachers two specs name; InputError for a malformed spec, or for a
    template critic where the domain grades with a rubric."""
    teacher_spec, critic_spec = parse_teacher_spec(teacher), parse_teacher_spec(critic)
    if domain.needs_llm_critic and critic_spec.kind == "template":
        raise InputError(f"domain {domain.name} grades with a rubric (a judge check or judge scoring), which the "
                         "template critic cannot do. Pass --critic openai:<model>@<base_url> or llamacpp:<path.gguf>.")
    generator = make_teacher(teacher_spec, domain, cache_path=cache_path, concurrency=concurrency, timeout_s=timeout_s)
    if critic_spec == teacher_spec:
        return TeacherPair(generator, generator)
    return TeacherPair(generator, make_teacher(critic_spec, domain, cache_path=cache_path, concurrency=concurrency,
                                               timeout_s=timeout_s))


def grader(spec: str, output: type) -> Callable[[list[dict[str, str]]], TeacherReply]:
    """One blocking call per grading (a held-out answer against its reference),
    through the teacher machinery: retries, the output schema, a response cache."""
    import asyncio

    parsed = parse_teacher_spec(spec)
    if parsed.kind == "template":
        raise InputError(f"the grader {spec!r} must be an LLM: {SPEC_HELP.replace('template', 'not template')}")
    cache = cache_root()

    async def ask(messages: list[dict[str, str]]) -> TeacherReply:
        cache.mkdir(parents=True, exist_ok=True)
        teacher = make_teacher(parsed, None, cache_path=cache / "grader_cache.sqlite", concurrency=1)
        try:
            return await teacher.complete(TeacherRequest("grade", messages, output, 1))
        finally:
            await teacher.close()

    return lambda messages: asyncio.run(ask(messages))
