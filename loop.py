"""The improvement cycle. Run as a script, it is the command line (cli.py):

    python loop.py run --teacher template --student tiny --rounds 3 --workspace workspace
    python loop.py --help

The cycle is a LangGraph graph, checkpointed in the workspace, so a run
resumes after a crash at the last finished step:

    setup ─► generate ─► curate ─┬─► baseline (first round) ─► train ─► evaluate ─► analyse ─┬─► generate
                                 └──────────────────────────► train                         └─► report

Each step reports what it did as a `CycleEvent`; the CLI prints them and the
service streams them. The domain is whatever the registry opens: nothing here
knows one from another.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Optional, TypedDict

from langgraph.graph import END, START, StateGraph

from agents.domains.base import Domain
from agents.generation import GenerationConfig
from forge.options import nested, option
from forge.records import Example, content_hash
from forge.rows import text_lines
from forge.report import CLOSED_BOOK
from forge.workspace import RunFolder, Workspace
from trainer.presets import load_preset, preset_names

GROUNDING = Path(__file__).resolve().parent / "data" / "general" / "english.jsonl"
SPLITS = ("feedback", "test")  # the domain's held-out items; a user's --eval files are splits of their own


def eval_labels(paths: tuple[str, ...]) -> dict[str, str]:
    """A name for each user evaluation file (its stem), unique and never a built-in split's."""
    labels: dict[str, str] = {}
    for path in paths:
        stem = label = Path(path).stem
        n = 1
        while label in labels or label in SPLITS or label == CLOSED_BOOK:
            n += 1
            label = f"{stem}-{n}"
        labels[label] = path
    return labels


@dataclass(frozen=True)
class CycleConfig:
    generation: GenerationConfig = nested({"count": {"default": 300, "help": "Example slots generated per round."},
                                           "concurrency": {"help": "Teacher calls in flight at once."},
                                           "max_attempts": {"help": "Generate+repair attempts per example."}})
    """The domain, its sources, the teachers, and each round's slot count, attempts and seed."""
    student: str = option("tiny", f"Student preset: {preset_names()}.")
    student_model: Optional[str] = option(None, "Local path (or hub id) of the preset's weights.")
    rounds: int = option(3, "Improvement rounds (generate -> train -> evaluate).", min=1)
    heldout: Optional[int] = option(None, "Held-out evaluation items to generate (split into feedback and test); "
                                          "default 120, or the domain file's share of --count. Unused when the domain "
                                          "brings its own.", min=4)
    grounding: str = option(str(GROUNDING), "JSONL of general examples mixed into training.", type=Path)
    grounding_ratio: float = option(0.2, "Share of general examples in training.", min=0.0, max=0.9)
    epochs: Optional[float] = option(None, "Training epochs per round (default: the preset's).")
    patience: int = option(2, "Stop after this many rounds without a better test score.", min=1)
    evals: tuple[str, ...] = option((), "Your own evaluation file (repeatable; its format is the domain's, see "
                                        "`eval --help`): scored for the untrained student and every round, kept out "
                                        "of training, never fed back.", type=list[Path], flag="eval")
    replay: Optional[float] = option(None, "Rounds after the first train the last student on their new examples plus "
                                           "this share of earlier ones, for the preset's continue_epochs; 1 retrains "
                                           "on everything accepted so far, for the full epochs. Default: the preset's "
                                           "(0.3; tiny, which starts random: 1).", min=0.0, max=1.0)
    train_procs: int = option(1, "Training processes, started with torchrun: one per GPU (DDP for LoRA presets, FSDP "
                                 "for full fine-tuning); on a machine without GPUs, CPU processes over gloo. The "
                                 "batch is split over them, so the loss curve is the one of a single process.", min=1)
    strict: bool = option(False, "A row of an --eval file whose reference fails (does not run, cites what does not "
                                 "exist) is an error instead of skipped.")

    @property
    def cycle_id(self) -> str:
        # rounds and patience only say when to stop, replay how later rounds train, strict how the eval files
        # were read, and train_procs where training runs: a longer run, or one that trains its later rounds
        # another way, continues the same one.
        key = {k: v for k, v in asdict(self).items() if k not in ("generation", "rounds", "patience", "replay", "strict",
                                                               "train_procs")}
        return f"{self.generation.domain}-{self.student}-{content_hash({**key, 'generation': self.generation.identity()}, 8)}"

    def settings(self) -> dict[str, Any]:
        """Flat settings for the report."""
        generation = {k: v for k, v in asdict(self.generation).items() if k not in ("sources", "round", "weights", "focus", "emphasis")}
        return {**generation, **self.generation.sources, **{k: v for k, v in asdict(self).items() if k != "generation"}}


@dataclass(frozen=True)
class CycleEvent:
    """One thing the cycle did. `kind` is one of: step, heldout, slots (a
    generation run's progress), generated, curated, training, steps (training's
    progress), trained, answers (a student answering a split), scored, planned, stopped."""

    kind: str
    round: int
    data: dict[str, Any] = field(default_factory=dict)


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

    def __init__(self, config: CycleConfig, workspace: Workspace, domain: Domain,
                 on_event: Callable[[CycleEvent], None] = lambda event: None) -> None:
        self.config = config
        self.workspace = workspace
        self.domain = domain  # opened from config.generation by the caller, who also closes it
        self.run: RunFolder = workspace.run(config.cycle_id)
        self.replay = config.replay if config.replay is not None else load_preset(config.student).replay
        self.emit = lambda kind, round_, **data: on_event(CycleEvent(kind, round_, data))

    def _heldout(self, state: CycleState, split: str) -> list[Example]:
        return [Example.from_dict(json.loads(line)) for line in text_lines(self.run.heldout(split).read_text()) if line]

    def _generate(self, config: GenerationConfig, store) -> dict:
        from agents.executors import generate_run

        self.emit("slots", config.round, run_id=config.run_id, total=config.count, done=0, accepted=0)
        progress = asyncio.run(generate_run(
            self.domain, store, config, cache_path=self.workspace.cache_path,
            on_slot=lambda p: self.emit("slots", config.round, run_id=config.run_id, **p.to_dict())))
        return {"run_id": config.run_id, **store.summary(config.run_id), "skipped": progress.skipped}

    # -- nodes ---------------------------------------------------------------

    def setup(self, state: CycleState) -> CycleState:
        """Held-out items: the domain's own, or made and verified by the template
        teacher, split into feedback and test; and each of the user's eval files."""
        from evaluators.harness import split_feedback_test
        from forge.store import open_store

        self.emit("step", 0, step="held-out evaluation items", cycle_id=self.config.cycle_id)
        items = self.domain.heldout_items()
        if items is None:
            store = open_store(self.run.heldout_store)
            # In this process: the held-out store is a file of this machine's run folder.
            config = replace(self.config.generation, teacher="template", critic="template", count=self.config.heldout,
                             seed=self.config.generation.seed + 10_000, round=-1, executor="local")
            self._generate(config, store)
            items = list(store.accepted_examples())
            store.close()
        splits = dict(zip(SPLITS, split_feedback_test(items)))
        closed = [c for item in splits["test"] if (c := self.domain.closed_book(item))]
        if closed:
            splits[CLOSED_BOOK] = closed
        splits.update({label: self.domain.load_eval(Path(path)).items for label, path in eval_labels(self.config.evals).items()})
        for split, chosen in splits.items():
            self.run.heldout(split).write_text("".join(json.dumps(e.to_dict()) + "\n" for e in chosen))
        self.emit("heldout", 0, **{split: len(chosen) for split, chosen in splits.items()})
        return {"round": 0, "heldout": {s: str(self.run.heldout(s)) for s in splits}, "history": [],
                "plan": {"weights": {}, "focus": {}}, "metric": self.domain.metric}

    def generate(self, state: CycleState) -> CycleState:
        round_ = state["round"] + 1
        self.emit("step", round_, step="generate")
        config = replace(self.config.generation, round=round_, weights=state["plan"]["weights"],
                         focus=state["plan"]["focus"], emphasis=state["plan"].get("emphasis", {}))
        store = self.workspace.open_store()
        summary = self._generate(config, store)
        store.close()
        self.emit("generated", round_, **summary)
        return {"round": round_, "current": {"round": round_, "started": time.time(), "generation_run": config.run_id,
                                             "generation": summary, "plan": state["plan"]}}

    def curate(self, state: CycleState) -> CycleState:
        from evaluators.curation import cap_refusals, curate, load_rows
        from forge.export import example_row, export_jsonl

        round_ = state["round"]
        self.emit("step", round_, step="curate")
        store = self.workspace.open_store()
        # by id, not by the time each finished: concurrent generation finishes in any order, and
        # deduplication and the shuffle would then differ between runs of the same seed
        accepted = sorted(store.accepted_examples(self.domain.name), key=lambda e: e.id)
        if round_ > 1 and self.replay < 1:
            fresh = {s.example.id for s in store.produced(run_id=state["current"]["generation_run"])}
            new, earlier = [e for e in accepted if e.id in fresh], [e for e in accepted if e.id not in fresh]
            wanted = round(self.replay / (1 - self.replay) * len(new))
            accepted = new + random.Random(f"{self.config.generation.seed}:{round_}").sample(earlier, min(wanted, len(earlier)))
        accepted, refusals_left_out = cap_refusals(accepted, self.domain.teaches_refusal,
                                                   f"{self.config.generation.seed}:{round_}:refusals")
        export_jsonl(accepted, self.run.accepted(round_))
        store.close()
        eval_rows = [example_row(e) for split in state["heldout"] for e in self._heldout(state, split)]
        train, validation, report = curate(load_rows(self.run.accepted(round_)), eval_rows,
                                           load_rows(self.config.grounding), self.config.grounding_ratio,
                                           seed=self.config.generation.seed)
        report.refusals_left_out = refusals_left_out
        for split, rows in (("train", train), ("validation", validation)):
            self.run.rows(round_, split).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        self.emit("curated", round_, **report.to_dict())
        return {"current": {**state["current"], "curation": report.to_dict(),
                            "train_file": str(self.run.rows(round_, "train")),
                            "validation_file": str(self.run.rows(round_, "validation"))}}

    def baseline(self, state: CycleState) -> CycleState:
        """The untrained student (round 0): built here for `tiny`, on this run's own text."""

        preset = load_preset(self.config.student, self.config.student_model)
        base = preset.model
        if preset.is_tiny:
            from evaluators.curation import load_rows
            from trainer.formatting import to_messages
            from trainer.tiny import build_tiny_model

            self.emit("step", 0, step="build the tiny student")
            # The tokenizer learns from everything the student reads, system prompts included.
            texts = ["\n".join(m["content"] for m in to_messages(r)) for r in load_rows(state["current"]["train_file"])]
            base = str(build_tiny_model(self.run.tiny_base, texts, seed=self.config.generation.seed, **preset.tiny_shape))
        self.emit("step", 0, step="evaluate the untrained student")
        return {"base": base, "baseline": {split: self._score(base, state, split, 0) for split in state["heldout"]}}

    def train(self, state: CycleState) -> CycleState:
        from evaluators.curation import load_rows
        from trainer.distributed import train_in_processes
        from trainer.sft import last_checkpoint, train_student

        round_ = state["round"]
        out = self.run.round(round_)
        preset = load_preset(self.config.student, self.config.student_model)
        self.emit("step", round_, step=f"train {preset.name} ({preset.method})")
        self.emit("training", round_, resuming=last_checkpoint(out))
        continuing = state.get("student") and self.replay < 1
        train = train_student if self.config.train_procs == 1 else partial(train_in_processes, self.config.train_procs)
        result = train(preset, state["base"], load_rows(state["current"]["train_file"]),
                               load_rows(state["current"]["validation_file"]), out, init_from=state.get("student"),
                               epochs=self.config.epochs or (preset.continue_epochs if continuing else None),
                               seed=self.config.generation.seed,
                               on_progress=lambda step, steps: self.emit("steps", round_, done=step, total=steps))
        self.emit("trained", round_, **asdict(result))
        return {"student": result.model_dir, "current": {**state["current"], "training": asdict(result)}}

    def _score(self, model_dir: str, state: CycleState, split: str, round_: int) -> dict:
        from evaluators.harness import answer_with_transformers, score_answers, summarise

        items = self._heldout(state, split)
        answers = answer_with_transformers(
            model_dir, items, max_new_tokens=self.domain.answer_tokens,
            on_progress=lambda done, total: self.emit("answers", round_, split=split, done=done, total=total))
        scores = score_answers(items, answers, self.domain.score_answer, self.domain.answer_measures)
        self.run.evaluation(round_, split).write_text(
            "".join(json.dumps(asdict(s), ensure_ascii=False) + "\n" for s in scores))
        summary = summarise(scores)
        self.emit("scored", round_, split=split, **summary)
        return summary

    def evaluate(self, state: CycleState) -> CycleState:
        round_ = state["round"]
        self.emit("step", round_, step="evaluate")
        scores = {split: self._score(state["student"], state, split, round_) for split in state["heldout"]}
        return {"current": {**state["current"], "scores": scores}}

    def analyse(self, state: CycleState) -> CycleState:
        """Failure analysis on the feedback set only: the next round gets more budget
        for failing categories, and the failed questions as focus topics."""
        round_ = state["round"]
        failures: dict[str, list[list[str]]] = {}
        correct: dict[str, list[bool]] = {}
        for line in filter(None, text_lines(self.run.evaluation(round_, "feedback").read_text())):
            item = json.loads(line)
            correct.setdefault(item["category"], []).append(item["correct"])
            if not item["correct"]:
                failures.setdefault(item["category"], []).append([item["id"], item["question"]])
        # A floor keeps every category in the mix; the rest follows the failure rate.
        weights = {c: round(0.25 + 1 - sum(v) / len(v), 3) for c, v in sorted(correct.items())}
        record = {**state["current"], "seconds": time.time() - state["current"]["started"]}
        # Constructs seen often enough to judge get their failure rate: the next round prefers plans that use them.
        constructs = state["current"]["scores"]["feedback"].get("by_construct", {})
        emphasis = {c: round(1 - accuracy, 3) for c, (accuracy, n) in constructs.items() if n >= 3}
        plan = {"weights": weights, "focus": {c: f[:8] for c, f in failures.items()}, "emphasis": emphasis}
        self.emit("planned", round_, weights=weights, emphasis=emphasis)
        return {"history": state["history"] + [record], "plan": plan}

    def report(self, state: CycleState) -> CycleState:
        from forge.report import write_report

        files = self.run.files(self.workspace.store_path, state["student"])
        store = self.workspace.open_store()
        try:
            people = store.human_agreement()
        finally:
            store.close()
        path = write_report(self.run, self.config.settings(), state["baseline"], state["history"], files, people)
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
            self.emit("stopped", state["round"], reason=f"the test score has not improved for {self.config.patience} rounds")
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
    from forge.store import open_checkpointer

    config = cycle.config
    cycle.run.root.mkdir(parents=True, exist_ok=True)
    with open_checkpointer(cycle.workspace.cycle_checkpoints_path) as checkpointer:
        graph = cycle.graph(checkpointer)
        thread = {"configurable": {"thread_id": config.cycle_id}, "recursion_limit": 10 * config.rounds + 20}
        saved = graph.get_state(thread)
        if saved.next:
            cycle.emit("step", saved.values.get("round", 0), step=f"resuming run {config.cycle_id} at {', '.join(saved.next)}")
            return graph.invoke(None, thread)
        if saved.values.get("report") and len(saved.values["history"]) >= config.rounds:
            cycle.emit("step", saved.values["round"], step=f"run {config.cycle_id} already finished")
            return saved.values
        return graph.invoke({} if not saved.values else None, thread)


if __name__ == "__main__":
    # `python loop.py ...` is the command line (cli.py), which imports this file again as the module `loop`;
    # imported, this module is the cycle alone.
    from cli import main

    sys.exit(main())
