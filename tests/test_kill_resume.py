"""Crash safety: SIGKILL a real `generate` mid-run, start it again, and check
that nothing accepted was lost, nothing duplicated, nothing redone."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, run_cli

COUNT = "3000"


def snapshot(db_path):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return {slot: (example_id, accepted, finished_at) for slot, example_id, accepted, finished_at
                in db.execute("SELECT slot, example_id, accepted, finished_at FROM slots")}
    finally:
        db.close()


@pytest.mark.slow
def test_generate_killed_mid_run_resumes_exactly(tmp_path):
    ws = tmp_path / "ws"
    args = ["generate", "--count", COUNT, "--workspace", str(ws)]
    process = subprocess.Popen([sys.executable, str(REPO / "loop.py"), *args], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db_path = ws / "examples.sqlite"
    deadline = time.time() + 120
    while time.time() < deadline:
        if db_path.exists() and len(snapshot(db_path)) >= 300:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL

    before = snapshot(db_path)
    assert 300 <= len(before) < int(COUNT), "the kill must land mid-run"

    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert f"{len(before)} already done" in result.stdout

    after = snapshot(db_path)
    assert sorted(after) == list(range(int(COUNT)))  # every slot exactly once
    for slot, row in before.items():
        assert after[slot] == row  # not regenerated, not changed
    db = sqlite3.connect(db_path)
    accepted_before = {row[0] for row in before.values() if row[1]}
    accepted_now = {eid for (eid,) in db.execute("SELECT id FROM examples WHERE accepted = 1")}
    assert accepted_before <= accepted_now  # nothing accepted was lost
    distinct_slots = db.execute("SELECT COUNT(DISTINCT example_id) FROM slots WHERE accepted = 1").fetchone()[0]
    assert distinct_slots == len(accepted_now)  # no duplicated example rows
