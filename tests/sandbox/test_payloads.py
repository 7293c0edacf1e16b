"""Task files of any real size reach the sandbox: a 20 MB, 2,000-file
repository as a snapshot, sent once and laid under each task, with the task's
own files over it; a task cannot change the snapshot for the next one; what
does not fit is TaskTooLarge, before anything runs. Real Docker and bubblewrap."""

import hashlib
import random

import pytest

from sandbox import Snapshot, TaskTooLarge
from sandbox.limits import Limits
from tests.sandbox_backends import open_or_skip

LIMITS = Limits(timeout_s=60, memory_mb=512)
# Prints the number of files, their bytes and one digest over names and contents.
SUMMARY = """
import hashlib, os
digest, count, size = hashlib.sha256(), 0, 0
for folder, dirs, names in sorted(os.walk("repo")):
    dirs.sort()
    for name in sorted(names):
        path = os.path.join(folder, name)
        data = open(path, "rb").read()
        digest.update(os.path.relpath(path, "repo").encode() + b"\\0" + hashlib.sha256(data).digest())
        count, size = count + 1, size + len(data)
print(count, size, digest.hexdigest())
"""


def summary(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files, key=lambda n: n.split("/")):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return f"{len(files)} {sum(map(len, files.values()))} {digest.hexdigest()}"


@pytest.fixture(scope="module")
def big_repository() -> dict[str, bytes]:
    """2,000 files in 40 folders, 20 MB of incompressible bytes, and some text files."""
    rng = random.Random(7)
    files = {f"pkg{i % 40:02d}/data_{i:04d}.bin": rng.randbytes(10_000) for i in range(1990)}
    files.update({f"pkg{i:02d}/module.py": f"VALUE = {i}\n".encode() for i in range(10)})
    return files


@pytest.fixture(scope="module", params=["docker", "bwrap"])
def sandbox(request):
    box = open_or_skip(request.param, LIMITS)
    yield box
    box.close()


@pytest.mark.slow
def test_a_20_mb_repository_reaches_every_task_whole(sandbox, big_repository):
    assert sum(map(len, big_repository.values())) >= 19_900_000 and len(big_repository) == 2000
    snapshot = Snapshot.of({f"repo/{name}": data for name, data in big_repository.items()})
    edited = {**big_repository, "pkg03/module.py": b"VALUE = 'edited'\n"}
    result = sandbox.run({"summary.py": SUMMARY, "repo/pkg03/module.py": edited["pkg03/module.py"]},
                         ["python3", "summary.py"], base=snapshot)
    assert result.ok, result
    assert result.stdout.strip() == summary(edited)
    # A task that tries to change the snapshot itself, then one that checks it is as sent.
    vandal = sandbox.run({"vandal.sh": "rm -rf /snapshots/*/repo/pkg00; "
                                       "rm -rf repo/pkg01; echo done"}, ["sh", "vandal.sh"], base=snapshot)
    assert vandal.ok, vandal
    again = sandbox.run({"summary.py": SUMMARY}, ["python3", "summary.py"], base=snapshot)
    assert again.ok and again.stdout.strip() == summary(big_repository), again


def test_files_that_do_not_fit_are_task_too_large_before_anything_runs(sandbox):
    huge = Snapshot.of({"repo/blob.bin": bytes(LIMITS.memory_mb * 2**20 // 6)})
    with pytest.raises(TaskTooLarge, match="MiB"):
        sandbox.run({"task.py": "print(1)"}, ["python3", "task.py"], base=huge)
    result = sandbox.run({"task.py": "print(1)"}, ["python3", "task.py"])
    assert result.ok and result.stdout.strip() == "1"


def test_task_too_large_rejects_that_one_example_with_its_size():
    from agents.example_graph import failure_check

    check, trace = failure_check(TaskTooLarge("the task's files take 300.0 MiB; a task in this sandbox may bring 64 MiB"),
                                 "verified", "verifier_error")
    assert not check.passed and check.reason == "task_too_large" and "300.0 MiB" in check.detail
    assert "TaskTooLarge" in trace
