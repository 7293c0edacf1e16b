from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from forge.native import ensure_static_tls_room


def pytest_configure(config):
    # kglite, torch, sentencepiece and llama.cpp all load in this process (see
    # forge/native.py). Re-executing needs pytest's capture off first, or the
    # new process would inherit the capture files as its stdout and stderr.
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.suspend_global_capture(in_=True)
    ensure_static_tls_room()
    if capture is not None:
        capture.resume_global_capture()

REPO = Path(__file__).resolve().parents[1]
IN_CI = bool(os.environ.get("CI"))
DEMO_GRAPH = REPO / "data" / "cypher" / "bookstore.cypher"


def start_postgres():
    """A new PostgreSQL server (tests/postgres_server.py). Without one a test fails in CI, else skips."""
    from tests.postgres_server import PostgresServer, binaries

    found = binaries()
    if found is None:
        message = "PostgreSQL is not installed: scripts/setup.sh installs Debian's postgresql package"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    return PostgresServer(found)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_store(request) -> str | None:
    """The store a test's workspace uses, once per back end: None (the workspace's own SQLite file) or the URI,
    password included, of a fresh database on the session's PostgreSQL server."""
    return None if request.param == "sqlite" else request.getfixturevalue("postgres").new_database()


@pytest.fixture
def store_target(shared_store, tmp_path):
    """What open_store opens, once per back end: an SQLite file or a PostgreSQL URI."""
    return shared_store or tmp_path / "s.sqlite"


@pytest.fixture(scope="session")
def docker_sandbox():
    """Fails in CI, skips elsewhere, when the Docker sandbox cannot start: a source refused for want of
    a sandbox must not pass as 'refused up front'."""
    from tests.sandbox_backends import open_or_skip

    open_or_skip("docker").close()


@pytest.fixture(scope="session")
def graph():
    from agents.domains.cypher.graphdb import KgliteGraph

    return KgliteGraph(DEMO_GRAPH)


@pytest.fixture(scope="session")
def cypher_domain(graph):
    from agents.domains.cypher.generate import CypherDomain

    return CypherDomain(graph)


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python loop.py ARGS` as a user runs it (sys.executable: no shell shim)."""
    return subprocess.run([sys.executable, str(REPO / "loop.py"), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**__import__("os").environ, "COLUMNS": "200"})


@dataclass
class ScriptedServer:
    process: subprocess.Popen
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def calls(self) -> int:
        with urllib.request.urlopen(f"{self.base_url}/stats", timeout=5) as response:
            return json.load(response)["calls"]


def start_scripted_server(*flags: str) -> ScriptedServer:
    process = subprocess.Popen([sys.executable, str(REPO / "tests" / "openai_server.py"), *flags],
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    assert line.startswith("PORT "), f"scripted server did not start: {line!r}"
    return ScriptedServer(process, int(line.split()[1]))


@pytest.fixture
def scripted_server(request):
    """A scripted OpenAI-compatible server; flags from @pytest.mark.server_flags(...)."""
    marker = request.node.get_closest_marker("server_flags")
    server = start_scripted_server(*(marker.args if marker else ()))
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def demo_rows(cypher_domain):
    """Verified template examples over the demo graph, as training rows."""
    from agents.domains import Task
    from forge.export import example_row

    rows = []
    for slot in range(140):
        task = Task(slot, cypher_domain.categories[slot % len(cypher_domain.categories)], f"fixture:{slot}")
        example = cypher_domain.to_example(task, cypher_domain.template_draft(task, 1))
        if all(c.passed for c in cypher_domain.verify(example)):
            rows.append(example_row(example))
    return rows


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, demo_rows):
    """A `tiny` student (random Llama + SentencePiece tokenizer trained on demo rows)."""
    from evaluators.curation import row_text
    from trainer.presets import load_preset
    from trainer.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "base", [row_text(r) for r in demo_rows],
                            **load_preset("tiny").tiny_shape)


class ServedWorkspace:
    """`loop.py serve WORKSPACE` on a free loopback port, with a client that sends its token."""

    def __init__(self, workspace, store: str | None = None) -> None:
        self.process = subprocess.Popen([sys.executable, str(REPO / "loop.py"), "serve", str(workspace), "--port", "0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env={**os.environ, "COLUMNS": "300", **({"DOMAINFORGE_STORE": store} if store else {})})
        self.url = self.process.stdout.readline().split(" at ")[1].strip().rstrip("/")
        said = self.process.stdout.readline()
        self.printed_token = said.split()[1] if "printed only this once" in said else None
        self.token = (workspace / "service_token").read_text().strip()
        self.client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"the server did not start: {self.process.stdout.read()}")
            time.sleep(0.1)

    def events(self, job_id: str) -> list[tuple[str, dict]]:
        found, kind = [], ""
        with self.client.stream("GET", f"/api/jobs/{job_id}/events", timeout=120) as response:
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    found.append((kind, json.loads(line.removeprefix("data: "))))
        return found

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
