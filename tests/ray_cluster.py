"""A two-node Ray cluster and a PostgreSQL server in a private network namespace.

Ray binds every interface and reaches its own nodes through the machine's
non-loopback address, even when told 127.0.0.1. So tests that start Ray run
inside a network namespace of their own (`unshare --net`) where loopback is the
only interface: nothing they start can send traffic anywhere else. A PID
namespace of their own keeps `ray stop` to their cluster. The Docker
sandbox still works there, through the engine's unix socket.

    in_private_network(["fault", str(folder)])   # from a test: runs a scenario below, returns its JSON result

Each scenario starts what it needs with the commands a user runs (`ray start
--head`, `ray start --address`, each `--num-cpus 1`), prints one JSON line,
and stops everything.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RAY = Path(sys.executable).parent / "ray"
# A network namespace (loopback only) and a PID namespace: `ray stop` there stops only this cluster, and
# whatever the scenario leaves running ends with it.
PRIVATE = ["unshare", "--net", "--pid", "--fork", "--mount-proc"]


def in_private_network(arguments: list[str], timeout: float = 900, script: str = __file__) -> dict:
    """Run `script` (this file) with `arguments` in a new network namespace; the JSON line it prints last."""
    done = subprocess.run([*PRIVATE, sys.executable, script, *arguments], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and lines, f"exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    return json.loads(lines[-1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RayCluster:
    """A head and `nodes - 1` more nodes on this machine, 1 CPU each, bound to 127.0.0.1."""

    def __init__(self, nodes: int = 2) -> None:
        self.port, self.worker_ports = free_port(), [free_port() for _ in range(nodes - 1)]
        # Short: Ray's unix sockets live under it, and a socket path has at most 107 bytes.
        self.temp = tempfile.mkdtemp(prefix="df-ray-")
        self.env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ADDRESS": ""}
        common = ["--num-cpus", "1", "--node-ip-address", "127.0.0.1", "--disable-usage-stats"]
        self._ray("start", "--head", "--port", str(self.port), "--include-dashboard", "false",
                  "--temp-dir", self.temp, *common)
        for port in self.worker_ports:
            self._ray("start", "--address", self.address, "--node-manager-port", str(port), *common)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _ray(self, *arguments: str) -> None:
        done = subprocess.run([str(RAY), *arguments], capture_output=True, text=True, env=self.env, timeout=120)
        if done.returncode:
            raise RuntimeError(f"ray {' '.join(arguments)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")

    def kill_second_raylet(self) -> int:
        """SIGKILL the raylet of the first node that is not the head, and the workers it started, as the loss of
        that machine would; the raylet's pid. (Its workers alone can outlive it for seconds and finish what
        they hold, which would leave nothing in flight to lose.)"""
        import psutil

        for process in psutil.process_iter(["name", "cmdline"]):
            cmdline = " ".join(process.info["cmdline"] or ())
            if "raylet" in (process.info["name"] or "") and f"--node_manager_port={self.worker_ports[0]}" in cmdline:
                workers = process.children(recursive=True)
                for each in [process, *workers]:
                    each.send_signal(signal.SIGKILL)
                return process.pid
        raise RuntimeError("the second node's raylet is not running")

    def stop(self) -> None:
        subprocess.run([str(RAY), "stop", "--force"], capture_output=True, env=self.env, timeout=120)
        shutil.rmtree(self.temp, ignore_errors=True)


@contextmanager
def cluster_and_store(nodes: int = 2):
    """Loopback up, PostgreSQL, and a cluster of `nodes`: (cluster, the store's URI)."""
    from tests.postgres_server import PostgresServer, binaries

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    postgres = PostgresServer(binaries())
    cluster = None
    try:
        cluster = RayCluster(nodes)
        yield cluster, postgres.new_database()
    finally:
        if cluster:
            cluster.stop()
        postgres.stop()


def slot_rows(uri: str, run_id: str) -> list[tuple[int, str, bool, dict]]:
    import psycopg

    with psycopg.connect(uri) as db:
        return db.execute("SELECT slot, example_id, accepted, lineage FROM slots WHERE run_id = %s ORDER BY slot",
                          (run_id,)).fetchall()


def fault(folder: Path) -> dict:
    """A 60-slot coding run (Docker sandbox) on both nodes; the second node's raylet is killed mid-way."""
    with cluster_and_store() as (cluster, uri):
        workspace, events = folder / "ws", folder / "events.jsonl"
        command = [sys.executable, str(REPO / "loop.py"), "generate", "--domain", "coding", "--sandbox", "docker",
                   "--count", "60", "--concurrency", "4", "--workspace", str(workspace), "--events", str(events),
                   "--executor", f"ray:{cluster.address}"]
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
                               env={**os.environ, "DOMAINFORGE_STORE": uri, "COLUMNS": "200"})
        done_when_killed, deadline = 0, time.time() + 600
        while run.poll() is None and time.time() < deadline:
            done_when_killed = _slots_done(events)
            if done_when_killed >= 12:
                break
            time.sleep(0.2)
        killed = cluster.kill_second_raylet()
        output, _ = run.communicate(timeout=600)
        run_id = next(json.loads(line)["data"]["run_id"] for line in events.read_text().splitlines() if '"run_id"' in line)
        rows = slot_rows(uri, run_id)
        served = _served_examples(workspace, uri)
    return {"exit": run.returncode, "output": output[-3000:], "killed_pid": killed, "done_when_killed": done_when_killed,
            "slots": [slot for slot, _, _, _ in rows],
            "accepted_examples": [example for _, example, accepted, _ in rows if accepted],
            "nodes": sorted({lineage["node"] for _, _, _, lineage in rows}),
            "reruns": {slot: [e["lost_on"] for e in lineage["events"] if e["node"] == "rerun"]
                       for slot, _, _, lineage in rows if any(e["node"] == "rerun" for e in lineage["events"])},
            "served": served}


def _slots_done(events: Path) -> int:
    if not events.exists():
        return 0
    done = [json.loads(line) for line in events.read_text().splitlines() if line.strip().endswith("}")]
    return max((e["data"].get("done", 0) for e in done if e.get("kind") == "slots"), default=0)


def _served_examples(workspace: Path, uri: str) -> int:
    """How many examples `serve --store URI` lists for the workspace."""
    from tests.conftest import ServedWorkspace

    server = ServedWorkspace(workspace, uri)
    try:
        return len(server.client.get("/api/examples", params={"limit": 500}).json()["items"])
    finally:
        server.stop()


if __name__ == "__main__":
    scenario, where = sys.argv[1], Path(sys.argv[2])
    print(json.dumps({"fault": fault}[scenario](where)), flush=True)
