"""The `generate` command, and the options that `generate` and `run` share:
the domain and its sources (built from the registry's declarations, so no
command names a domain) and the teachers."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import time
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.markup import escape
from rich.table import Table

from agents.domains import DEFAULT_DOMAIN, DOMAINS, all_sources, domain_choice, load_domain
from agents.domains.base import Domain, EvalFile
from agents.generation import GenerationConfig
from forge.cli import StoreOption, console, input_errors
from forge.errors import InputError
from forge.jobs import EventLog
from forge.options import options_of, own_values

DomainOption = Annotated[Optional[str], typer.Option(
    help=escape("; ".join(f"{name}: {entry.description}" for name, entry in DOMAINS.items())
                + f". Default: {DEFAULT_DOMAIN}, or the domain whose required option you give (--domain-config)."),
    show_default=False)]
WorkspaceOption = Annotated[Path, typer.Option(help="Directory for the store, the teacher cache, runs and exports.")]
EventsOption = Annotated[Optional[Path], typer.Option(help="Also write progress here, one JSON object per line (what "
                                                           "`serve` streams).", show_default=False)]


def _with_parameters(command: Callable[..., Any], into: str, added: list[inspect.Parameter]) -> Callable[..., Any]:
    """`command` with `added` keyword options in place of its parameter `into`, which receives their values
    together as {name: value}. Typer reads the new signature."""
    signature = inspect.signature(command, eval_str=True)
    params = [p for p in signature.parameters.values() if p.name != into] + added
    names = [p.name for p in added]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        collected = {name: kwargs.pop(name) for name in names}
        return command(**kwargs, **{into: collected})

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def with_domain_sources(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command one option per source the registry declares (--graph,
    --domain-config, ...), received together as `sources={name: value or None}`."""
    added = []
    for name, (source, _) in all_sources().items():
        option = typer.Option(source.option, metavar=source.kind.upper() if source.kind != "choice" else "|".join(source.choices),
                              help=escape(source.help), show_default=False, rich_help_panel="Domain sources")
        added.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                       annotation=Annotated[Optional[str], option]))
    return _with_parameters(command, "sources", added)


def with_options(config: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the options a config dataclass declares (forge/options.py), received together as
    `options={name: value}`; `own_values` turns them into the config's fields."""
    added = []
    for each in options_of(config):
        spelling = [each.spelling] if each.flag or (each.is_switch and not each.default) else []
        empty = each.is_list or each.default is None
        option = typer.Option(*spelling, help=escape(each.help), min=each.min, max=each.max, show_default=not empty)
        default = None if each.is_list else Path(each.default) if each.type is Path else each.default
        annotation = Optional[each.type] if each.is_list else each.type
        added.append(inspect.Parameter(each.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                       annotation=Annotated[annotation, option]))

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        return _with_parameters(command, "options", added)
    return decorate


class Bars:
    """Progress bars for long work (a generation run's slots, a student's
    answers), one per label, with a short note beside each."""

    def __init__(self) -> None:
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[note]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=console)
        self.tasks: dict[str, Any] = {}

    def update(self, label: str, total: int, done: int, note: str = "") -> None:
        if not self.tasks:
            self.progress.start()
        if label not in self.tasks:
            self.tasks[label] = self.progress.add_task(escape(label), total=total, note="")
        self.progress.update(self.tasks[label], completed=done, note=note)

    def stop(self) -> None:
        self.progress.stop()


def print_generation_summary(summary: dict, workspace: Path, run_id: str, done: int, skipped: int, elapsed: float) -> None:
    table = Table(title=f"run {run_id}", show_header=False, title_justify="left")
    table.add_row("accepted", f"[green]{summary['accepted']}[/]")
    table.add_row("rejected", f"[red]{summary['rejected']}[/]")
    for reason, n in summary["rejected_by_reason"].items():
        table.add_row(f"  {reason}", str(n))
    for category, counts in summary["by_category"].items():
        table.add_row(f"category {category}", f"{counts['accepted']} accepted, {counts['rejected']} rejected")
    table.add_row("teacher calls", f"{summary['teacher_calls']} ({summary['retries']} retries)")
    table.add_row("tokens", f"{summary['tokens_in']} in, {summary['tokens_out']} out")
    table.add_row("this invocation", f"{done} slots in {elapsed:.1f}s ({skipped} already done)")
    table.add_row("workspace", str(workspace))
    console.print(table)
    console.print(f"audit rejections: python loop.py audit {workspace}\nexport accepted: python loop.py export {workspace} --format jsonl")


def read_eval_file(domain: Domain, path: Path, *, strict: bool, limit: int | None = None) -> EvalFile:
    """A user's evaluation file, read by the domain. Fields its format does not
    use are named once; rows whose reference fails are skipped, or, with
    --strict, an InputError listing them. A file with nothing left to score is one too."""
    loaded = domain.load_eval(path, limit)
    if loaded.ignored_fields:
        console.print(f"[yellow]{escape(str(path))}[/]: ignored field(s) {escape(', '.join(loaded.ignored_fields))}: "
                      f"not part of the {domain.name} evaluation format", highlight=False)
    if loaded.skipped and strict:
        shown = "\n  ".join(f"{where}: {why}" for where, why in loaded.skipped[:20])
        raise InputError(f"{path}: {loaded.summary} (--strict makes this an error):\n  {shown}"
                         + (f"\n  ... and {len(loaded.skipped) - 20} more" if len(loaded.skipped) > 20 else "")
                         + "\nFix or remove those rows, or drop --strict to score the others.")
    if not loaded.items:
        raise InputError(f"{path}: no item left to score: {loaded.summary}" + (
            f" ({loaded.skipped[0][0]}: {loaded.skipped[0][1]})" if loaded.skipped else ""))
    return loaded


def report_skipped(loaded: EvalFile, folder: Path) -> None:
    """List the skipped rows of an evaluation file in FOLDER/<name>.skipped.jsonl, and say so."""
    if not loaded.skipped:
        return
    from forge.export import replace_atomically

    folder.mkdir(parents=True, exist_ok=True)
    listing = folder / f"{loaded.path.stem}.skipped.jsonl"
    text = "".join(json.dumps({"where": where, "reason": why}, ensure_ascii=False) + "\n" for where, why in loaded.skipped)
    replace_atomically(listing, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    console.print(f"[yellow]{escape(loaded.summary)}: skipped[/], see {escape(str(listing))}", highlight=False)


async def probe_teachers(domain: Domain, teacher: str, critic: str, cache_path: Path, concurrency: int,
                         timeout_s: float = 60.0) -> None:
    """Fail before anything is written when a teacher spec is bad or its server does not answer."""
    from agents.teachers import open_teachers

    teachers = open_teachers(domain, teacher, critic, cache_path=cache_path, concurrency=concurrency, timeout_s=timeout_s)
    try:
        await teachers.check_reachable()
    finally:
        await teachers.close()


def open_generation(domain: str | None, sources: dict[str, str | None], options: dict[str, Any],
                    cache_path: Path) -> tuple[Domain, GenerationConfig]:
    """The domain a command names, opened, its generation config (from the command's `options`), and its teachers
    probed: everything that can be wrong with a generating command's input fails here, before anything is
    written. The caller closes the domain."""
    name, resolved = domain_choice(domain, sources)
    opened = load_domain(name, resolved)
    try:
        config = GenerationConfig(domain=name, sources=resolved, revision=opened.revision,
                                  **own_values(GenerationConfig, options))
        asyncio.run(probe_teachers(opened, config.teacher, config.critic, cache_path, config.concurrency, config.timeout))
    except BaseException:
        opened.close()
        raise
    return opened, config


@with_domain_sources
@with_options(GenerationConfig)
def generate(
    domain: DomainOption = None,
    workspace: WorkspaceOption = Path("workspace"),
    events: EventsOption = None,
    store: StoreOption = None,
    options: dict[str, Any] | None = None,
    sources: dict[str, Optional[str]] | None = None,
) -> None:
    """Generate examples; each is critiqued, verified, repaired up to --max-attempts times, and stored.

    Rerunning the same command resumes the run: finished slots are kept and only the rest run.
    A larger --count extends the same run.

    Examples:

    python loop.py generate --count 500 --workspace ws

    python loop.py generate --domain-config my_domain.yaml --workspace ws-mine
    """
    from agents.executors import generate_run
    from forge.workspace import Workspace

    with input_errors():
        # Everything that can be wrong with the input is checked before the
        # workspace is touched, so a bad command leaves nothing half-written.
        ws = Workspace.check(workspace, store)
        opened, config = open_generation(domain, sources or {}, options or {}, ws.cache_path)
        try:
            store = ws.create().open_store()
            bar, started = Bars(), time.perf_counter()
            log = EventLog(events) if events else None

            def on_slot(p) -> None:
                bar.update(config.run_id, config.count, p.skipped + p.done, f"accepted {p.accepted}")
                if log and log.due(p.skipped + p.done, config.count):
                    log.write("slots", 0, {"run_id": config.run_id, **p.to_dict()})
            try:
                progress = asyncio.run(generate_run(opened, store, config, cache_path=ws.cache_path, on_slot=on_slot))
            finally:
                bar.stop()
            if log:
                log.write("generated", 0, {**store.summary(config.run_id), "run_id": config.run_id})
                log.close()
            print_generation_summary(store.summary(config.run_id), ws.root, config.run_id, progress.done,
                                     progress.skipped, time.perf_counter() - started)
            store.close()
        finally:
            opened.close()
