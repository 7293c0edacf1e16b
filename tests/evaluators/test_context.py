"""Open-book contexts: a passage keeps what must be quoted and cuts at
sentence ends; a context reads back as it was shown; a training context holds
the oracle unless it is dropped."""

import random

from evaluators import context as book

TEXT = ("Alpha is first. Beta is second and longer than that. Gamma comes third! Delta: the fourth one here. "
        "Epsilon ends it.")


def test_a_window_keeps_what_must_be_quoted_and_cuts_at_sentence_ends():
    assert book.window(TEXT, 500) == TEXT
    start = book.window(TEXT, 40)
    assert start.startswith("Alpha is first.") and start.endswith(" …") and len(start) <= 45
    kept = book.window(TEXT, 40, keep=["Delta: the fourth"])
    assert "Delta: the fourth" in kept and kept.startswith("… ")
    both = book.window(TEXT, 30, keep=["Alpha", "Epsilon ends"])  # far apart: longer than the budget
    assert "Alpha" in both and "Epsilon ends" in both
    assert "fourth" in book.window(TEXT, 40, query=["fourth"])


def test_a_shown_context_reads_back():
    passages = [book.Passage("a.md#one", "First [sic] passage."), book.Passage("src/x.go:3-9", "func X() {}")]
    assert book.read(book.show(passages)) == passages


def test_a_training_context_holds_the_oracle_unless_dropped():
    pool = [f"p{i}" for i in range(20)]
    kept = book.assemble(["p3"], ["p4", "p5", "p6"], pool, random.Random(1))
    assert len(kept) == book.PASSAGES and "p3" in kept and len(set(kept)) == len(kept)
    assert {"p4", "p5"} <= set(kept)  # two of three distractors are near misses
    dropped = book.assemble(["p3"], ["p4", "p5", "p6"], pool, random.Random(1), drop_oracle=True)
    assert len(dropped) == book.PASSAGES and "p3" not in dropped


def test_a_code_passage_keeps_its_lines():
    code = book.Passage("pkg/a.go:3-5", "3: func A() int {\n4: \treturn 1\n5: }")
    prose = book.Passage("a.md#one", "One line.")
    assert book.read(book.show([prose, code, prose])) == [prose, code, prose]
