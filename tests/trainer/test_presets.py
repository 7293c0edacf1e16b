from dataclasses import replace

import pytest

from forge.errors import InputError
from trainer.presets import PRESETS, Preset, estimate_memory_gib, load_preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_shipped_preset_loads_and_has_an_estimate(name):
    preset = load_preset(name)
    estimate = estimate_memory_gib(preset)
    assert estimate["total"] > 0 and estimate["weights"] > 0
    assert preset.method in ("lora", "qlora", "full")


def test_qlora_needs_less_weight_memory_than_lora():
    phi = load_preset("phi3_mini")
    assert estimate_memory_gib(phi)["weights"] < estimate_memory_gib(replace(phi, method="lora"))["weights"]


def test_local_weights_override_the_hub_id(monkeypatch, tmp_path):
    monkeypatch.setenv("DOMAINFORGE_MODEL_QWEN_0_5B", str(tmp_path))
    assert load_preset("qwen_0_5b").model == str(tmp_path)
    assert load_preset("qwen_0_5b", "/elsewhere").model == "/elsewhere"


def test_bad_presets_report_every_problem_at_once():
    with pytest.raises(InputError, match="method 'dora'.*lora_r must be >= 1.*learning_rate"):
        Preset("bad", "m", 1.0, 8, 1, method="dora", lora_r=0, learning_rate=3.0)
    with pytest.raises(InputError, match="unknown student preset 'llama70b'"):
        load_preset("llama70b")
