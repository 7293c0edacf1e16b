"""The domain registry: a name, what the domain is, the sources it reads, and
the factory that opens it. Adding a built-in domain is its two modules
(`agents/domains/<name>.py`, `evaluators/<name>.py`) and one entry here; a
user's own domain is a YAML file read by the `config` entry, with no code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from agents.domains.base import Critique, Domain, Source, Task, open_sandbox_for, with_steering
from forge.errors import InputError
from sandbox import BACKENDS

__all__ = ["Critique", "Domain", "Source", "Task", "with_steering", "DOMAINS", "DEFAULT_DOMAIN", "DomainEntry",
           "choose_domain", "domain_choice", "load_domain", "resolve_sources", "all_sources"]

DATA = Path(__file__).resolve().parents[2] / "data"


@dataclass(frozen=True)
class DomainEntry:
    description: str
    sources: tuple[Source, ...]
    open: Callable[[dict[str, str]], Domain]
    """Builds the domain from its resolved sources; raises InputError on bad input."""
    commands: str = ""
    """`module:attribute` of a Typer app with the domain's own subcommands, if it has any."""
    example: dict[str, str] = field(default_factory=dict)
    """Sources beyond the defaults that open the domain on shipped data; the
    conformance suite (tests/agents/test_domain_conformance.py) opens it so."""


SANDBOX = Source("sandbox", "where code runs: docker (a warm container pool; the default) or bwrap (bubblewrap)", kind="choice",
                 choices=BACKENDS, default="docker", identity=False)


TOKENIZER = Source("tokenizer", "the student a conversation must fit: a preset (its tokenizer, chat template and "
                               "max_seq_len) or a model folder, FOLDER[:MAX_TOKENS] (default: smollm2_135m, 512 tokens)",
                   kind="text", default="smollm2_135m")


REPO = Source("repo", "a code repository, a git checkout or a plain folder. coding: Python functions with doctest "
                      "examples; repo: any Go or Python code (default: data/coding/demo_repo, our Python demo; "
                      "data/repo/inventory is our Go one)", default=str(DATA / "coding" / "demo_repo"))


def _cypher(sources: dict[str, str]) -> Domain:
    from agents.domains.cypher import CypherDomain
    from evaluators.graphdb import open_graph

    return CypherDomain(open_graph(sources["graph"]))


def _coding(sources: dict[str, str]) -> Domain:
    from agents.domains.coding import CodingDomain

    repo = Path(sources["repo"])
    if not repo.is_dir():
        raise InputError(f"--repo {repo} is not a directory. Point it at a Python repository.")
    sandbox = open_sandbox_for(sources)
    try:
        return CodingDomain(repo, sandbox)
    except InputError:
        sandbox.close()
        raise


def _repo(sources: dict[str, str]) -> Domain:
    from agents.domains.repo import RepoDomain
    from evaluators.repo_index import index_repository
    from sandbox import Limits

    index = index_repository(Path(sources["repo"]))
    # Go builds run several compiler processes and threads: more memory and pids than a lone Python test.
    sandbox = open_sandbox_for(sources, limits=Limits(timeout_s=120, memory_mb=1024, pids=256))
    try:
        return RepoDomain(index, sandbox)
    except InputError:
        sandbox.close()
        raise


def _mtg(sources: dict[str, str]) -> Domain:
    from agents.domains.mtg import MtgDomain
    from evaluators.mtg_ipg import load_ipg
    from evaluators.mtg_rules import load_rules

    return MtgDomain(load_rules(sources["rules"]), load_ipg(sources["ipg"]) if sources.get("ipg") else None)


def _docs(sources: dict[str, str]) -> Domain:
    import logging

    from agents.domains.docs import DocsDomain
    from evaluators.docs_corpus import load_docs

    corpus = load_docs(Path(sources["docs"]), sources.get("docs_title", ""))
    for problem in corpus.problems:  # the other files still load
        logging.getLogger("domainforge").warning("skipped %s", problem)
    return DocsDomain(corpus)


def _chat(sources: dict[str, str]) -> Domain:
    from agents.domains.chat import ChatDomain, ChatRubric, load_bank, load_conversations
    from agents.teachers import grader
    from evaluators.chat import open_budget

    bank = load_bank(Path(sources["bank"]))
    conversations = load_conversations(Path(sources["conversations"]))
    budget = open_budget(sources["tokenizer"])
    grade = grader(sources["grader"], ChatRubric) if sources.get("grader") else None
    return ChatDomain(bank, conversations, budget, open_sandbox_for(sources), sources.get("system_prompt"), grade)


def _config(sources: dict[str, str]) -> Domain:
    from agents.domains.config import load_config_domain

    return load_config_domain(Path(sources["domain_config"]), sources["sandbox"])


DOMAINS: dict[str, DomainEntry] = {
    "cypher": DomainEntry(
        "natural-language questions and the Cypher that answers them, checked against a graph database",
        (Source("graph", "a Cypher script to load into the embedded kglite engine, or a bolt:// / neo4j:// URI of a "
                         "Neo4j-compatible server (default: our demo graph, data/cypher/bookstore.cypher)", kind="text",
                 default=str(DATA / "cypher" / "bookstore.cypher")),),
        _cypher),
    "coding": DomainEntry(
        "write, fix, explain and test a Python repository's functions, run in the sandbox",
        (REPO, SANDBOX),
        _coding),
    "repo": DomainEntry(
        "a model that knows one Go or Python repository, checked against its code and tests",
        (REPO, SANDBOX),
        _repo, example={"repo": str(DATA / "repo" / "inventory")}),
    "mtg": DomainEntry(
        "Magic: The Gathering judge rulings, checked against the Comprehensive Rules they cite",
        (Source("rules", "the Comprehensive Rules plain text, as Wizards publishes it (default: $MTG_CR_PATH, else "
                         "our small fixture)", env="MTG_CR_PATH", default=str(DATA / "mtg" / "rules_fixture.txt")),
         Source("ipg", "the Infraction Procedure Guide saved as text (pdftotext IPG.pdf ipg.txt; default: "
                       "$MTG_IPG_PATH); adds the tournament category", env="MTG_IPG_PATH")),
        _mtg, commands="evaluators.mtg_cli:app", example={"ipg": str(DATA / "mtg" / "ipg_fixture.txt")}),
    "docs": DomainEntry(
        "questions about your documentation, answered with citations and quotes checked against the text",
        (Source("docs", "a documentation folder or file: Markdown, reStructuredText, HTML or PDF (default: data/docs, "
                        "our example docs)", default=str(DATA / "docs")),
         Source("docs_title", "the name of what the docs document, used in questions and the system prompt (default: "
                              "MkDocs' site_name or Sphinx's project, else the first page's title, else the package's "
                              "or the folder's name)", kind="text")),
        _docs),
    "chat": DomainEntry(
        "a helpful multi-turn assistant under your system prompt, from real and synthesised conversations",
        (Source("conversations", "conversations to learn from, one {\"messages\": [...]} per line: what `loop.py chat "
                                 "import` writes to WORKSPACE/imports/ (default: data/chat/conversations.jsonl, ours)",
                default=str(DATA / "chat" / "conversations.jsonl")),
         Source("bank", "the offline teacher's bank: topics with runnable answers, personas, out-of-scope requests and "
                        "the system prompt (default: data/chat/bank.yaml, Python how-tos)",
                default=str(DATA / "chat" / "bank.yaml")),
         Source("system_prompt", "the assistant's system prompt (default: the bank's)", kind="text"),
         TOKENIZER,
         SANDBOX,
         Source("grader", "an LLM that scores held-out answers against the reference with the rubric: "
                          "openai:<model>@<base_url> or llamacpp:<path.gguf> (default: offline scoring)", kind="text")),
        _chat, commands="evaluators.chat_cli:app"),
    "config": DomainEntry(
        "your own domain, defined in a YAML file (see the README: Define your own domain)",
        (Source("domain_config", "a YAML file that defines your own domain: categories, seed examples, templates, "
                                 "checks and scoring", required=True), SANDBOX),
        _config, example={"domain_config": str(DATA / "domains" / "bookshop_sql" / "bookshop_sql.yaml")}),
}
DEFAULT_DOMAIN = "cypher"


def all_sources() -> dict[str, tuple[Source, list[str]]]:
    """Every declared source by name, with the domains that read it. A source
    two domains share must be the same declaration."""
    found: dict[str, tuple[Source, list[str]]] = {}
    for name, entry in DOMAINS.items():
        for source in entry.sources:
            if source.name in found and found[source.name][0] != source:
                raise RuntimeError(f"source {source.name!r} is declared differently by {found[source.name][1]} and {name}")
            found.setdefault(source.name, (source, []))[1].append(name)
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
    return DOMAINS[name].open(sources)
