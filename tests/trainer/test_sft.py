"""Real training of the tiny student on CPU: the loss falls, the weights move,
and a second call resumes from the last checkpoint instead of starting over."""

import json

import pytest
import torch

from trainer.presets import load_preset
from trainer.sft import train_student

pytestmark = pytest.mark.slow


def test_training_moves_weights_lowers_loss_and_resumes(tiny_model, demo_rows, tmp_path):
    from transformers import AutoModelForCausalLM

    before = AutoModelForCausalLM.from_pretrained(tiny_model).state_dict()
    preset = load_preset("tiny")
    result = train_student(preset, tiny_model, demo_rows[:100], demo_rows[100:], tmp_path / "round", epochs=3)
    assert result.train_loss < result.first_loss and result.eval_loss is not None
    after = AutoModelForCausalLM.from_pretrained(result.model_dir).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert json.loads((tmp_path / "round" / "train_result.json").read_text())["steps"] == result.steps

    again = train_student(preset, tiny_model, demo_rows[:100], demo_rows[100:], tmp_path / "round", epochs=3)
    assert again.resumed_from and again.resumed_from.endswith(f"checkpoint-{result.steps}")
    assert again.steps == result.steps  # nothing left to train


def test_lora_trains_only_adapters(tiny_model, demo_rows, tmp_path):
    from dataclasses import replace

    preset = replace(load_preset("tiny"), method="lora", lora_r=4, lora_alpha=8, learning_rate=1e-3,
                     target_modules=("q_proj", "v_proj"))
    result = train_student(preset, tiny_model, demo_rows[:40], [], tmp_path / "lora", epochs=1)
    assert (tmp_path / "lora" / "student" / "adapter_config.json").is_file()
    assert result.steps > 0

    from trainer.export import export_gguf

    exported = export_gguf(result.model_dir, tmp_path / "lora.gguf", quant="q8_0")  # merge, convert, quantize, load
    assert exported.gguf.stat().st_size > 0 and isinstance(exported.smoke_output, str)


def test_qlora_without_cuda_is_a_clear_error(tiny_model, demo_rows, tmp_path):
    from dataclasses import replace

    from forge.errors import InputError

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: QLoRA is allowed here")
    with pytest.raises(InputError, match="QLoRA, which needs a CUDA GPU"):
        train_student(replace(load_preset("tiny"), method="qlora"), tiny_model, demo_rows[:4], [], tmp_path / "q")
