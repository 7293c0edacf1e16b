"""Crash safety: SIGKILL a real `generate` mid-run, start it again, and check
that nothing accepted was lost, nothing duplicated, nothing redone; with the
workspace's SQLite store and with a shared PostgreSQL one."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from forge.store import open_store
from tests.conftest import REPO, run_cli

COUNT = "3000"


def snapshot(target) -> dict[int, tuple[str, bool, str]]:
    """slot -> (example id, accepted, lineage): what the store holds now."""
    store = open_store(target)
    try:
        return {item.slot: (item.example.id, item.verdict.accepted, json.dumps(item.lineage, sort_keys=True))
                for item in store.produced()}
    finally:
        store.close()


@pytest.mark.slow
def test_generate_killed_mid_run_resumes_exactly(tmp_path, shared_store):
    ws = tmp_path / "ws"
    args = ["generate", "--count", COUNT, "--workspace", str(ws)] + (["--store", shared_store] if shared_store else [])
    target = shared_store or ws / "examples.sqlite"
    process = subprocess.Popen([sys.executable, str(REPO / "loop.py"), *args], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        if (shared_store or target.exists()) and len(snapshot(target)) >= 300:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL

    before = snapshot(target)
    assert 300 <= len(before) < int(COUNT), "the kill must land mid-run"

    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert f"{len(before)} already done" in result.stdout

    after = snapshot(target)
    assert sorted(after) == list(range(int(COUNT)))  # every slot exactly once
    for slot, row in before.items():
        assert after[slot] == row  # not regenerated, not changed
    store = open_store(target)
    accepted_now = [e.id for e in store.accepted_examples()]
    store.close()
    assert {row[0] for row in before.values() if row[1]} <= set(accepted_now)  # nothing accepted was lost
    assert len(accepted_now) == len(set(accepted_now)) == len({row[0] for row in after.values() if row[1]})  # no duplicates
