"""A documentation set: every readable file under the paths given, split into
sections (formats.py), with a BM25 index over them.

A file that cannot be read (a binary file with a docs extension, a broken or
encrypted PDF, a PDF without a text layer) is reported with its reason and
the others still load; nothing readable at all is an error.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from agents.domains.docs.formats import Section, read_html, read_markdown, read_pdf, read_rst, slug
from agents.domains.docs.includes import Includes
from evaluators.text import content_words
from forge.errors import InputError

TEXT_READERS = {".md": read_markdown, ".markdown": read_markdown, ".rst": read_rst, ".html": read_html,
                ".htm": read_html}
WITH_INCLUDES = (".md", ".markdown", ".rst")
GENERIC_TITLES = frozenset("""introduction overview home welcome index readme documentation docs contents
table-of-contents getting-started api api-reference reference user-guide guide about quickstart tutorial
changelog version-history release-notes faq""".split())
FORMATS = (*TEXT_READERS, ".pdf")
@dataclass(frozen=True)
class Match:
    section: Section
    coverage: float
    """IDF-weighted share of the question's content words the section contains."""
    missing: tuple[str, ...]


@dataclass
class DocsCorpus:
    root: Path
    sections: dict[str, Section]
    problems: list[str] = field(default_factory=list)
    skipped: int = 0
    """Files under the root in formats we do not read (images, stylesheets)."""
    given_title: str = ""
    """--docs-title, when the user names the documented thing."""

    def __post_init__(self) -> None:
        import bm25s

        self.order = list(self.sections)
        self.tokens = {sid: content_words(f"{s.title} {s.text}") for sid, s in self.sections.items()}
        frequency = Counter(w for tokens in self.tokens.values() for w in set(tokens))
        n = len(self.sections)
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in frequency.items()}
        self.unseen_idf = math.log(1 + (n + 0.5) / 0.5)
        self.index = bm25s.BM25()
        self.index.index([self.tokens[sid] or ["-"] for sid in self.order], show_progress=False)

    @property
    def title(self) -> str:
        """The documented thing's name: --docs-title; else the name the docs'
        own configuration declares (MkDocs site_name, Sphinx project); else the
        first page's first heading when it reads as a name; else the package's
        name (pyproject.toml, setup.cfg, package.json); else the folder's."""
        first = min(self.sections.values(), key=lambda s: (Path(s.file).stem.lower() not in ("index", "readme"),
                                                           s.file.count("/"), s.file, s.span[0]))
        heading = first.path[0].strip()
        named = heading if 0 < len(heading.split()) <= 4 and slug(heading) not in GENERIC_TITLES \
            and heading != Path(first.file).stem else ""
        folder = self.root.parent.name if self.root.name.lower() in ("docs", "doc", "documentation", "source") \
            else self.root.name
        return self.given_title or declared_title(self.root) or named or package_name(self.root) or folder

    def section(self, section_id: str) -> Section | None:
        return self.sections.get(section_id)

    def retrieve(self, query: str, k: int, exclude: frozenset[str] | set[str] = frozenset()) -> list[str]:
        """The ids of BM25's best k sections for `query`, best first, leaving out `exclude`."""
        words = list(dict.fromkeys(content_words(query)))
        if not words:
            return []
        scores = self.index.get_scores(words)
        ranked = sorted(range(len(self.order)), key=lambda i: -scores[i])
        return [self.order[i] for i in ranked if self.order[i] not in exclude][:k]

    def coverage(self, question: str, text: str) -> tuple[float, tuple[str, ...]]:
        """The IDF-weighted share of the question's content words that `text`
        holds, and the words it lacks."""
        query = list(dict.fromkeys(content_words(question)))
        if not query:
            return 0.0, ()
        words = set(content_words(text))
        weight = {w: self.idf.get(w, self.unseen_idf) for w in query}
        missing = tuple(w for w in query if w not in words)
        return 1 - sum(weight[w] for w in missing) / sum(weight.values()), missing

    def search(self, question: str, k: int = 3) -> list[Match]:
        """BM25's best k sections for the question, each with how much of the
        question it covers; the list is best-covered first."""
        matches = []
        for sid in self.retrieve(question, k):
            section = self.sections[sid]
            matches.append(Match(section, *self.coverage(question, f"{section.title} {section.text}")))
        return sorted(matches, key=lambda m: -m.coverage)


def _first_match(pattern: str, paths: list[Path]) -> str:
    for path in paths:
        try:
            if m := re.search(pattern, path.read_text(encoding="utf-8", errors="replace"), re.M):
                return m.group(1).strip().strip("'\"")
        except OSError:
            continue
    return ""


def declared_title(root: Path) -> str:
    """The name MkDocs (site_name) or Sphinx (project) is configured with, beside or above the docs."""
    around = [root, root.parent, root / "source"]
    return (_first_match(r"^site_name:\s*(.+?)\s*$", [d / name for d in around for name in ("mkdocs.yml", "mkdocs.yaml")])
            or _first_match(r"^project\s*=\s*(['\"].+?['\"])", [d / "conf.py" for d in around]))


def package_name(root: Path) -> str:
    """The package the docs belong to: its pyproject.toml, setup.cfg or package.json name."""
    for folder in (root, root.parent):
        found = (_first_match(r"(?s)^\[project\].*?^name\s*=\s*(['\"].+?['\"])", [folder / "pyproject.toml"])
                 or _first_match(r"(?s)^\[metadata\].*?^name\s*=\s*(\S+)", [folder / "setup.cfg"])
                 or _first_match(r'"name"\s*:\s*("[^"]+")', [folder / "package.json"]))
        if found:
            return found
    return ""


def _read(path: Path, relative: str, includes: Includes) -> list[Section]:
    """One file's sections; ValueError says why it cannot be read."""
    if path.suffix.lower() == ".pdf":
        import logging

        from pypdf import PdfReader

        from pypdf.errors import PdfReadError

        logging.getLogger("pypdf").setLevel(logging.ERROR)  # a broken file is reported once, by us
        try:
            reader = PdfReader(path)
            if reader.is_encrypted and not reader.decrypt(""):
                raise ValueError("the PDF is encrypted; save an unencrypted copy")
            sections = read_pdf(reader, relative)
        except (PdfReadError, OSError, KeyError, TypeError) as exc:
            raise ValueError(f"not a readable PDF ({exc})") from exc
        if not sections:
            raise ValueError("the PDF has no text layer (a scan?); run OCR on it first")
        return sections
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise ValueError("a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start}); convert it to UTF-8") from exc
    suffix = path.suffix.lower()
    sections = (TEXT_READERS[suffix](text, relative, includes, path) if suffix in WITH_INCLUDES
                else TEXT_READERS[suffix](text, relative))
    if not sections:
        raise ValueError("no text in it")
    return sections


def load_docs(location: Path, title: str = "") -> DocsCorpus:
    """Every docs file in a folder (recursively), or one file; `title` names the documented thing."""
    location = Path(location)
    if not location.exists():
        raise InputError(f"--docs {location} does not exist. Point it at a documentation folder or file "
                         f"({', '.join(FORMATS)}).")
    if location.is_file():
        if location.suffix.lower() not in FORMATS:
            raise InputError(f"--docs {location}: {location.suffix or 'no extension'} is not a docs format we read; "
                             f"use one of {', '.join(FORMATS)}")
        root, files, skipped = location.parent, [location], 0
    else:
        everything = sorted(p for p in location.rglob("*") if p.is_file() and not any(
            part.startswith(".") for part in p.relative_to(location).parts))
        files = [p for p in everything if p.suffix.lower() in FORMATS]
        root, skipped = location, len(everything) - len(files)
        if not files:
            raise InputError(f"--docs {location} holds no documentation files ({', '.join(FORMATS)}); "
                             f"{skipped} other file(s) found")
    sections: dict[str, Section] = {}
    problems = []
    includes = Includes(root.resolve())
    for path in files:
        relative = path.relative_to(root).as_posix()
        try:
            for section in _read(path.resolve(), relative, includes):
                sections[section.id] = section
        except ValueError as exc:
            problems.append(f"{path}: {exc}")
    if not sections:
        raise InputError(f"no section could be read from --docs {location}:\n  " + "\n  ".join(problems))
    return DocsCorpus(root, sections, problems, skipped, title)
