"""Property-based: any valid YAML domain (variables of each kind, from
values, a range, a CSV column or a whole CSV row with odd cells, and
templates that use them) generates, every slot accepted or rejected with a
reason that is not a crash of ours, or is refused up front with a message."""

import yaml
import pytest
from hypothesis import HealthCheck, event, given, settings

from agents.domains import domain_choice, load_domain
from forge.errors import InputError
from tests.strategies import config_domains, crashes, examples, template_run


@pytest.mark.slow
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
    summary = template_run(opened, "config", {"domain_config": str(folder / "domain.yaml")},
                           folder / "examples.sqlite", 12)
    event(f"accepted {min(summary['accepted'], 12) // 4 * 4}+")
    assert not crashes(summary), (crashes(summary), domain)
    opened.close()
