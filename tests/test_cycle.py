"""The improvement cycle end to end, as a user runs it: `python loop.py run`,
killing it during training and starting it again, then `export-gguf`."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.slow

SMALL = ["--count", "160", "--heldout", "60", "--epochs", "8"]


HANDWRITTEN = REPO / "data" / "cypher" / "eval_handwritten.jsonl"


def test_two_rounds_improve_the_student_and_steer_generation(tmp_path):
    ws = tmp_path / "ws"
    result = run_cli("run", "--domain", "cypher", "--teacher", "template", "--student", "tiny", "--rounds", "2",
                     "--workspace", str(ws), "--eval", str(HANDWRITTEN), "--replay", "0.3", *SMALL)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (run_dir,) = (ws / "runs").iterdir()
    report = (run_dir / "report.md").read_text()
    assert "| 0 (untrained) |" in report and "| 2 |" in report
    assert (run_dir / "score_by_round.png").stat().st_size > 0 and (run_dir / "score_by_category.png").stat().st_size > 0

    state = json.loads((run_dir / "round_2" / "eval_test.jsonl").read_text().splitlines()[0])
    assert {"question", "answer", "correct"} <= set(state)
    baseline = sum(json.loads(l)["correct"] for l in (run_dir / "round_0" / "eval_test.jsonl").read_text().splitlines())
    final = sum(json.loads(l)["correct"] for l in (run_dir / "round_2" / "eval_test.jsonl").read_text().splitlines())
    assert final > baseline, f"test items correct: untrained {baseline}, after round 2 {final}"
    assert "test execution accuracy: round 0 (untrained)" in result.stdout and "report:" in result.stdout
    assert "# DomainForge run" in report

    # The hand-written file is scored every round, reported, and kept out of training.
    assert "eval_handwritten execution accuracy: round 0 (untrained)" in result.stdout
    assert "## Your evaluation file `eval_handwritten`" in report and "108 items" in report
    assert len((run_dir / "round_2" / "eval_eval_handwritten.jsonl").read_text().splitlines()) == 108
    questions = {json.loads(line)["question"].lower() for line in HANDWRITTEN.read_text().splitlines()}
    trained = {json.loads(line)["instruction"].lower() for r in ("round_1", "round_2")
               for line in (run_dir / r / "train.jsonl").read_text().splitlines()}
    assert not questions & trained

    # Round 2's plan comes from round 1's feedback failures, and its examples say so.
    db = sqlite3.connect(ws / "examples.sqlite")
    configs = {row[0]: json.loads(row[1]) for row in db.execute("SELECT run_id, config FROM runs")}
    by_round = {c["round"]: c for c in configs.values()}
    assert by_round[1]["weights"] == {} and by_round[2]["weights"]
    assert by_round[2]["weights"] != by_round[1]["weights"]
    feedback_ids = {json.loads(l)["id"] for l in (run_dir / "heldout_feedback.jsonl").read_text().splitlines()}
    test_ids = {json.loads(l)["id"] for l in (run_dir / "heldout_test.jsonl").read_text().splitlines()}
    round2_run = next(r for r, c in configs.items() if c["round"] == 2)
    motivated = [json.loads(l)["motivated_by"] for (l,) in db.execute("SELECT lineage FROM slots WHERE run_id = ?", (round2_run,))]
    assert any(motivated) and {m for m in motivated if m} <= feedback_ids  # never a test item
    assert not {m for m in motivated if m} & test_ids

    # Round 2 emphasises the constructs that failed, trains round 1's student on its own new examples plus a
    # 30 % replay share of round 1's, and the report shows accuracy per construct.
    assert by_round[2]["emphasis"] and all(0 <= w <= 1 for w in by_round[2]["emphasis"].values())
    round1_ids = {json.loads(l)["id"] for l in (run_dir / "round_1" / "accepted.jsonl").read_text().splitlines()}
    round2 = [json.loads(l)["id"] for l in (run_dir / "round_2" / "accepted.jsonl").read_text().splitlines()]
    replayed = [i for i in round2 if i in round1_ids]
    assert 0.2 <= len(replayed) / len(round2) <= 0.35, (len(replayed), len(round2))
    assert "| construct | items | round 0 | round 1 | round 2 |" in report and "| count |" in report

    exported = run_cli("export-gguf", str(ws), "--quant", "q4_k_m", "--out", str(tmp_path / "student.gguf"),
                       "--deploy-dir", str(tmp_path / "deploy"))
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert (tmp_path / "student.gguf").stat().st_size > 0 and (tmp_path / "deploy" / "student.gguf").is_file()
    assert "smoke test:" in exported.stdout


def test_a_run_killed_during_training_resumes_from_its_checkpoint(tmp_path):
    ws = tmp_path / "ws"
    args = ["run", "--rounds", "1", "--workspace", str(ws), "--count", "160", "--heldout", "40", "--epochs", "12"]
    process = subprocess.Popen([sys.executable, str(REPO / "loop.py"), *args], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    checkpoints = []
    while time.time() < deadline and not checkpoints:
        checkpoints = list(ws.glob("runs/*/round_1/checkpoints/checkpoint-*/trainer_state.json"))
        time.sleep(0.2)
    assert checkpoints, "training never wrote a checkpoint"
    time.sleep(0.5)  # let the checkpoint finish writing its other files
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    slots_before = sqlite3.connect(ws / "examples.sqlite").execute("SELECT COUNT(*), MAX(finished_at) FROM slots").fetchone()

    result = run_cli(*args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "resuming run" in result.stdout and "at train" in result.stdout
    assert "resumed from" in result.stdout and "checkpoint-" in result.stdout
    assert "round 1: generate" not in result.stdout  # generation was not redone
    slots_after = sqlite3.connect(ws / "examples.sqlite").execute("SELECT COUNT(*), MAX(finished_at) FROM slots").fetchone()
    assert slots_after == slots_before
