"""The domains. A domain is a generator here (`agents/domains/<name>.py`), a
verifier in `evaluators/<name>.py`, and one entry in `DOMAINS`."""

from __future__ import annotations

from typing import Any, Callable

from forge.errors import InputError


def _cypher(options: dict[str, Any]):
    from agents.domains.cypher import CypherDomain
    from evaluators.graphdb import open_graph

    return CypherDomain(open_graph(options["graph"]))


DOMAINS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "cypher": _cypher,
}


def load_domain(name: str, options: dict[str, Any]):
    """Build a domain by name; `options` holds its CLI settings (e.g. `graph`)."""
    if name not in DOMAINS:
        raise InputError(f"unknown domain {name!r}: choose one of {', '.join(sorted(DOMAINS))}")
    return DOMAINS[name](options)
