"""The registry: sources declared once, domains chosen and their inputs
resolved the same way for every command."""

import pytest

from agents.domains import DEFAULT_DOMAIN, DOMAINS, all_sources, choose_domain, resolve_sources
from forge.errors import InputError


def test_a_shared_source_is_one_declaration():
    sources = all_sources()
    assert sources["sandbox"][1] == ["coding", "repo", "chat", "config"]
    assert sources["repo"][1] == ["coding", "repo"]
    assert all(s.option.startswith("--") and s.help for s, _ in sources.values())


def test_the_domain_is_named_implied_by_its_required_source_or_the_default():
    assert choose_domain("mtg", {}) == "mtg"
    assert choose_domain(None, {"domain_config": "x.yaml"}) == "config"
    assert choose_domain(None, {"graph": "g.cypher"}) == DEFAULT_DOMAIN
    with pytest.raises(InputError, match="unknown domain 'astrology': choose one of cypher, coding, repo, mtg, docs, chat, config"):
        choose_domain("astrology", {})


def test_sources_resolve_from_the_option_the_environment_then_the_default(monkeypatch, tmp_path):
    monkeypatch.delenv("MTG_IPG_PATH", raising=False)
    monkeypatch.setenv("MTG_CR_PATH", str(tmp_path / "cr.txt"))
    resolved = resolve_sources("mtg", {"rules": None, "ipg": None})
    assert resolved == {"rules": str(tmp_path / "cr.txt")}  # no ipg: the optional source is left out
    assert resolve_sources("mtg", {"rules": "given.txt"})["rules"].endswith("/given.txt")
    assert resolve_sources("coding", {})["sandbox"] == "docker"


def test_missing_required_wrong_choice_and_foreign_options_say_what_to_do():
    with pytest.raises(InputError, match="domain config needs --domain-config: .* Pass --domain-config with a path"):
        resolve_sources("config", {})
    with pytest.raises(InputError, match="--sandbox 'podman' is not valid: choose one of docker, bwrap"):
        resolve_sources("coding", {"sandbox": "podman"})
    with pytest.raises(InputError, match="--rules is an option of mtg, not of cypher. Domain cypher reads: --graph"):
        resolve_sources("cypher", {"rules": "cr.txt"})


def test_sandbox_choice_stays_out_of_run_ids():
    from agents.generation import GenerationConfig

    def config(sandbox):
        return GenerationConfig(domain="coding", sources={"repo": "/r", "sandbox": sandbox}, teacher="template",
                                critic="template", count=5)

    assert config("docker").run_id == config("bwrap").run_id
    assert DOMAINS["coding"].sources[-1].identity is False
