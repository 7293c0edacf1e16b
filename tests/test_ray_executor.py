"""Generation on a Ray cluster (--executor ray): two nodes of one CPU each and a
PostgreSQL store, in a private network namespace (tests/ray_cluster.py)."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

from tests.conftest import run_cli

IN_CI = bool(os.environ.get("CI"))


def _needs_a_cluster() -> None:
    from tests.postgres_server import binaries

    missing = [what for what, found in (("ray", importlib.util.find_spec("ray")), ("unshare", shutil.which("unshare")),
                                        ("ip", shutil.which("ip")), ("PostgreSQL", binaries())) if not found]
    if missing or os.getuid() != 0:
        message = f"a Ray cluster in a network namespace needs root and {', '.join(missing) or 'nothing else'}"
        pytest.fail(message) if IN_CI else pytest.skip(message)


@pytest.mark.slow
def test_a_lost_node_costs_only_its_slots_in_flight(tmp_path):
    _needs_a_cluster()
    from tests.ray_cluster import in_private_network

    result = in_private_network(["fault", str(tmp_path)])
    assert result["exit"] == 0, result["output"]
    assert 0 < result["done_when_killed"] < 60
    # Every slot done once, no example accepted twice, both nodes made some.
    assert result["slots"] == list(range(60))
    assert len(set(result["accepted_examples"])) == len(result["accepted_examples"]) > 0
    assert len(result["nodes"]) == 2
    # The slots the killed node held were run again elsewhere, and their lineage says where they were lost.
    assert result["reruns"], "no slot was in flight on the killed node"
    assert all(lost and set(lost) <= set(result["nodes"]) for lost in result["reruns"].values())
    # `serve --store` lists what the cluster wrote.
    assert result["served"] == 60


def test_an_unknown_executor_is_refused_before_anything_is_written(tmp_path):
    result = run_cli("generate", "--executor", "spark", "--count", "2", "--workspace", str(tmp_path / "ws"))
    assert result.returncode == 2 and "--executor 'spark' is not local, ray or ray:HOST:PORT" in result.stderr
    assert not (tmp_path / "ws").exists()
