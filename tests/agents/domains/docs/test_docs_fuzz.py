"""Property-based: any small documentation folder a user brings (Markdown,
reST and HTML pages, empty, binary and Latin-1 files, deep and duplicate
headings, big tables) either opens, naming the files it skips, or is refused
with a clear message; and every slot of a run on it ends accepted, or
rejected with a reason that is not a crash of ours. Open and closed book."""

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from agents.domains.docs.corpus import load_docs
from agents.domains.docs.generate import DocsDomain
from forge.errors import InputError
from tests.strategies import crashes, docs_folders, examples, template_run, write_tree


@pytest.mark.slow
@settings(max_examples=examples(40), deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files=docs_folders(), context=st.sampled_from(["retrieved", "none"]))
def test_any_small_docs_folder_generates_or_is_refused_up_front(files, context, tmp_path_factory):
    folder = write_tree(tmp_path_factory.mktemp("docs"), files)
    try:
        domain = DocsDomain(load_docs(folder), context=context, context_chars=800)
    except InputError as exc:
        event("refused up front")
        assert str(exc)
        return
    summary = template_run(domain, "docs", {"docs": str(folder), "context": context},
                           tmp_path_factory.mktemp("ws") / "examples.sqlite", 2 * len(domain.categories))
    event(f"{len(domain.categories)} categories")
    assert not crashes(summary), (crashes(summary), {name: data[:300] for name, data in files.items()})
    items = domain.heldout_items() or []
    for item in items:  # the held-out items score their own reference as right
        assert domain.score_answer(item, item.payload["output"]).passed or item.metadata.get("context") is not None
