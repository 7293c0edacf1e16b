"""Sandbox throughput on HumanEval-format tasks, measured in one run.

Each task's canonical solution runs against its tests in: the warm Docker
pool, a `docker run` per task (the baseline), and bubblewrap; all with the same
number of tasks in flight. Every canonical solution must pass in each.
Targets: the pool at least 10x the run-per-task rate, and at least 15
executions/s on 2 cores.

    python benchmarks/sandbox_throughput.py --tasks ../shared/data/HumanEval.jsonl

A `docker run` costs seconds per task, so the baseline runs on a sample
(--baseline-sample); the rates compare like with like.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sandbox.limits import Limits  # noqa: E402

LIMITS = Limits(timeout_s=20, memory_mb=256, pids=64)


def load_tasks(path: Path) -> list[dict]:
    tasks = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip():
            task = json.loads(line)
            missing = {"prompt", "canonical_solution", "test", "entry_point"} - set(task)
            if missing:
                sys.exit(f"{path}:{number}: missing {sorted(missing)}; expected HumanEval-format JSONL")
            tasks.append(task)
    return tasks


def files_for(task: dict) -> dict[str, str]:
    program = task["prompt"] + task["canonical_solution"] + "\n\n" + task["test"] + f"\n\ncheck({task['entry_point']})\n"
    return {"program.py": program}


def measure(run_one, tasks: list[dict], workers: int) -> tuple[float, list[str]]:
    """executions/s, and the ids of tasks whose canonical solution failed."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(run_one, tasks))
    elapsed = time.perf_counter() - started
    failed = [t.get("task_id", "?") + f" ({r.describe()[:200]})" for t, r in zip(tasks, results) if not r.ok]
    return len(tasks) / elapsed, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=Path, required=True, help="HumanEval-format JSONL")
    parser.add_argument("--workers", type=int, default=4, help="tasks in flight (pool size)")
    parser.add_argument("--baseline-sample", type=int, default=12, help="tasks for the docker-run-per-task baseline")
    args = parser.parse_args()

    from sandbox.bwrap import BubblewrapSandbox
    from sandbox.docker_pool import DEFAULT_IMAGE, DockerPool, run_once

    tasks = load_tasks(args.tasks)
    command = ["python3", "program.py"]
    with DockerPool(DEFAULT_IMAGE, size=args.workers, limits=LIMITS) as pool:
        pool_rate, pool_failed = measure(lambda t: pool.run(files_for(t), command), tasks, args.workers)
    sample = tasks[:: max(1, len(tasks) // args.baseline_sample)][: args.baseline_sample]
    run_rate, run_failed = measure(lambda t: run_once(DEFAULT_IMAGE, files_for(t), command, LIMITS), sample, args.workers)
    bwrap = BubblewrapSandbox(limits=LIMITS)
    bwrap_rate, bwrap_failed = measure(lambda t: bwrap.run(files_for(t), command), tasks, args.workers)

    print(f"{len(tasks)} tasks from {args.tasks}, {args.workers} in flight")
    print(f"warm Docker pool:       {pool_rate:6.1f} executions/s, {len(tasks) - len(pool_failed)}/{len(tasks)} passed")
    print(f"docker run per task:    {run_rate:6.2f} executions/s, {len(sample) - len(run_failed)}/{len(sample)} passed (sample)")
    print(f"bubblewrap:             {bwrap_rate:6.1f} executions/s, {len(tasks) - len(bwrap_failed)}/{len(tasks)} passed")
    print(f"pool / run-per-task:    {pool_rate / run_rate:6.1f}x (target >= 10x); pool >= 15/s: {pool_rate >= 15}")
    for name, failed in (("pool", pool_failed), ("docker run", run_failed), ("bwrap", bwrap_failed)):
        for line in failed:
            print(f"FAILED in {name}: {line}")


if __name__ == "__main__":
    main()
