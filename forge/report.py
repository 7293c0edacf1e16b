"""The per-run report: a Markdown page with a table per round, the scores per
category, PNG plots (score by round, by category), and where every file is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from forge.workspace import RunFolder


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


CLOSED_BOOK = "closed-book"  # the test items without their passages (loop.py)
OWN = ("feedback", "test", CLOSED_BOOK)  # the domain's held-out splits; any other split is a user's eval file
BOOK_MEASURES = ("retrieval_recall", "citation_precision", "citation_recall", "quote_grounding", "answer_overlap",
                 "refusal_correct")


def by_category(split: str, baseline: dict[str, Any], history: list[dict[str, Any]]) -> list[str]:
    """A table: one row per category, one column per round (0 = untrained)."""
    lines = ["| category | round 0 | " + " | ".join(f"round {h['round']}" for h in history) + " |",
             "|---|---|" + "---|" * len(history)]
    for c in sorted(baseline[split]["by_category"]):
        lines.append(f"| {c} | {_pct(baseline[split]['by_category'].get(c))} | " +
                     " | ".join(_pct(h["scores"][split]["by_category"].get(c)) for h in history) + " |")
    return lines


def by_construct(split: str, baseline: dict[str, Any], history: list[dict[str, Any]]) -> list[str]:
    """A table: accuracy per construct the items' references use, one column per round."""
    constructs = baseline[split].get("by_construct") or {}
    if not constructs:
        return []
    lines = ["| construct | items | round 0 | " + " | ".join(f"round {h['round']}" for h in history) + " |",
             "|---|---|---|" + "---|" * len(history)]
    for c, (accuracy, n) in constructs.items():
        later = [h["scores"][split].get("by_construct", {}).get(c, [None])[0] for h in history]
        lines.append(f"| {c} | {n} | {_pct(accuracy)} | " + " | ".join(_pct(a) for a in later) + " |")
    return ["", "Accuracy by construct (a question counts toward each construct its reference query uses):", "", *lines]


def open_and_closed_book(baseline: dict[str, Any], history: list[dict[str, Any]]) -> list[str]:
    """A table: the test items open book (with their passages) and closed book
    (the question alone), accuracy and the measures over all items, per round."""
    if CLOSED_BOOK not in baseline:
        return []
    rounds = [(0, baseline)] + [(h["round"], h["scores"]) for h in history]
    names = [m for m in BOOK_MEASURES if any(m in s[split].get("measures", {}) for _, s in rounds
                                             for split in ("test", CLOSED_BOOK))]
    lines = ["", "## Open book and closed book (test items)", "",
             "Open book: each question with the passages the retriever finds for it over all the docs, held-out "
             "sections included (in a share of items the sections that answer it are left out, and the right answer "
             "says so). Closed book: the question alone.", "",
             "| round | book | accuracy | " + " | ".join(n.replace("_", " ") for n in names) + " |",
             "|---|---|---|" + "---|" * len(names)]
    for r, scores in rounds:
        for split, book in (("test", "open"), (CLOSED_BOOK, "closed")):
            measures = scores[split].get("measures", {})
            lines.append(f"| {r} | {book} | {_pct(scores[split]['accuracy'])} | " +
                         " | ".join(_num(measures.get(n), 2) for n in names) + " |")
    return lines


def plot_scores(paths: tuple[Path, Path], baseline: dict[str, Any], history: list[dict[str, Any]]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = [0] + [h["round"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for split in baseline:
        ax.plot(rounds, [baseline[split]["accuracy"]] + [h["scores"][split]["accuracy"] for h in history],
                marker="o", label=split if split in OWN else f"your {split}")
    ax.set(xlabel="round (0 = untrained student)", ylabel="accuracy", title="Score by round", ylim=(0, 1))
    ax.set_xticks(rounds)
    ax.legend()
    fig.tight_layout()
    by_round, by_category = paths
    fig.savefig(by_round, dpi=120)
    plt.close(fig)

    categories = sorted(baseline["test"]["by_category"])
    fig, ax = plt.subplots(figsize=(max(6, len(categories) * 1.1), 3.8))
    width = 0.8 / len(rounds)
    series = [baseline["test"]["by_category"]] + [h["scores"]["test"]["by_category"] for h in history]
    for i, (r, scores) in enumerate(zip(rounds, series)):
        ax.bar([c + i * width for c in range(len(categories))], [scores.get(c, 0.0) for c in categories], width,
               label=f"round {r}")
    ax.set_xticks([c + width * (len(rounds) - 1) / 2 for c in range(len(categories))], categories, rotation=30, ha="right")
    ax.set(ylabel="test accuracy", title="Test score by category", ylim=(0, 1))
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(by_category, dpi=120)
    plt.close(fig)
    return [by_round, by_category]


def write_report(run: RunFolder, config: dict[str, Any], baseline: dict[str, Any], history: list[dict[str, Any]],
                 files: dict[str, str], people: dict[str, Any] | None = None) -> Path:
    plots = plot_scores(run.plots, baseline, history)
    lines = [f"# DomainForge run `{run.root.name}`", "",
             "| setting | value |", "|---|---|"]
    lines += [f"| {k} | `{v}` |" for k, v in config.items()]
    lines += ["", "## Rounds", "",
              "| round | generated | accepted | rejected (by reason) | train rows | train loss (first → last) | "
              "eval loss | feedback score | test score | tokens in/out | time |",
              "|---|---|---|---|---|---|---|---|---|---|---|",
              f"| 0 (untrained) | | | | | | | {_pct(baseline['feedback']['accuracy'])} | "
              f"{_pct(baseline['test']['accuracy'])} | | |"]
    evaluated = f"Scores are on {baseline['feedback']['n']} feedback and {baseline['test']['n']} test items, held out."
    for h in history:
        g, t = h["generation"], h["training"]
        reasons = ", ".join(f"{k}: {v}" for k, v in g["rejected_by_reason"].items()) or "none"
        lines.append(
            f"| {h['round']} | {g['accepted'] + g['rejected']} | {g['accepted']} | {g['rejected']} ({reasons}) | "
            f"{h['curation']['train_rows']} | {_num(t['first_loss'])} → {_num(t['train_loss'])} | {_num(t['eval_loss'])} | "
            f"{_pct(h['scores']['feedback']['accuracy'])} | {_pct(h['scores']['test']['accuracy'])} | "
            f"{g['tokens_in']}/{g['tokens_out']} | {h['seconds']:.0f}s (training {t.get('seconds', 0):.0f}s) |")
    lines += ["", evaluated, "", "## Test score by category", "", *by_category("test", baseline, history),
              *by_construct("test", baseline, history), *open_and_closed_book(baseline, history)]
    for split in baseline:
        if split not in OWN:
            rounds = " → ".join(_pct(s[split]["accuracy"]) for s in [baseline] + [h["scores"] for h in history])
            lines += ["", f"## Your evaluation file `{split}`", "",
                      f"{baseline[split]['n']} items, never trained on or fed back. Overall, round 0 → last: {rounds}.", "",
                      *by_category(split, baseline, history), *by_construct(split, baseline, history)]
            rounds_measures = [s[split].get("measures", {}) for s in [baseline] + [h["scores"] for h in history]]
            for name in rounds_measures[-1]:
                lines += ["", f"{name.replace('_', ' ')} over all items, round 0 → last: " +
                          " → ".join(_pct(m.get(name)) for m in rounds_measures) + "."]
    measures = history[-1]["scores"]["test"].get("measures_by_category") if history else None
    if measures:
        names = sorted({m for ms in measures.values() for m in ms})
        before = baseline["test"].get("measures_by_category", {})
        lines += ["", f"## Test measures by category (round 0 → round {history[-1]['round']})", "",
                  "| category | " + " | ".join(n.replace("_", " ") for n in names) + " |", "|---|" + "---|" * len(names)]
        for c, ms in measures.items():
            lines.append(f"| {c} | " + " | ".join(f"{_num(before.get(c, {}).get(n), 2)} → {_num(ms.get(n), 2)}"
                                                   if n in ms else "" for n in names) + " |")
    lines += ["", "## Generation plan by round", "",
              "Each round after the first shifts the budget toward the categories the student failed on the "
              "feedback set (never the test set), and passes the failed topics to the teacher.", ""]
    for h in history:
        weights = ", ".join(f"{c} {w:.2f}" for c, w in sorted(h["plan"]["weights"].items())) or "equal"
        focus = sum(len(v) for v in h["plan"]["focus"].values())
        lines.append(f"- round {h['round']}: weights {weights}; {focus} failed feedback items as focus topics")
    if people and people["judged"]:
        lines += ["", "## People and the verifier", "",
                  f"People judged {people['judged']} examples and overturned the verifier on {people['overturned']}. "
                  "Their verdicts decide what trains.", "", "| verifier's reason | judged | overturned |", "|---|---|---|"]
        lines += [f"| {reason} | {c['judged']} | {c['overturned']} |" for reason, c in people["by_reason"].items()]
    lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots]
    lines += ["", "## Files", ""] + [f"- {name}: `{path}`" for name, path in files.items()]
    run.report.write_text("\n".join(lines) + "\n")
    return run.report
