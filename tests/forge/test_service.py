"""`loop.py serve` as a user runs it: the real server on a loopback port, a
generation job against the scripted OpenAI-compatible teacher (also on
loopback), its events followed to the end, its rejections judged by a person,
and the verdicts followed by export; a job that survives a server restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import REPO, ServedWorkspace as Server, start_scripted_server
from tests.postgres_server import PASSWORD


@pytest.fixture
def teacher():
    server = start_scripted_server("--malformed-every", "3")
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


def test_a_job_is_followed_judged_and_exported(tmp_path, teacher, monkeypatch, shared_store):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sentinel-never-stored")
    ws = tmp_path / "ws"
    server = Server(ws, shared_store)
    try:
        assert server.printed_token == server.token and (ws / "service_token").stat().st_mode & 0o777 == 0o600
        assert httpx.get(f"{server.url}/api/jobs").status_code == 401
        assert httpx.get(f"{server.url}/api/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401

        bad = server.client.post("/api/jobs", json={"command": "generate", "options": {"count": 0}})
        assert bad.status_code == 422 and "--count" in bad.json()["detail"]
        foreign = server.client.post("/api/jobs", json={"command": "generate", "options": {"repo": "x"}})
        assert foreign.status_code == 422 and "--repo is an option of" in foreign.json()["detail"]

        job = server.client.post("/api/jobs", json={"command": "generate", "options": {
            "domain": "cypher", "teacher": f"openai:scripted@{teacher.base_url}", "count": 12, "max_attempts": 1}})
        assert job.status_code == 201, job.text
        events = server.events(job.json()["id"])
        kinds = [kind for kind, _ in events]
        assert kinds[-1] == "end" and events[-1][1]["status"] == "succeeded"
        assert "slots" in kinds and events[-2][0] == "generated"
        generated = events[-2][1]["data"]
        assert generated["accepted"] + generated["rejected"] == 12 and generated["rejected"] > 0
        assert generated["teacher_calls"] > 0 and generated["tokens_in"] > 0

        rejected = server.client.get("/api/examples", params={"accepted": False, "limit": 50}).json()["items"]
        assert len(rejected) == generated["rejected"] and all(r["reasons"] for r in rejected)
        accepted = server.client.get("/api/examples", params={"accepted": True, "limit": 1}).json()["items"]
        one = server.client.get(f"/api/examples/{rejected[0]['id']}").json()
        assert one["checks"] and one["lineage"]["events"] and one["example"]["payload"]

        overturned = server.client.post(f"/api/examples/{rejected[0]['id']}/verdict",
                                        json={"accepted": True, "note": "fine after all", "who": "ana"})
        assert overturned.status_code == 200 and overturned.json()["human"]["who"] == "ana"
        server.client.post(f"/api/examples/{accepted[0]['id']}/verdict",
                           json={"accepted": False, "note": "wrong question", "who": "ana"})
        exported = [json.loads(line)["id"] for line in server.client.get("/api/export").text.splitlines()]
        assert rejected[0]["id"] in exported and accepted[0]["id"] not in exported
        assert len(exported) == generated["accepted"]

        assert server.client.post(f"/api/examples/{rejected[0]['id']}/verdict", json={"accepted": True}).status_code == 422
        assert server.client.get("/api/examples/0000000000000000").status_code == 404
        assert server.client.get("/api/examples/../../etc/passwd").status_code == 404
        assert server.client.get("/api/runs/..%2F..%2Fetc/report").status_code in (404, 422)
        assert server.client.get("/api/export", params={"format": "csv"}).status_code == 422
        assert teacher.base_url.split("//")[1].split(":")[0] == "127.0.0.1"
        responses = [server.client.get(path).text for path in
                     ("/api/jobs", f"/api/jobs/{job.json()['id']}/log", "/api/examples?limit=500", "/api/runs")]
        assert not any("sk-sentinel" in text for text in responses)
    finally:
        server.stop()
    secrets = [b"sk-sentinel"] + ([PASSWORD.encode()] if shared_store else [])
    assert not [p for p in ws.rglob("*") if p.is_file() and any(s in p.read_bytes() for s in secrets)]
    if shared_store:  # the shared store holds every example: the workspace keeps no copy
        assert not (ws / "examples.sqlite").exists()
    audit = subprocess.run([sys.executable, str(REPO / "loop.py"), "audit", str(ws)], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "300", **({"DOMAINFORGE_STORE": shared_store} if shared_store else {})})
    assert "a person accepted it: ana" in audit.stdout and "overturned the verifier on 2" in audit.stdout


def test_a_running_job_resumes_when_the_server_comes_back(tmp_path, shared_store):
    slow = start_scripted_server("--slow-every", "1", "--slow-s", "0.2")
    ws = tmp_path / "ws"
    try:
        server = Server(ws, shared_store)
        job = server.client.post("/api/jobs", json={"command": "generate", "options": {
            "domain": "cypher", "teacher": f"openai:scripted@{slow.base_url}", "count": 30, "concurrency": 1}}).json()
        time.sleep(4)
        server.stop()
        assert server.client.base_url and json.loads(
            (ws / "jobs" / f"{job['id']}.events.jsonl").read_text().splitlines()[-1])["data"]["done"] < 30
        server = Server(ws, shared_store)
        events = server.events(job["id"])
        assert events[-1][1]["status"] == "succeeded"
        assert [e for k, e in events if k == "generated"][-1]["data"]["accepted"] == 30

        cancelled = server.client.post("/api/jobs", json={"command": "generate", "options": {
            "domain": "cypher", "teacher": f"openai:scripted@{slow.base_url}", "count": 300, "concurrency": 1,
            "seed": 1}}).json()
        time.sleep(2)
        assert server.client.delete(f"/api/jobs/{cancelled['id']}").json()["status"] == "cancelled"
        assert server.events(cancelled["id"])[-1] == ("end", server.client.get(f"/api/jobs/{cancelled['id']}").json())
        assert server.client.get(f"/api/jobs/{cancelled['id']}").json()["status"] == "cancelled"
        server.stop()
    finally:
        slow.process.terminate()
        slow.process.wait(timeout=10)
