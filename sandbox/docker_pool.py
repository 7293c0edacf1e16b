"""The Docker back end: a pool of warm containers, one task at a time each.

A `docker run` costs about a second (several with the vfs storage driver); an
exec in a warm container tens of milliseconds. So containers start once, idle
on `sleep infinity` under Docker's init (which reaps what tasks leave behind,
so their pids come back), and each task is one `docker exec` that unpacks its
files into a fresh directory, runs, caps its output, and kills every process it
left behind. A task that kills that exec's own shell skips the last step, so
the pool then kills from a fresh exec. A container is replaced after any
failure and after `max_tasks` tasks.

Every container: no network, read-only root with a size-limited tmpfs work
dir, memory (no swap), pids and CPU quota, a non-root user, all capabilities
dropped, no-new-privileges. The wall-clock timeout is enforced from here, not
by anything inside the container.
"""

from __future__ import annotations

import base64
import io
import queue
import shlex
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from sandbox.limits import MAX_PAYLOAD_BYTES, TOOLCHAIN_ENV, Limits, RunResult, SandboxError

DEFAULT_IMAGE = "domainforge-sandbox:latest"
USER = "1000:1000"
WORK = "/work"

# $1: task dir, $2: base64 gzipped tar of its files (a whole repository fits), $3: output cap; the rest is the command.
TASK_SCRIPT = r"""
dir=$1; payload=$2; cap=$3; shift 3
mkdir "$dir" && cd "$dir" || exit 125
printf %s "$payload" | base64 -d | tar -xz || exit 125
"$@" > .stdout 2> .stderr < /dev/null
rc=$?
kill -9 -1 2>/dev/null
head -c "$cap" .stdout
head -c "$cap" .stderr >&2
cd / && rm -rf "$dir"
exit $rc
"""


def pack(files: dict[str, str | bytes]) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    encoded = base64.b64encode(buffer.getvalue()).decode()
    if len(encoded) > MAX_PAYLOAD_BYTES:
        raise SandboxError(f"task files are {len(encoded)} bytes encoded; the limit is {MAX_PAYLOAD_BYTES}")
    return encoded


class DockerPool:
    def __init__(self, image: str = DEFAULT_IMAGE, size: int = 2, limits: Limits = Limits(), max_tasks: int = 200) -> None:
        import docker

        try:
            self.client = docker.from_env(max_pool_size=max(10, 2 * size))
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
                self.idle.put([container, 0])

    def _start(self):
        cpus = self.limits.cpus
        return self.client.containers.run(
            self.image, ["sleep", "infinity"], detach=True, init=True, network_mode="none", read_only=True,
            # tmpfs pages count against the memory limit: at half of it, a flood of
            # output fills the disk (ENOSPC) before it can exhaust memory. exec: Go runs the test
            # binaries it builds there.
            tmpfs={WORK: f"rw,exec,size={self.limits.memory_mb // 2}m,mode=1777,uid=1000,gid=1000"},
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

    def run(self, files: dict[str, str | bytes], command: list[str], limits: Limits | None = None) -> RunResult:
        limits = limits or self.limits
        payload = pack(files)
        with self.lock:
            self.task_counter += 1
            task_dir = f"{WORK}/task-{self.task_counter}"
        entry = self.idle.get()
        container, used = entry
        started = time.perf_counter()
        failed = False
        try:
            before = self._oom_kills(container)
            exec_id = self.client.api.exec_create(
                container.id, ["sh", "-c", TASK_SCRIPT, "task", task_dir, payload, str(limits.output_bytes + 1), *command],
                user=USER, environment={"HOME": task_dir, "TMPDIR": task_dir})["Id"]
            future = self.runner.submit(self.client.api.exec_start, exec_id, demux=True)
            timed_out = False
            try:
                stdout, stderr = future.result(timeout=limits.timeout_s)
            except FutureTimeout:
                timed_out = failed = True
                self._kill_task(container)
                stdout, stderr = future.result(timeout=30)
            duration = time.perf_counter() - started
            exit_code = self.client.api.exec_inspect(exec_id)["ExitCode"]
            if exit_code >= 128 and not timed_out:  # died by a signal: perhaps before its own cleanup
                self._kill_task(container)
            after = self._oom_kills(container)
            oom = exit_code == 137 and not timed_out and (before is None or after is None or after > before)
            failed = failed or oom or exit_code == 125
            stdout, stderr = stdout or b"", stderr or b""
            truncated = len(stdout) > limits.output_bytes or len(stderr) > limits.output_bytes
            return RunResult(exit_code=-9 if timed_out else exit_code,
                             stdout=stdout[:limits.output_bytes].decode(errors="replace"),
                             stderr=stderr[:limits.output_bytes].decode(errors="replace"),
                             duration_s=duration, timed_out=timed_out, killed_for_memory=oom, truncated=truncated)
        except Exception as exc:
            failed = True
            raise SandboxError(f"docker exec failed in container {container.short_id}: {exc}") from exc
        finally:
            used += 1
            if (failed or used >= self.max_tasks) and not self.closed:
                container, used = self._replace(container), 0
            self.idle.put([container, used])

    def close(self) -> None:
        self.closed = True
        self.runner.shutdown(wait=False)
        while not self.idle.empty():
            container, _ = self.idle.get()
            try:
                container.remove(force=True)
            except Exception:
                pass

    def __enter__(self) -> DockerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_once(image: str, files: dict[str, str | bytes], command: list[str], limits: Limits = Limits()) -> RunResult:
    """One `docker run` per task, with the same limits: the baseline the pool is measured against."""
    import docker

    client = docker.from_env()
    started = time.perf_counter()
    script = "cd /work && printf %s \"$0\" | base64 -d | tar -xz && exec " + " ".join(shlex.quote(c) for c in command)
    container = client.containers.run(
        image, ["sh", "-c", script, pack(files)], detach=True, network_mode="none", read_only=True,
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
