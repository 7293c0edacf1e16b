"""DomainForge command line: generate verified training data, audit what was
rejected, and export what was accepted.

    python loop.py generate --domain cypher --teacher template --count 500 --workspace workspace
    python loop.py audit workspace --reason no_rows
    python loop.py export workspace --format jsonl
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.markup import escape
from rich.table import Table

from forge.errors import InputError
from forge.native import ensure_static_tls_room

REPO = Path(__file__).resolve().parent
DEFAULT_GRAPH = REPO / "data" / "cypher" / "bookstore.cypher"

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(2)


# -- generate ----------------------------------------------------------------

async def _generate(domain_name: str, source: str, teacher_spec: str, critic_spec: str, count: int,
                    workspace_path: Path, concurrency: int, max_attempts: int, seed: int, timeout_s: float) -> None:
    from agents.domains import load_domain
    from agents.generation import GenerationConfig, run_generation
    from agents.teachers import make_teacher, parse_teacher_spec
    from forge.workspace import Workspace

    # Everything that can be wrong with the input is checked before the
    # workspace is touched, so a bad command leaves nothing half-written.
    workspace = Workspace.check(workspace_path)
    teacher_parsed, critic_parsed = parse_teacher_spec(teacher_spec), parse_teacher_spec(critic_spec)
    domain = load_domain(domain_name, {"graph": source})
    teacher = make_teacher(teacher_parsed, domain, cache_path=workspace.cache_path, concurrency=concurrency, timeout_s=timeout_s)
    critic = teacher if critic_parsed == teacher_parsed else make_teacher(
        critic_parsed, domain, cache_path=workspace.cache_path, concurrency=concurrency, timeout_s=timeout_s)
    try:
        await teacher.check_reachable()
        await critic.check_reachable()
        store = workspace.create().open_store()
        config = GenerationConfig(domain=domain_name, source=source, teacher=str(teacher_parsed), critic=str(critic_parsed),
                                  count=count, concurrency=concurrency, max_attempts=max_attempts, seed=seed)
        started = time.perf_counter()
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("accepted {task.fields[accepted]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                      console=console, transient=False) as bar:
            job = bar.add_task(f"{domain_name} · {config.run_id}", total=count, accepted=0)

            def on_slot(p) -> None:
                bar.update(job, completed=p.skipped + p.done, accepted=p.accepted)

            progress = await run_generation(domain, teacher, critic, store, config, on_slot=on_slot)
            bar.update(job, completed=count)
        elapsed = time.perf_counter() - started
        print_summary(store.summary(config.run_id), workspace.root, config.run_id, progress, elapsed)
        store.close()
    finally:
        await teacher.close()
        if critic is not teacher:
            await critic.close()


def print_summary(summary: dict, workspace: Path, run_id: str, progress, elapsed: float) -> None:
    table = Table(title=f"run {run_id}", show_header=False, title_justify="left")
    table.add_row("accepted", f"[green]{summary['accepted']}[/]")
    table.add_row("rejected", f"[red]{summary['rejected']}[/]")
    for reason, n in summary["rejected_by_reason"].items():
        table.add_row(f"  {reason}", str(n))
    for category, counts in summary["by_category"].items():
        table.add_row(f"category {category}", f"{counts['accepted']} accepted, {counts['rejected']} rejected")
    table.add_row("teacher calls", f"{summary['teacher_calls']} ({summary['retries']} retries)")
    table.add_row("tokens", f"{summary['tokens_in']} in, {summary['tokens_out']} out")
    table.add_row("this invocation", f"{progress.done} slots in {elapsed:.1f}s ({progress.skipped} already done)")
    table.add_row("workspace", str(workspace))
    console.print(table)
    console.print(f"audit rejections: python loop.py audit {workspace}\nexport accepted: python loop.py export {workspace} --format jsonl")


@app.command()
def generate(
    domain: Annotated[str, typer.Option(help="Domain to generate for: cypher.")] = "cypher",
    teacher: Annotated[str, typer.Option(help="Teacher spec: template | openai:<model>[@<base_url>] | llamacpp:<path.gguf>.")] = "template",
    critic: Annotated[Optional[str], typer.Option(help="Critic spec (same forms as --teacher); defaults to the teacher.")] = None,
    count: Annotated[int, typer.Option(min=1, help="Number of example slots in this run.")] = 100,
    workspace: Annotated[Path, typer.Option(help="Directory for the store, teacher cache and exports.")] = Path("workspace"),
    graph: Annotated[str, typer.Option(help="Cypher domain: a Cypher script to load into kglite, or a bolt:// URI.")] = str(DEFAULT_GRAPH),
    concurrency: Annotated[int, typer.Option(min=1, help="Examples (and teacher calls) in flight at once.")] = 8,
    max_attempts: Annotated[int, typer.Option(min=1, help="Generate+repair attempts per example before rejecting it.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed for template choices; part of the run id.")] = 0,
    timeout: Annotated[float, typer.Option(help="Seconds before one teacher request times out (then it is retried).")] = 60.0,
) -> None:
    """Generate examples; each is critiqued, verified, repaired up to --max-attempts times, and stored.

    Rerunning the same command resumes the run: finished slots are kept and only the rest run.
    """
    try:
        asyncio.run(_generate(domain, graph, teacher, critic or teacher, count, workspace, concurrency, max_attempts, seed, timeout))
    except InputError as exc:
        raise fail(str(exc)) from None


# -- audit -------------------------------------------------------------------

@app.command()
def audit(
    workspace: Annotated[Path, typer.Argument(help="A workspace written by `generate`.")],
    reason: Annotated[Optional[str], typer.Option(help="Only rejections with this reason code (e.g. no_rows).")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Show at most this many.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line instead of a readable listing.")] = False,
) -> None:
    """List rejected examples with every failed check's reason and evidence."""
    from forge.workspace import Workspace

    try:
        store = Workspace.existing(workspace).open_store()
    except InputError as exc:
        raise fail(str(exc)) from None
    shown = 0
    for item in store.produced(accepted=False, reason=reason, limit=limit):
        shown += 1
        if as_json:
            print(json.dumps({"run_id": item.run_id, "slot": item.slot, "example": item.example.to_dict(),
                              "verdict": item.verdict.to_dict(), "lineage": item.lineage}, ensure_ascii=False))
            continue
        console.rule(escape(f"{item.run_id} slot {item.slot} · {item.example.category} · {', '.join(item.verdict.reasons)}"))
        console.print(f"[bold]question[/] {escape(item.example.payload.get('instruction', ''))}", highlight=False)
        console.print(f"[bold]answer[/]   {escape(item.example.payload.get('output', ''))}", highlight=False)
        for check in item.verdict.checks:
            if not check.passed:
                console.print(f"  [red]✗ {check.name}[/] ({check.reason}): {escape(check.detail)}", highlight=False)
        console.print(escape(f"  attempts {item.lineage['attempts']}, teacher {item.lineage['teacher']}, "
                             f"critic {item.lineage['critic']}"), highlight=False)
    if not as_json:
        summary = store.summary()
        console.print(f"{shown} rejected shown; by reason: {summary['rejected_by_reason'] or 'none'}")


# -- export ------------------------------------------------------------------

class ExportFormat(str, Enum):
    jsonl = "jsonl"
    parquet = "parquet"


@app.command()
def export(
    workspace: Annotated[Path, typer.Argument(help="A workspace written by `generate`.")],
    format: Annotated[ExportFormat, typer.Option(help="jsonl or parquet.")] = ExportFormat.jsonl,
    out: Annotated[Optional[Path], typer.Option(help="Output file (default: WORKSPACE/exports/accepted.<format>).")] = None,
    domain: Annotated[Optional[str], typer.Option(help="Only this domain's examples.")] = None,
) -> None:
    """Write the accepted examples, one flat row each."""
    from forge.export import export_jsonl, export_parquet
    from forge.workspace import Workspace

    try:
        ws = Workspace.existing(workspace)
    except InputError as exc:
        raise fail(str(exc)) from None
    path = out or ws.exports / f"accepted.{format.value}"
    path.parent.mkdir(parents=True, exist_ok=True)
    examples = ws.open_store().accepted_examples(domain)
    n = export_jsonl(examples, path) if format is ExportFormat.jsonl else export_parquet(examples, path)
    console.print(f"wrote {n} accepted examples to {path}")


def main() -> None:
    ensure_static_tls_room()
    app()


if __name__ == "__main__":
    sys.exit(main())
