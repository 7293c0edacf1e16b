"""Scale-out measures, as ratios from one run. Ray and PostgreSQL run in a private
network namespace (tests/ray_cluster.py): the script starts itself again under
`unshare --net` (root) and nothing it starts reaches beyond loopback.

(1) sandbox-bound verification: a coding-domain run (Docker sandbox, the
    repository in data/) on 2 Ray nodes of 1 CPU each vs 1 node. Target >= 1.6x.
(2) generation with a scripted teacher that answers after 100 ms, concurrency
    32 per node: 2 nodes vs 1 (target >= 1.8x), and teacher calls/s on 2
    nodes as a share of the ideal, concurrency / latency (target >= 0.8).
(3) store writes per second (`record`): PostgreSQL vs SQLite, 1 and 4 writer
    processes.
(4) what a slot costs in Ray overhead: the template teacher's Cypher slots on
    1 Ray node vs the same run in one process, in ms per slot.

Rates come from the run's progress events (slots done between the first and
the last), so starting the cluster's workers is not counted.

    sudo .venv/bin/python benchmarks/scale_out.py [--coding-slots 80] [--scripted-slots 1200]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def run_rate(workspace: Path, arguments: list[str], store: str | None = None) -> dict:
    """`loop.py generate ARGUMENTS`; slots/s and teacher calls/s between its first and last progress event."""
    events = workspace.parent / f"{workspace.name}.events.jsonl"
    done = subprocess.run([sys.executable, str(REPO / "loop.py"), "generate", "--workspace", str(workspace),
                           "--events", str(events), *arguments], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **({"DOMAINFORGE_STORE": store} if store else {})})
    if done.returncode:
        raise RuntimeError(f"generate {' '.join(arguments)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    progress = [e for e in map(json.loads, events.read_text().splitlines()) if e["kind"] == "slots"]
    first, last = progress[0], progress[-1]
    seconds = last["at"] - first["at"]
    return {"slots_per_s": (last["data"]["done"] - first["data"]["done"]) / seconds,
            "calls_per_s": (last["data"]["teacher_calls"] - first["data"]["teacher_calls"]) / seconds,
            "slots": last["data"]["done"]}


def on_cluster(nodes: int, folder: Path, arguments: list[str]) -> dict:
    from tests.ray_cluster import RayCluster

    cluster = RayCluster(nodes)
    try:
        return run_rate(folder, [*arguments, "--executor", f"ray:{cluster.address}"])
    finally:
        cluster.stop()


def sandbox_bound(folder: Path, slots: int) -> tuple[float, float]:
    arguments = ["--domain", "coding", "--sandbox", "docker", "--count", str(slots), "--concurrency", "4"]
    one = on_cluster(1, folder / "coding-1", arguments)["slots_per_s"]
    two = on_cluster(2, folder / "coding-2", arguments)["slots_per_s"]
    return one, two


def scripted_teacher(folder: Path, slots: int, latency_s: float = 0.1, per_node: int = 32) -> tuple[dict, dict, float]:
    from tests.conftest import start_scripted_server

    server = start_scripted_server("--latency-s", str(latency_s))
    try:
        teacher = ["--teacher", f"openai:scripted@{server.base_url}", "--count", str(slots)]
        one = on_cluster(1, folder / "scripted-1", [*teacher, "--concurrency", str(per_node)])
        two = on_cluster(2, folder / "scripted-2", [*teacher, "--concurrency", str(2 * per_node)])
    finally:
        server.process.terminate()
    return one, two, 2 * per_node / latency_s


def write_slots(target: str, first: int, count: int, started) -> None:
    """One writer process: `count` slots recorded one by one."""
    from forge.records import Check, Example, Lineage, Verdict
    from forge.store import open_store

    store = open_store(target)
    store.start_run("bench", "cypher", {})
    started.wait()
    for slot in range(first, first + count):
        example = Example("cypher", "simple_retrieval", "instruction",
                          {"instruction": f"question {slot}", "input": "", "output": f"MATCH (n) RETURN n LIMIT {slot}"}, {})
        store.record("bench", slot, example, Verdict((Check("executes", True),)),
                     Lineage("bench", 1, slot, "template", "template"))
    store.close()


def writes_per_s(target: str, writers: int, each: int = 400) -> float:
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    processes = [context.Process(target=write_slots, args=(target, i * each, each, started)) for i in range(writers)]
    for process in processes:
        process.start()
    time.sleep(3)  # every writer has opened its store
    began = time.perf_counter()
    started.set()
    for process in processes:
        process.join()
    return writers * each / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coding-slots", type=int, default=80)
    parser.add_argument("--scripted-slots", type=int, default=1200)
    parser.add_argument("--overhead-slots", type=int, default=600)
    args = parser.parse_args()
    if os.environ.get("DOMAINFORGE_PRIVATE_NETWORK") != "1":
        from tests.ray_cluster import PRIVATE

        os.execvp("unshare", [*PRIVATE, "env", "DOMAINFORGE_PRIVATE_NETWORK=1", sys.executable, *sys.argv])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    from tests.postgres_server import PostgresServer, binaries

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one, two = sandbox_bound(folder, args.coding_slots)
        print(f"(1) sandbox-bound coding slots: 1 node {one:.2f}/s, 2 nodes {two:.2f}/s -> {two / one:.2f}x "
              "(target >= 1.6x)", flush=True)

        one, two, ideal = scripted_teacher(folder, args.scripted_slots)
        print(f"(2) scripted 100 ms teacher, 32 calls in flight per node: 1 node {one['calls_per_s']:.0f} calls/s, "
              f"2 nodes {two['calls_per_s']:.0f} calls/s -> {two['calls_per_s'] / one['calls_per_s']:.2f}x (target "
              f">= 1.8x); 2 nodes vs the ideal {ideal:.0f} calls/s: {two['calls_per_s'] / ideal:.2f} (target >= 0.8)",
              flush=True)

        postgres = PostgresServer(binaries())
        try:
            rates = {(name, writers): writes_per_s(target(), writers)
                     for writers in (1, 4)
                     for name, target in (("SQLite", lambda: str(folder / f"store-{time.time_ns()}.sqlite")),
                                          ("PostgreSQL", postgres.new_database))}
        finally:
            postgres.stop()
        for writers in (1, 4):
            print(f"(3) store writes, {writers} writer(s): SQLite {rates['SQLite', writers]:.0f}/s, PostgreSQL "
                  f"{rates['PostgreSQL', writers]:.0f}/s -> {rates['PostgreSQL', writers] / rates['SQLite', writers]:.2f}x",
                  flush=True)

        template = ["--count", str(args.overhead_slots), "--concurrency", "8"]
        local = run_rate(folder / "local", template)["slots_per_s"]
        ray = on_cluster(1, folder / "ray-1", template)["slots_per_s"]
        print(f"(4) template Cypher slots: in one process {local:.0f}/s, on 1 Ray node {ray:.0f}/s -> Ray costs "
              f"{1000 / ray - 1000 / local:.1f} ms per slot ({local / ray:.2f}x the time)", flush=True)


if __name__ == "__main__":
    main()
