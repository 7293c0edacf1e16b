"""The bubblewrap back end, for hosts without Docker.

Each task runs in fresh namespaces (`--unshare-all`: no network, no host
processes) over the sandbox root file system read-only, with only its own work
dir writable, as uid 1000 with no capabilities and a clean environment. Memory,
pids and CPU quota come from a per-task cgroup, as in Docker; where cgroups
cannot be written, from rlimits. The timeout is enforced from here.

A snapshot (sandbox/files.py) is written once, outside any task's reach,
and copied into each task's dir before the task's own files. Both live in
memory (/dev/shm) where it has room, as Docker's tmpfs does: copying
thousands of files there is twenty times faster than on a disk.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sandbox.files import Files, Snapshot, as_bytes, check_fits
from sandbox.image import ROOTFS
from sandbox.limits import TOOLCHAIN_ENV, Limits, RunResult, SandboxError

CGROUP_ROOT = Path("/sys/fs/cgroup")
SCRATCH_MIN_FREE = 2 * 2**30
# Joins the cgroups named in $CGROUP_PROCS (or applies rlimits), then becomes bwrap.
LAUNCHER = 'for p in $CGROUP_PROCS; do echo $$ > "$p" || exit 126; done; $RLIMITS exec "$@"'


class TaskCgroup:
    """A cgroup v1 (memory, pids, cpu) or v2 group for one task; None where not writable."""

    def __init__(self, limits: Limits) -> None:
        name = f"domainforge-{uuid.uuid4().hex[:12]}"
        self.v2 = (CGROUP_ROOT / "cgroup.controllers").is_file()
        if self.v2:
            self.dirs = [CGROUP_ROOT / name]
            settings = {"memory.max": limits.memory_mb * 2**20, "memory.swap.max": 0, "pids.max": limits.pids,
                        "cpu.max": f"{int(limits.cpus * 100_000)} 100000"}
        else:
            self.dirs = [CGROUP_ROOT / c / name for c in ("memory", "pids", "cpu")]
            settings = {"memory.limit_in_bytes": limits.memory_mb * 2**20, "pids.max": limits.pids,
                        "cpu.cfs_period_us": 100_000, "cpu.cfs_quota_us": int(limits.cpus * 100_000)}
        for d in self.dirs:
            d.mkdir()
        for key, value in settings.items():
            for d in self.dirs:
                if (d / key).exists():
                    (d / key).write_text(str(value))

    @classmethod
    def create(cls, limits: Limits) -> TaskCgroup | None:
        try:
            return cls(limits)
        except OSError:
            return None

    @property
    def procs(self) -> list[Path]:
        return [d / "cgroup.procs" for d in self.dirs]

    def oom_kills(self) -> int:
        for d in self.dirs:
            for name, marker in (("memory.oom_control", "oom_kill "), ("memory.events", "oom_kill ")):
                try:
                    return int((d / name).read_text().split(marker)[1].split()[0])
                except (OSError, IndexError, ValueError):
                    continue
        return 0

    def kill_all(self) -> None:
        for _ in range(50):
            pids = {int(p) for f in self.procs if f.exists() for p in f.read_text().split()}
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.01)


def scratch_root() -> str | None:
    """/dev/shm when it is writable with room to spare; otherwise None (the system's temporary folder)."""
    try:
        stat = os.statvfs("/dev/shm")
    except OSError:
        return None
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) and stat.f_bavail * stat.f_frsize >= SCRATCH_MIN_FREE else None


def _write(folder: Path, files: Files, executable: frozenset[str] = frozenset()) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(as_bytes(content))
        if name in executable:
            path.chmod(0o755)


def _drain(stream, cap: int, into: bytearray) -> None:
    """Keep up to cap+1 bytes; read and drop the rest so the task never blocks on a full pipe."""
    while chunk := stream.read(65536):
        if len(into) <= cap:
            into += chunk[: cap + 1 - len(into)]


class BubblewrapSandbox:
    def __init__(self, rootfs: Path = ROOTFS, limits: Limits = Limits()) -> None:
        if shutil.which("bwrap") is None:
            raise SandboxError("bubblewrap is not installed: apt-get install -y bubblewrap")
        if not (Path(rootfs) / "usr" / "bin" / "python3").exists():
            raise SandboxError(f"no sandbox root file system at {rootfs}. Build it with: python loop.py sandbox build-image")
        self.rootfs, self.limits = Path(rootfs), limits
        self.snapshots: dict[str, Path] = {}
        self.lock = threading.Lock()
        self.scratch = scratch_root()

    def _snapshot(self, snapshot: Snapshot) -> Path:
        """The snapshot's folder on this host, written on first use."""
        with self.lock:
            if snapshot.id not in self.snapshots:
                folder = Path(tempfile.mkdtemp(prefix=f"domainforge-snapshot-{snapshot.id}-", dir=self.scratch))
                _write(folder, snapshot.files, snapshot.executable)
                self.snapshots[snapshot.id] = folder
            return self.snapshots[snapshot.id]

    def _command(self, work: str, command: list[str]) -> list[str]:
        return ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", str(self.rootfs), "/",
                "--proc", "/proc", "--dev", "/dev", "--bind", work, "/work", "--chdir", "/work",
                "--uid", "1000", "--gid", "1000", "--cap-drop", "ALL", "--clearenv",
                "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin", "--setenv", "HOME", "/work",
                "--setenv", "TMPDIR", "/work", "--setenv", "LANG", "C.UTF-8",
                *[arg for name, value in TOOLCHAIN_ENV.items() for arg in ("--setenv", name, value)], "--", *command]

    def run(self, files: Files, command: list[str], limits: Limits | None = None,
            base: Snapshot | None = None) -> RunResult:
        """Run the command over the files (laid over the snapshot `base`, if any).
        TaskTooLarge when they do not fit the work space."""
        limits = limits or self.limits
        check_fits(files, base, self.limits)
        work = tempfile.mkdtemp(prefix="domainforge-task-", dir=self.scratch)
        cgroup = TaskCgroup.create(limits)
        try:
            if base is not None:  # cp: faster than shutil.copytree on thousands of files
                subprocess.run(["cp", "-R", f"{self._snapshot(base)}/.", work], check=True, capture_output=True)
            _write(Path(work), files)
            os.chmod(work, 0o777)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                   "CGROUP_PROCS": " ".join(str(p) for p in cgroup.procs) if cgroup else "",
                   # Without cgroups: address space and process count as rlimits.
                   "RLIMITS": "" if cgroup else f"ulimit -v {limits.memory_mb * 1024}; ulimit -u {limits.pids};"}
            started = time.perf_counter()
            process = subprocess.Popen(["sh", "-c", LAUNCHER, "launcher", *self._command(work, command)],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       env=env, start_new_session=True)
            out, err = bytearray(), bytearray()
            readers = [threading.Thread(target=_drain, args=(process.stdout, limits.output_bytes, out), daemon=True),
                       threading.Thread(target=_drain, args=(process.stderr, limits.output_bytes, err), daemon=True)]
            for reader in readers:
                reader.start()
            timed_out = False
            try:
                exit_code = process.wait(timeout=limits.timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                if cgroup:
                    cgroup.kill_all()
                os.killpg(process.pid, signal.SIGKILL)
                exit_code = process.wait()
            duration = time.perf_counter() - started
            if cgroup:
                cgroup.kill_all()  # anything the task left running
            for reader in readers:
                reader.join(timeout=5)
            oom = bool(cgroup and cgroup.oom_kills() > 0)
            if exit_code == 126 and cgroup and not out and not err:
                raise SandboxError(f"could not place the task in its cgroup ({cgroup.dirs[0]})")
            return RunResult(exit_code=-9 if timed_out else exit_code,
                             stdout=bytes(out[:limits.output_bytes]).decode(errors="replace"),
                             stderr=bytes(err[:limits.output_bytes]).decode(errors="replace"),
                             duration_s=duration, timed_out=timed_out, killed_for_memory=oom,
                             truncated=len(out) > limits.output_bytes or len(err) > limits.output_bytes)
        finally:
            if cgroup:
                cgroup.remove()
            shutil.rmtree(work, ignore_errors=True)

    def close(self) -> None:
        for folder in self.snapshots.values():
            shutil.rmtree(folder, ignore_errors=True)
        self.snapshots.clear()

    def __enter__(self) -> BubblewrapSandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
