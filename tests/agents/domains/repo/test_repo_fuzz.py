"""Property-based: any small Go or Python repository a user brings (with or
without tests, with a file that does not parse, a generated file, a Latin-1
file, doctests of every kind) either opens, naming the categories it cannot
feed, or is refused with a message; every slot of a run on it ends accepted,
or rejected with a reason that is not a crash. Open and closed book, with
the real sandbox."""

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from agents.domains import domain_choice, load_domain
from forge.errors import InputError
from tests.strategies import crashes, examples, go_packages, python_packages, template_run, write_tree



@pytest.mark.slow
@settings(max_examples=examples(12), deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=st.one_of(python_packages(), go_packages()), context=st.sampled_from(["retrieved", "none"]))
def test_any_small_repository_generates_or_is_refused_up_front(files, context, tmp_path_factory, docker_sandbox):
    folder = write_tree(tmp_path_factory.mktemp("repo"), files)
    sources = {"repo": str(folder), "context": context, "sandbox": "docker"}
    try:
        domain = load_domain(*domain_choice("repo", sources))
    except InputError as exc:
        event("refused up front")
        assert str(exc)
        return
    try:
        summary = template_run(domain, "repo", sources, tmp_path_factory.mktemp("ws") / "examples.sqlite",
                               len(domain.categories))
    finally:
        domain.close()
    event(f"{len(domain.categories)} categories")
    event(f"accepted {summary['accepted']} of {len(domain.categories)}")
    for reason in summary["rejected_by_reason"]:
        event(reason)
    assert not crashes(summary), (crashes(summary), files)
