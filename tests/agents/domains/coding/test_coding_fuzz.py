"""Property-based: any small Python repository a user brings (doctests of
every kind users write, some not Python or not runnable, methods, callers,
async functions, a file that does not parse, a generated or Latin-1 file)
either opens or is refused with a message; every slot of a run on it ends
accepted, or rejected with a reason that is not a crash. Real sandbox."""

import pytest
from hypothesis import HealthCheck, event, given, settings

from agents.domains import domain_choice, load_domain
from forge.errors import InputError
from tests.strategies import crashes, examples, python_packages, template_run, write_tree



@pytest.mark.slow
@settings(max_examples=examples(12), deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=python_packages())
def test_any_small_python_repository_generates_or_is_refused_up_front(files, tmp_path_factory, docker_sandbox):
    folder = write_tree(tmp_path_factory.mktemp("repo"), files)
    sources = {"repo": str(folder), "sandbox": "docker"}
    try:
        domain = load_domain(*domain_choice("coding", sources))
    except InputError as exc:
        event("refused up front")
        assert str(exc)
        return
    try:
        summary = template_run(domain, "coding", sources, tmp_path_factory.mktemp("ws") / "examples.sqlite",
                               2 * len(domain.categories))
    finally:
        domain.close()
    event(f"accepted {summary['accepted']} of {2 * len(domain.categories)}")
    for reason in summary["rejected_by_reason"]:
        event(reason)
    assert not crashes(summary), (crashes(summary), files)
