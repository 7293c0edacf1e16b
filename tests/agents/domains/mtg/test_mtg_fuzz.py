"""Property-based: any rules document in the Comprehensive Rules layout (a
random share of the rules, added rules and keyword sections, any line
ending, no glossary), with or without a guide, either opens, naming the
categories it cannot feed, or is refused with a message; every slot of a
run on it ends accepted, or rejected with a reason that is not a crash."""

from hypothesis import HealthCheck, event, given, settings, strategies as st

from agents.domains import domain_choice, load_domain
from forge.errors import InputError
from tests.strategies import crashes, examples, ipg_documents, rules_documents, template_run


@settings(max_examples=examples(40), deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rules=rules_documents(), ipg=st.one_of(st.none(), ipg_documents()))
def test_any_rules_document_generates_or_is_refused_up_front(rules, ipg, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mtg")
    (folder / "rules.txt").write_bytes(rules)
    sources = {"rules": str(folder / "rules.txt")}
    if ipg is not None:
        (folder / "ipg.txt").write_bytes(ipg)
        sources["ipg"] = str(folder / "ipg.txt")
    try:
        domain = load_domain(*domain_choice("mtg", sources))
    except InputError as exc:
        event("refused up front")
        event(str(exc).split(": ", 1)[-1][:70])
        assert str(exc)
        return
    summary = template_run(domain, "mtg", sources, folder / "examples.sqlite", 2 * len(domain.categories))
    event(f"{len(domain.categories)} categories")
    assert not crashes(summary), crashes(summary)
