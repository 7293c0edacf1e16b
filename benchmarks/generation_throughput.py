"""Generation throughput, measured in one run.

(a) A scripted OpenAI-compatible server answers every call after 100 ms; 640
    examples at concurrency 32. Reports examples/s as a fraction of the ideal,
    concurrency / (teacher calls per example x latency). Target >= 0.8.
(b) A zero-latency in-process teacher (the template teacher): examples/s through
    the whole example graph, kglite verification and the SQLite store.
    Target >= 100/s on a 2-core machine.

    python benchmarks/generation_throughput.py [--examples 640] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from forge.native import ensure_static_tls_room  # noqa: E402


async def measure(domain, teacher_spec: str, workspace: Path, count: int, concurrency: int) -> tuple[float, int, float]:
    """examples/s, examples accepted, and the share of one core this process used meanwhile."""
    from agents.generation import GenerationConfig, run_generation
    from agents.teachers import make_teacher, parse_teacher_spec
    from forge.workspace import Workspace

    ws = Workspace.check(workspace).create()
    spec = parse_teacher_spec(teacher_spec)
    teacher = make_teacher(spec, domain, cache_path=ws.cache_path, concurrency=concurrency)
    store = ws.open_store()
    config = GenerationConfig(domain="cypher", sources={"graph": "demo"}, teacher=str(spec), critic=str(spec), count=count,
                              concurrency=concurrency)
    await teacher.check_reachable()  # connects and finishes lazy imports before the clock starts
    started, cpu_started = time.perf_counter(), time.process_time()
    progress = await run_generation(domain, teacher, teacher, store, config)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    await teacher.close()
    return progress.done / elapsed, progress.accepted, cpu / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=640)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-s", type=float, default=0.1)
    parser.add_argument("--local-examples", type=int, default=2000)
    args = parser.parse_args()

    from agents.domains.cypher.generate import CypherDomain
    from agents.domains.cypher.graphdb import KgliteGraph
    from tests.conftest import start_scripted_server

    domain = CypherDomain(KgliteGraph(REPO / "data" / "cypher" / "bookstore.cypher"))
    server = start_scripted_server("--latency-s", str(args.latency_s))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rate, accepted, busy = asyncio.run(measure(domain, f"openai:scripted@{server.base_url}", Path(tmp) / "a",
                                                 args.examples, args.concurrency))
            calls_per_example = server.calls() / args.examples
            ideal = args.concurrency / (calls_per_example * args.latency_s)
            print(f"(a) scripted server, {args.latency_s * 1000:.0f} ms per call, {args.examples} examples at "
                  f"concurrency {args.concurrency}: {rate:.1f} examples/s, {calls_per_example:.2f} calls/example, "
                  f"ideal {ideal:.1f}/s -> {rate / ideal:.2f} of ideal (target >= 0.80); {accepted} accepted; "
                  f"our process kept {busy:.0%} of a core busy")
            local_rate, local_accepted, local_busy = asyncio.run(measure(domain, "template", Path(tmp) / "b", args.local_examples, 8))
            print(f"(b) zero-latency in-process teacher, {args.local_examples} examples through graph + kglite + "
                  f"SQLite: {local_rate:.1f} examples/s (target >= 100/s); {local_accepted} accepted; "
                  f"{local_busy:.0%} of a core busy")
    finally:
        server.process.terminate()


if __name__ == "__main__":
    ensure_static_tls_room()
    main()
