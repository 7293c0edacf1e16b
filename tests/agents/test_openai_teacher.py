"""The OpenAI-compatible teacher against a scripted server on 127.0.0.1 that
rate-limits, fails, answers malformed JSON and answers too slowly."""

import json
import sqlite3

import httpx
import openai
import pytest

from agents.teachers.openai_compat import retry_after_s
from tests.conftest import run_cli

FAULTS = ("--rate-limit-every", "7", "--error-every", "11", "--malformed-every", "13", "--slow-every", "17", "--slow-s", "1.5")


def generate(server, ws, count="500"):
    return run_cli("generate", "--domain", "cypher", "--teacher", f"openai:scripted@{server.base_url}", "--count", count,
                   "--concurrency", "16", "--timeout", "0.5", "--workspace", str(ws))


@pytest.mark.slow
@pytest.mark.server_flags(*FAULTS)
def test_generation_survives_a_misbehaving_server_and_reruns_for_free(scripted_server, tmp_path):
    ws = tmp_path / "ws"
    result = generate(scripted_server, ws)
    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(ws / "examples.sqlite")
    accepted, total = db.execute("SELECT SUM(accepted), COUNT(*) FROM slots").fetchone()
    assert total == 500 and accepted >= 450

    calls = [c for (lineage,) in db.execute("SELECT lineage FROM slots") for c in json.loads(lineage)["calls"]]
    retries = [r for c in calls for r in c["retries"]]
    assert {"HTTP 429", "HTTP 500", "timeout"} <= set(retries)  # retries are visible in lineage
    assert any(c["repaired"] for c in calls)  # malformed JSON got its repair attempt
    assert all(c["tokens_in"] > 0 for c in calls if not c["cached"] and not c["error"])
    assert all(c["retries"] for c in calls if c["error"] == "teacher_unavailable")  # what each try met

    served = scripted_server.calls()
    again = generate(scripted_server, ws)
    assert again.returncode == 0 and "500 already done" in again.stdout
    assert scripted_server.calls() == served  # an identical rerun makes no teacher calls


def test_the_response_cache_answers_every_repeated_request(scripted_server, tmp_path):
    # One slot at a time, so both runs send exactly the same requests (with many
    # in flight, which of two colliding drafts is repaired depends on timing).
    ws = tmp_path / "ws"
    args = ["generate", "--teacher", f"openai:scripted@{scripted_server.base_url}", "--count", "40",
            "--concurrency", "1", "--workspace", str(ws)]
    assert run_cli(*args).returncode == 0
    served = scripted_server.calls()
    first = {r for (r,) in sqlite3.connect(ws / "examples.sqlite").execute("SELECT id FROM examples WHERE accepted = 1")}
    for stale in ws.glob("examples.sqlite*"):  # the store is gone, the response cache is not
        stale.unlink()
    assert run_cli(*args).returncode == 0
    assert scripted_server.calls() == served
    again = {r for (r,) in sqlite3.connect(ws / "examples.sqlite").execute("SELECT id FROM examples WHERE accepted = 1")}
    assert again == first
    lineages = [json.loads(r) for (r,) in sqlite3.connect(ws / "examples.sqlite").execute("SELECT lineage FROM slots")]
    assert all(c["cached"] for lineage in lineages for c in lineage["calls"])


@pytest.mark.server_flags("--malformed-every", "1")
def test_a_teacher_that_never_answers_json_is_rejected_with_reason(scripted_server, tmp_path):
    ws = tmp_path / "ws"
    assert generate(scripted_server, ws, count="3").returncode == 0
    audit = run_cli("audit", str(ws), "--reason", "teacher_output_invalid", "--json")
    rows = [json.loads(line) for line in audit.stdout.splitlines()]
    assert len(rows) == 3
    assert all(r["lineage"]["calls"][0]["repaired"] for r in rows)


@pytest.mark.server_flags("--slow-every", "1", "--slow-s", "1")
def test_a_call_that_fails_every_attempt_records_each_failure(scripted_server, tmp_path):
    import asyncio

    from agents.domains import Critique
    from agents.teachers.base import TeacherRequest
    from agents.teachers.cache import ResponseCache
    from agents.teachers.openai_compat import OpenAITeacher

    async def ask():
        teacher = OpenAITeacher("scripted", scripted_server.base_url, cache=ResponseCache(tmp_path / "cache.sqlite"),
                                timeout_s=0.2, max_attempts=3)
        try:
            messages = [{"role": "system", "content": "You review data."}, {"role": "user", "content": "ok?"}]
            return await teacher.complete(TeacherRequest("critique", messages, Critique, attempt=1))
        finally:
            await teacher.close()

    reply = asyncio.run(ask())
    assert reply.data is None and reply.call.error == "teacher_unavailable" and "after 3 attempts" in reply.problem
    assert reply.call.retries == ["timeout", "timeout", "timeout"]


def test_retry_after_is_read_in_seconds_and_as_a_date():
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")

    def error(headers):
        response = httpx.Response(429, headers=headers, request=request)
        return openai.RateLimitError("rate limited", response=response, body=None)

    assert retry_after_s(error({"Retry-After": "0.25"})) == 0.25
    assert retry_after_s(error({"Retry-After": "9999"})) == 60.0
    assert retry_after_s(error({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_s(error({})) is None


def test_the_api_key_is_never_stored(scripted_server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-123")
    ws = tmp_path / "ws"
    assert generate(scripted_server, ws, count="4").returncode == 0
    for path in ws.iterdir():
        if path.is_file():
            assert b"sk-secret-value-123" not in path.read_bytes()
