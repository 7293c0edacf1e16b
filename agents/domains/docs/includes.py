"""What documentation pulls in from elsewhere, resolved the way the docs'
own build would, or left out.

- MkDocs snippets (`--8<-- "file"`, one line or a block of file names) and
  `{* path ... *}` includes (tiangolo's docs_src convention), Sphinx's
  `literalinclude` and reST's `.. include::`: the included file's text when
  the file exists (beside the page, in the docs folder or in the project
  folders above it); otherwise the directive is left out of the section, so
  no answer quotes it.
- Sphinx roles (`:func:`chunked``, `:ref:`Title <target>``), which plain
  docutils does not know: code roles become inline code, the others their
  title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SNIPPET_LINE = re.compile(r'^-{1,3}8<-{1,3}\s+["\']([^"\']+)["\']\s*$')
SNIPPET_BLOCK = re.compile(r"^-{1,3}8<-{1,3}\s*\n(.*?)\n-{1,3}8<-{1,3}\s*$", re.S)
CURLY_INCLUDE = re.compile(r"^\{\*\s*(\S+)(?:\s[^*]*)?\*\}$")
LANGUAGES = {".py": "python", ".go": "go", ".js": "javascript", ".ts": "typescript", ".sh": "shell", ".toml": "toml",
             ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".rs": "rust", ".java": "java", ".sql": "sql",
             ".html": "html", ".css": "css", ".c": "c", ".cpp": "cpp", ".rb": "ruby", ".ini": "ini", ".cfg": "ini"}
CODE_ROLES = ("func", "meth", "class", "mod", "attr", "data", "exc", "obj", "const", "envvar", "option", "program",
              "command", "file", "kbd", "samp", "py:func", "py:meth", "py:class", "py:mod", "py:attr", "py:data",
              "py:exc", "py:obj", "py:const", "code", "literal")
TEXT_ROLES = ("ref", "doc", "term", "abbr", "dfn", "pep", "rfc", "math", "sub", "sup", "guilabel", "menuselection",
              "numref", "download", "any")
PROJECT_LEVELS = 3
"""How many folders above the docs folder an include may come from (the project holding `docs/`)."""


@dataclass(frozen=True)
class Included:
    text: str
    path: Path

    @property
    def language(self) -> str:
        return LANGUAGES.get(self.path.suffix.lower(), self.path.suffix.lstrip("."))

    @property
    def is_markdown(self) -> bool:
        return self.path.suffix.lower() in (".md", ".markdown")


@dataclass(frozen=True)
class Includes:
    """Finds included files for the pages of one docs folder."""

    root: Path

    def find(self, target: str, page: Path) -> Path | None:
        target = target.strip()
        relative = Path(target.lstrip("/"))
        candidates = [] if target.startswith("/") else [page.parent / target]
        candidates += [base / relative for base in [self.root, *list(self.root.parents)[:PROJECT_LEVELS]]]
        return next((c for c in candidates if c.is_file()), None)

    def read(self, target: str, page: Path) -> Included | None:
        """The included text; a `file:START:END` target takes those lines only."""
        name, lines = target, None
        if m := re.fullmatch(r"(.+?):(\d*):(\d*)", target.strip()):
            name, lines = m.group(1), (int(m.group(2) or 1), int(m.group(3)) if m.group(3) else None)
        found = self.find(name, page)
        if found is None:
            return None
        try:
            text = found.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return None
        if lines:
            text = "\n".join(text.splitlines()[lines[0] - 1:lines[1]])
        return Included(text, found)

    def markdown_targets(self, block: str) -> list[str] | None:
        """The files a Markdown paragraph or code block includes, or None when it is no include."""
        block = block.strip()
        if m := SNIPPET_LINE.match(block) or CURLY_INCLUDE.match(block):
            return [m.group(1)]
        if m := SNIPPET_BLOCK.match(block):
            return [line.strip() for line in m.group(1).splitlines() if line.strip() and not line.strip().startswith(";")]
        return None


def register_sphinx_markup(includes: Includes | None) -> None:
    """Teach docutils the Sphinx roles and the `literalinclude` directive (reading through `includes`)."""
    from docutils import nodes
    from docutils.parsers.rst import Directive, directives, roles

    def title_of(text: str) -> str:
        title = re.sub(r"\s*<[^>]*>$", "", text) if text.endswith(">") and "<" in text else text
        return title.lstrip("~!").rsplit(".", 1)[-1] if text.startswith("~") else title.lstrip("!")

    def code_role(name, rawtext, text, lineno, inliner, options=None, content=None):
        return [nodes.literal(rawtext, title_of(text))], []

    def text_role(name, rawtext, text, lineno, inliner, options=None, content=None):
        return [nodes.Text(title_of(text))], []

    for name in CODE_ROLES:
        roles.register_local_role(name, code_role)
    for name in TEXT_ROLES:
        roles.register_local_role(name, text_role)

    class LiteralInclude(Directive):
        required_arguments = 1
        final_argument_whitespace = True
        option_spec = {"language": directives.unchanged, "lines": directives.unchanged,
                       "start-after": directives.unchanged, "end-before": directives.unchanged,
                       "linenos": directives.flag, "emphasize-lines": directives.unchanged,
                       "caption": directives.unchanged, "name": directives.unchanged, "dedent": directives.unchanged,
                       "pyobject": directives.unchanged, "encoding": directives.unchanged}

        def run(self):
            page = Path(self.state.document.current_source or ".")
            found = includes.read(self.arguments[0], page) if includes else None
            if found is None:
                return []  # left out: a missing file is not documentation
            text = found.text
            if after := self.options.get("start-after"):
                text = text.split(after, 1)[-1]
            if before := self.options.get("end-before"):
                text = text.split(before, 1)[0]
            if spec := self.options.get("lines"):
                lines, keep = text.splitlines(), []
                for part in spec.split(","):
                    first, dash, last = part.strip().partition("-")
                    start = int(first or 1) - 1
                    keep += lines[start:int(last) if last else (None if dash else start + 1)]
                text = "\n".join(keep)
            block = nodes.literal_block(text, text.strip("\n"))
            block["classes"].append(self.options.get("language") or found.language)
            return [block]

    directives.register_directive("literalinclude", LiteralInclude)
