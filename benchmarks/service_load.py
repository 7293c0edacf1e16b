"""The service under a bounded read load, measured in one run, all on loopback.

A workspace gets 300 template examples. Then, with `loop.py serve` on it:

(a) idle: one reader lists examples (50 a page) REQUESTS times, alone;
(b) loaded: a generation job writes 600 more examples while READERS readers
    run at once: half list examples (a different page each request), half
    follow the job's event stream to its end.

Reports errors (any non-200, or a stream that ends without `end`), p50 and p95
latency of the example list in both, and the loaded p95 as a ratio of the idle
one. Nothing here is asserted; the numbers are for reading.

    python benchmarks/service_load.py [--readers 20] [--requests 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import ServedWorkspace  # noqa: E402


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def list_examples(server: ServedWorkspace, requests: int, offset: int, latencies: list[float], errors: list[str]) -> None:
    import httpx

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=60) as client:
        for i in range(requests):
            started = time.perf_counter()
            response = client.get("/api/examples", params={"limit": 50, "offset": (offset + i * 50) % 300})
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors.append(f"list: HTTP {response.status_code}")


def follow(server: ServedWorkspace, job_id: str, errors: list[str]) -> None:
    try:
        events = server.events(job_id)
        if not events or events[-1][0] != "end":
            errors.append("stream: ended without `end`")
    except Exception as exc:  # a dropped stream is what this counts
        errors.append(f"stream: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--requests", type=int, default=30, help="example-list requests per list reader")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        subprocess.run([sys.executable, str(REPO / "loop.py"), "generate", "--count", "300", "--workspace", str(ws)],
                       check=True, capture_output=True)
        server = ServedWorkspace(ws)
        try:
            idle, errors = [], []
            list_examples(server, args.requests, 0, idle, errors)

            job = server.client.post("/api/jobs", json={"command": "generate", "options": {"count": 600, "seed": 1}}).json()
            loaded: list[float] = []
            threads = [threading.Thread(target=list_examples, args=(server, args.requests, 50 * k, loaded, errors))
                       for k in range(args.readers // 2)]
            threads += [threading.Thread(target=follow, args=(server, job["id"], errors))
                        for _ in range(args.readers - args.readers // 2)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            status = server.client.get(f"/api/jobs/{job['id']}").json()["status"]
            written = [e for kind, e in server.events(job["id"]) if kind == "generated"][-1]["data"]
        finally:
            server.stop()

    print(f"idle:   {len(idle)} list requests, p50 {1000 * statistics.median(idle):.0f} ms, p95 {1000 * p95(idle):.0f} ms")
    print(f"loaded: {len(loaded)} list requests from {args.readers // 2} readers and {args.readers - args.readers // 2} "
          f"event streams while a job wrote {written['accepted'] + written['rejected']} examples ({status}, "
          f"{elapsed:.1f} s): p50 "
          f"{1000 * statistics.median(loaded):.0f} ms, p95 {1000 * p95(loaded):.0f} ms")
    print(f"loaded p95 / idle p95: {p95(loaded) / p95(idle):.1f}x; errors: {len(errors)}"
          + (f" ({', '.join(sorted(set(errors))[:5])})" if errors else ""))


if __name__ == "__main__":
    main()
