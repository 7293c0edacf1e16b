"""Bug-pattern mutations of Python functions, one site at a time.

Used twice: the coding generator turns a real function into a bug-fixing
exercise, and the verifier checks that tests are worth something (they must
fail on at least one mutant of the code they test).

Patterns: off_by_one (an integer constant n -> n + 1), flipped_comparison
(< becomes >=, == becomes !=, ...), wrong_bound (range(.., b) -> range(.., b - 1)),
missing_return (the final `return x` removed), missing_guard (an early-exit
`if` on None / zero / emptiness removed).
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

from evaluators.python_ast import parse_python

FLIP = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
        ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}


@dataclass(frozen=True)
class Mutant:
    pattern: str
    site: int
    source: str


def _body_nodes(function: ast.FunctionDef) -> list[ast.AST]:
    body = function.body[1:] if ast.get_docstring(function) else function.body
    return [node for statement in body for node in ast.walk(statement)]


def _is_guard(node: ast.AST) -> bool:
    if not isinstance(node, ast.If) or node.orelse or len(node.body) != 1:
        return False
    if not isinstance(node.body[0], (ast.Return, ast.Raise)):
        return False
    test = node.test
    return (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)) or (
        isinstance(test, ast.Compare) and any(isinstance(c, ast.Constant) and c.value in (None, 0, 1, 2)
                                              for c in test.comparators))


def _sites(pattern: str, function: ast.FunctionDef) -> list[ast.AST]:
    nodes = _body_nodes(function)
    if pattern == "off_by_one":
        return [n for n in nodes if isinstance(n, ast.Constant) and type(n.value) is int]
    if pattern == "flipped_comparison":
        return [n for n in nodes if isinstance(n, ast.Compare) and type(n.ops[0]) in FLIP]
    if pattern == "wrong_bound":
        return [n for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "range" and n.args]
    if pattern == "missing_return":
        last = function.body[-1]
        return [last] if isinstance(last, ast.Return) and last.value is not None else []
    if pattern == "missing_guard":
        return [n for n in function.body if _is_guard(n)]
    raise ValueError(f"unknown mutation pattern {pattern!r}")


def _apply(pattern: str, function: ast.FunctionDef, node: ast.AST) -> None:
    if pattern == "off_by_one":
        node.value += 1
    elif pattern == "flipped_comparison":
        node.ops[0] = FLIP[type(node.ops[0])]()
    elif pattern == "wrong_bound":
        node.args[-1] = ast.BinOp(node.args[-1], ast.Sub(), ast.Constant(1))
    elif pattern in ("missing_return", "missing_guard"):
        function.body.remove(node)
        if not function.body:
            function.body.append(ast.Pass())


PATTERNS: tuple[str, ...] = ("off_by_one", "flipped_comparison", "wrong_bound", "missing_return", "missing_guard")


def mutants(source: str, name: str, patterns: tuple[str, ...] = PATTERNS) -> list[Mutant]:
    """Every single-site mutant of function `name` in `source` (the whole module
    comes back, with only that function changed)."""
    tree = parse_python(source)
    original = ast.unparse(tree)
    found: list[Mutant] = []
    seen = {original}
    for pattern in patterns:
        function = _find(tree, name)
        for site in range(len(_sites(pattern, function))):
            mutated = copy.deepcopy(tree)
            target = _find(mutated, name)
            _apply(pattern, target, _sites(pattern, target)[site])
            text = ast.unparse(ast.fix_missing_locations(mutated))
            if text not in seen:
                seen.add(text)
                found.append(Mutant(pattern, site, text))
    return found


def _find(tree: ast.Module, name: str) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise ValueError(f"no function {name!r} at module level")


def first_of_each_pattern(found: list[Mutant]) -> list[Mutant]:
    picked: dict[str, Mutant] = {}
    for mutant in found:
        picked.setdefault(mutant.pattern, mutant)
    return list(picked.values())
