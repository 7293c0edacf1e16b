"""Print the import cycles among the project's own modules (every import, at
module level or inside a function), one per line; exit 1 if there is any.

    .venv/bin/python scripts/import_cycles.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agents", "evaluators", "forge", "sandbox", "trainer")
TOP_LEVEL = ("cli", "loop")


def project_modules() -> dict[str, Path]:
    found = {name: ROOT / f"{name}.py" for name in TOP_LEVEL}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _module_nodes(tree: ast.AST):
    """Every node, except under `if __name__ == "__main__":`, which runs only when the file is a script, never when
    it is imported as a module (`python loop.py` runs the command line; the module `loop` is the cycle alone)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).replace("'", '"') == '__name__ == "__main__"':
            continue
        yield node
        yield from _module_nodes(node)


def imported(path: Path, module: str, modules: dict[str, Path]) -> set[str]:
    """Project modules that `module` imports; `from a import b` counts a.b when it is a module, else a."""
    names = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in _module_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names}
    return {name for name in names if name in modules and name != module}


def main() -> int:
    modules = project_modules()
    graph = nx.DiGraph()
    for module, path in modules.items():
        graph.add_node(module)
        graph.add_edges_from((module, target) for target in imported(path, module, modules))
    cycles = sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)
    for members in cycles:
        print("import cycle:", " <-> ".join(members))
    print(f"{len(modules)} modules, {graph.number_of_edges()} imports, {len(cycles)} cycles")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
