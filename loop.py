"""DomainForge: the improvement cycle and the command line.

    python loop.py run --domain cypher --teacher template --student tiny --rounds 3 --workspace workspace
    python loop.py generate --domain cypher --teacher template --count 500 --workspace workspace
    python loop.py audit workspace --reason no_rows
    python loop.py export workspace --format jsonl
    python loop.py export-gguf workspace --quant q4_k_m

The cycle is a LangGraph graph, checkpointed in the workspace, so `run`
resumes after a crash at the last finished step:

    setup ─► generate ─► curate ─┬─► baseline (first round) ─► train ─► evaluate ─► analyse ─┬─► generate
                                 └──────────────────────────► train                         └─► report
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional, TypedDict

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.markup import escape
from rich.table import Table

from langgraph.graph import END, START, StateGraph

from forge.errors import InputError
from forge.native import ensure_static_tls_room
from forge.records import content_hash
from sandbox.limits import SandboxError

REPO = Path(__file__).resolve().parent
DEFAULT_GRAPH = REPO / "data" / "cypher" / "bookstore.cypher"
DEFAULT_GROUNDING = REPO / "data" / "general" / "english.jsonl"
DEFAULT_REPO = REPO / "data" / "coding" / "demo_repo"


DEFAULT_RULES = Path(os.environ.get("MTG_CR_PATH") or REPO / "data" / "mtg" / "rules_fixture.txt")
DEFAULT_IPG = Path(os.environ["MTG_IPG_PATH"]) if os.environ.get("MTG_IPG_PATH") else None


def domain_sources(domain: str, graph: str, repo: Path, rules: Path, ipg: Optional[Path]) -> dict[str, str]:
    """What a domain generates from, by option name: the Cypher graph, the code
    repository, or the rules (and the Infraction Procedure Guide, if given)."""
    if domain == "coding":
        return {"repo": str(repo.resolve())}
    if domain == "mtg":
        return {"rules": str(rules.resolve()), **({"ipg": str(ipg.resolve())} if ipg else {})}
    return {"graph": graph}


def open_domain(domain: str, sources: dict[str, str], sandbox: str):
    from agents.domains import load_domain

    return load_domain(domain, {**sources, "sandbox": sandbox})


# Where each domain generates from: shared by `generate` and `run`.
GraphOption = Annotated[str, typer.Option(help="Cypher domain: a Cypher script to load into kglite, or a bolt:// URI.")]
RepoOption = Annotated[Path, typer.Option(help="Coding domain: the Python repository whose documented functions are used.")]
SandboxOption = Annotated[str, typer.Option(help="Coding domain: where code runs, docker (warm pool) or bwrap.")]
RulesOption = Annotated[Path, typer.Option(help="MTG domain: the Comprehensive Rules plain text "
                                                "(default: $MTG_CR_PATH, else our small fixture).")]
IpgOption = Annotated[Optional[Path], typer.Option(help="MTG domain: the Infraction Procedure Guide saved as text "
                                                        "(default: $MTG_IPG_PATH); adds the tournament category.")]

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(2)


# -- generate ----------------------------------------------------------------

def make_teachers(domain, teacher_spec: str, critic_spec: str, workspace, concurrency: int, timeout_s: float = 60.0):
    """The generator and critic a pair of specs name (one object when they are the same)."""
    from agents.teachers import make_teacher, parse_teacher_spec

    teacher_parsed, critic_parsed = parse_teacher_spec(teacher_spec), parse_teacher_spec(critic_spec)
    teacher = make_teacher(teacher_parsed, domain, cache_path=workspace.cache_path, concurrency=concurrency, timeout_s=timeout_s)
    critic = teacher if critic_parsed == teacher_parsed else make_teacher(
        critic_parsed, domain, cache_path=workspace.cache_path, concurrency=concurrency, timeout_s=timeout_s)
    return teacher, critic


async def check_teachers(teacher, critic) -> None:
    await teacher.check_reachable()
    if critic is not teacher:
        await critic.check_reachable()


async def close_teachers(teacher, critic) -> None:
    await teacher.close()
    if critic is not teacher:
        await critic.close()


async def generate_with_progress(domain, teacher, critic, store, config):
    """Run (or resume) one generation run with a progress bar; return (summary, progress, seconds)."""
    from agents.generation import run_generation

    started = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("accepted {task.fields[accepted]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console) as bar:
        job = bar.add_task(f"{config.domain} · {config.run_id}", total=config.count, accepted=0)
        progress = await run_generation(
            domain, teacher, critic, store, config,
            on_slot=lambda p: bar.update(job, completed=p.skipped + p.done, accepted=p.accepted))
        bar.update(job, completed=config.count)
    return store.summary(config.run_id), progress, time.perf_counter() - started


async def _generate(domain_name: str, sources: dict[str, str], sandbox: str, teacher_spec: str, critic_spec: str, count: int,
                    workspace_path: Path, concurrency: int, max_attempts: int, seed: int, timeout_s: float) -> None:
    from agents.generation import GenerationConfig
    from forge.workspace import Workspace

    # Everything that can be wrong with the input is checked before the
    # workspace is touched, so a bad command leaves nothing half-written.
    workspace = Workspace.check(workspace_path)
    domain = open_domain(domain_name, sources, sandbox)
    try:
        teacher, critic = make_teachers(domain, teacher_spec, critic_spec, workspace, concurrency, timeout_s)
    except InputError:
        domain.close()
        raise
    try:
        await check_teachers(teacher, critic)
        store = workspace.create().open_store()
        config = GenerationConfig(domain=domain_name, sources=sources, teacher=teacher.spec, critic=critic.spec,
                                  count=count, concurrency=concurrency, max_attempts=max_attempts, seed=seed)
        summary, progress, elapsed = await generate_with_progress(domain, teacher, critic, store, config)
        print_summary(summary, workspace.root, config.run_id, progress, elapsed)
        store.close()
    finally:
        await close_teachers(teacher, critic)
        domain.close()


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
    domain: Annotated[str, typer.Option(help="Domain to generate for: cypher, coding or mtg.")] = "cypher",
    teacher: Annotated[str, typer.Option(help="Teacher spec: template | openai:<model>[@<base_url>] | llamacpp:<path.gguf>.")] = "template",
    critic: Annotated[Optional[str], typer.Option(help="Critic spec (same forms as --teacher); defaults to the teacher.")] = None,
    count: Annotated[int, typer.Option(min=1, help="Number of example slots in this run.")] = 100,
    workspace: Annotated[Path, typer.Option(help="Directory for the store, teacher cache and exports.")] = Path("workspace"),
    graph: GraphOption = str(DEFAULT_GRAPH),
    repo: RepoOption = DEFAULT_REPO,
    sandbox: SandboxOption = "docker",
    rules: RulesOption = DEFAULT_RULES,
    ipg: IpgOption = DEFAULT_IPG,
    concurrency: Annotated[int, typer.Option(min=1, help="Examples (and teacher calls) in flight at once.")] = 8,
    max_attempts: Annotated[int, typer.Option(min=1, help="Generate+repair attempts per example before rejecting it.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed for template choices; part of the run id.")] = 0,
    timeout: Annotated[float, typer.Option(help="Seconds before one teacher request times out (then it is retried).")] = 60.0,
) -> None:
    """Generate examples; each is critiqued, verified, repaired up to --max-attempts times, and stored.

    Rerunning the same command resumes the run: finished slots are kept and only the rest run.
    """
    try:
        asyncio.run(_generate(domain, domain_sources(domain, graph, repo, rules, ipg), sandbox, teacher, critic or teacher, count,
                              workspace, concurrency, max_attempts, seed, timeout))
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


# -- the improvement cycle ---------------------------------------------------

@dataclass(frozen=True)
class CycleConfig:
    domain: str
    sources: dict[str, str]
    sandbox: str
    teacher: str
    critic: str
    student: str
    student_model: Optional[str]
    rounds: int
    count: int
    heldout: int
    grounding: str
    grounding_ratio: float
    epochs: Optional[float]
    concurrency: int
    max_attempts: int
    seed: int
    patience: int

    @property
    def run_id(self) -> str:
        # rounds and patience only say when to stop (a longer run continues the same
        # one); concurrency and the sandbox back end do not change what is produced.
        key = {k: v for k, v in asdict(self).items() if k not in ("rounds", "patience", "concurrency", "sandbox")}
        return f"{self.domain}-{self.student}-{content_hash(key, 8)}"


class CycleState(TypedDict, total=False):
    metric: str
    round: int
    plan: dict
    heldout: dict
    base: str
    baseline: dict
    student: str
    current: dict
    history: list
    report: str


class ImprovementCycle:
    """The cycle's steps. Each node reads the state, does one step, and returns
    what changed; the checkpointer stores that after every node."""

    def __init__(self, config: CycleConfig, workspace) -> None:
        self.config = config
        self.workspace = workspace
        self.run_dir = workspace.root / "runs" / config.run_id
        self._domain = None

    @property
    def domain(self):
        if self._domain is None:
            self._domain = open_domain(self.config.domain, self.config.sources, self.config.sandbox)
        return self._domain

    def close(self) -> None:
        if self._domain is not None:
            self._domain.close()

    def round_dir(self, round_: int) -> Path:
        path = self.run_dir / f"round_{round_}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _heldout(self, state: CycleState, split: str):
        from forge.records import Example

        return [Example.from_dict(json.loads(line)) for line in Path(state["heldout"][split]).read_text().splitlines()]

    def _generate(self, config, teacher_spec: str, critic_spec: str, store):
        async def go():
            teacher, critic = make_teachers(self.domain, teacher_spec, critic_spec, self.workspace, config.concurrency)
            try:
                return await generate_with_progress(self.domain, teacher, critic, store, config)
            finally:
                await close_teachers(teacher, critic)

        return asyncio.run(go())

    # -- nodes ---------------------------------------------------------------

    def setup(self, state: CycleState) -> CycleState:
        """Held-out items, made and verified by the template teacher, split into feedback and test."""
        from agents.generation import GenerationConfig
        from evaluators.harness import split_feedback_test
        from forge.store import SQLiteStore

        console.rule(f"[bold]run {self.config.run_id}: held-out evaluation items")
        store = SQLiteStore(self.run_dir / "heldout.sqlite")
        config = GenerationConfig(domain=self.config.domain, sources=self.config.sources, teacher="template",
                                  critic="template", count=self.config.heldout, seed=self.config.seed + 10_000,
                                  round=-1, concurrency=self.config.concurrency)
        self._generate(config, "template", "template", store)
        feedback, test = split_feedback_test(list(store.accepted_examples()))
        paths = {}
        for split, items in (("feedback", feedback), ("test", test)):
            paths[split] = str(self.run_dir / f"heldout_{split}.jsonl")
            Path(paths[split]).write_text("".join(json.dumps(e.to_dict()) + "\n" for e in items))
        console.print(f"{len(feedback)} feedback items (steer the next round), {len(test)} test items (reported only)")
        return {"round": 0, "heldout": paths, "history": [], "plan": {"weights": {}, "focus": {}},
                "metric": self.domain.metric}

    def generate(self, state: CycleState) -> CycleState:
        from agents.generation import GenerationConfig

        round_ = state["round"] + 1
        console.rule(f"[bold]round {round_}: generate")
        config = GenerationConfig(domain=self.config.domain, sources=self.config.sources, teacher=self.config.teacher,
                                  critic=self.config.critic, count=self.config.count, concurrency=self.config.concurrency,
                                  max_attempts=self.config.max_attempts, seed=self.config.seed, round=round_,
                                  weights=state["plan"]["weights"], focus=state["plan"]["focus"])
        store = self.workspace.open_store()
        summary, _, _ = self._generate(config, self.config.teacher, self.config.critic, store)
        store.close()
        console.print(f"accepted {summary['accepted']}, rejected {summary['rejected']} {summary['rejected_by_reason']}")
        return {"round": round_, "current": {"round": round_, "started": time.time(), "generation_run": config.run_id,
                                             "generation": summary, "plan": state["plan"]}}

    def curate(self, state: CycleState) -> CycleState:
        from evaluators.curation import curate, load_rows
        from forge.export import example_row, export_jsonl

        console.rule(f"[bold]round {state['round']}: curate")
        out = self.round_dir(state["round"])
        store = self.workspace.open_store()
        accepted = out / "accepted.jsonl"
        export_jsonl(store.accepted_examples(self.config.domain), accepted)
        store.close()
        eval_rows = [example_row(e) for split in ("feedback", "test") for e in self._heldout(state, split)]
        train, validation, report = curate(load_rows(accepted), eval_rows, load_rows(self.config.grounding),
                                           self.config.grounding_ratio, seed=self.config.seed)
        for name, rows in (("train", train), ("validation", validation)):
            (out / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        console.print(f"{report.input_rows} accepted -> {report.train_rows} train rows ({report.grounding_rows} "
                      f"general English), {report.validation_rows} validation; removed {report.exact_duplicates} exact "
                      f"and {report.near_duplicates} near duplicates, {report.contaminated} overlapping the evaluation sets")
        console.print(f"category balance: {report.by_category}")
        return {"current": {**state["current"], "curation": report.to_dict(), "train_file": str(out / "train.jsonl"),
                            "validation_file": str(out / "validation.jsonl")}}

    def baseline(self, state: CycleState) -> CycleState:
        """The untrained student (round 0): built here for `tiny`, on this run's own text."""
        from trainer.presets import load_preset

        preset = load_preset(self.config.student, self.config.student_model)
        base = preset.model
        if preset.is_tiny:
            from evaluators.curation import load_rows, row_text
            from trainer.tiny import build_tiny_model

            console.rule("[bold]building the tiny student")
            texts = [row_text(r) for r in load_rows(state["current"]["train_file"])]
            base = str(build_tiny_model(self.run_dir / "tiny_base", texts, seed=self.config.seed, **preset.tiny_shape))
        console.rule("[bold]round 0: evaluating the untrained student")
        scores = {split: self._score(base, state, split, self.round_dir(0)) for split in ("feedback", "test")}
        return {"base": base, "baseline": scores}

    def train(self, state: CycleState) -> CycleState:
        from evaluators.curation import load_rows
        from trainer.presets import load_preset
        from trainer.sft import train_student

        round_ = state["round"]
        out = self.round_dir(round_)
        preset = load_preset(self.config.student, self.config.student_model)
        console.rule(f"[bold]round {round_}: train {preset.name} ({preset.method})")
        if (out / "checkpoints").is_dir():
            console.print(f"resuming training from its last checkpoint in {out / 'checkpoints'}")
        result = train_student(preset, state["base"], load_rows(state["current"]["train_file"]),
                               load_rows(state["current"]["validation_file"]), out, init_from=state.get("student"),
                               epochs=self.config.epochs, seed=self.config.seed)
        console.print(f"{result.steps} steps, loss {result.first_loss:.3f} -> {result.train_loss:.3f}, eval loss "
                      f"{result.eval_loss if result.eval_loss is not None else '—'}, {result.tokens_per_s:.0f} tokens/s"
                      + (f", resumed from {result.resumed_from}" if result.resumed_from else ""))
        return {"student": result.model_dir, "current": {**state["current"], "training": asdict(result)}}

    def _score(self, model_dir: str, state: CycleState, split: str, out: Path) -> dict:
        from evaluators.harness import answer_with_transformers, score_answers, summarise

        items = self._heldout(state, split)
        scores = score_answers(items, answer_with_transformers(model_dir, items), self.domain.score_answer,
                               getattr(self.domain, "answer_measures", None))
        (out / f"eval_{split}.jsonl").write_text("".join(json.dumps(asdict(s), ensure_ascii=False) + "\n" for s in scores))
        summary = summarise(scores)
        console.print(f"{split}: {100 * summary['accuracy']:.1f}% of {summary['n']} "
                      + " ".join(f"{c} {100 * a:.0f}%" for c, a in summary["by_category"].items()))
        for category, measures in summary["measures_by_category"].items():
            console.print(f"  {category}: " + ", ".join(f"{m.replace('_', ' ')} {v:.2f}" for m, v in measures.items()))
        return summary

    def evaluate(self, state: CycleState) -> CycleState:
        console.rule(f"[bold]round {state['round']}: evaluate")
        out = self.round_dir(state["round"])
        scores = {split: self._score(state["student"], state, split, out) for split in ("feedback", "test")}
        return {"current": {**state["current"], "scores": scores}}

    def analyse(self, state: CycleState) -> CycleState:
        """Failure analysis on the feedback set only: the next round gets more budget
        for failing categories, and the failed questions as focus topics."""
        out = self.round_dir(state["round"])
        failures: dict[str, list[list[str]]] = {}
        correct: dict[str, list[bool]] = {}
        for line in (out / "eval_feedback.jsonl").read_text().splitlines():
            item = json.loads(line)
            correct.setdefault(item["category"], []).append(item["correct"])
            if not item["correct"]:
                failures.setdefault(item["category"], []).append([item["id"], item["question"]])
        # A floor keeps every category in the mix; the rest follows the failure rate.
        weights = {c: round(0.25 + 1 - sum(v) / len(v), 3) for c, v in sorted(correct.items())}
        record = {**state["current"], "seconds": time.time() - state["current"]["started"]}
        plan = {"weights": weights, "focus": {c: f[:8] for c, f in failures.items()}}
        console.print(f"next round's plan: weights {weights}")
        return {"history": state["history"] + [record], "plan": plan}

    def report(self, state: CycleState) -> CycleState:
        from forge.report import write_report

        files = {"example store": str(self.workspace.store_path), "student": state["student"],
                 "held-out items": str(self.run_dir / "heldout_*.jsonl"),
                 "per-item evaluation": str(self.run_dir / "round_*/eval_*.jsonl"),
                 "training data": str(self.run_dir / "round_*/train.jsonl")}
        path = write_report(self.run_dir, asdict(self.config), state["baseline"], state["history"], files)
        return {"report": str(path)}

    # -- edges ---------------------------------------------------------------

    @staticmethod
    def after_curate(state: CycleState) -> str:
        return "train" if state.get("base") else "baseline"

    def after_analyse(self, state: CycleState) -> str:
        history = state["history"]
        if len(history) >= self.config.rounds:
            return "report"
        tests = [state["baseline"]["test"]["accuracy"]] + [h["scores"]["test"]["accuracy"] for h in history]
        best_at = tests.index(max(tests))
        if len(tests) - 1 - best_at >= self.config.patience:
            console.print(f"test score has not improved for {self.config.patience} rounds: stopping")
            return "report"
        return "generate"

    def graph(self, checkpointer):
        graph = StateGraph(CycleState)
        for name in ("setup", "generate", "curate", "baseline", "train", "evaluate", "analyse", "report"):
            graph.add_node(name, getattr(self, name))
        graph.add_edge(START, "setup")
        graph.add_edge("setup", "generate")
        graph.add_edge("generate", "curate")
        graph.add_conditional_edges("curate", self.after_curate, ["baseline", "train"])
        graph.add_edge("baseline", "train")
        graph.add_edge("train", "evaluate")
        graph.add_edge("evaluate", "analyse")
        graph.add_conditional_edges("analyse", self.after_analyse, ["generate", "report"])
        graph.add_edge("report", END)
        return graph.compile(checkpointer=checkpointer)


def run_cycle(cycle: ImprovementCycle) -> dict:
    """Run the cycle to the end, resuming from the workspace's checkpoint if there is one."""
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    config, workspace = cycle.config, cycle.workspace
    cycle.run_dir.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(workspace.root / "cycle_checkpoints.sqlite", check_same_thread=False)
    graph = cycle.graph(SqliteSaver(connection))
    thread = {"configurable": {"thread_id": config.run_id}, "recursion_limit": 10 * config.rounds + 20}
    saved = graph.get_state(thread)
    if saved.next:
        console.print(f"[bold]resuming run {config.run_id} at {', '.join(saved.next)}")
        state = graph.invoke(None, thread)
    elif saved.values.get("report") and len(saved.values["history"]) >= config.rounds:
        console.print(f"run {config.run_id} already finished")
        state = saved.values
    else:
        state = graph.invoke({} if not saved.values else None, thread)
    connection.close()
    return state


@app.command()
def run(
    domain: Annotated[str, typer.Option(help="Domain: cypher, coding or mtg.")] = "cypher",
    teacher: Annotated[str, typer.Option(help="Teacher spec: template | openai:<model>[@<base_url>] | llamacpp:<path.gguf>.")] = "template",
    critic: Annotated[Optional[str], typer.Option(help="Critic spec; defaults to the teacher.")] = None,
    student: Annotated[str, typer.Option(help="Student preset: tiny, qwen_0_5b, qwen_1_5b, phi3_mini, tinyllama_1b.")] = "tiny",
    student_model: Annotated[Optional[str], typer.Option(help="Local path (or hub id) of the preset's weights.")] = None,
    rounds: Annotated[int, typer.Option(min=1, help="Improvement rounds (generate -> train -> evaluate).")] = 3,
    count: Annotated[int, typer.Option(min=1, help="Example slots generated per round.")] = 300,
    heldout: Annotated[int, typer.Option(min=4, help="Held-out evaluation items (split into feedback and test).")] = 120,
    grounding: Annotated[Path, typer.Option(help="JSONL of general examples mixed into training.")] = DEFAULT_GROUNDING,
    grounding_ratio: Annotated[float, typer.Option(min=0.0, max=0.9, help="Share of general examples in training.")] = 0.2,
    epochs: Annotated[Optional[float], typer.Option(help="Training epochs per round (default: the preset's).")] = None,
    workspace: Annotated[Path, typer.Option(help="Directory for everything this run writes.")] = Path("workspace"),
    graph: GraphOption = str(DEFAULT_GRAPH),
    repo: RepoOption = DEFAULT_REPO,
    sandbox: SandboxOption = "docker",
    rules: RulesOption = DEFAULT_RULES,
    ipg: IpgOption = DEFAULT_IPG,
    concurrency: Annotated[int, typer.Option(min=1, help="Teacher calls in flight at once.")] = 8,
    max_attempts: Annotated[int, typer.Option(min=1, help="Generate+repair attempts per example.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed for generation, splits and training.")] = 0,
    patience: Annotated[int, typer.Option(min=1, help="Stop after this many rounds without a better test score.")] = 2,
    estimate_memory: Annotated[bool, typer.Option("--estimate-memory", help="Print what the student preset needs to train, and exit.")] = False,
) -> None:
    """Run the full improvement cycle: generate, curate, train, evaluate, analyse failures, repeat.

    Rerunning the same command resumes where it stopped (a killed training resumes from its last checkpoint).
    """
    from evaluators.curation import load_rows
    from forge.workspace import Workspace
    from trainer.presets import estimate_memory_gib, load_preset

    try:
        preset = load_preset(student, student_model)
        if estimate_memory:
            estimate = estimate_memory_gib(preset)
            console.print(f"{preset.name} ({preset.method}, {preset.model}): about {estimate['total']:.1f} GiB to train "
                          f"(weights {estimate['weights']:.2f}, trainable state {estimate['trainable_state']:.2f}, "
                          f"activations {estimate['activations']:.2f} at batch {preset.batch_size} x {preset.max_seq_len} tokens)")
            return
        ws = Workspace.check(workspace)
        load_rows(grounding)
        config = CycleConfig(domain=domain, sources=domain_sources(domain, graph, repo, rules, ipg), sandbox=sandbox, teacher=teacher, critic=critic or teacher, student=student,
                             student_model=student_model, rounds=rounds, count=count, heldout=heldout,
                             grounding=str(grounding.resolve()), grounding_ratio=grounding_ratio, epochs=epochs,
                             concurrency=concurrency, max_attempts=max_attempts, seed=seed, patience=patience)
        cycle = ImprovementCycle(config, ws)

        async def probe_teachers() -> None:
            teacher_, critic_ = make_teachers(cycle.domain, config.teacher, config.critic, ws, concurrency)
            try:
                await check_teachers(teacher_, critic_)
            finally:
                await close_teachers(teacher_, critic_)

        try:
            asyncio.run(probe_teachers())
            ws.create()
            state = run_cycle(cycle)
        finally:
            cycle.close()
    except InputError as exc:
        raise fail(str(exc)) from None
    baseline, last = state["baseline"]["test"]["accuracy"], state["history"][-1]["scores"]["test"]["accuracy"]
    console.rule("[bold green]done")
    console.print(f"test {state['metric']}: round 0 (untrained) {100 * baseline:.1f}% -> round "
                  f"{state['history'][-1]['round']} {100 * last:.1f}%")
    console.print(f"report:  {state['report']}\nstudent: {state['student']}\nexport:  python loop.py export-gguf {workspace}")


@app.command("export-gguf")
def export_gguf_command(
    workspace: Annotated[Path, typer.Argument(help="A workspace written by `run`.")],
    quant: Annotated[str, typer.Option(help="Quantization: f16, q8_0, q6_k, q5_k_m, q4_k_m, q4_0.")] = "q4_k_m",
    out: Annotated[Optional[Path], typer.Option(help="Output .gguf (default: models/<workspace>-<quant>.gguf).")] = None,
    deploy_dir: Annotated[Optional[Path], typer.Option(help="Also copy the file here (where llama.cpp / NornicDB read models).")] = None,
    student_dir: Annotated[Optional[Path], typer.Option(help="Export this student directory instead of the latest.")] = None,
) -> None:
    """Merge the latest trained student, convert it to GGUF with llama.cpp, quantize, and check it loads and generates."""
    import shutil

    from trainer.export import export_gguf

    students = [*(workspace / "runs").glob("*/round_*/student/config.json"),
                *(workspace / "runs").glob("*/round_*/student/adapter_config.json")]
    chosen = student_dir or (max(students, key=lambda p: p.stat().st_mtime).parent if students else None)
    if chosen is None:
        raise fail(f"no trained student under {workspace}/runs. Run `python loop.py run --workspace {workspace}` first.")
    target = out or REPO / "models" / f"{workspace.resolve().name}-{quant}.gguf"
    try:
        result = export_gguf(chosen, target, quant)
    except InputError as exc:
        raise fail(str(exc)) from None
    console.print(f"wrote {result.gguf} ({result.size_mib:.1f} MiB, {quant}) from {chosen}")
    console.print(f"smoke test: {result.smoke_prompt!r} -> {result.smoke_output!r}", highlight=False)
    if deploy_dir:
        deploy_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(result.gguf, deploy_dir / result.gguf.name)
        console.print(f"deployed to {deploy_dir / result.gguf.name}")


# -- sandbox -----------------------------------------------------------------

sandbox_app = typer.Typer(help="The code sandbox: build its image, check it works.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("build-image")
def sandbox_build_image(
    tag: Annotated[str, typer.Option(help="Image tag the Docker back end uses.")] = "domainforge-sandbox:latest",
    offline: Annotated[bool, typer.Option(help="Skip the Dockerfile and build from a debootstrap root file system.")] = False,
) -> None:
    """Build the sandbox image (python3 + pytest, user 1000): from sandbox/Dockerfile where a registry
    is reachable, otherwise offline from a debootstrap root file system (also used by bubblewrap)."""
    from sandbox.image import build_image

    try:
        how = build_image(tag, offline=offline)
    except SandboxError as exc:
        raise fail(str(exc)) from None
    console.print(f"built {tag} from {how}")


@sandbox_app.command("check")
def sandbox_check(backend: Annotated[str, typer.Option(help="docker or bwrap.")] = "docker") -> None:
    """Run one small task in the sandbox and show the result."""
    from sandbox import open_sandbox

    try:
        with open_sandbox(backend, size=1) as box:
            result = box.run({"check.py": "import sys, os\nprint(sys.version.split()[0], os.getuid())\n"},
                             ["python3", "check.py"])
    except SandboxError as exc:
        raise fail(str(exc)) from None
    console.print(f"{backend}: {result.describe()}", highlight=False)


# -- mtg ---------------------------------------------------------------------

mtg_app = typer.Typer(help="Magic: The Gathering: look up the Comprehensive Rules and the Infraction Procedure Guide.",
                      no_args_is_help=True)
app.add_typer(mtg_app, name="mtg")


@mtg_app.command("rule")
def mtg_rule(
    number: Annotated[str, typer.Argument(help="A rule number such as 704.5f, 704.5 or 704.")],
    rules: Annotated[Path, typer.Option(help="The Comprehensive Rules plain text (Wizards publishes it as a .txt).")] = DEFAULT_RULES,
) -> None:
    """Print a rule, its parent, and its subrules."""
    from evaluators.mtg_rules import load_rules

    try:
        cr = load_rules(rules)
    except InputError as exc:
        raise fail(str(exc)) from None
    rule = cr.rule(number)
    if rule is None:
        raise fail(f"rule {number} does not exist in the Comprehensive Rules effective {cr.effective_date} ({rules})")
    console.print(f"[bold]{rule.number}[/] {escape(rule.text)}", highlight=False)
    for example in rule.examples:
        console.print(f"  {escape(example)}", highlight=False)
    parent = cr.parent(rule.number)
    if parent and cr.rule(parent):
        console.print(f"part of {parent}: {escape(cr.rule(parent).text)}", highlight=False)
    for child in cr.children(rule.number):
        console.print(f"  {child} {escape(cr.rule(child).text)}", highlight=False)
    console.print(f"(Comprehensive Rules effective {cr.effective_date}: {len(cr.numbered)} numbered rules, "
                  f"{len(cr.glossary)} glossary terms)")


@mtg_app.command("ipg")
def mtg_ipg(
    number: Annotated[str, typer.Argument(help="A section number such as 2.1 (an infraction) or 2 (a class).")],
    ipg: Annotated[Optional[Path], typer.Option(help="The Infraction Procedure Guide saved as text "
                                                     "(default: $MTG_IPG_PATH).")] = DEFAULT_IPG,
) -> None:
    """Print a section of the Infraction Procedure Guide: its penalty, definition, examples and remedies."""
    from evaluators.mtg_ipg import load_ipg

    if ipg is None:
        raise fail("no Infraction Procedure Guide given: pass --ipg PATH (the guide's PDF saved as text, "
                   "e.g. pdftotext IPG.pdf ipg.txt) or set MTG_IPG_PATH")
    try:
        guide = load_ipg(ipg)
    except InputError as exc:
        raise fail(str(exc)) from None
    section = guide.section(number)
    if section is None:
        raise fail(f"section {number} does not exist in the Infraction Procedure Guide effective "
                   f"{guide.effective_date} ({ipg}); its infractions are "
                   f"{', '.join(s.number for s in guide.infractions)}")
    console.print(f"[bold]{section.number}[/] {escape(section.title)}" +
                  (f" — penalty: [bold]{section.penalty}[/]" if section.penalty else ""), highlight=False)
    examples = [f"  {letter}. {escape(text)}" for letter, text in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", section.examples)]
    for heading, text in section.parts:  # the guide's order: Definition, Examples, Philosophy, ...
        console.print(f"{heading}: {escape(text)}" if heading != "Text" else escape(text), highlight=False)
        if heading == "Definition" and examples:
            console.print("Examples:\n" + "\n".join(examples), highlight=False)
    console.print(f"(Infraction Procedure Guide effective {guide.effective_date}: {len(guide.sections)} sections, "
                  f"{len(guide.infractions)} infractions)")


def main() -> None:
    ensure_static_tls_room()
    app()


if __name__ == "__main__":
    sys.exit(main())
