"""Curation between generation and training.

validate every row (file, line, what is wrong) -> drop exact and near
duplicates (MinHash LSH) -> drop rows that overlap the evaluation sets
(n-gram decontamination) -> mix in general-English grounding examples ->
split off a validation set -> report the category balance.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

from forge.errors import InputError
from forge.records import stable_fraction
from evaluators.text import words
from forge.rows import json_lines

NEAR_DUPLICATE_JACCARD = 0.9
CONTAMINATION_NGRAM = 8
# Template questions share long fixed phrasing, so at half overlap rows whose
# values (and so answers) differ were flagged; at 0.8 only rows that differ in
# a detail (a LIMIT, one word) from an evaluation item are.
CONTAMINATION_SHARE = 0.8
T = TypeVar("T")
REFUSAL_SHARE = 0.25
"""The most of a round's domain examples whose answer is a refusal. RAFT leaves the oracle out of a
fixed share; when refusals outnumber answers (HTTPX, round 2: the template teacher's answers ran out as
duplicates, 21 of 35 rows refused), a small student learns to refuse everything."""


def row_problems(row: Any) -> list[str]:
    """What is wrong with one training row, in words; empty when it is valid."""
    if not isinstance(row, dict):
        return [f"expected a JSON object, got {type(row).__name__}"]
    if "messages" in row and row.get("format", "messages") == "messages":
        messages = row["messages"]
        if not isinstance(messages, list) or not messages:
            return ["'messages' must be a non-empty list of {role, content}"]
        problems = []
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") \
                    or not isinstance(m.get("content"), str):
                problems.append(f"messages[{i}] must be {{\"role\": system|user|assistant, \"content\": string}}")
        if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
            problems.append("no assistant turn to learn from")
        return problems
    problems = []
    for key in ("instruction", "output"):
        if not isinstance(row.get(key), str) or not row.get(key, "").strip():
            problems.append(f"'{key}' must be a non-empty string")
    if "input" in row and not isinstance(row["input"], str):
        problems.append("'input' must be a string")
    if not problems and row.get("format") not in (None, "instruction"):
        problems.append(f"'format' is {row['format']!r} but the row has instruction/output fields")
    return problems


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL file of rows; every problem in it is reported at once, as file:line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    rows, problems = [], []
    for number, row, problem in json_lines(path, text):
        if problem:
            problems.append(problem)
            continue
        found = row_problems(row)
        problems += [f"{path}:{number}: {p}" for p in found]
        if not found:
            rows.append(row)
    if problems:
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise InputError(f"{len(problems)} invalid rows in {path}:\n  {shown}\n"
                         "Each row needs instruction/output strings, or messages: [{role, content}, ...].")
    return rows


def row_text(row: dict[str, Any]) -> str:
    """What a row asks and answers. A system prompt is left out: it is the same
    for a whole domain, so it would make every row look like every other; so is
    an open-book row's context (its `input`, when the row lists its `context`):
    the same passages come back with many questions."""
    if "messages" in row and "instruction" not in row:
        return "\n".join(m["content"] for m in row["messages"] if m["role"] != "system")
    return "\n".join((row["instruction"], "" if "context" in row else row.get("input", ""), row["output"]))


def prompt_text(row: dict[str, Any]) -> str:
    """What a row asks: its instruction, or every turn but the last answer (no system prompt)."""
    if "messages" in row and "instruction" not in row:
        turns = [m for m in row["messages"] if m["role"] != "system"]
        return "\n".join(m["content"] for m in (turns[:-1] if turns and turns[-1]["role"] == "assistant" else turns))
    return row.get("instruction", "")


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)} or {tuple(words)}


def duplicate_of(rows: list[dict[str, Any]]) -> list[tuple[str, int] | None]:
    """For each row, None if it is the first of its kind, else ("exact" or "near",
    index of the earlier row it repeats). Exact: the same normalised text; near:
    word 3-gram Jaccard >= NEAR_DUPLICATE_JACCARD (MinHash LSH finds candidates)."""
    from datasketch import MinHash, MinHashLSH

    first: dict[str, int] = {}
    found: list[tuple[str, int] | None] = []
    # LSH only proposes candidates, and near its threshold it misses pairs by
    # chance; so it looks wider and the exact Jaccard of the shingles decides.
    lsh = MinHashLSH(threshold=NEAR_DUPLICATE_JACCARD - 0.15, num_perm=128)
    shingles: dict[int, set[tuple[str, ...]]] = {}
    for i, row in enumerate(rows):
        said = words(row_text(row))
        key = " ".join(said)
        if key in first:
            found.append(("exact", first[key]))
            continue
        first[key] = i
        grams = _ngrams(said, 3)
        signature = MinHash(num_perm=128, seed=1)
        for gram in grams:
            signature.update(" ".join(gram).encode())
        near = next((j for j in sorted(lsh.query(signature))
                     if len(grams & shingles[j]) / len(grams | shingles[j]) >= NEAR_DUPLICATE_JACCARD), None)
        if near is not None:
            found.append(("near", near))
            continue
        lsh.insert(i, signature)
        shingles[i] = grams
        found.append(None)
    return found


def drop_duplicates(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int, int]:
    """The rows without exact and near duplicates, and how many of each were dropped."""
    found = duplicate_of(rows)
    kept = [row for row, duplicate in zip(rows, found) if duplicate is None]
    exact = sum(1 for d in found if d and d[0] == "exact")
    return kept, exact, len(rows) - len(kept) - exact


def decontaminate(rows: list[dict[str, Any]], eval_rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Drop a row whose prompt equals an evaluation prompt, or when most (CONTAMINATION_SHARE)
    of its word 8-grams occur in the evaluation items (prompt and reference answer)."""
    eval_prompts = {" ".join(words(prompt_text(r))) for r in eval_rows}
    eval_grams: set[tuple[str, ...]] = set()
    for r in eval_rows:
        eval_grams |= _ngrams(words(row_text(r)), CONTAMINATION_NGRAM)
    kept = []
    for row in rows:
        grams = _ngrams(words(row_text(row)), CONTAMINATION_NGRAM)
        if " ".join(words(prompt_text(row))) in eval_prompts \
                or len(grams & eval_grams) >= CONTAMINATION_SHARE * len(grams):
            continue
        kept.append(row)
    return kept, len(rows) - len(kept)


@dataclass
class CurationReport:
    input_rows: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    contaminated: int = 0
    grounding_rows: int = 0
    train_rows: int = 0
    validation_rows: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    refusals_left_out: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cap_refusals(examples: list[T], refuses: Callable[[T], bool], seed: str) -> tuple[list[T], int]:
    """The examples with refusals kept to REFUSAL_SHARE of them (a seeded sample of the
    refusals), in their order; and how many refusals were left out."""
    refusals = [i for i, e in enumerate(examples) if refuses(e)]
    room = int(REFUSAL_SHARE / (1 - REFUSAL_SHARE) * (len(examples) - len(refusals)))
    if len(refusals) <= room:
        return examples, 0
    dropped = set(random.Random(seed).sample(refusals, len(refusals) - room))
    return [e for i, e in enumerate(examples) if i not in dropped], len(dropped)


def curate(rows: list[dict[str, Any]], eval_rows: list[dict[str, Any]], grounding: list[dict[str, Any]],
           grounding_ratio: float = 0.2, validation_share: float = 0.1,
           seed: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]], CurationReport]:
    """Return (train rows, validation rows, report). `grounding_ratio` is the share of
    general examples in the final training set (0.2-0.3 is the usual mix)."""
    if not 0 <= grounding_ratio < 1:
        raise InputError(f"grounding ratio {grounding_ratio} must be in [0, 1); 0.2-0.3 is typical")
    report = CurationReport(input_rows=len(rows))
    unique, report.exact_duplicates, report.near_duplicates = drop_duplicates(rows)
    clean, report.contaminated = decontaminate(unique, eval_rows)
    validation = [r for r in clean if stable_fraction(row_text(r)) < validation_share]
    train = [r for r in clean if stable_fraction(row_text(r)) >= validation_share]
    wanted = round(grounding_ratio / (1 - grounding_ratio) * len(train)) if grounding else 0
    rng = random.Random(seed)
    # Repeat the (small) grounding set only as often as the ratio needs.
    pool = grounding * (wanted // len(grounding) + 1) if grounding else []
    mixed = rng.sample(pool, wanted)
    report.grounding_rows = len(mixed)
    train = train + mixed
    rng.shuffle(train)
    report.train_rows, report.validation_rows = len(train), len(validation)
    report.by_category = dict(sorted(Counter(r.get("category", "unknown") for r in train).items()))
    return train, validation, report
