"""Repo: a model that knows one Go or Python repository.

index.py reads the repository with tree-sitter (symbols, call sites, tests);
generate.py drafts from it; verify.py checks answers against the code and runs
tests copied out of the repository (unit_tests.py) in the sandbox.
"""

from agents.domains.base import CONTEXT, CONTEXT_CHARS, DATA, SANDBOX, DomainEntry, Source

ENTRY = DomainEntry(
    "a model that knows one Go or Python repository, checked against its code and tests",
    (Source("repo", "any Go or Python repository, a git checkout or a plain folder (default: data/coding/demo_repo, "
                    "our Python demo; data/repo/inventory is our Go one)", default=str(DATA / "coding" / "demo_repo")),
     CONTEXT, CONTEXT_CHARS, SANDBOX),
    open="agents.domains.repo.generate:open_domain", example={"repo": str(DATA / "repo" / "inventory")})
