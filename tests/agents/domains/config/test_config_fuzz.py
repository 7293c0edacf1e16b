"""Property-based: any valid YAML domain (variables of each kind, from
values, a range, a CSV column or a whole CSV row with odd cells, and
templates that use them) generates, every slot accepted or rejected with a
reason that is not a crash of ours, or is refused up front with a message."""

import asyncio

import yaml
from hypothesis import HealthCheck, event, given, settings

from agents.domains import domain_choice, load_domain
from agents.generation import GenerationConfig, run_generation
from agents.teachers.template import TemplateTeacher
from forge.errors import InputError
from forge.sqlite_store import SQLiteStore
from tests.strategies import config_domains, examples

CRASHES = {"generator_error", "verifier_error", "critic_error"}


@settings(max_examples=examples(30), deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(domain=config_domains())
def test_any_valid_yaml_domain_generates_or_is_refused_up_front(domain, tmp_path_factory):
    folder = tmp_path_factory.mktemp("domain")
    for name, text in domain["files"].items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "domain.yaml").write_text(yaml.safe_dump(domain["yaml"], allow_unicode=True), encoding="utf-8")
    try:
        opened = load_domain(*domain_choice("config", {"domain_config": str(folder / "domain.yaml")}))
    except InputError as exc:
        event("refused up front")
        assert str(exc)
        return
    store = SQLiteStore(folder / "examples.sqlite")
    config = GenerationConfig(domain="config", sources={"domain_config": str(folder / "domain.yaml")}, teacher="template",
                              critic="template", count=12, max_attempts=1)
    teacher = TemplateTeacher(opened)
    asyncio.run(run_generation(opened, teacher, teacher, store, config))
    summary = store.summary(config.run_id)
    assert summary["accepted"] + summary["rejected"] == config.count
    event(f"accepted {min(summary['accepted'], 12) // 4 * 4}+")
    crashed = {r: n for r, n in summary["rejected_by_reason"].items() if r in CRASHES}
    assert not crashed, (crashed, domain)
    store.close()
    opened.close()
