"""Documentation files as sections: one reader per format, each on the format's
reference parser, all producing the same `Section`s of `Block`s. Includes and
Sphinx markup are resolved as includes.py says.

A section is the text under one heading, up to the next heading (its
subsections are sections of their own). Its id is `file#slug`, the anchor
MkDocs and GitHub give the heading, so it stays stable while the text around
it changes; its line range (pages, for PDF) is kept for people to look up.
Blocks keep the structure the template teacher builds questions from:
paragraphs, numbered steps, lists, tables, code and admonitions.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from agents.domains.docs.includes import Includes, register_sphinx_markup


@dataclass(frozen=True)
class Block:
    kind: str
    """paragraph, steps (an ordered list), list, table, code or note (an admonition)."""
    text: str
    """The block as prose: inline code keeps its backticks; a table is one `a | b` line per row."""
    rows: tuple[tuple[str, ...], ...] = ()
    """A table's rows, its header first; a list's items, one per row."""
    label: str = ""
    """A code block's language, a note's kind (note, warning, ...)."""


@dataclass(frozen=True)
class Section:
    id: str
    """`file#slug`: the file relative to the docs root, the heading's anchor."""
    file: str
    path: tuple[str, ...]
    """The headings from the page title down to this section's own."""
    span: tuple[int, int]
    """First and last line (pages, for PDF), 1-based."""
    unit: str
    blocks: tuple[Block, ...]

    @property
    def title(self) -> str:
        return self.path[-1]

    @property
    def text(self) -> str:
        """The heading, then the blocks: a heading is part of what a section says."""
        return "\n".join([self.title, *(b.text for b in self.blocks)])

    @property
    def where(self) -> str:
        return f"{self.file}, {self.unit} {self.span[0]}-{self.span[1]}"


LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def slug(heading: str) -> str:
    """The anchor a heading gets: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading).lower()
    return re.sub(r"\s+", "-", re.sub(r"[^\w\s-]", "", text).strip()) or "section"


def _inline(text: str) -> str:
    """One line, single spaces, no space before punctuation (HTML text joins its inline tags with spaces)."""
    return re.sub(r" ([.,;:!?)])(?=\s|$)", r"\1", " ".join(text.split()))


def table_block(rows: list[list[str]]) -> Block:
    rows = [[_inline(c) for c in row] for row in rows if any(c.strip() for c in row)]
    return Block("table", "\n".join(" | ".join(row) for row in rows), tuple(tuple(r) for r in rows))


def list_block(items: list[str], ordered: bool) -> Block:
    items = [_inline(i) for i in items if i.strip()]
    return Block("steps" if ordered else "list", "\n".join(items), tuple((i,) for i in items))


class _Sections:
    """Collects sections as a reader meets headings and blocks, in order."""

    def __init__(self, file: str, unit: str = "lines", title: str = "") -> None:
        self.file, self.unit = file, unit
        self.stack: list[tuple[int, str]] = []
        self.open: tuple[tuple[str, ...], int] | None = ((title or Path(file).stem,), 1)
        self.blocks: list[Block] = []
        self.done: list[tuple[tuple[str, ...], int, int, list[Block]]] = []

    def heading(self, level: int, title: str, line: int) -> None:
        self._close(line - 1)
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, _inline(LINK.sub(r"\1", title))))  # "[trio](https://...)" is titled trio
        self.open = (tuple(t for _, t in self.stack), line)

    def add(self, block: Block) -> None:
        if block.text.strip():
            self.blocks.append(block)

    def _close(self, last: int) -> None:
        if self.open and self.blocks:
            self.done.append((self.open[0], self.open[1], max(last, self.open[1]), self.blocks))
        self.blocks = []

    def sections(self, last: int) -> list[Section]:
        self._close(last)
        seen: Counter[str] = Counter()
        out = []
        for path, first, end, blocks in self.done:
            anchor = slug(path[-1])
            seen[anchor] += 1
            anchor += f"-{seen[anchor] - 1}" if seen[anchor] > 1 else ""
            out.append(Section(f"{self.file}#{anchor}", self.file, path, (first, end), self.unit, tuple(blocks)))
        return out


# -- Markdown (markdown-it-py, CommonMark with tables and MkDocs admonitions) --

def read_markdown(text: str, file: str, includes: Includes | None = None, page: Path | None = None) -> list[Section]:
    found = _Sections(file)
    for kind, level, line, item in _markdown_blocks(text, includes, page):
        if kind == "heading":
            found.heading(int(level), item, line)
        else:
            found.add(item)
    return found.sections(len(text.splitlines()))


def _included_blocks(targets: list[str], includes: Includes | None, page: Path | None, depth: int) -> list[Block]:
    """The blocks of the files a Markdown include names: a Markdown file's own
    blocks, any other file as code. Files that do not exist give nothing."""
    blocks = []
    for target in targets:
        included = includes.read(target, page) if includes and page else None
        if included is None:
            continue
        if included.is_markdown and depth < 3:
            blocks += [b for kind, _, _, b in _markdown_blocks(included.text, includes, included.path, depth + 1)
                       if kind == "block"]
        elif not included.is_markdown:
            blocks.append(Block("code", included.text.rstrip("\n"), label=included.language))
    return blocks


def _markdown_blocks(text: str, includes: Includes | None, page: Path | None, depth: int = 0):
    """("heading", level, line, title) and ("block", "", line, Block) in document order."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.admon import admon_plugin

    tokens = MarkdownIt("commonmark").enable("table").use(admon_plugin).parse(text)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.level != 0 or token.nesting == -1:
            i += 1
            continue
        close = _closing(tokens, i)
        inner = tokens[i:close + 1]
        inlines = [t.content for t in inner if t.type == "inline"]
        line = token.map[0] + 1 if token.map else 0
        if token.type == "heading_open":
            yield "heading", token.tag[1], line, inlines[0]
        elif token.type == "paragraph_open":
            targets = includes.markdown_targets(inlines[0]) if includes else None
            if targets is not None:
                for block in _included_blocks(targets, includes, page, depth):
                    yield "block", "", line, block
            else:
                yield "block", "", line, Block("paragraph", _inline(inlines[0]))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            yield "block", "", line, list_block(_list_items(inner, token.type == "ordered_list_open"),
                                                token.type == "ordered_list_open")
        elif token.type == "html_block":  # raw HTML in Markdown: a heading, or prose in a <div>
            heading = re.search(r"<h([1-6])[^>]*>(.*?)</h\1>", token.content, re.S | re.I)
            if heading:
                yield "heading", heading.group(1), line, re.sub(r"<[^>]+>", "", heading.group(2))
            else:
                yield "block", "", line, Block("paragraph", _inline(re.sub(r"<[^>]+>", " ", token.content)))
        elif token.type in ("fence", "code_block"):
            targets = includes.markdown_targets(token.content) if includes else None
            if targets is not None:  # a code block that is a snippet include: the file, as this block's language
                for block in _included_blocks(targets, includes, page, depth):
                    yield "block", "", line, Block("code", block.text, label=token.info.strip() or block.label)
            else:
                yield "block", "", line, Block("code", token.content.rstrip("\n"), label=token.info.strip())
        elif token.type == "table_open":
            rows, row = [], []
            for t in inner:
                if t.type == "tr_open":
                    row = []
                elif t.type == "inline":
                    row.append(t.content)
                elif t.type == "tr_close":
                    rows.append(row)
            yield "block", "", line, table_block(rows)
        elif token.type in ("admonition_open", "blockquote_open"):
            body = [t.content for t in inner if t.type == "inline" and t.map and not _is_title(inner, t)]
            kind = token.meta.get("tag", "") if token.type == "admonition_open" else ""
            said = _inline(" ".join(body))
            marker = re.match(r"(?:\*\*|\[!)?(note|warning|tip|important|caution)\b[\]*:]*\s*", said, re.I)
            if marker and not kind:
                kind, said = marker.group(1).lower(), said[marker.end():]
            yield "block", "", line, Block("note" if kind else "paragraph", said, label=kind)
        i = close + 1


def _list_items(tokens, ordered: bool) -> list[str]:
    """A list's items. A numbered step keeps its details; in a bullet list
    every item is its own, nested ones too (a changelog's entries under "Fixes:")."""
    items: list[str] = []
    if ordered:
        depth, current = 0, []
        for t in tokens[1:-1]:
            if t.type == "list_item_open":
                depth += 1
                current = [] if depth == 1 else current
            elif t.type == "list_item_close":
                depth -= 1
                if depth == 0:
                    items.append(" ".join(current))
            elif t.type == "inline":
                current.append(t.content)
    else:
        open_items: list[int] = []
        for t in tokens[1:-1]:
            if t.type == "list_item_open":
                items.append("")
                open_items.append(len(items) - 1)
            elif t.type == "list_item_close":
                open_items.pop()
            elif t.type == "inline" and open_items:
                items[open_items[-1]] = f"{items[open_items[-1]]} {t.content}".strip()
    return [item for item in items if item.strip()]


def _closing(tokens, start: int) -> int:
    """The index of the token that closes the one at `start` (itself if it opens nothing)."""
    if tokens[start].nesting != 1:
        return start
    depth = 0
    for j in range(start, len(tokens)):
        depth += tokens[j].nesting
        if depth == 0:
            return j
    return len(tokens) - 1


def _is_title(tokens, inline) -> bool:
    index = tokens.index(inline)
    return index > 0 and tokens[index - 1].type == "admonition_title_open"


# -- reStructuredText (docutils) ------------------------------------------------

def read_rst(text: str, file: str, includes: Includes | None = None, page: Path | None = None) -> list[Section]:
    from docutils import nodes
    from docutils.core import publish_doctree

    register_sphinx_markup(includes)
    # `.. include::` reads files relative to the page; one that does not exist is an error message, left out
    tree = publish_doctree(text, source_path=str(page) if page else None,
                           settings_overrides={"report_level": 5, "halt_level": 5, "doctitle_xform": False,
                                               "file_insertion_enabled": includes is not None, "raw_enabled": False})
    lines = text.splitlines()
    found = _Sections(file)
    cursor = [0]

    def line_of(title: str) -> int:
        for j in range(cursor[0], len(lines)):
            if lines[j].strip() == title:
                cursor[0] = j + 1
                return j + 1
        return cursor[0] + 1

    def inline(node) -> str:
        if isinstance(node, nodes.literal):
            return f"`{node.astext()}`"
        if isinstance(node, nodes.Text):
            return str(node)
        return "".join(inline(child) for child in node.children)

    def own_text(item) -> str:
        """A list item's own words; "* Fixes:" over an indented list is a definition list's term."""
        parts = []
        for part in item.children:
            if isinstance(part, nodes.paragraph):
                parts.append(inline(part))
            elif isinstance(part, nodes.definition_list):
                parts += [inline(term) for term in part.findall(nodes.term)]
        return " ".join(parts)

    def walk(node, level: int) -> None:
        for child in node.children:
            if isinstance(child, nodes.section):
                title = child.next_node(nodes.title)
                found.heading(level, inline(title), line_of(title.astext()))
                walk(child, level + 1)
            elif isinstance(child, (nodes.title, nodes.system_message, nodes.comment, nodes.target)):
                continue
            elif isinstance(child, nodes.paragraph):
                found.add(Block("paragraph", _inline(inline(child))))
            elif isinstance(child, nodes.enumerated_list):  # a step keeps its details
                found.add(list_block([" ".join(inline(p) for p in item.findall(nodes.paragraph))
                                      for item in child.children], True))
            elif isinstance(child, nodes.bullet_list):  # every item its own, nested ones too
                found.add(list_block([own_text(item) for item in child.findall(nodes.list_item)], False))
            elif isinstance(child, (nodes.literal_block, nodes.doctest_block)):
                classes = [c for c in child.get("classes", []) if c != "code"]
                found.add(Block("code", child.astext(), label=classes[0] if classes else ""))
            elif isinstance(child, nodes.table):
                found.add(table_block([[inline(entry) for entry in row.findall(nodes.entry)]
                                       for row in child.findall(nodes.row)]))
            elif isinstance(child, nodes.option_list):
                found.add(table_block([["Option", "Description"]] + [
                    [", ".join(g.astext() for g in item.findall(nodes.option)),
                     " ".join(inline(p) for p in item.findall(nodes.paragraph))] for item in child.children]))
            elif isinstance(child, (nodes.definition_list, nodes.field_list)):
                found.add(table_block([[inline(item.children[0]), " ".join(inline(p) for p in item.findall(nodes.paragraph))]
                                       for item in child.children]))
            elif isinstance(child, nodes.Admonition):
                kind = child.tagname if child.tagname != "admonition" else "note"
                found.add(Block("note", _inline(" ".join(inline(p) for p in child.findall(nodes.paragraph))), label=kind))
            elif isinstance(child, (nodes.block_quote, nodes.container, nodes.compound)):
                walk(child, level)
            elif child.astext().strip():
                found.add(Block("paragraph", _inline(child.astext())))

    walk(tree, 1)
    return found.sections(len(lines))


# -- HTML (BeautifulSoup on the standard library's parser) ------------------------

NOTE_CLASSES = {"admonition", "note", "warning", "tip", "important", "caution", "callout"}


def read_html(text: str, file: str) -> list[Section]:
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "template"]):
        tag.decompose()
    for code in soup.find_all("code"):
        if not code.find_parent("pre"):
            code.replace_with(NavigableString(f"`{code.get_text()}`"))
    title = soup.title.get_text(strip=True) if soup.title else ""
    found = _Sections(file, title=title)
    handled: set[int] = set()
    for tag in (soup.body or soup).find_all(True):
        if id(tag) in handled or any(id(parent) in handled for parent in tag.parents):
            continue
        name, classes = tag.name, set(tag.get("class") or [])
        if re.fullmatch(r"h[1-6]", name):
            found.heading(int(name[1]), tag.get_text(" "), tag.sourceline or 1)
        elif name == "p":
            found.add(Block("paragraph", _inline(tag.get_text(" "))))
        elif name in ("ul", "ol"):
            items = [li.get_text(" ") for li in tag.find_all("li", recursive=False)]
            found.add(list_block(items, name == "ol"))
        elif name == "pre":
            code = tag.find("code")
            language = next((c.removeprefix("language-") for c in (code.get("class") or []) if c.startswith("language-")),
                            "") if code else ""
            found.add(Block("code", tag.get_text().rstrip("\n"), label=language))
        elif name == "table":
            found.add(table_block([[cell.get_text(" ") for cell in tr.find_all(["th", "td"])] for tr in tag.find_all("tr")]))
        elif name == "dl":
            found.add(table_block([[dt.get_text(" "), dd.get_text(" ") if (dd := dt.find_next_sibling("dd")) else ""]
                                   for dt in tag.find_all("dt")]))
        elif name in ("aside", "blockquote") or (name == "div" and classes & NOTE_CLASSES):
            heading = tag.find(class_="admonition-title")
            if heading:
                handled.add(id(heading))
                heading.extract()
            kind = next((c for c in sorted(classes) if c in NOTE_CLASSES - {"admonition"}), "note")
            found.add(Block("note" if name != "blockquote" or heading else "paragraph", _inline(tag.get_text(" ")),
                            label=kind))
        else:
            continue
        handled.add(id(tag))
    return found.sections(len(text.splitlines()))


# -- PDF (pypdf) -------------------------------------------------------------------

NUMBERED_HEADING = re.compile(r"^\d+(\.\d+)*\.?\s+[A-Z][^.!?]{0,80}$")
PAGE_FOOTER = re.compile(r"^(page\s+)?\d+(\s*(/|of)\s*\d+)?$", re.I)


def read_pdf(reader, file: str) -> list[Section]:
    """Headings are lines set in a larger font than the body text, or numbered
    lines ("2.1 Workers") where the font says nothing; a page without any
    starts no section."""
    pages = []
    for page in reader.pages:
        sizes: dict[str, float] = {}

        def visit(text, cm, tm, font_dict, font_size, sizes=sizes):
            if text.strip():
                sizes[text.strip()] = font_size * abs(tm[3] or 1) * abs(cm[3] or 1)

        text = page.extract_text(visitor_text=visit) or ""
        pages.append((text, sizes))
    weights: Counter[float] = Counter()
    for _, sizes in pages:
        for text, size in sizes.items():
            weights[round(size, 1)] += len(text)
    body = weights.most_common(1)[0][0] if weights else 0.0
    title = (reader.metadata.title if reader.metadata and reader.metadata.title else "") or Path(file).stem
    found = _Sections(file, unit="pages", title=title)
    for number, (text, sizes) in enumerate(pages, 1):
        paragraph: list[str] = []
        for line in (line.strip() for line in text.splitlines()):
            if not line or PAGE_FOOTER.match(line):
                continue
            larger = sizes.get(line, body) > body * 1.1
            if (larger or NUMBERED_HEADING.match(line)) and len(line) <= 90:
                _flush(found, paragraph)
                numbered = NUMBERED_HEADING.match(line)
                level = 2 + line.split()[0].rstrip(".").count(".") if numbered else 1
                found.heading(level, re.sub(r"^[\d.]+\s+", "", line) if numbered else line, number)
            else:
                paragraph.append(line)
        _flush(found, paragraph)
    return found.sections(len(pages))


def _flush(found: _Sections, lines: list[str]) -> None:
    text = re.sub(r"(\w)-\s+(\w)", r"\1\2", " ".join(lines))  # words split across lines
    found.add(Block("paragraph", _inline(text)))
    lines.clear()
