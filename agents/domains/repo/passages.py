"""The code an open-book repo student reads with a question
(evaluators/context.py): spans of the repository, each line numbered so an
answer can cite `path:start-end`, and BM25 over its declarations (names split
into words, doc comments, code) to find them.
"""

from __future__ import annotations

import re

from agents.domains.repo.index import RepoIndex, Symbol
from evaluators.context import Passage
from evaluators.text import content_words

NAME_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
SPAN_ID = re.compile(r"^(.+):(\d+)-(\d+)$")
AROUND_CALL = 2
"""Lines shown above and below a cited line that lies outside every declaration (a call site)."""


def words_of(text: str) -> list[str]:
    """What BM25 matches: identifiers split into their words (`ParseURN` -> parse, urn), and content words."""
    parts = [p.lower() for name in re.findall(r"[A-Za-z_]\w*", text) for p in NAME_PART.findall(name)]
    return [w for w in parts if len(w) > 1] + content_words(text)


def span(index: RepoIndex, path: str, start: int, end: int, max_lines: int | None = None) -> Passage:
    """Lines start..end of a file, numbered; cut after `max_lines` (its id then says where it ends)."""
    lines = index.text(path).splitlines()
    end = min(end, len(lines), start + max_lines - 1 if max_lines else end)
    return Passage(f"{path}:{start}-{end}", "\n".join(f"{n}: {lines[n - 1]}" for n in range(start, end + 1)))


def covers(passage: Passage, citation: str) -> bool:
    """Whether a `path:start[-end]` citation lies inside the passage's lines."""
    shown, cited = SPAN_ID.match(passage.id), re.match(r"^(.+):(\d+)(?:-(\d+))?$", citation)
    if not shown or not cited:
        return False
    first, last = int(cited.group(2)), int(cited.group(3) or cited.group(2))
    return shown.group(1) == cited.group(1) and int(shown.group(2)) <= first <= last <= int(shown.group(3))


def overlaps(a: str, b: str) -> bool:
    """Whether two `path:start[-end]` spans share a line."""
    (path_a, lines_a), (path_b, lines_b) = a.rsplit(":", 1), b.rsplit(":", 1)
    (first_a, _, last_a), (first_b, _, last_b) = lines_a.partition("-"), lines_b.partition("-")
    return path_a == path_b and int(first_a) <= int(last_b or first_b) and int(first_b) <= int(last_a or first_a)


class CodeRetriever:
    """BM25 over a repository's declarations."""

    def __init__(self, index: RepoIndex, symbols: list[Symbol]) -> None:
        import bm25s

        self.index, self.symbols = index, symbols
        self.bm25 = bm25s.BM25()
        self.bm25.index([words_of(f"{s.name} {s.doc} {self._code(s)}") or ["-"] for s in symbols], show_progress=False)

    def _code(self, symbol: Symbol) -> str:
        return "\n".join(self.index.text(symbol.path).splitlines()[symbol.start - 1:symbol.end])

    def retrieve(self, query: str, k: int, exclude: set[str] = frozenset()) -> list[Symbol]:
        """The best k declarations for `query`, best first, leaving out the names in `exclude`."""
        words = list(dict.fromkeys(words_of(query)))
        if not words:
            return []
        scores = self.bm25.get_scores(words)
        ranked = sorted(range(len(self.symbols)), key=lambda i: -scores[i])
        return [self.symbols[i] for i in ranked if self.symbols[i].name not in exclude][:k]
