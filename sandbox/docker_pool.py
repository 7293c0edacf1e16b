"""The Docker back end: a pool of warm containers, one task at a time each.

A `docker run` costs about a second (several with the vfs storage driver); an
exec in a warm container tens of milliseconds. So containers start once, idle
on `sleep infinity` under Docker's init (which reaps what tasks leave behind,
so their pids come back), and each task is one `docker exec` that unpacks its
files, streamed on its stdin, into a fresh directory, runs, caps its output,
and kills every process it left behind. A task that kills that exec's own
shell skips the last step, so the pool then kills from a fresh exec. A
container is replaced after any failure and after `max_tasks` tasks.

A snapshot (sandbox/files.py: a whole repository) is sent to each container
once, into a tmpfs of its own that only root writes (tasks, uid 1000, can
read it, not change it), and copied under every task that names it; the
task's own files are laid over the copy.

Every container: no network, read-only root with a size-limited tmpfs work
dir, memory (no swap), pids and CPU quota, a non-root user, all capabilities
dropped, no-new-privileges. The wall-clock timeout is enforced from here, not
by anything inside the container.
"""

from __future__ import annotations

import base64
import queue
import shlex
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.files import Files, Snapshot, check_fits, tar_bytes
from sandbox.limits import TOOLCHAIN_ENV, Limits, RunResult, SandboxError

DEFAULT_IMAGE = "domainforge-sandbox:latest"
USER = "1000:1000"
WORK = "/work"
SNAPSHOTS = "/snapshots"
SNAPSHOTS_KEPT = 2  # per container; the oldest goes when a third arrives

# $1: task dir, $2: output cap, $3: a snapshot to copy first (or ""); the rest
# is the command. The task's files arrive as a tar on stdin.
TASK_SCRIPT = r"""
dir=$1; cap=$2; base=$3; shift 3
mkdir "$dir" && cd "$dir" || exit 125
if [ -n "$base" ]; then cp -R "$base"/. . || exit 125; fi
tar -x --no-same-owner || exit 125
"$@" > .stdout 2> .stderr < /dev/null
rc=$?
kill -9 -1 2>/dev/null
head -c "$cap" .stdout
head -c "$cap" .stderr >&2
cd / && rm -rf "$dir"
exit $rc
"""
# Run as root (no capabilities), the owner of SNAPSHOTS.
SNAPSHOT_SCRIPT = r"""
set -e
dir=$1; shift
rm -rf "$dir.partial" "$@"
mkdir "$dir.partial"
tar -x --no-same-owner -C "$dir.partial"
chmod -R a+rX,go-w "$dir.partial"
mv "$dir.partial" "$dir"
"""


ENGINE_TIMEOUT_S = 300


@dataclass
class Slot:
    """One pooled container: how many tasks it ran, and the snapshots it holds (oldest first)."""

    container: object
    used: int = 0
    snapshots: list[str] = field(default_factory=list)


class DockerPool:
    def __init__(self, image: str = DEFAULT_IMAGE, size: int = 2, limits: Limits = Limits(), max_tasks: int = 200) -> None:
        import docker

        try:
            # A generous API timeout: on a busy engine (or with the vfs storage driver, which copies the
            # image for each container) creating a container can take longer than docker-py's 60 s.
            self.client = docker.from_env(max_pool_size=max(10, 2 * size), timeout=ENGINE_TIMEOUT_S)
            self.client.ping()
        except Exception as exc:
            raise SandboxError(f"cannot reach the Docker engine ({exc}). Start it (dockerd), or use the bubblewrap "
                               "back end: --sandbox bwrap") from exc
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            raise SandboxError(f"sandbox image {image!r} is missing. Build it with: python loop.py sandbox build-image") from None
        self.image, self.limits, self.max_tasks = image, limits, max_tasks
        self.idle: queue.Queue = queue.Queue()
        self.runner = ThreadPoolExecutor(max_workers=size, thread_name_prefix="sandbox-exec")
        self.closed = False
        self.task_counter = 0
        self.lock = threading.Lock()
        with ThreadPoolExecutor(max_workers=size) as starter:
            for container in starter.map(lambda _: self._start(), range(size)):
                self.idle.put(Slot(container))

    def _start(self):
        cpus = self.limits.cpus
        return self.client.containers.run(
            self.image, ["sleep", "infinity"], detach=True, init=True, network_mode="none", read_only=True,
            # tmpfs pages count against the memory limit: at half of it, a flood of
            # output fills the disk (ENOSPC) before it can exhaust memory. exec: Go runs the test
            # binaries it builds there.
            tmpfs={WORK: f"rw,exec,size={self.limits.memory_mb // 2}m,mode=1777,uid=1000,gid=1000",
                   SNAPSHOTS: f"rw,noexec,size={self.limits.memory_mb // 4}m,mode=755"},
            mem_limit=f"{self.limits.memory_mb}m", memswap_limit=f"{self.limits.memory_mb}m",
            # The idle process is root (with no capabilities) so that a task's `kill -9 -1`,
            # which reaches every process of its own user, cannot stop the container.
            pids_limit=self.limits.pids, nano_cpus=int(cpus * 1e9), user="0:0", cap_drop=["ALL"],
            security_opt=["no-new-privileges"], labels={"domainforge.sandbox": "1"}, working_dir=WORK,
            environment={"HOME": WORK, "LANG": "C.UTF-8", **TOOLCHAIN_ENV},
        )

    def _replace(self, container) -> object:
        try:
            container.remove(force=True)
        except Exception:
            pass  # already gone: the replacement is what matters
        return self._start()

    def _oom_kills(self, container) -> int | None:
        """The kernel's count of OOM kills in the container (cgroup v1), if readable here."""
        path = Path(f"/sys/fs/cgroup/memory/docker/{container.id}/memory.oom_control")
        try:
            return int(path.read_text().split("oom_kill ")[1].split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _kill_task(self, container) -> None:
        # kill(-1) from uid 1000 reaches every task process, never PID 1 (sleep).
        # The shell's builtin: the minimal image has no kill binary.
        self.client.api.exec_start(self.client.api.exec_create(container.id, ["sh", "-c", "kill -9 -1"], user=USER)["Id"])

    def _stop_task(self, container, future) -> tuple[bytes, bytes]:
        """Kill the task's processes until its exec ends, within 30 s: a fork bomb forks again between one kill
        and the next, and while it holds every pid the kill itself may not start."""
        import docker

        deadline = time.monotonic() + 30
        while True:
            try:
                self._kill_task(container)
            except docker.errors.APIError:
                pass  # no pid left to start the kill with: the next try may find one
            try:
                return future.result(timeout=1)
            except FutureTimeout:
                if time.monotonic() > deadline:
                    raise SandboxError(f"the task in container {container.short_id} outlived 30 s of kills") from None

    def _exec(self, exec_id: str, stdin: bytes) -> tuple[bytes, bytes]:
        """Start an exec, send it stdin and close it, and collect its stdout and stderr."""
        from docker.utils.socket import consume_socket_output, demux_adaptor, frames_iter

        stream = self.client.api.exec_start(exec_id, socket=True)
        raw = getattr(stream, "_sock", stream)
        try:
            try:
                raw.sendall(stdin)
                raw.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # it exited before reading everything: its output says why
            frames = (demux_adaptor(*frame) for frame in frames_iter(stream, tty=False))
            stdout, stderr = consume_socket_output(frames, demux=True)
        finally:
            stream.close()
        return stdout or b"", stderr or b""

    def _install(self, slot: Slot, snapshot: Snapshot) -> str:
        """The snapshot's folder in the slot's container, sent there on first use."""
        where = f"{SNAPSHOTS}/{snapshot.id}"
        if snapshot.id in slot.snapshots:
            return where
        evicted = slot.snapshots[:-SNAPSHOTS_KEPT + 1] if len(slot.snapshots) >= SNAPSHOTS_KEPT else []
        exec_id = self.client.api.exec_create(
            slot.container.id, ["sh", "-c", SNAPSHOT_SCRIPT, "snapshot", where,
                                *(f"{SNAPSHOTS}/{old}" for old in evicted)], user="0:0", stdin=True)["Id"]
        _, stderr = self._exec(exec_id, snapshot.tar())
        if self.client.api.exec_inspect(exec_id)["ExitCode"] != 0:
            raise SandboxError(f"could not copy a {snapshot.size / 2**20:.1f} MiB snapshot into container "
                               f"{slot.container.short_id}: {stderr.decode(errors='replace')[-500:]}")
        slot.snapshots = [s for s in slot.snapshots if s not in evicted] + [snapshot.id]
        return where

    def run(self, files: Files, command: list[str], limits: Limits | None = None,
            base: Snapshot | None = None) -> RunResult:
        """Run the command over the files (laid over the snapshot `base`, if any).
        TaskTooLarge when they do not fit the work dir."""
        limits = limits or self.limits
        check_fits(files, base, self.limits)
        payload = tar_bytes(files)
        with self.lock:
            self.task_counter += 1
            task_dir = f"{WORK}/task-{self.task_counter}"
        slot: Slot = self.idle.get()
        started = time.perf_counter()
        failed = False
        try:
            base_dir = self._install(slot, base) if base is not None else ""
            container = slot.container
            before = self._oom_kills(container)
            exec_id = self.client.api.exec_create(
                container.id, ["sh", "-c", TASK_SCRIPT, "task", task_dir, str(limits.output_bytes + 1), base_dir,
                               *command],
                user=USER, stdin=True, environment={"HOME": task_dir, "TMPDIR": task_dir})["Id"]
            future = self.runner.submit(self._exec, exec_id, payload)
            timed_out = False
            try:
                stdout, stderr = future.result(timeout=limits.timeout_s)
            except FutureTimeout:
                timed_out = failed = True
                stdout, stderr = self._stop_task(container, future)
            duration = time.perf_counter() - started
            exit_code = self.client.api.exec_inspect(exec_id)["ExitCode"]
            if exit_code >= 128 and not timed_out:  # died by a signal: perhaps before its own cleanup
                self._kill_task(container)
            after = self._oom_kills(container)
            oom = exit_code == 137 and not timed_out and (before is None or after is None or after > before)
            failed = failed or oom or exit_code == 125
            truncated = len(stdout) > limits.output_bytes or len(stderr) > limits.output_bytes
            return RunResult(exit_code=-9 if timed_out else exit_code,
                             stdout=stdout[:limits.output_bytes].decode(errors="replace"),
                             stderr=stderr[:limits.output_bytes].decode(errors="replace"),
                             duration_s=duration, timed_out=timed_out, killed_for_memory=oom, truncated=truncated)
        except SandboxError:
            failed = True
            raise
        except Exception as exc:
            failed = True
            raise SandboxError(f"docker exec failed in container {slot.container.short_id}: {exc}") from exc
        finally:
            slot.used += 1
            if (failed or slot.used >= self.max_tasks) and not self.closed:
                slot = Slot(self._replace(slot.container))
            self.idle.put(slot)

    def close(self) -> None:
        self.closed = True
        self.runner.shutdown(wait=False)
        while not self.idle.empty():
            slot = self.idle.get()
            try:
                slot.container.remove(force=True)
            except Exception:
                pass

    def __enter__(self) -> DockerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_once(image: str, files: Files, command: list[str], limits: Limits = Limits()) -> RunResult:
    """One `docker run` per task, with the same limits: the baseline the pool is
    measured against (small tasks: the files travel in its arguments)."""
    import docker

    client = docker.from_env(timeout=ENGINE_TIMEOUT_S)
    started = time.perf_counter()
    script = "cd /work && printf %s \"$0\" | base64 -d | tar -x && exec " + " ".join(shlex.quote(c) for c in command)
    container = client.containers.run(
        image, ["sh", "-c", script, base64.b64encode(tar_bytes(files)).decode()], detach=True, network_mode="none", read_only=True,
        tmpfs={WORK: "rw,size=64m,mode=1777,uid=1000,gid=1000"}, mem_limit=f"{limits.memory_mb}m",
        pids_limit=limits.pids, nano_cpus=int(limits.cpus * 1e9), user=USER, cap_drop=["ALL"],
        security_opt=["no-new-privileges"], working_dir=WORK, environment={"HOME": WORK})
    try:
        status = container.wait(timeout=limits.timeout_s)
        stdout = container.logs(stdout=True, stderr=False)[:limits.output_bytes].decode(errors="replace")
        stderr = container.logs(stdout=False, stderr=True)[:limits.output_bytes].decode(errors="replace")
        return RunResult(status["StatusCode"], stdout, stderr, time.perf_counter() - started)
    finally:
        container.remove(force=True)
