"""What a repository holds, read with tree-sitter: functions, methods, types
and interfaces with their doc comments and `path:start-end` lines, imports,
call sites, and the tests that call each function.

Go and Python, detected per file by extension. A git checkout is read at its
commit (`git ls-files`); any other folder as it is. Each file's analysis is
cached by its content hash, so a second run on a newer commit parses only the
files that changed.

Sandbox tasks get the whole repository as git lists it (test data, fixtures,
configuration, vendored modules), as one snapshot sent once per sandbox.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from dataclasses import asdict, dataclass, field
from functools import cache, cached_property
from pathlib import Path

from forge.errors import InputError
from forge.workspace import cache_root
from sandbox.files import Snapshot

LANGUAGES = {".go": "go", ".py": "python"}
SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "vendor", "__pycache__", "testdata", "build", "dist"}
"""Folders whose code is not the repository's own (analysis skips them; the sandbox still gets them)."""
UNTRACKED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache", ".tox",
                  ".ruff_cache", ".nox"}
"""Tool folders a plain (non-git) folder's snapshot leaves out, as a .gitignore would."""
CACHE = cache_root() / "repo-index"
ANALYSIS_VERSION = 2  # part of the cache's name: a new analyser never reads an older one's results
IDENTIFIER_NODES = {"identifier", "type_identifier", "field_identifier", "package_identifier"}


@cache
def parser(language: str):
    import tree_sitter

    if language == "go":
        import tree_sitter_go as grammar
    else:
        import tree_sitter_python as grammar
    return tree_sitter.Parser(tree_sitter.Language(grammar.language()))


def syntax_errors(code: str, language: str) -> list[str]:
    """Where tree-sitter could not parse the code: `line N: near 'text'`."""
    root = parser(language).parse(code.encode()).root_node
    found: list[str] = []

    def walk(node) -> None:
        if len(found) >= 3:
            return
        if node.is_error or node.is_missing:
            near = node.text.decode(errors="replace").splitlines()[0][:40] if node.text else node.type
            found.append(f"line {node.start_point[0] + 1}: {'missing' if node.is_missing else 'unexpected'} {near!r}")
            return
        if node.has_error:
            for child in node.children:
                walk(child)

    walk(root)
    return found


@dataclass(frozen=True)
class Symbol:
    """A function, method, type or interface, where it is and what it says of itself."""

    name: str
    """`Restock`, `MemoryStore.Get`, `Tally.add`: methods carry their receiver or class."""
    kind: str
    """function, method, type, interface or class."""
    language: str
    path: str
    start: int
    end: int
    """1-based lines of the declaration itself (the doc comment is above it)."""
    signature: str
    doc: str
    package: str
    """The folder that holds it (a Go package; a Python package)."""
    body: tuple[int, int] = (0, 0)
    """Byte range of a function's body in its file: what an implementation replaces."""
    span: tuple[int, int] = (0, 0)
    """Byte range of the whole declaration (of a Python function: from `def`, its decorators stay)."""
    indent: str = ""
    calls: tuple[str, ...] = ()
    is_test: bool = False

    @property
    def short(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @property
    def where(self) -> str:
        return f"{self.path}:{self.start}-{self.end}"

    @property
    def is_callable(self) -> bool:
        return self.kind in ("function", "method")


@dataclass(frozen=True)
class CallSite:
    caller: str
    callee: str
    """The called name as written last: `Get` for `s.Get(...)`."""
    path: str
    line: int
    text: str


@dataclass
class FileAnalysis:
    language: str
    digest: str
    symbols: list[Symbol] = field(default_factory=list)
    calls: list[CallSite] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"language": self.language, "digest": self.digest, "symbols": [asdict(s) for s in self.symbols],
                "calls": [asdict(c) for c in self.calls], "imports": self.imports, "identifiers": self.identifiers}

    @classmethod
    def from_json(cls, row: dict) -> FileAnalysis:
        symbols = [Symbol(**{**s, "body": tuple(s["body"]), "span": tuple(s["span"]), "calls": tuple(s["calls"])})
                   for s in row["symbols"]]
        return cls(row["language"], row["digest"], symbols, [CallSite(**c) for c in row["calls"]], row["imports"],
                   row["identifiers"])


def _text(node) -> str:
    return node.text.decode(errors="replace") if node is not None else ""


def _doc_above(lines: list[str], start_row: int, marker: str) -> str:
    """The comment lines right above a declaration (Go doc comments)."""
    doc: list[str] = []
    row = start_row - 1
    while row >= 0 and lines[row].strip().startswith(marker):
        doc.insert(0, lines[row].strip()[len(marker):].strip())
        row -= 1
    return " ".join(doc)


def _calls_in(node, language: str) -> list[tuple[str, int]]:
    call_type = "call_expression" if language == "go" else "call"
    found = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == call_type:
            target = n.child_by_field_name("function")
            if target is not None:
                if target.type in ("selector_expression", "attribute"):
                    target = target.child_by_field_name("field" if language == "go" else "attribute")
                if target is not None and target.type in IDENTIFIER_NODES:
                    found.append((_text(target), n.start_point[0] + 1))
        stack.extend(reversed(n.children))
    return found


def _identifiers(root) -> set[str]:
    found, stack = set(), [root]
    while stack:
        n = stack.pop()
        if n.type in IDENTIFIER_NODES:
            found.add(_text(n))
        stack.extend(n.children)
    return found


def analyse_go(path: str, source: bytes, digest: str) -> FileAnalysis:
    root = parser("go").parse(source).root_node
    lines = source.decode(errors="replace").splitlines()
    package = str(Path(path).parent.as_posix())
    is_test_file = is_test_path(path)
    out = FileAnalysis("go", digest)
    for node in root.children:
        if node.type == "import_declaration":
            out.imports += [_text(s).strip('"') for s in _descendants(node, "interpreted_string_literal")]
        elif node.type in ("function_declaration", "method_declaration"):
            name = _text(node.child_by_field_name("name"))
            receiver = ""
            if node.type == "method_declaration":
                receiver_types = _descendants(node.child_by_field_name("receiver"), "type_identifier")
                receiver = _text(receiver_types[0]) if receiver_types else ""
            body = node.child_by_field_name("body")
            if body is None:
                continue
            signature = source[node.start_byte:body.start_byte].decode(errors="replace").strip()
            full = f"{receiver}.{name}" if receiver else name
            calls = _calls_in(body, "go")
            out.symbols.append(Symbol(
                full, "method" if receiver else "function", "go", path, node.start_point[0] + 1, node.end_point[0] + 1,
                signature, _doc_above(lines, node.start_point[0], "//"), package, (body.start_byte, body.end_byte),
                (node.start_byte, node.end_byte), "", tuple(sorted({c for c, _ in calls})),
                is_test_file and name.startswith("Test")))
            out.calls += [CallSite(full, callee, path, line, lines[line - 1].strip()) for callee, line in calls]
        elif node.type == "type_declaration":
            for spec in (c for c in node.named_children if c.type == "type_spec"):
                kind_node = spec.child_by_field_name("type")
                kind = "interface" if kind_node is not None and kind_node.type == "interface_type" else "type"
                first_line = lines[spec.start_point[0]].strip()
                out.symbols.append(Symbol(
                    _text(spec.child_by_field_name("name")), kind, "go", path, node.start_point[0] + 1,
                    node.end_point[0] + 1, first_line.rstrip("{ ").strip(), _doc_above(lines, node.start_point[0], "//"),
                    package, span=(node.start_byte, node.end_byte)))
    out.identifiers = sorted(_identifiers(root))
    return out


def _descendants(node, node_type: str) -> list:
    if node is None:
        return []
    found, stack = [], [node]
    while stack:
        n = stack.pop()
        if n.type == node_type:
            found.append(n)
        stack.extend(reversed(n.children))
    return found


def _python_doc(body) -> str:
    first = body.named_children[0] if body is not None and body.named_children else None
    if first is not None and first.type == "expression_statement" and first.named_children \
            and first.named_children[0].type == "string":
        text = _text(first.named_children[0])
        return " ".join(text.strip("\"'rbu").strip().split("\n\n")[0].split())
    return ""


def analyse_python(path: str, source: bytes, digest: str) -> FileAnalysis:
    root = parser("python").parse(source).root_node
    lines = source.decode(errors="replace").splitlines()
    is_test_file = is_test_path(path)
    package = str(Path(path).parent.as_posix())
    out = FileAnalysis("python", digest)

    def visit(node, owner: str, test_class: bool) -> None:
        for child in node.named_children:
            target = child.child_by_field_name("definition") if child.type == "decorated_definition" else child
            if target is None:
                continue
            if target.type in ("import_statement", "import_from_statement"):
                out.imports.append(_text(target))
            elif target.type == "function_definition":
                name = _text(target.child_by_field_name("name"))
                body = target.child_by_field_name("body")
                full = f"{owner}.{name}" if owner else name
                signature = source[target.start_byte:body.start_byte].decode(errors="replace").strip().rstrip(":")
                calls = _calls_in(body, "python")
                row = target.start_point[0]
                out.symbols.append(Symbol(
                    full, "method" if owner else "function", "python", path, child.start_point[0] + 1,
                    target.end_point[0] + 1, signature, _python_doc(body), package, (body.start_byte, body.end_byte),
                    (target.start_byte, target.end_byte), lines[row][:len(lines[row]) - len(lines[row].lstrip())],
                    tuple(sorted({c for c, _ in calls})),
                    (is_test_file and not owner or test_class) and name.startswith("test")))
                out.calls += [CallSite(full, callee, path, line, lines[line - 1].strip()) for callee, line in calls]
            elif target.type == "class_definition":
                name = _text(target.child_by_field_name("name"))
                body = target.child_by_field_name("body")
                out.symbols.append(Symbol(
                    name, "class", "python", path, child.start_point[0] + 1, target.end_point[0] + 1,
                    lines[target.start_point[0]].strip().rstrip(":"), _python_doc(body), package,
                    span=(child.start_byte, target.end_byte)))
                visit(body, name, is_test_class(target, is_test_file))

    visit(root, "", False)
    out.identifiers = sorted(_identifiers(root))
    return out


def is_test_path(path: str) -> bool:
    """A file of tests: Go's `_test.go`; Python's `test_*.py`, `*_test.py` and `conftest.py`."""
    name = Path(path).name
    return name.endswith("_test.go") or name.endswith("_test.py") or (name.startswith("test_") and name.endswith(".py")) \
        or name == "conftest.py"


GENERATED = re.compile(rb"^\s*(?://|#).*(?:\bDO NOT EDIT\b|@generated\b|\bautomatically generated\b)", re.M | re.I)


def is_generated(data: bytes) -> bool:
    """A file a tool wrote: Go's `// Code generated ... DO NOT EDIT.` and the markers of protoc, Thrift and
    the like, in a comment among its first lines."""
    return bool(GENERATED.search(data[:1000]))


def is_test_class(node, in_test_file: bool) -> bool:
    """A class whose `test*` methods are tests: a unittest TestCase (any name),
    or a pytest class (`Test*`) in a test file."""
    bases = [_text(b) for b in (node.child_by_field_name("superclasses").named_children
                                if node.child_by_field_name("superclasses") is not None else [])]
    if any(re.search(r"(TestCase|Tests?)$", base) for base in bases):
        return True
    return in_test_file and _text(node.child_by_field_name("name")).startswith("Test")


ANALYSERS = {"go": analyse_go, "python": analyse_python}


def git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def repository_files(root: Path) -> list[str]:
    """Every file of the repository, relative to it: a checkout's tracked and
    untracked-but-not-ignored files, else every file outside tool folders."""
    listed = git(root, "ls-files", "--cached", "--others", "--exclude-standard", "-z") if in_git(root) else None
    if listed is not None:
        names = [name for name in listed.split("\0") if name]
    else:
        names = [p.relative_to(root).as_posix() for p in root.rglob("*")
                 if not any(part in UNTRACKED_DIRS for part in p.relative_to(root).parts[:-1])]
    # A link is copied as the file it points to, when that lies inside the repository.
    return sorted(name for name in names if (root / name).is_file() and (root / name).resolve().is_relative_to(root))


def source_files(names: list[str]) -> list[str]:
    """The Go and Python files among them that are the repository's own code."""
    return [name for name in names if Path(name).suffix in LANGUAGES
            and not any(p in SKIPPED_DIRS or p.startswith(".") for p in Path(name).parts[:-1])]


@dataclass
class RepoIndex:
    root: Path
    revision: str
    """The git commit (with `+dirty` for uncommitted changes), or `files:<hash>` for a plain folder."""
    files: dict[str, bytes]
    analyses: dict[str, FileAnalysis]
    everything: list[str] = field(default_factory=list)
    """Every file of the repository (repository_files), sources included."""
    reparsed: int = 0
    # Derived once: the index does not change after it is built, and verify reads these per example.

    @cached_property
    def symbols(self) -> list[Symbol]:
        return [s for a in self.analyses.values() for s in a.symbols]

    @cached_property
    def calls(self) -> list[CallSite]:
        return [c for a in self.analyses.values() for c in a.calls]

    @cached_property
    def identifiers(self) -> set[str]:
        return {i for a in self.analyses.values() for i in a.identifiers}

    @cached_property
    def languages(self) -> set[str]:
        return {a.language for a in self.analyses.values()}

    @cached_property
    def generated(self) -> set[str]:
        return {path for path, data in self.files.items() if is_generated(data)}

    def tests_for(self, symbol: Symbol) -> list[Symbol]:
        """Tests that call the symbol by name (Go: from its own package), those
        named after it first (`TestFixedOffApply` for `FixedOff.Apply`)."""
        found = [t for t in self.symbols if t.is_test and symbol.short in t.calls and t.language == symbol.language
                 and (symbol.language != "go" or t.package == symbol.package)]
        parts = [p.lower() for p in symbol.name.split(".")]
        return sorted(found, key=lambda t: -sum(p in t.name.lower().replace("_", "") for p in parts))

    def call_sites(self, symbol: Symbol) -> list[CallSite]:
        """Where the code outside the symbol itself calls it."""
        return [c for c in self.calls if c.callee == symbol.short and c.caller != symbol.name
                and self.analyses[c.path].language == symbol.language]

    def text(self, path: str) -> str:
        return self.files[path].decode(errors="replace")

    def lines_at(self, path: str, revision: str) -> list[str] | None:
        """A file's lines at a revision: this index's own, or git's for another commit."""
        if revision == self.revision:
            return self.text(path).splitlines() if path in self.files else None
        shown = git(self.root, "show", f"{revision.removesuffix('+dirty')}:./{path}")
        return shown.splitlines() if shown is not None else None

    @cached_property
    def snapshot(self) -> Snapshot:
        """The whole repository as `repo/...`: what every sandbox task starts from."""
        files, executable = {}, set()
        for name in self.everything:
            path = self.root / name
            files[f"repo/{name}"] = self.files[name] if name in self.files else path.read_bytes()
            if path.stat().st_mode & 0o111:
                executable.add(f"repo/{name}")
        return Snapshot.of(files, frozenset(executable))

    @cached_property
    def support_digest(self) -> str:
        """A digest of every file that is not analysed code (data, fixtures, configuration):
        a sandbox outcome depends on them too."""
        digest = hashlib.sha256()
        for name, data in self.snapshot.files.items():  # read once, for the snapshot
            if name.removeprefix("repo/") not in self.files:
                digest.update(name.encode() + b"\0" + hashlib.sha1(data).digest())
        return digest.hexdigest()[:16]


def in_git(root: Path) -> bool:
    return git(root, "rev-parse", "--show-toplevel") is not None


def _revision(root: Path, digests: dict[str, str]) -> str:
    if in_git(root) and (head := git(root, "rev-parse", "HEAD")):
        dirty = git(root, "status", "--porcelain", "--", ".")
        return head.strip() + ("+dirty" if dirty else "")
    return "files:" + hashlib.sha256(json.dumps(sorted(digests.items())).encode()).hexdigest()[:16]


def index_repository(root: Path, cache_dir: Path = CACHE) -> RepoIndex:
    """Analyse every Go and Python file, reusing the cached analysis of any file
    whose content has not changed."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise InputError(f"--repo {root} is not a directory. Point it at a Go or Python repository (a git checkout "
                         "or a plain folder).")
    cache_file = cache_dir / f"{hashlib.sha256(str(root).encode()).hexdigest()[:16]}-v{ANALYSIS_VERSION}.json"
    try:
        cached = {p: FileAnalysis.from_json(row) for p, row in json.loads(cache_file.read_text()).items()}
    except (OSError, ValueError, KeyError, TypeError):
        cached = {}
    files, analyses, reparsed = {}, {}, 0
    everything = repository_files(root)
    for path in source_files(everything):
        data = (root / path).read_bytes()
        digest = hashlib.sha1(data).hexdigest()
        files[path] = data
        if path in cached and cached[path].digest == digest:
            analyses[path] = cached[path]
            continue
        analyses[path] = ANALYSERS[LANGUAGES[Path(path).suffix]](path, data, digest)
        reparsed += 1
    if not analyses:
        raise InputError(f"--repo {root} has no Go or Python files. Point it at a Go or Python repository.")
    if reparsed or set(cached) != set(analyses):
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".partial")
        partial.write_text(json.dumps({p: a.to_json() for p, a in analyses.items()}))
        partial.replace(cache_file)  # never a half-written cache
    return RepoIndex(root, _revision(root, {p: a.digest for p, a in analyses.items()}), files, analyses, everything,
                     reparsed)


CITATION = re.compile(r"`?([\w./-]+\.(?:go|py)):(\d+)(?:-(\d+))?`?")

