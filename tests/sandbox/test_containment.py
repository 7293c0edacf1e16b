"""Containment: every hostile task is stopped, and the same sandbox then runs
a normal task correctly. Against the real Docker pool and real bubblewrap."""

import os

import pytest

from sandbox.limits import Limits
from tests.sandbox_backends import open_or_skip

LIMITS = Limits(timeout_s=3, memory_mb=128, pids=32, output_bytes=4096)
NORMAL = ({"solution.py": "def add(a, b):\n    return a + b\n",
           "test_solution.py": "from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"},
          ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_solution.py"])


@pytest.fixture(scope="module", params=["docker", "bwrap"])
def sandbox(request):
    box = open_or_skip(request.param, LIMITS)
    yield box
    box.close()


def run_py(sandbox, code: str):
    return sandbox.run({"task.py": code}, ["python3", "task.py"])


def then_a_normal_task_passes(sandbox):
    result = sandbox.run(*NORMAL)
    assert result.exit_code == 0 and "1 passed" in result.stdout, result


def test_a_normal_task_passes(sandbox):
    then_a_normal_task_passes(sandbox)


def test_fork_bomb(sandbox):
    result = run_py(sandbox, "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n")
    assert result.timed_out or result.exit_code != 0
    then_a_normal_task_passes(sandbox)


def test_memory_bomb(sandbox):
    result = run_py(sandbox, "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))\n")
    assert result.exit_code != 0 and not result.timed_out
    assert result.killed_for_memory or "MemoryError" in result.stderr
    then_a_normal_task_passes(sandbox)


def test_infinite_loop(sandbox):
    result = run_py(sandbox, "while True:\n    pass\n")
    assert result.timed_out and result.duration_s < LIMITS.timeout_s + 2
    then_a_normal_task_passes(sandbox)


def test_sleeping_past_the_timeout(sandbox):
    result = run_py(sandbox, "import time\ntime.sleep(60)\n")
    assert result.timed_out
    then_a_normal_task_passes(sandbox)


def test_flood_of_output(sandbox):
    result = run_py(sandbox, "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n")
    assert result.truncated and len(result.stdout) <= LIMITS.output_bytes
    then_a_normal_task_passes(sandbox)


def test_network_connection(sandbox):
    result = run_py(sandbox, "import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=2)\nprint('CONNECTED')\n")
    assert result.exit_code != 0 and "CONNECTED" not in result.stdout
    result = run_py(sandbox, "import socket\nsocket.create_connection(('93.184.216.34', 80), timeout=2)\nprint('CONNECTED')\n")
    assert result.exit_code != 0 and "CONNECTED" not in result.stdout
    then_a_normal_task_passes(sandbox)


def test_writing_outside_the_work_dir(sandbox):
    for target in ("/etc/owned", "/tmp/owned", "/usr/lib/owned", "/home/owned"):
        result = run_py(sandbox, f"open({target!r}, 'w').write('x')\n")
        assert result.exit_code != 0 and ("Read-only" in result.stderr or "Permission" in result.stderr), result
    then_a_normal_task_passes(sandbox)


def test_reading_the_hosts_environment_and_files(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("DOMAINFORGE_HOST_SECRET", "hunter2")
    secret = tmp_path / "secret.txt"
    secret.write_text("host-only")
    result = run_py(sandbox, "import os\nprint(sorted(os.environ.items()))\n"
                             f"print(os.path.exists({str(secret)!r}), os.path.exists('/root'), os.getuid())\n")
    assert result.exit_code == 0, result
    assert "hunter2" not in result.stdout and "DOMAINFORGE_HOST_SECRET" not in result.stdout
    assert "False" in result.stdout.splitlines()[-1] and result.stdout.split()[-1] == "1000"
    then_a_normal_task_passes(sandbox)


# Lists every process's command line from /proc (the image has no ps).
LIST_PROCESSES = "import os\nfor pid in filter(str.isdigit, os.listdir('/proc')):\n    try:\n" \
                 "        print(pid, open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ').decode())\n" \
                 "    except OSError:\n        pass\n"


# Ways to leave a process behind; the last two also kill the shell that runs the task.
LEAVE_BEHIND = ["{cmd} &", "setsid {cmd} &", "setsid sh -c '{cmd} &' &", "nohup {cmd} >/dev/null 2>&1 &",
                "setsid {cmd} &\nkill -9 $PPID", "setsid {cmd} &\nkill -TERM $PPID"]


@pytest.mark.parametrize("start", LEAVE_BEHIND)
def test_nothing_a_task_started_outlives_it(sandbox, start):
    marker = f"leftover-{LEAVE_BEHIND.index(start)}"
    result = sandbox.run({}, ["sh", "-c", start.format(cmd=f'sh -c "sleep 300; echo {marker}"') + "\necho started"])
    assert not result.timed_out, result
    after = run_py(sandbox, LIST_PROCESSES)
    assert after.exit_code == 0, after
    assert marker not in after.stdout, f"a process the last task started is still running:\n{after.stdout}"
    then_a_normal_task_passes(sandbox)


def test_what_tasks_leave_behind_does_not_use_up_the_pids(sandbox):
    for _ in range(3):  # each leaves 20 processes; the pids limit is 32
        result = sandbox.run({}, ["sh", "-c", "for i in $(seq 20); do sleep 300 & done; echo left"])
        assert result.stdout.strip() == "left", result
    then_a_normal_task_passes(sandbox)


def test_no_capabilities_and_no_root(sandbox):
    result = run_py(sandbox, "import os\nstatus = open('/proc/self/status').read()\n"
                             "print(os.getuid(), status.split('CapEff:')[1].split()[0])\n")
    uid, caps = result.stdout.split()
    assert uid == "1000" and int(caps, 16) == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may create cgroups for the bwrap back end")
def test_bwrap_leaves_no_cgroups_behind(monkeypatch):
    # This run's own cgroups, not every domainforge-* one: tests in another worker may hold theirs.
    from sandbox import bwrap

    made = []
    create = bwrap.TaskCgroup.create
    monkeypatch.setattr(bwrap.TaskCgroup, "create", lambda limits: made.append(create(limits)) or made[-1])
    box = open_or_skip("bwrap", LIMITS)
    box.run({}, ["true"])
    groups = [group for group in made if group is not None]
    if not groups:
        pytest.skip("cgroups are not writable here: bwrap applied rlimits instead")
    assert not [d for group in groups for d in group.dirs if d.exists()]


def test_a_missing_image_says_how_to_build_it():
    from sandbox import SandboxError
    from sandbox.docker_pool import DockerPool

    try:
        DockerPool("domainforge-sandbox:does-not-exist", size=1)
    except SandboxError as exc:
        assert "python loop.py sandbox build-image" in str(exc) or "cannot reach the Docker engine" in str(exc)
    else:
        pytest.fail("a missing image must be refused")
