"""Isolated execution. One interface, `run(files, command, limits, base) -> RunResult`
(`base`: a Snapshot of shared files the task's own are laid over), two back
ends: a warm Docker container pool, and bubblewrap for hosts without Docker."""

from __future__ import annotations

import os

from sandbox.files import Snapshot, TaskTooLarge
from sandbox.limits import Limits, RunResult, SandboxError

__all__ = ["Limits", "RunResult", "SandboxError", "Snapshot", "TaskTooLarge", "open_sandbox", "BACKENDS"]

BACKENDS = ("docker", "bwrap")


def open_sandbox(backend: str = "docker", *, image: str | None = None, size: int = 2, limits: Limits = Limits()):
    """A sandbox back end by name; raises SandboxError saying how to fix a missing piece."""
    if backend == "docker":
        from sandbox.docker_pool import DEFAULT_IMAGE, DockerPool

        return DockerPool(image or os.environ.get("DOMAINFORGE_SANDBOX_IMAGE", DEFAULT_IMAGE), size=size, limits=limits)
    if backend == "bwrap":
        from sandbox.bwrap import BubblewrapSandbox

        return BubblewrapSandbox(limits=limits)
    raise SandboxError(f"unknown sandbox back end {backend!r}: choose docker or bwrap")
