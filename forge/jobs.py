"""Background jobs for the service: a `generate` or `run` command, run as the
CLI runs it, in its own process, writing its progress as JSON lines.

The CLI is the one job runner: a job is `python loop.py generate|run ...
--events FILE`, so it validates, resumes and reports exactly as on the
command line. Jobs are rows in the workspace store; a job that was running
when the server stopped is started again when it comes back, and resumes from
its checkpoint (finished slots are kept, a cycle restarts at its last step).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

from forge.records import Job
from forge.workspace import Workspace

LOOP = Path(__file__).resolve().parents[1] / "loop.py"

class EventLog:
    """Progress as JSON lines, one `{"kind", "round", "data", "at"}` each."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("a", encoding="utf-8")
        self.last_progress = 0.0

    def due(self, done: int, total: int) -> bool:
        """Whether a progress event is worth writing: at most every quarter second, and always the last."""
        now = time.time()
        if done < total and now - self.last_progress < 0.25:
            return False
        self.last_progress = now
        return True

    def write(self, kind: str, round_: int, data: dict[str, Any]) -> None:
        line = {"kind": kind, "round": round_, "data": data, "at": round(time.time(), 3)}
        self.file.write(json.dumps(line, default=str) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class JobRunner:
    """Starts, lists and cancels jobs in one workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.folder = workspace.root / "jobs"
        self.folder.mkdir(parents=True, exist_ok=True)
        workspace.create().open_store().close()  # the store and its tables
        self.processes: dict[str, subprocess.Popen] = {}
        self.lock = threading.Lock()
        self.closing = False

    def _store(self):
        """A store of its own for each use: requests and job watchers run in different threads."""
        return closing(self.workspace.open_store())

    def events_path(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.events.jsonl"

    def start(self, command: str, options: list[str]) -> Job:
        job_id = uuid.uuid4().hex[:12]
        argv = [command, *options, "--workspace", str(self.workspace.root)]
        with self._store() as store:
            store.add_job(Job(job_id, command, argv, "running", None, time.time(), None))
        self._launch(job_id, argv)
        return self.job(job_id)

    def _launch(self, job_id: str, argv: list[str]) -> None:
        log = (self.folder / f"{job_id}.log").open("a")
        # Its own session, so cancelling it stops the whole process group (sandbox pools included).
        process = subprocess.Popen([sys.executable, str(LOOP), *argv, "--events", str(self.events_path(job_id))],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                   env={**os.environ, "COLUMNS": "120",
                                        **({"DOMAINFORGE_STORE": self.workspace.store} if self.workspace.store else {})})
        log.close()
        with self.lock:
            self.processes[job_id] = process
        threading.Thread(target=self._wait, args=(job_id, process), daemon=True).start()

    def _wait(self, job_id: str, process: subprocess.Popen) -> None:
        code = process.wait()
        if self.closing:
            return  # stopped with the server: still `running`, so the next server resumes it
        with self.lock:
            cancelled = self.processes.pop(job_id, None) is None
        status = "cancelled" if cancelled else "succeeded" if code == 0 else "failed"
        with self._store() as store:
            store.end_job(job_id, status, code)

    def resume_unfinished(self) -> list[str]:
        """Start again every job the store says is running but no process of ours runs (a server restart)."""
        resumed = []
        with self._store() as store:
            unfinished = store.jobs(status="running")
        for job in unfinished:
            if job.id not in self.processes:
                self._launch(job.id, job.argv)
                resumed.append(job.id)
        return resumed

    def cancel(self, job_id: str) -> Job | None:
        with self.lock:
            process = self.processes.pop(job_id, None)
        if process is not None:
            _terminate(process)
            with self._store() as store:
                store.end_job(job_id, "cancelled")
        return self.job(job_id)

    def job(self, job_id: str) -> Job | None:
        with self._store() as store:
            return store.job(job_id)

    def jobs(self) -> list[Job]:
        with self._store() as store:
            return store.jobs()

    def close(self) -> None:
        """Stop the running jobs with the server. They stay `running` in the
        store, and the next server starts them again from their checkpoints."""
        self.closing = True
        with self.lock:
            processes = list(self.processes.values())
        for process in processes:
            _terminate(process)
        for process in processes:
            process.wait()


def _terminate(process: subprocess.Popen) -> None:
    """SIGTERM to the job's whole process group (it started its own session)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass

