"""The command line: `run` drives the improvement cycle (loop.py) and prints
its events; the other commands live beside what they drive and are gathered
here, with each domain's own subcommands from the registry."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from agents.cli import (Bars, DomainOption, EventsOption, WorkspaceOption, generate, open_generation, read_eval_file,
                        report_skipped, with_domain_sources, with_options)
from agents.domains import DOMAINS, domain_choice, load_domain
from forge.cli import StoreOption, audit, console, export, input_errors, serve, verdict
from forge.errors import InputError
from forge.jobs import EventLog
from forge.options import own_values
from loop import CLOSED_BOOK, SPLITS, CycleConfig, CycleEvent, ImprovementCycle, run_cycle
from sandbox.cli import app as sandbox_app
from trainer.cli import export_gguf
from trainer.presets import preset_names

app = typer.Typer(
    help=("Turn a domain into a small specialist LLM, and keep improving it.\n\n"
          "A typical session:\n"
          "run --workspace ws: the whole cycle, round after round;\n"
          "audit ws: rejected examples, with every reason and its evidence;\n"
          "verdict ws ID --accept|--reject: your judgement, which overrides the verifier's;\n"
          "serve ws: the same over HTTP, with live progress;\n"
          "export ws: the accepted data as JSONL or Parquet;\n"
          "export-gguf ws: the trained student, for llama.cpp.\n\n"
          f"Domains: {', '.join(DOMAINS)} (the last is your own, from a YAML file: --domain-config FILE). "
          "Every command has --help."),
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


class CyclePrinter:
    """Shows the cycle's events on the terminal."""

    def __init__(self) -> None:
        self.bar: Bars | None = None

    def __call__(self, event: CycleEvent) -> None:
        data, kind = event.data, event.kind
        if kind in ("slots", "steps", "answers"):
            self.bar = self.bar or Bars()
            label = data["run_id"] if kind == "slots" else "training" if kind == "steps" else f"answering {data['split']}"
            self.bar.update(label, data["total"], data["done"], f"accepted {data['accepted']}" if kind == "slots" else "")
            return
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        if kind == "step":
            console.rule(escape(f"round {event.round}: {data['step']}" if event.round > 0 else data["step"]))
        elif kind == "heldout":
            files = "".join(f"; {n} items in your eval file {label}" for label, n in data.items()
                            if label not in (*SPLITS, CLOSED_BOOK))
            closed = " (each also asked closed book: without its passages)" if CLOSED_BOOK in data else ""
            console.print(f"{data['feedback']} feedback items (steer the next round), {data['test']} test items "
                          f"(reported only){closed}{files}")
        elif kind == "generated":
            console.print(f"accepted {data['accepted']}, rejected {data['rejected']} {data['rejected_by_reason']}")
        elif kind == "curated":
            console.print(f"{data['input_rows']} accepted -> {data['train_rows']} train rows ({data['grounding_rows']} "
                          f"general English), {data['validation_rows']} validation; removed {data['exact_duplicates']} "
                          f"exact and {data['near_duplicates']} near duplicates, {data['contaminated']} overlapping "
                          f"the evaluation sets" + (f"; left out {data['refusals_left_out']} refusals beyond a quarter "
                                                      "of the examples" if data.get("refusals_left_out") else ""))
            console.print(f"category balance: {data['by_category']}")
        elif kind == "training" and data["resuming"]:
            console.print(f"resuming training from its last checkpoint, {data['resuming']}")
        elif kind == "trained":
            eval_loss = f"{data['eval_loss']:.3f}" if data["eval_loss"] is not None else "—"
            console.print(f"{data['steps']} steps, loss {data['first_loss']:.3f} -> {data['train_loss']:.3f}, eval loss "
                          f"{eval_loss}, {data['tokens_per_s']:.0f} tokens/s"
                          + (f", resumed from {data['resumed_from']}" if data["resumed_from"] else ""))
        elif kind == "scored":
            console.print(f"{data['split']}: {100 * data['accuracy']:.1f}% of {data['n']} "
                          + " ".join(f"{c} {100 * a:.0f}%" for c, a in data["by_category"].items()))
            for category, measures in data["measures_by_category"].items():
                console.print(f"  {category}: " + ", ".join(f"{m.replace('_', ' ')} {v:.2f}" for m, v in measures.items()))
        elif kind == "planned":
            console.print(f"next round's plan: weights {data['weights']}")
        elif kind == "stopped":
            console.print(f"stopping: {data['reason']}")


@with_domain_sources
@with_options(CycleConfig)
def run(
    domain: DomainOption = None,
    workspace: WorkspaceOption = Path("workspace"),
    estimate_memory: Annotated[bool, typer.Option("--estimate-memory", help="Print what the student preset needs to train, and exit.")] = False,
    events: EventsOption = None,
    store: StoreOption = None,
    options: dict[str, Any] | None = None,
    sources: dict[str, Optional[str]] | None = None,
) -> None:
    """Run the full improvement cycle: generate, curate, train, evaluate, analyse failures, repeat.

    Rerunning the same command resumes where it stopped (a killed training resumes from its last checkpoint).

    Examples:

    python loop.py run --teacher template --student tiny --rounds 3 --workspace ws

    python loop.py run --domain-config my_domain.yaml --rounds 2 --workspace ws-mine
    """
    from evaluators.curation import load_rows
    from forge.workspace import Workspace
    from trainer.presets import estimate_memory_gib, load_preset

    with input_errors():
        options = options or {}
        preset = load_preset(options["student"], options["student_model"])
        if estimate_memory:
            estimate = estimate_memory_gib(preset)
            console.print(f"{preset.name} ({preset.method}, {preset.model}): about {estimate['total']:.1f} GiB to train "
                          f"(weights {estimate['weights']:.2f}, trainable state {estimate['trainable_state']:.2f}, "
                          f"activations {estimate['activations']:.2f} at batch {preset.batch_size} x {preset.max_seq_len} tokens)")
            return
        if preset.batch_size % options["train_procs"]:
            raise InputError(f"--train-procs {options['train_procs']}: the {preset.name} preset's batch of "
                             f"{preset.batch_size} rows does not split over that many processes; choose a divisor")
        ws = Workspace.check(workspace, store)
        cycle = own_values(CycleConfig, options)
        load_rows(Path(cycle["grounding"]))
        opened, generation = open_generation(domain, sources or {}, options, ws.cache_path)
        try:
            # a bad file stops the run before anything is written
            loaded_evals = [read_eval_file(opened, Path(path), strict=cycle["strict"]) for path in cycle["evals"]]
            if cycle["heldout"] is None:
                cycle["heldout"] = opened.heldout_size(generation.count)
            config = CycleConfig(generation=generation, **cycle)
            ws.create()
            for loaded in loaded_evals:
                report_skipped(loaded, ws.evals)
            printer, log = CyclePrinter(), EventLog(events) if events else None

            def on_event(event: CycleEvent) -> None:
                printer(event)
                if log and (event.kind not in ("slots", "steps", "answers") or log.due(event.data["done"], event.data["total"])):
                    log.write(event.kind, event.round, event.data)
            try:
                state = run_cycle(ImprovementCycle(config, ws, opened, on_event=on_event))
            finally:
                if log:
                    log.close()
        finally:
            opened.close()
    console.rule("[bold green]done")
    last = state["history"][-1]
    for split in state["baseline"]:
        if split != "feedback":
            console.print(f"{split} {state['metric']}: round 0 (untrained) {100 * state['baseline'][split]['accuracy']:.1f}% "
                          f"-> round {last['round']} {100 * last['scores'][split]['accuracy']:.1f}%")
    console.print(f"report:  {state['report']}\nstudent: {state['student']}\nexport:  python loop.py export-gguf {workspace}")


@with_domain_sources
def evaluate(
    evals: Annotated[list[Path], typer.Option("--eval", help="An evaluation file (repeatable), in the domain's format: "
                                              "cypher {question, cypher, category?}; coding HumanEval or MBPP as "
                                              "published; mtg {question, outcome and/or rules, category?}; docs "
                                              "{question, sections, answer?, category?}; chat a conversation in any "
                                              "`chat import` format; a config domain {instruction, output, category?}.",
                                              show_default=False)],
    domain: DomainOption = None,
    student: Annotated[Optional[str], typer.Option(help=f"Score a preset's base model, untrained: {preset_names()}.",
                                                   show_default=False)] = None,
    student_model: Annotated[Optional[str], typer.Option(help="Local path (or hub id) of the preset's weights.")] = None,
    student_dir: Annotated[Optional[Path], typer.Option(help="Score a trained student folder (a run's round_<n>/student).",
                                                        show_default=False)] = None,
    gguf: Annotated[Optional[Path], typer.Option(help="Score an exported GGUF model, through llama.cpp.",
                                                 show_default=False)] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Score only the first N items of each file.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Also write every item's answer and verdict here (JSONL).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="A row whose reference fails (does not run on the graph, fails "
                                                          "its own tests, cites what does not exist) is an error instead "
                                                          "of skipped.")] = False,
    sources: dict[str, Optional[str]] | None = None,
) -> None:
    """Score a model on your own evaluation files, per category, with the domain's verifier.

    Give exactly one model: --student (a preset's base), --student-dir (a trained student) or --gguf (an export).

    Files as published are welcome: fields the format does not use are ignored (and named), a category may be
    called type or task_type, and a row whose reference fails is skipped and listed in NAME.skipped.jsonl
    (beside --out, else in the current folder); --strict makes such rows an error.

    Examples:

    python loop.py eval --eval data/cypher/eval_handwritten.jsonl --student smollm2_135m

    python loop.py eval --domain coding --eval HumanEval.jsonl --student smollm2_135m --limit 20
    """
    import json
    from dataclasses import asdict

    from evaluators.harness import answer_with_gguf, answer_with_transformers, score_answers, summarise
    from trainer.presets import load_preset

    with input_errors():
        models = [m for m in (student, student_dir, gguf) if m is not None]
        if len(models) != 1:
            raise InputError("give exactly one model to score: --student PRESET, --student-dir DIR or --gguf FILE")
        if student is not None:
            preset = load_preset(student, student_model)
            if preset.is_tiny:
                raise InputError("tiny has no base weights: it is built for each run. Score a trained one with "
                                 "--student-dir WORKSPACE/runs/<run>/round_<n>/student")
            model, answer = preset.model, answer_with_transformers
        elif student_dir is not None:
            if not student_dir.is_dir():
                raise InputError(f"--student-dir {student_dir} is not a folder: pass a run's round_<n>/student")
            model, answer = str(student_dir), answer_with_transformers
        else:
            if not gguf.is_file():
                raise InputError(f"--gguf {gguf} is not a file: pass a model written by export-gguf")
            model, answer = str(gguf), answer_with_gguf
        name, resolved = domain_choice(domain, sources or {})
        opened = load_domain(name, resolved)
        try:
            loaded = [read_eval_file(opened, path, strict=strict, limit=limit) for path in evals]
            for each in loaded:  # beside --out, else here
                report_skipped(each, out.resolve().parent if out else Path.cwd())
            files = {each.path: each.items for each in loaded}
            bars = Bars()
            results = {}
            for path, items in files.items():
                answers = answer(model, items, max_new_tokens=opened.answer_tokens,
                                 on_progress=lambda done, total: bars.update(f"answering {path.name}", total, done))
                results[path] = score_answers(items, answers, opened.score_answer, opened.answer_measures)
            bars.stop()
        finally:
            opened.close()
    for path, scores in results.items():
        summary = summarise(scores)
        console.print(f"[bold]{path}[/bold] scored for {model}")
        table = Table()
        measures = sorted({m for ms in summary["measures_by_category"].values() for m in ms})
        for column in ("category", "items", opened.metric, *(m.replace("_", " ") for m in measures)):
            table.add_column(column)
        counts = {c: sum(s.category == c for s in scores) for c in summary["by_category"]}
        for category, accuracy in summary["by_category"].items():
            values = summary["measures_by_category"].get(category, {})
            table.add_row(category, str(counts[category]), f"{100 * accuracy:.1f}%",
                          *(f"{values[m]:.2f}" if m in values else "" for m in measures))
        table.add_row("all", str(summary["n"]), f"{100 * summary['accuracy']:.1f}%", style="bold")
        console.print(table)
    if out:
        out.write_text("".join(json.dumps({"file": str(path), **asdict(s)}, ensure_ascii=False) + "\n"
                               for path, scores in results.items() for s in scores))
        console.print(f"every answer and verdict: {out}")


@with_domain_sources
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in quotes.", show_default=False)],
    student: Annotated[str, typer.Option(help="Who answers: a workspace (its newest trained student), a trained "
                                              "student folder (WORKSPACE/runs/<run>/round_<n>/student), or a GGUF "
                                              "file from export-gguf.", show_default=False)],
    domain: DomainOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer, its checks and the context it read as "
                                                         "one JSON object.")] = False,
    sources: dict[str, Optional[str]] | None = None,
) -> None:
    """Ask a trained student about your documentation or repository, and see which of its quotes check out.

    The domain retrieves the passages for the question (the student reads them with it: train it with --context retrieved, the default), the student answers, and the domain's own checks mark every quote verified or not, every citation inside the context or not, and a refusal as a refusal. Exit code 0 when every check passes, 1 when one fails.

    Examples:

    python loop.py ask --docs ../shared/data/docs/httpx --student ws "How do I set a timeout for all requests?"

    python loop.py ask --docs data/docs --student ws/runs/<run>/round_2/student --json "What is a worker?"
    """
    import json

    from agents.assistant import answer

    with input_errors():
        answered = answer(question, student, domain, sources or {})
    if as_json:
        print(json.dumps(answered.to_dict(), ensure_ascii=False, indent=2))
    else:
        console.print(f"[bold]{escape(answered.question)}[/bold]  [dim](student: {escape(answered.student)})[/dim]")
        console.print("[dim]context: " + escape(", ".join(p["id"] for p in answered.context) or "none") + "[/dim]\n")
        console.print(escape(answered.answer) or "[dim](no answer)[/dim]")
        console.print("")
        for check in answered.checks:
            mark = "[green]verified[/green]" if check["passed"] else "[red]NOT verified[/red]"
            console.print(f"{mark} {check['name']}: {escape(check['detail'])}")
    raise typer.Exit(0 if answered.verified else 1)


app.command()(generate)
app.command()(ask)
app.command()(audit)
app.command()(verdict)
app.command()(serve)
app.command()(export)
app.command()(run)
app.command("eval")(evaluate)
app.command("export-gguf")(export_gguf)
app.add_typer(sandbox_app, name="sandbox")
for _name, _entry in DOMAINS.items():
    if _entry.commands:
        _module, _, _attribute = _entry.commands.partition(":")
        app.add_typer(getattr(importlib.import_module(_module), _attribute), name=_name)


def main() -> None:
    """`python loop.py` and the `domainforge` command."""
    from forge.native import ensure_static_tls_room

    ensure_static_tls_room()
    app()
