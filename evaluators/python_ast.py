"""`ast.parse` behind one lock. CPython 3.11 counts the AST constructor's
recursion depth once per interpreter, not per thread, so two threads parsing
at once (a sandboxed `verify` in a worker thread, a template draft on the
event loop) can fail with "SystemError: AST constructor recursion depth
mismatch" (cpython gh-106905). Every parse of ours goes through here."""

from __future__ import annotations

import ast
import threading

_LOCK = threading.Lock()


def parse_python(source: str, mode: str = "exec") -> ast.AST:
    """ast.parse(source, mode=mode); SyntaxError as ast raises it."""
    with _LOCK:
        return ast.parse(source, mode=mode)
