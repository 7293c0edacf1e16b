"""What every command shares (the consoles, how bad input ends a command),
and the commands on the store: `audit` and `export`."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape

from forge.errors import InputError, masked

StoreOption = Annotated[Optional[str], typer.Option(
    "--store", envvar="DOMAINFORGE_STORE", show_default=False,
    help="A shared store for examples, slots, verdicts and jobs: postgresql://USER@HOST:PORT/DATABASE (the password "
         "from the URI, PGPASSWORD or ~/.pgpass; it is never printed). Default: the workspace's own SQLite file.")]

console = Console()
err = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print an error and return the exit (code 2) for the caller to raise.
    Not wrapped, so paths and file:line references stay whole."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


@contextmanager
def input_errors() -> Iterator[None]:
    """Bad input ends the command with its message and exit code 2, no traceback."""
    try:
        yield
    except InputError as exc:
        raise fail(str(exc)) from None


def audit(
    workspace: Annotated[Path, typer.Argument(help="A workspace written by `generate` or `run`.")],
    reason: Annotated[Optional[str], typer.Option(help="Only rejections with this reason code (e.g. no_rows).")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Show at most this many.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line instead of a readable listing.")] = False,
    store: StoreOption = None,
) -> None:
    """List rejected examples with every failed check's reason and evidence."""
    from forge.workspace import Workspace

    with input_errors():
        opened = Workspace.existing(workspace, store).open_store()
    shown = 0
    for item in opened.produced(accepted=False, reason=reason, limit=limit):
        shown += 1
        if as_json:
            print(json.dumps({"run_id": item.run_id, "slot": item.slot, "example": item.example.to_dict(),
                              "verdict": item.verdict.to_dict(), "lineage": item.lineage, "human": item.human},
                             ensure_ascii=False))
            continue
        console.rule(escape(f"{item.example.id} · {item.run_id} slot {item.slot} · {item.example.category} · "
                            f"{', '.join(item.verdict.reasons)}"))
        for role, text in item.example.turns():
            console.print(f"[bold]{role:<9}[/] {escape(text)}", highlight=False)
        for check in item.verdict.checks:
            if not check.passed:
                console.print(f"  [red]✗ {check.name}[/] ({check.reason}): {escape(check.detail)}", highlight=False)
        console.print(escape(f"  attempts {item.lineage['attempts']}, teacher {item.lineage['teacher']}, "
                             f"critic {item.lineage['critic']}"), highlight=False)
        if item.human:
            said = "accepted" if item.human["accepted"] else "rejected"
            console.print(escape(f"  a person {said} it: {item.human['who']}, "
                                 f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(item.human['at']))}: "
                                 f"{item.human['note'] or '(no note)'}"), highlight=False)
    if not as_json:
        summary, people = opened.summary(), opened.human_agreement()
        console.print(f"{shown} rejected shown; by reason: {summary['rejected_by_reason'] or 'none'}")
        if people["judged"]:
            console.print(f"people judged {people['judged']} examples and overturned the verifier on "
                          f"{people['overturned']}: " + ", ".join(f"{reason} {c['overturned']}/{c['judged']}"
                                                                  for reason, c in people["by_reason"].items()))


def verdict(
    workspace: Annotated[Path, typer.Argument(help="A workspace written by `generate` or `run`.")],
    example_id: Annotated[str, typer.Argument(help="The example's id, as `audit` shows it.")],
    accept: Annotated[bool, typer.Option("--accept/--reject", help="Accept the example, or reject it.",
                                         show_default=False)],
    note: Annotated[str, typer.Option(help="Why, for whoever reads the audit next.")] = "",
    who: Annotated[str, typer.Option(help="Who judged (default: your user name).", show_default=False)] = "",
    store: StoreOption = None,
) -> None:
    """Judge an example yourself. Your verdict overrides the verifier's in
    `export` and in the next round's curation, and `audit` and the report show it.

    Example: python loop.py verdict ws 3f2a9c01d4e5b6a7 --reject --note "the answer misreads the question"
    """
    import getpass

    from forge.workspace import Workspace

    with input_errors():
        opened = Workspace.existing(workspace, store).open_store()
        try:
            opened.judge(example_id, accept, note, who or getpass.getuser())
        except KeyError:
            raise InputError(f"no example {example_id!r} in {workspace}: take the id from `loop.py audit "
                             f"{workspace}` or `audit --json`") from None
    console.print(f"{'accepted' if accept else 'rejected'} {example_id}: export and the next round's curation follow it")


class ExportFormat(str, Enum):
    jsonl = "jsonl"
    parquet = "parquet"


def export(
    workspace: Annotated[Path, typer.Argument(help="A workspace written by `generate` or `run`.")],
    format: Annotated[ExportFormat, typer.Option(help="jsonl or parquet.")] = ExportFormat.jsonl,
    out: Annotated[Optional[Path], typer.Option(help="Output file (default: WORKSPACE/exports/accepted.<format>).")] = None,
    domain: Annotated[Optional[str], typer.Option(help="Only this domain's examples (a config domain: its name).")] = None,
    store: StoreOption = None,
) -> None:
    """Write the accepted examples, one flat row each."""
    from forge.export import export_jsonl, export_parquet
    from forge.workspace import Workspace

    with input_errors():
        ws = Workspace.existing(workspace, store)
        examples = ws.open_store().accepted_examples(domain)
    path = out or ws.exports / f"accepted.{format.value}"
    path.parent.mkdir(parents=True, exist_ok=True)
    n = export_jsonl(examples, path) if format is ExportFormat.jsonl else export_parquet(examples, path)
    console.print(f"wrote {n} accepted examples to {path}")


def serve(
    workspace: Annotated[Path, typer.Argument(help="The workspace to serve (made if it does not exist).")],
    host: Annotated[str, typer.Option(help="Address to listen on. Keep 127.0.0.1 unless others must reach it: "
                                           "the token is then all that guards the workspace.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8321,
    store: StoreOption = None,
) -> None:
    """Serve the workspace over HTTP: start and follow jobs, read examples with
    their evidence, judge them, download exports and reports.

    Every endpoint but /health needs the token, sent as `Authorization: Bearer
    TOKEN`. It is made on the first start, printed once, and kept in
    WORKSPACE/service_token (readable by you only). A job that was running
    when the server stopped starts again, from its checkpoint, with the next server.

    Example: python loop.py serve ws, then
    curl -H "Authorization: Bearer $(cat ws/service_token)" http://127.0.0.1:8321/api/jobs
    """
    import socket

    import uvicorn

    from forge.service import create_app, load_token
    from forge.workspace import Workspace

    with input_errors():
        ws = Workspace.check(workspace, store)
        ws.create().open_store().close()  # a store that cannot open fails here, before the server starts
        token, new = load_token(ws)
    with socket.socket() as probe:  # the port now, so a taken one fails before anything starts
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise fail(f"cannot listen on {host}:{port}: {exc.strerror}. Choose another --port.") from None
        port = probe.getsockname()[1]
    console.print(f"serving {ws.root} at http://{host}:{port}/", highlight=False)
    console.print(f"token: {token}  (kept in {ws.root / 'service_token'}; it is printed only this once)" if new else
                  f"token: in {ws.root / 'service_token'}", highlight=False)
    console.print(f"web view: http://{host}:{port}/login?token={token if new else '$(cat ' + str(ws.root / 'service_token') + ')'}",
                  highlight=False, soft_wrap=True)
    if ws.store:
        console.print(f"store: {masked(ws.store)}", highlight=False, soft_wrap=True)
    uvicorn.run(create_app(ws, token), host=host, port=port, log_level="warning")
