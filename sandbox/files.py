"""A task's files on their way into the sandbox.

Files travel as one uncompressed tar stream (a Docker exec's stdin, or
written straight to disk for bubblewrap), so no argument-size limit applies.
Files that many tasks share, such as a whole repository, are a `Snapshot`:
each sandbox receives it once and lays it under every task that names it,
so a task sends only its own few files.

A task's files must fit the work space a sandbox gives it; what does not is
`TaskTooLarge`, which the example graph records as a rejection of that one
example (`task_too_large`), never the end of a run.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass, field
from typing import Mapping

from sandbox.limits import Limits, SandboxError

Files = Mapping[str, "str | bytes"]


class TaskTooLarge(SandboxError):
    """The task's files do not fit the sandbox's work space (a value of the task, not a broken sandbox)."""

    reason = "task_too_large"


def as_bytes(content: str | bytes) -> bytes:
    return content.encode() if isinstance(content, str) else content


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Files shared by many tasks (a repository), identified by their content."""

    files: Mapping[str, bytes] = field(repr=False)
    id: str
    size: int
    """Bytes of file content."""
    executable: frozenset[str] = frozenset()

    @classmethod
    def of(cls, files: Files, executable: frozenset[str] = frozenset()) -> Snapshot:
        data = {name: as_bytes(content) for name, content in sorted(files.items())}
        digest = hashlib.sha256()
        for name, content in data.items():
            digest.update(name.encode() + (b"\1" if name in executable else b"\0") + hashlib.sha256(content).digest())
        return cls(data, digest.hexdigest()[:16], sum(len(c) for c in data.values()), executable & set(data))

    def tar(self) -> bytes:
        return tar_bytes(self.files, self.executable)


def tar_bytes(files: Files, executable: frozenset[str] = frozenset()) -> bytes:
    """An uncompressed tar of the files, every entry readable (and `executable` ones runnable)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, content in files.items():
            data = as_bytes(content)
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755 if name in executable else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def work_space_bytes(limits: Limits) -> int:
    """What one task's files may take: half its work dir, which is half the
    memory limit (in Docker a tmpfs, whose pages count as memory); builds need
    the other half."""
    return limits.memory_mb * 2**20 // 4


def check_fits(files: Files, base: Snapshot | None, limits: Limits) -> None:
    size = sum(len(as_bytes(c)) for c in files.values()) + (2 * base.size if base else 0)
    room = work_space_bytes(limits)
    if size > room:
        shared = f" ({base.size / 2**20:.1f} MiB of them shared, counted twice: kept and copied)" if base else ""
        raise TaskTooLarge(f"the task's files take {size / 2**20:.1f} MiB{shared}; a task in this sandbox may bring "
                           f"{room / 2**20:.0f} MiB (a quarter of its {limits.memory_mb} MiB memory limit). Leave large "
                           "files out of the repository's checkout, or raise the memory limit.")
