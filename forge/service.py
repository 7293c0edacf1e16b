"""The HTTP service on one workspace: jobs (a generation or a cycle, run as
the CLI runs them), their progress as Server-Sent Events, the examples with
their evidence, people's verdicts, exports and run reports, and questions
for a trained student (POST /api/ask, as `loop.py ask`).

Every endpoint but /health needs the workspace's token, as `Authorization:
Bearer TOKEN`, as `?token=`, or as the cookie that opening /login?token=...
once in a browser sets. The token is made on the first start and kept in
WORKSPACE/service_token, readable by its owner only.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from fastapi import Depends, FastAPI, HTTPException, Path as PathParam, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from forge.errors import InputError
from forge.jobs import JobRunner
from forge.workspace import Workspace

COOKIE = "domainforge_token"
EXAMPLE_ID = r"^[0-9a-f]{16}$"
JOB_ID = r"^[0-9a-f]{12}$"
RUN_ID = r"^[\w.-]{1,200}$"


def load_token(workspace: Workspace) -> tuple[str, bool]:
    """The workspace's token, and whether it was made just now."""
    path = workspace.root / "service_token"
    if path.is_file():
        return path.read_text().strip(), False
    workspace.create()
    token = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token, True


class JobRequest(BaseModel):
    """A job: the command and its options, as on the command line without the
    dashes (`{"domain": "cypher", "count": 50}`). The workspace is the server's."""

    model_config = ConfigDict(extra="forbid")
    command: Literal["generate", "run"]
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)


class AskRequest(BaseModel):
    """A question for a trained student (`loop.py ask`): the domain and its
    sources as on the command line without the dashes (`{"docs": "/path"}`);
    the student is a trained student folder or a GGUF file, by default the
    workspace's newest trained student."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=4000)
    domain: Optional[str] = None
    sources: dict[str, str] = Field(default_factory=dict)
    student: Optional[str] = None


class VerdictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accepted: bool
    note: str = Field("", max_length=2000)
    who: str = Field(min_length=1, max_length=100)


def to_argv(request: JobRequest) -> list[str]:
    """The job's command line, checked as the CLI checks it before it writes
    anything: the options its config declares (forge/options.py: names, types,
    ranges), the domain and its sources, and the teacher specs."""
    from agents.domains import all_sources, domain_choice
    from agents.generation import GenerationConfig
    from agents.teachers import parse_teacher_spec
    from forge.options import options_of
    from loop import CycleConfig

    declared = {o.name: o for o in options_of({"generate": GenerationConfig, "run": CycleConfig}[request.command])}
    sources = all_sources()
    argv: list[str] = []
    given: dict[str, str] = {}
    for name, value in request.options.items():
        key = name.replace("-", "_")
        if key == "domain" or key in sources:
            given[key] = str(value)
            argv += ["--" + key.replace("_", "-"), str(value)]
        elif key in declared:
            each = declared[key]
            checked = each.check(value)
            if each.is_switch:
                argv += [each.spelling if checked else "--no-" + each.spelling[2:]] if checked != each.default else []
            elif each.is_list:
                argv += [part for item in checked for part in (each.spelling, str(item))]
            elif checked is not None:
                argv += [each.spelling, str(checked)]
            given[key] = str(checked)
        else:
            raise InputError(f"{request.command} has no option {name!r}: use one of "
                             f"{', '.join(sorted(['domain', *sources, *declared]))}")
    domain_choice(given.get("domain"), {name: given.get(name) for name in sources})
    for role in ("teacher", "critic"):
        if role in given:
            parse_teacher_spec(given[role])
    return argv


def _row(item, full: bool = False) -> dict[str, Any]:
    turns = item.example.turns()
    row = {"id": item.example.id, "run_id": item.run_id, "slot": item.slot, "round": item.lineage.get("round"),
           "domain": item.example.domain, "category": item.example.category,
           "accepted": item.verdict.accepted, "reasons": item.verdict.reasons, "human": item.human,
           "preview": next((text for who, text in turns if who != "system"), "")[:200]}
    if full:
        row |= {"example": item.example.to_dict(), "checks": [vars(c) for c in item.verdict.checks],
                "lineage": item.lineage}
    return row


def create_app(workspace: Workspace, token: str) -> FastAPI:
    runner = JobRunner(workspace)

    def authorised(request: Request, token_query: Annotated[Optional[str], Query(alias="token")] = None) -> None:
        given = (request.headers.get("authorization", "").removeprefix("Bearer ").strip() or token_query
                 or request.cookies.get(COOKIE) or "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "missing or wrong token: send `Authorization: Bearer TOKEN` "
                                     f"(the token is in {workspace.root / 'service_token'})")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runner.resume_unfinished()  # jobs the last server left running
        yield
        runner.close()

    app = FastAPI(title="DomainForge", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    api = Depends(authorised)

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    # -- asking a trained student -------------------------------------------------

    @app.post("/api/ask", dependencies=[api])
    def ask(request: AskRequest) -> dict[str, Any]:
        """The answer, its checks (each quote verified or not) and the passages the student read."""
        from agents.assistant import answer

        try:
            sources = {name.replace("-", "_"): value for name, value in request.sources.items()}
            return answer(request.question, request.student or workspace.root, request.domain, sources).to_dict()
        except InputError as exc:
            raise HTTPException(422, str(exc)) from None

    # -- jobs ---------------------------------------------------------------------

    @app.post("/api/jobs", status_code=201, dependencies=[api])
    def start_job(request: JobRequest) -> dict[str, Any]:
        try:
            argv = to_argv(request)
        except InputError as exc:
            raise HTTPException(422, str(exc)) from None
        return runner.start(request.command, argv).to_dict()

    @app.get("/api/jobs", dependencies=[api])
    def list_jobs() -> list[dict[str, Any]]:
        return [job.to_dict() for job in runner.jobs()]

    def _job(job_id: str):
        job = runner.job(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        return job

    @app.get("/api/jobs/{job_id}", dependencies=[api])
    def get_job(job_id: Annotated[str, PathParam(pattern=JOB_ID)]) -> dict[str, Any]:
        return _job(job_id).to_dict()

    @app.delete("/api/jobs/{job_id}", dependencies=[api])
    def cancel_job(job_id: Annotated[str, PathParam(pattern=JOB_ID)]) -> dict[str, Any]:
        _job(job_id)
        return runner.cancel(job_id).to_dict()

    @app.get("/api/jobs/{job_id}/log", dependencies=[api])
    def job_log(job_id: Annotated[str, PathParam(pattern=JOB_ID)]) -> PlainTextResponse:
        _job(job_id)
        path = runner.folder / f"{job_id}.log"
        return PlainTextResponse(path.read_text(errors="replace") if path.is_file() else "")

    @app.get("/api/jobs/{job_id}/events", dependencies=[api])
    async def job_events(job_id: Annotated[str, PathParam(pattern=JOB_ID)]) -> StreamingResponse:
        """Server-Sent Events: each progress event as it is written, then `end` with the job's status."""
        _job(job_id)
        path = runner.events_path(job_id)

        async def stream():
            offset = 0
            while True:
                running = runner.job(job_id).status == "running"
                if path.is_file():
                    with path.open("rb") as f:
                        f.seek(offset)
                        chunk = f.read()
                    complete = chunk[:chunk.rfind(b"\n") + 1]
                    offset += len(complete)
                    for line in complete.decode().splitlines():
                        yield f"event: {json.loads(line)['kind']}\ndata: {line}\n\n"
                if not running:
                    yield f"event: end\ndata: {json.dumps(runner.job(job_id).to_dict())}\n\n"
                    return
                await asyncio.sleep(0.2)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    # -- examples and verdicts ------------------------------------------------------

    @app.get("/api/examples", dependencies=[api])
    def list_examples(run: Annotated[Optional[str], Query(pattern=RUN_ID)] = None,
                      round: Optional[int] = None, accepted: Optional[bool] = None,
                      reason: Annotated[Optional[str], Query(max_length=100)] = None,
                      category: Annotated[Optional[str], Query(max_length=100)] = None,
                      q: Annotated[Optional[str], Query(max_length=200)] = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 50,
                      offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
        store = workspace.open_store()
        try:
            items = [_row(i) for i in store.produced(run_id=run, round_=round, accepted=accepted, reason=reason,
                                                     category=category, text=q, limit=limit, offset=offset)]
        finally:
            store.close()
        return {"items": items, "limit": limit, "offset": offset}

    @app.get("/api/examples/{example_id}", dependencies=[api])
    def get_example(example_id: Annotated[str, PathParam(pattern=EXAMPLE_ID)]) -> dict[str, Any]:
        store = workspace.open_store()
        try:
            produced = [_row(i, full=True) for i in store.produced(example_id=example_id)]
        finally:
            store.close()
        if not produced:
            raise HTTPException(404, f"no example {example_id}")
        return {**produced[-1], "productions": [{k: p[k] for k in ("run_id", "slot", "accepted", "reasons")}
                                                for p in produced]}

    @app.post("/api/examples/{example_id}/verdict", dependencies=[api])
    def judge(example_id: Annotated[str, PathParam(pattern=EXAMPLE_ID)], verdict: VerdictRequest) -> dict[str, Any]:
        store = workspace.open_store()
        try:
            store.judge(example_id, verdict.accepted, verdict.note, verdict.who)
        except KeyError:
            raise HTTPException(404, f"no example {example_id}") from None
        finally:
            store.close()
        return get_example(example_id)

    # -- exports and reports ----------------------------------------------------------

    @app.get("/api/export", dependencies=[api])
    def export(format: Literal["jsonl", "parquet"] = "jsonl",
               domain: Annotated[Optional[str], Query(max_length=100)] = None) -> FileResponse:
        from forge.export import export_jsonl, export_parquet

        path = workspace.exports / f"accepted.{format}"
        path.parent.mkdir(parents=True, exist_ok=True)
        store = workspace.open_store()
        try:
            (export_jsonl if format == "jsonl" else export_parquet)(store.accepted_examples(domain), path)
        finally:
            store.close()
        return FileResponse(path, filename=path.name)

    def _run_folder(run_id: str) -> Path:
        folder = workspace.run(run_id).root
        if not folder.resolve().is_relative_to((workspace.root / "runs").resolve()) or not folder.is_dir():
            raise HTTPException(404, f"no run {run_id} with a report")
        return folder

    @app.get("/api/runs", dependencies=[api])
    def list_runs() -> list[dict[str, Any]]:
        store = workspace.open_store()
        try:
            return [{**run, **store.summary(run["run_id"])} for run in store.runs()]
        finally:
            store.close()

    @app.get("/api/runs/{run_id}/report", dependencies=[api])
    def report(run_id: Annotated[str, PathParam(pattern=RUN_ID)]) -> PlainTextResponse:
        path = workspace.run(run_id).report
        if not _run_folder(run_id) or not path.is_file():
            raise HTTPException(404, f"run {run_id} has no report yet")
        return PlainTextResponse(path.read_text(), media_type="text/markdown")

    @app.get("/api/runs/{run_id}/plots/{name}", dependencies=[api])
    def plot(run_id: Annotated[str, PathParam(pattern=RUN_ID)], name: str) -> FileResponse:
        plots = {p.name: p for p in workspace.run(run_id).plots}
        if name not in plots or not _run_folder(run_id) or not plots[name].is_file():
            raise HTTPException(404, f"no plot {name!r} in run {run_id}: the plots are {', '.join(plots)}")
        return FileResponse(plots[name])

    pages(app, workspace, runner, api, token)
    return app


def pages(app: FastAPI, workspace: Workspace, runner: JobRunner, api, token: str) -> None:
    """The web view: server-rendered pages over the same store, with a little
    script for live progress, verdicts and keyboard shortcuts."""
    import time
    from urllib.parse import urlencode

    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from agents.domains import DOMAINS

    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape())
    env.filters["when"] = lambda t: time.strftime("%Y-%m-%d %H:%M", time.localtime(t))

    def page(name: str, **values: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(workspace=workspace.root, **values))

    @app.get("/login")
    def login(given: Annotated[str, Query(alias="token")],
              to: Annotated[str, Query(pattern=r"^/([\w?=&.%-][\w/?=&.%-]*)?$")] = "/") -> RedirectResponse:
        """Open /login?token=... once; a cookie (this site only, not readable by scripts) keeps you in."""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, f"wrong token: it is in {workspace.root / 'service_token'}")
        response = RedirectResponse(to, status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.get("/", dependencies=[api])
    def runs_page() -> HTMLResponse:
        store = workspace.open_store()
        try:
            summaries = [{"run_id": run["run_id"], "domain": run["domain"], **store.summary(run["run_id"])}
                         for run in store.runs()]
        finally:
            store.close()
        cycles = sorted(p.parent.name for p in (workspace.root / "runs").glob("*/report.md"))
        return page("runs.html", jobs=runner.jobs(), runs=summaries, cycles=cycles, domains=list(DOMAINS))

    def _filters(request: Request) -> dict[str, str]:
        return {k: v for k in ("run", "accepted", "reason", "category", "q") if (v := request.query_params.get(k))}

    def _items(store, f: dict[str, str], limit: int, offset: int):
        return list(store.produced(run_id=f.get("run"), reason=f.get("reason"), category=f.get("category"), text=f.get("q"),
                                   accepted=None if "accepted" not in f else f["accepted"] == "true",
                                   limit=limit, offset=offset))

    @app.get("/audit", dependencies=[api])
    def audit_page(request: Request, offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
        f, limit = _filters(request), 50
        store = workspace.open_store()
        try:
            items = [_row(i) for i in _items(store, f, limit, offset)]
            summary, people = store.summary(), store.human_agreement()
            runs = [run["run_id"] for run in store.runs()]
        finally:
            store.close()
        agreement = (f"people judged {people['judged']} examples and overturned the verifier on {people['overturned']}"
                     if people["judged"] else "")
        return page("audit.html", items=items, f=f, query=urlencode(f), offset=offset, limit=limit, runs=runs,
                    reasons=list(summary["rejected_by_reason"]), categories=list(summary["by_category"]),
                    agreement=agreement)

    @app.get("/examples/{example_id}", dependencies=[api])
    def example_page(request: Request, example_id: Annotated[str, PathParam(pattern=EXAMPLE_ID)]) -> HTMLResponse:
        f = _filters(request)
        store = workspace.open_store()
        try:
            produced = list(store.produced(example_id=example_id))
            ids = [i.example.id for i in _items(store, f, 2000, 0)]  # neighbours under the same filters
        finally:
            store.close()
        if not produced:
            raise HTTPException(404, f"no example {example_id}")
        at = ids.index(example_id) if example_id in ids else -1
        return page("example.html", item=_row(produced[-1], full=True), turns=produced[-1].example.turns(),
                    query=urlencode(f), who="", previous=ids[at - 1] if at > 0 else None,
                    next=ids[at + 1] if 0 <= at < len(ids) - 1 else None)
