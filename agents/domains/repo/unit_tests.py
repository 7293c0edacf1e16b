"""Tests in a repository's languages: the tests a file defines, and a
repository's own test copied out as a test file of its own, in the
repository's style (what the offline teacher writes for `write_test`).

- Go: the test function, renamed, in its package, with the imports it uses.
- Python: the module's imports and the module-level names the test uses
  (helpers, constants, base classes); a test function stays a function, and
  a method of a test class (a unittest TestCase, a pytest class) stays a
  method of that class, with the class's fixtures and helpers (setUp, class
  attributes, non-test methods) and without its other tests.
"""

from __future__ import annotations

import re

from agents.domains.repo.index import RepoIndex, Symbol, is_test_class, parser

DEFINITIONS = ("function_definition", "class_definition", "decorated_definition", "expression_statement")


def standalone_test(index: RepoIndex, test: Symbol) -> str:
    """The test as a file of its own; its name gets `Again` (Go) or `_again` (Python)."""
    if test.language == "go":
        return _go(index, test)
    return _python(index, test)


def _go(index: RepoIndex, test: Symbol) -> str:
    text = index.text(test.path)
    code = index.files[test.path][test.span[0]:test.span[1]].decode(errors="replace")
    code = code.replace(f"func {test.short}(", f"func {test.short}Again(", 1)
    package = re.search(r"^package \w+", text, re.MULTILINE).group(0)
    imports = [i for i in index.analyses[test.path].imports if f"{i.rsplit('/', 1)[-1]}." in code]
    block = "import (\n" + "".join(f'\t"{i}"\n' for i in imports) + ")\n\n" if imports else ""
    return f"{package}\n\n{block}{code}\n"


def _definition(node):
    return node.child_by_field_name("definition") if node.type == "decorated_definition" else node


def _defined_name(node) -> str:
    """The name a module-level statement defines (`def f`, `class C`, `X = ...`), or ""."""
    node = _definition(node)
    if node.type in ("function_definition", "class_definition"):
        return node.child_by_field_name("name").text.decode()
    if node.type == "expression_statement" and node.named_children and node.named_children[0].type == "assignment":
        target = node.named_children[0].child_by_field_name("left")
        return target.text.decode() if target is not None and target.type == "identifier" else ""
    return ""


def _names_used(node) -> set[str]:
    found, stack = set(), [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            found.add(n.text.decode())
        stack.extend(n.children)
    return found


def _is_test_function(node) -> bool:
    node = _definition(node)
    return node.type == "function_definition" and node.child_by_field_name("name").text.decode().startswith("test")


def test_names(code: str, language: str) -> list[str]:
    """Tests an answer defines: Go `TestXxx(t *testing.T)`; Python `test_xxx` functions
    and the `test_y` methods of test classes (`TestX`, or any unittest TestCase) as `Class.test_y`."""
    if language == "go":
        return re.findall(r"^func (Test\w*)\(\w+ \*testing\.T\)", code, re.MULTILINE)
    names = []
    for node in parser("python").parse(code.encode()).root_node.named_children:
        if _is_test_function(node):
            names.append(_defined_name(node))
        elif _definition(node).type == "class_definition" and is_test_class(_definition(node), in_test_file=True):
            names += [f"{_defined_name(node)}.{_defined_name(m)}"
                      for m in _definition(node).child_by_field_name("body").named_children if _is_test_function(m)]
    return names


def _python(index: RepoIndex, test: Symbol) -> str:
    source = index.files[test.path]
    lines = source.decode(errors="replace").splitlines()
    root = parser("python").parse(source).root_node
    statements = list(root.named_children)

    def text(node) -> str:
        return "\n".join(lines[node.start_point[0]:node.end_point[0] + 1])

    owner, _, method = test.name.rpartition(".")
    chosen = next(s for s in statements if _defined_name(s) == (owner or method))
    if owner:  # the class, with everything but its other tests
        body = _definition(chosen).child_by_field_name("body")
        kept = [m for m in body.named_children if not _is_test_function(m) or _defined_name(m) == method]
        header = "\n".join(lines[chosen.start_point[0]:body.start_point[0]])
        code = header + "\n" + "\n\n".join(text(m) for m in kept if m.type != "comment")
    else:
        code = text(chosen)
    code = re.sub(rf"\bdef {method}\(", f"def {method}_again(", code, count=1)

    # The module-level names the test needs, and the names those need, in the module's order.
    in_code = _names_used(parser("python").parse(code.encode()).root_node)
    defined = {_defined_name(s): s for s in statements if s.type in DEFINITIONS and _defined_name(s)}
    needed, frontier = set(), set(in_code)
    while frontier:
        name = frontier.pop()
        if name in defined and name not in needed and defined[name] is not chosen and not _is_test_function(defined[name]):
            needed.add(name)
            frontier |= _names_used(defined[name])
    helpers = [text(s) for s in statements if _defined_name(s) in needed and s.type in DEFINITIONS]
    used = in_code.union(*(_names_used(defined[n]) for n in needed))
    imports = [kept for s in statements if (kept := _import_of(s, used, text))]
    return "\n".join(imports) + "\n\n\n" + "\n\n\n".join(helpers + [code]) + "\n"


def _import_of(node, used: set[str], text) -> str:
    """An import statement cut down to the names the code uses ("" when it uses none)."""
    if node.type == "future_import_statement":
        return text(node)
    if node.type == "import_statement":  # `import a.b` binds a; `import a.b as c` binds c
        keep = [n.text.decode() for n in node.named_children
                if (n.child_by_field_name("alias") or n).text.decode().split(".")[0] in used]
        return f"import {', '.join(keep)}" if keep else ""
    if node.type != "import_from_statement":
        return ""
    if any(c.type == "wildcard_import" for c in node.named_children):
        return text(node)
    module = node.child_by_field_name("module_name")
    names = [n for n in node.named_children if n is not module]
    keep = [n.text.decode() for n in names if (n.child_by_field_name("alias") or n).text.decode().split(".")[-1] in used]
    return f"from {module.text.decode()} import {', '.join(keep)}" if keep else ""
