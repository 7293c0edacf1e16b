"""What a sandboxed task may use, and what came of it. Results are values: a
task that times out, runs out of memory or floods its output still returns a
RunResult saying so; only a broken sandbox raises."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 10.0
    """Wall-clock limit, enforced from outside the sandbox."""
    memory_mb: int = 256
    pids: int = 64
    cpus: float = 1.0
    output_bytes: int = 64 * 1024
    """stdout and stderr are each cut to this size."""


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    killed_for_memory: bool = False
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe(self) -> str:
        """One line for a verifier check's detail, with the output that matters."""
        status = "timed out" if self.timed_out else "killed for memory" if self.killed_for_memory else f"exit {self.exit_code}"
        tail = (self.stdout[-1500:] + ("\n" if self.stdout and self.stderr else "") + self.stderr[-1500:]).strip()
        return f"{status} in {self.duration_s:.2f}s" + (f":\n{tail}" if tail else "")


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the task); the message says how to fix it."""


# Every task's toolchains: no bytecode files, and Go offline (no module proxy)
# and without cgo (the image has no C compiler).
TOOLCHAIN_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "CGO_ENABLED": "0", "GOPROXY": "off"}
