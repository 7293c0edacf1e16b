"""Open-book context: the passages a student reads with its question, as in
RAFT (retrieval-augmented fine-tuning, Zhang et al. 2024), how they are shown
and read back, and the check that an answer cites only what it was shown.

A domain that retrieves (docs, repo) puts the passages in an example's
`input`, each after its `[id]` (`show`), and their ids, in order, in the
example's `context` metadata. Training contexts hold the oracle passages and
distractors (the retriever's near misses and random ones); in a share of them
the oracle is left out, and the right answer says the context does not hold
it. Curation leaves the context out when it compares rows (curation.py), since
the same passages come back in many rows.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from forge.records import Check

CONTEXT_MODES = ("retrieved", "none")
PASSAGES = 4
"""Passages in a context, the oracle(s) included."""
MISSING_ORACLE_SHARE = 0.2
"""Share of training examples whose context leaves the oracle out."""
NEAR_MISS_SHARE = 2 / 3
"""Share of the distractors taken from the retriever's near misses; the rest are random."""
LINE = re.compile(r"^\[([^\[\]\s]+)\](?: (.*))?$")
SENTENCE_END = re.compile(r"(?<=[.!?:])\s+")


@dataclass(frozen=True)
class Passage:
    id: str
    """What an answer cites it as: a docs section id, a `path:start-end` span."""
    text: str
    """What the student reads: one line, trimmed to the context's budget."""


def show(passages: Iterable[Passage]) -> str:
    """The context as the student reads it: each passage after its `[id]`, on
    the same line when it is one line (prose), else on the lines below (code,
    numbered, so no line of it starts like a passage)."""
    return "\n".join(f"[{p.id}]" + ("\n" if "\n" in p.text else " ") + p.text for p in passages)


def read(shown: str) -> list[Passage]:
    """The passages of a shown context (`show`'s output)."""
    passages: list[list[str]] = []
    for line in shown.splitlines():
        if header := LINE.match(line):
            passages.append([header.group(1)] + ([header.group(2)] if header.group(2) else []))
        elif passages:
            passages[-1].append(line)
    return [Passage(pid, "\n".join(text)) for pid, *text in passages]


def window(text: str, chars: int, keep: Iterable[str] = (), query: Iterable[str] = ()) -> str:
    """At most about `chars` characters of one-line `text`, cut at sentence
    ends: the stretch that holds every string in `keep` (longer than `chars`
    if they lie far apart), else the one that holds most of the `query` words,
    else the start. A cut is marked with "…"."""
    text = " ".join(text.split())
    if len(text) <= chars:
        return text
    starts = [0] + [m.end() for m in SENTENCE_END.finditer(text)]
    spans = [(s, e) for s, e in zip(starts, starts[1:] + [len(text)])]
    found = [(text.find(k), text.find(k) + len(k)) for k in keep if k and k in text]
    if found:
        first, last = min(a for a, _ in found), max(b for _, b in found)
        begin = max(s for s, _ in spans if s <= first)
        end = max(last, min(len(text), begin + chars))
    else:
        words = {w.lower() for w in query}

        def hits(i: int) -> int:
            stretch = text[spans[i][0]:spans[i][0] + chars].lower()
            return sum(w in stretch for w in words)

        best = max(range(len(spans)), key=lambda i: (hits(i), -i)) if words else 0
        begin, end = spans[best][0], min(len(text), spans[best][0] + chars)
        stretch = text[begin:end].lower()
        last = max((begin + stretch.rfind(w) + len(w) for w in words if w in stretch), default=begin)
    if end < len(text):  # end at a sentence end when that keeps most of the budget and what must be kept
        floor = max(begin + chars // 2, last)
        sentence_end = max((e for _, e in spans if floor <= e <= end), default=None)
        space = text.rfind(" ", floor, end)
        end = sentence_end or (space if space > floor else end)
    return ("… " if begin else "") + text[begin:end].strip() + (" …" if end < len(text) else "")


def assemble(oracle: list[str], near: list[str], pool: list[str], rng: random.Random, size: int = PASSAGES,
             drop_oracle: bool = False) -> list[str]:
    """A training context's passage ids: the oracle (unless dropped), then
    distractors, near misses first, then random ones from `pool`; shuffled."""
    chosen = [] if drop_oracle else list(oracle)
    taken = set(oracle)
    wanted = max(0, size - len(chosen))
    for candidates, count in ((near, round(wanted * NEAR_MISS_SHARE)), (rng.sample(pool, len(pool)), wanted)):
        for pid in candidates:
            if len(chosen) >= size or count <= 0:
                break
            if pid not in taken:
                chosen.append(pid)
                taken.add(pid)
                count -= 1
    rng.shuffle(chosen)
    return chosen


def each_citation_in_context(citations: Iterable[str], inside: Callable[[str], bool],
                              shown_as: Callable[[str], str]) -> list[Check]:
    """A student's answer, one check per citation: in the context it read, or not (what `ask` marks)."""
    return [Check("citation", True, f"{shown_as(c)} is in the context") if inside(c) else
            Check("citation", False, f"{shown_as(c)} is not in the context: the student did not read it here",
                  "cites_outside_context") for c in citations]


def check_within_context(citations: Iterable[str], passages: list[Passage],
                         covers: Callable[[Passage, str], bool] = lambda p, c: p.id == c,
                         quotes: Iterable[tuple[str, str]] = (),
                         normal: Callable[[str], str] = lambda s: s) -> Check:
    """Every citation names a passage of the context (`covers` decides, a line
    range inside a shown span, say), and every (citation, quote) is in the
    text shown for it. A citation outside the context is something the
    student could not have read: a memory, or an invention."""
    outside = [c for c in citations if not any(covers(p, c) for p in passages)]
    if outside:
        return Check("cites_within_context", False, f"cites {', '.join(outside)}, not in the context "
                     f"({', '.join(p.id for p in passages) or 'empty'})", "cites_outside_context")
    unseen = [f'"{q}" ({c})' for c, q in quotes
              if not any(covers(p, c) and normal(q) in normal(p.text) for p in passages)]
    if unseen:
        return Check("cites_within_context", False, f"not in the passage shown: {'; '.join(unseen)}",
                     "quote_outside_context")
    return Check("cites_within_context", True, "every citation and quote is in the context")
