"""The shared store when PostgreSQL goes away: a run waits for the server and
loses nothing; a server that stays away stops the command with a message;
and two workers running the same command at once do every slot once."""

import subprocess
import sys
import time

import pytest

from forge.errors import InputError
from forge.store import open_store
from tests.conftest import REPO, start_postgres


@pytest.fixture
def own_postgres():
    """A server of this test's own, to stop and start without disturbing the others."""
    server = start_postgres()
    yield server
    server.stop()


def _generate(uri: str, workspace, count: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "loop.py"), "generate", "--count", str(count), "--store", uri,
                             "--workspace", str(workspace)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _slots(uri: str) -> list[int]:
    store = open_store(uri)
    try:
        return sorted(item.slot for item in store.produced())
    finally:
        store.close()


@pytest.mark.slow
def test_a_run_waits_out_a_restart_of_the_server_and_loses_nothing(own_postgres, tmp_path):
    uri = own_postgres.new_database()
    run = _generate(uri, tmp_path / "ws", 1500)
    deadline = time.time() + 120
    while len(_slots(uri)) < 200 and run.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    own_postgres.halt()
    time.sleep(7)  # longer than the pool waits for a connection (5 s): the store's own retry takes over
    own_postgres.start()
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err
    assert f"127.0.0.1:{own_postgres.port}" in err and "retrying for up to 120 s" in err and "s3cret" not in err
    assert _slots(uri) == list(range(1500))


def test_a_server_that_stays_away_stops_the_command_with_a_message(own_postgres, monkeypatch):
    import forge.postgres_store

    store = open_store(own_postgres.new_database())
    monkeypatch.setattr(forge.postgres_store, "OUTAGE_S", 2.0)
    own_postgres.halt()
    try:
        with pytest.raises(InputError, match="the server did not answer for 2 s") as raised:
            store.finished_slots("any-run")
        assert "Finished slots are kept" in str(raised.value) and "s3cret" not in str(raised.value)
    finally:
        own_postgres.start()
        store.close()


@pytest.mark.slow
def test_two_workers_running_the_same_command_do_each_slot_once(postgres, tmp_path):
    uri = postgres.new_database()
    runs = [_generate(uri, tmp_path / f"ws{i}", 400) for i in range(2)]
    for run in runs:
        assert run.wait(timeout=600) == 0, run.stderr.read()
    assert _slots(uri) == list(range(400))
    store = open_store(uri)
    accepted = [e.id for e in store.accepted_examples()]
    store.close()
    assert accepted and len(accepted) == len(set(accepted))
