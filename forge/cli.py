"""What every command shares (the consoles, how bad input ends a command),
and the commands on the store: `audit` and `export`."""

from __future__ import annotations

import json
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape

from forge.errors import InputError

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
) -> None:
    """List rejected examples with every failed check's reason and evidence."""
    from forge.workspace import Workspace

    with input_errors():
        store = Workspace.existing(workspace).open_store()
    shown = 0
    for item in store.produced(accepted=False, reason=reason, limit=limit):
        shown += 1
        if as_json:
            print(json.dumps({"run_id": item.run_id, "slot": item.slot, "example": item.example.to_dict(),
                              "verdict": item.verdict.to_dict(), "lineage": item.lineage}, ensure_ascii=False))
            continue
        console.rule(escape(f"{item.run_id} slot {item.slot} · {item.example.category} · {', '.join(item.verdict.reasons)}"))
        for role, text in item.example.turns():
            console.print(f"[bold]{role:<9}[/] {escape(text)}", highlight=False)
        for check in item.verdict.checks:
            if not check.passed:
                console.print(f"  [red]✗ {check.name}[/] ({check.reason}): {escape(check.detail)}", highlight=False)
        console.print(escape(f"  attempts {item.lineage['attempts']}, teacher {item.lineage['teacher']}, "
                             f"critic {item.lineage['critic']}"), highlight=False)
    if not as_json:
        summary = store.summary()
        console.print(f"{shown} rejected shown; by reason: {summary['rejected_by_reason'] or 'none'}")


class ExportFormat(str, Enum):
    jsonl = "jsonl"
    parquet = "parquet"


def export(
    workspace: Annotated[Path, typer.Argument(help="A workspace written by `generate` or `run`.")],
    format: Annotated[ExportFormat, typer.Option(help="jsonl or parquet.")] = ExportFormat.jsonl,
    out: Annotated[Optional[Path], typer.Option(help="Output file (default: WORKSPACE/exports/accepted.<format>).")] = None,
    domain: Annotated[Optional[str], typer.Option(help="Only this domain's examples (a config domain: its name).")] = None,
) -> None:
    """Write the accepted examples, one flat row each."""
    from forge.export import export_jsonl, export_parquet
    from forge.workspace import Workspace

    with input_errors():
        ws = Workspace.existing(workspace)
    path = out or ws.exports / f"accepted.{format.value}"
    path.parent.mkdir(parents=True, exist_ok=True)
    examples = ws.open_store().accepted_examples(domain)
    n = export_jsonl(examples, path) if format is ExportFormat.jsonl else export_parquet(examples, path)
    console.print(f"wrote {n} accepted examples to {path}")
