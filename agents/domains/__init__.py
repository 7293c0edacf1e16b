"""The domain registry: the built-in domains, each a package under
`agents/domains/` named here. A package's `__init__.py` holds its `ENTRY`
(what it is, the sources it reads, and the import paths of its factory and its
subcommands), so listing the domains imports none of their code. Every package
lays out the same roles in the same files: `generate.py` (the `Domain`: drafts,
prompts, held-out scoring, the eval-file loader, and `open_domain`, its
factory), `verify.py` (its checks), `cli.py` (its own subcommands, if any), and
the readers of its sources named for what they read (`graphdb.py`, `index.py`,
`corpus.py`, ...). Adding a built-in domain is one package and one name below;
a user's own domain is a YAML file read by the `config` domain, with no code.
"""

from __future__ import annotations

import importlib
from dataclasses import replace

from agents.domains.base import Critique, Domain, DomainEntry, Source, Task, with_steering
from forge.errors import InputError

__all__ = ["Critique", "Domain", "Source", "Task", "with_steering", "DOMAINS", "DEFAULT_DOMAIN", "DomainEntry",
           "choose_domain", "domain_choice", "load_domain", "resolve_sources", "all_sources"]

BUILT_IN = ("cypher", "coding", "repo", "mtg", "docs", "chat", "config")
"""Packages under agents/domains/, in the order `--help` lists them."""

DOMAINS: dict[str, DomainEntry] = {name: importlib.import_module(f"agents.domains.{name}").ENTRY for name in BUILT_IN}
DEFAULT_DOMAIN = "cypher"


def all_sources() -> dict[str, tuple[Source, list[str]]]:
    """Every declared source by name (one command-line option each), with the
    domains that read it. Domains that share a source may each describe it in
    their own words, but must agree on everything else; the help names who
    reads it: "coding, repo: ..." or "coding: ...; repo: ..."."""
    readers: dict[str, list[tuple[str, Source]]] = {}
    for name, entry in DOMAINS.items():
        for source in entry.sources:
            readers.setdefault(source.name, []).append((name, source))
    found = {}
    for option, declared in readers.items():
        first = declared[0][1]
        if any(replace(s, help="") != replace(first, help="") for _, s in declared):
            raise RuntimeError(f"source {option!r} is declared differently by {', '.join(n for n, _ in declared)}")
        by_help: dict[str, list[str]] = {}
        for name, source in declared:
            by_help.setdefault(source.help, []).append(name)
        help = "; ".join(f"{', '.join(names)}: {text}" for text, names in by_help.items())
        found[option] = (replace(first, help=help), [name for name, _ in declared])
    return found


def choose_domain(name: str | None, given: dict[str, str | None]) -> str:
    """The domain a command means: the one named, else the one whose required
    sources were all given (`--domain-config` means `config`), else the default."""
    if name is not None:
        if name not in DOMAINS:
            raise InputError(f"unknown domain {name!r}: choose one of {', '.join(DOMAINS)} "
                             "(or define your own with --domain-config FILE.yaml)")
        return name
    implied = [n for n, e in DOMAINS.items()
               if any(s.required for s in e.sources) and all(given.get(s.name) is not None for s in e.sources if s.required)]
    return implied[0] if len(implied) == 1 else DEFAULT_DOMAIN


def resolve_sources(name: str, given: dict[str, str | None]) -> dict[str, str]:
    """The values a domain runs with, by source name: given, else environment,
    else default. Options of other domains, and missing required ones, are errors."""
    entry = DOMAINS[name]
    own = {s.name for s in entry.sources}
    foreign = [k for k, v in given.items() if v is not None and k not in own]
    if foreign:
        users = all_sources()
        raise InputError("; ".join(f"{users[k][0].option} is an option of {', '.join(users[k][1])}, not of {name}"
                                   for k in foreign) + f". Domain {name} reads: "
                         + (", ".join(s.option for s in entry.sources) or "no options"))
    resolved = {}
    for source in entry.sources:
        value = source.resolve(given.get(source.name))
        if value is None and source.required:
            raise InputError(f"domain {name} needs {source.option}: {source.help}. Pass {source.option} with {source.expects}.")
        if value is not None:
            resolved[source.name] = value
    return resolved


def domain_choice(domain: str | None, given: dict[str, str | None]) -> tuple[str, dict[str, str]]:
    """The registry name a command means and its resolved sources; InputError
    for an unknown domain, another domain's option, or a missing required one."""
    name = choose_domain(domain, given)
    return name, resolve_sources(name, given)


def load_domain(name: str, sources: dict[str, str]) -> Domain:
    """Open a domain by registry name with its resolved sources."""
    if name not in DOMAINS:
        raise InputError(f"unknown domain {name!r}: choose one of {', '.join(DOMAINS)}")
    module, _, factory = DOMAINS[name].open.partition(":")
    return getattr(importlib.import_module(module), factory)(sources)
