"""The shipped model, named in one place and fetched by setup into the cache."""

import hashlib

import pytest

from agents.teachers import parse_teacher_spec
from forge.errors import InputError
from forge import models


def test_setup_put_the_pinned_file_in_the_cache():
    path = models.gguf_path("smollm2")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == models.SHIPPED["smollm2"].sha256 and path.parent == models.CACHE


def test_a_short_teacher_name_resolves_to_the_shipped_file():
    spec = parse_teacher_spec("llamacpp:smollm2")
    assert spec.kind == "llamacpp" and spec.model == str(models.gguf_path("smollm2"))


def test_a_missing_model_says_how_to_fetch_it(monkeypatch, tmp_path):
    monkeypatch.setattr(models, "CACHE", tmp_path)
    with pytest.raises(InputError, match="python -m forge.models fetch smollm2"):
        models.gguf_path("smollm2")
    with pytest.raises(InputError, match="no shipped model named 'gpt5': choose one of smollm2"):
        models.gguf_path("gpt5")
