"""Coding: write, fix, explain and test a Python repository's functions.

generate.py extracts functions with doctest examples and drafts the tasks;
verify.py runs them in the sandbox (with the execution checks every domain that
runs code shares, evaluators/execution.py).
"""

from agents.domains.base import DATA, SANDBOX, DomainEntry, Source

ENTRY = DomainEntry(
    "write, fix, explain and test a Python repository's functions, run in the sandbox",
    (Source("repo", "a Python repository (a git checkout or a plain folder) whose functions have doctest examples "
                    "(default: data/coding/demo_repo, ours)", default=str(DATA / "coding" / "demo_repo")),
     SANDBOX),
    open="agents.domains.coding.generate:open_domain")
