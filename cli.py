"""The command line: `run` drives the improvement cycle (loop.py) and prints
its events; the other commands live beside what they drive and are gathered
here, with each domain's own subcommands from the registry."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from agents.cli import (CriticOption, DomainOption, GenerationBar, SeedOption, TeacherOption, WorkspaceOption,
                        domain_choice, generate, probe_teachers, with_domain_sources)
from agents.domains import DOMAINS, load_domain
from forge.cli import audit, console, export, input_errors
from loop import CycleConfig, CycleEvent, ImprovementCycle, run_cycle
from sandbox.cli import app as sandbox_app
from trainer.cli import export_gguf

GROUNDING = Path(__file__).resolve().parent / "data" / "general" / "english.jsonl"

app = typer.Typer(
    help=("Turn a domain into a small specialist LLM, and keep improving it.\n\n"
          "A typical session:\n"
          "run --workspace ws: the whole cycle, round after round;\n"
          "audit ws: rejected examples, with every reason and its evidence;\n"
          "export ws: the accepted data as JSONL or Parquet;\n"
          "export-gguf ws: the trained student, for llama.cpp.\n\n"
          f"Domains: {', '.join(DOMAINS)} (the last is your own, from a YAML file: --domain-config FILE). "
          "Every command has --help."),
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


class CyclePrinter:
    """Shows the cycle's events on the terminal."""

    def __init__(self) -> None:
        self.bar: GenerationBar | None = None

    def __call__(self, event: CycleEvent) -> None:
        data, kind = event.data, event.kind
        if kind == "slots":
            self.bar = self.bar or GenerationBar()
            self.bar.update(data["run_id"], data["total"], data["done"], data["accepted"])
            return
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        if kind == "step":
            console.rule(escape(f"round {event.round}: {data['step']}" if event.round > 0 else data["step"]))
        elif kind == "heldout":
            console.print(f"{data['feedback']} feedback items (steer the next round), {data['test']} test items (reported only)")
        elif kind == "generated":
            console.print(f"accepted {data['accepted']}, rejected {data['rejected']} {data['rejected_by_reason']}")
        elif kind == "curated":
            console.print(f"{data['input_rows']} accepted -> {data['train_rows']} train rows ({data['grounding_rows']} "
                          f"general English), {data['validation_rows']} validation; removed {data['exact_duplicates']} "
                          f"exact and {data['near_duplicates']} near duplicates, {data['contaminated']} overlapping "
                          f"the evaluation sets")
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
def run(
    domain: DomainOption = None,
    teacher: TeacherOption = "template",
    critic: CriticOption = None,
    student: Annotated[str, typer.Option(help="Student preset: tiny, qwen_0_5b, qwen_1_5b, phi3_mini, tinyllama_1b.")] = "tiny",
    student_model: Annotated[Optional[str], typer.Option(help="Local path (or hub id) of the preset's weights.")] = None,
    rounds: Annotated[int, typer.Option(min=1, help="Improvement rounds (generate -> train -> evaluate).")] = 3,
    count: Annotated[int, typer.Option(min=1, help="Example slots generated per round.")] = 300,
    heldout: Annotated[Optional[int], typer.Option(min=4, help="Held-out evaluation items to generate (split into feedback "
                                                            "and test); default 120, or the domain file's share of "
                                                            "--count. Unused when the domain brings its own.",
                                                   show_default=False)] = None,
    grounding: Annotated[Path, typer.Option(help="JSONL of general examples mixed into training.")] = GROUNDING,
    grounding_ratio: Annotated[float, typer.Option(min=0.0, max=0.9, help="Share of general examples in training.")] = 0.2,
    epochs: Annotated[Optional[float], typer.Option(help="Training epochs per round (default: the preset's).")] = None,
    workspace: WorkspaceOption = Path("workspace"),
    concurrency: Annotated[int, typer.Option(min=1, help="Teacher calls in flight at once.")] = 8,
    max_attempts: Annotated[int, typer.Option(min=1, help="Generate+repair attempts per example.")] = 3,
    seed: SeedOption = 0,
    patience: Annotated[int, typer.Option(min=1, help="Stop after this many rounds without a better test score.")] = 2,
    estimate_memory: Annotated[bool, typer.Option("--estimate-memory", help="Print what the student preset needs to train, and exit.")] = False,
    sources: dict[str, Optional[str]] | None = None,
) -> None:
    """Run the full improvement cycle: generate, curate, train, evaluate, analyse failures, repeat.

    Rerunning the same command resumes where it stopped (a killed training resumes from its last checkpoint).

    Examples:

    python loop.py run --teacher template --student tiny --rounds 3 --workspace ws

    python loop.py run --domain-config my_domain.yaml --rounds 2 --workspace ws-mine
    """
    from agents.generation import GenerationConfig
    from evaluators.curation import load_rows
    from forge.workspace import Workspace
    from trainer.presets import estimate_memory_gib, load_preset

    with input_errors():
        preset = load_preset(student, student_model)
        if estimate_memory:
            estimate = estimate_memory_gib(preset)
            console.print(f"{preset.name} ({preset.method}, {preset.model}): about {estimate['total']:.1f} GiB to train "
                          f"(weights {estimate['weights']:.2f}, trainable state {estimate['trainable_state']:.2f}, "
                          f"activations {estimate['activations']:.2f} at batch {preset.batch_size} x {preset.max_seq_len} tokens)")
            return
        ws = Workspace.check(workspace)
        load_rows(grounding)
        name, resolved = domain_choice(domain, sources or {})
        generation = GenerationConfig(domain=name, sources=resolved, teacher=teacher, critic=critic or teacher,
                                      count=count, concurrency=concurrency, max_attempts=max_attempts, seed=seed)
        opened = load_domain(name, resolved)
        try:
            config = CycleConfig(generation=generation, student=student, student_model=student_model, rounds=rounds,
                                 heldout=heldout if heldout is not None else opened.heldout_size(count),
                                 grounding=str(grounding.resolve()), grounding_ratio=grounding_ratio, epochs=epochs,
                                 patience=patience)
            asyncio.run(probe_teachers(opened, generation.teacher, generation.critic, ws.cache_path, concurrency))
            ws.create()
            state = run_cycle(ImprovementCycle(config, ws, opened, on_event=CyclePrinter()))
        finally:
            opened.close()
    baseline, last = state["baseline"]["test"]["accuracy"], state["history"][-1]["scores"]["test"]["accuracy"]
    console.rule("[bold green]done")
    console.print(f"test {state['metric']}: round 0 (untrained) {100 * baseline:.1f}% -> round "
                  f"{state['history'][-1]['round']} {100 * last:.1f}%")
    console.print(f"report:  {state['report']}\nstudent: {state['student']}\nexport:  python loop.py export-gguf {workspace}")


app.command()(generate)
app.command()(audit)
app.command()(export)
app.command()(run)
app.command("export-gguf")(export_gguf)
app.add_typer(sandbox_app, name="sandbox")
for _name, _entry in DOMAINS.items():
    if _entry.commands:
        _module, _, _attribute = _entry.commands.partition(":")
        app.add_typer(getattr(importlib.import_module(_module), _attribute), name=_name)
