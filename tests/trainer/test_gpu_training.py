"""The CUDA training paths: LoRA in bf16 and QLoRA on a 4-bit base, with the
real presets' settings on a small locally built model (no hub). They need a
CUDA GPU, which CI does not have: run them on a GPU machine with
`pytest -m gpu tests/trainer/test_gpu_training.py`."""

from dataclasses import replace

import pytest
import torch

from evaluators.curation import load_rows, row_text
from trainer.presets import load_preset
from trainer.sft import load_model, train_student
from trainer.tiny import build_tiny_model
from tests.conftest import REPO

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.fixture(scope="module")
def rows():
    return load_rows(REPO / "data" / "general" / "english.jsonl")


@pytest.fixture(scope="module")
def base(tmp_path_factory, rows):
    return build_tiny_model(tmp_path_factory.mktemp("gpu") / "base", [row_text(r) for r in rows], vocab_size=1024,
                            hidden_size=256, layers=4, heads=4, max_positions=512)


def _trained(preset, base, rows, out):
    result = train_student(preset, base, rows[:40], rows[40:], out, epochs=8)
    assert result.steps > 0 and result.train_loss < result.first_loss, result
    assert (out / "student" / "adapter_config.json").is_file()
    return result


def test_lora_preset_trains_in_bf16_on_cuda(base, rows, tmp_path):
    preset = replace(load_preset("qwen_0_5b", str(base)), max_seq_len=256, batch_size=8, grad_accum=1,
                     learning_rate=1e-3, target_modules=("q_proj", "k_proj", "v_proj", "o_proj"))
    model = load_model(preset, base, None)
    weights = next(p for n, p in model.named_parameters() if "lora" not in n)
    assert weights.dtype == torch.bfloat16 and torch.cuda.is_bf16_supported()
    result = _trained(preset, base, rows, tmp_path / "lora")
    print(f"LoRA bf16: {result.steps} steps, loss {result.first_loss:.3f} -> {result.train_loss:.3f}, "
          f"{result.tokens_per_s:.0f} tokens/s")


def test_qlora_preset_trains_adapters_on_a_4bit_base(base, rows, tmp_path):
    preset = replace(load_preset("phi3_mini", str(base)), max_seq_len=256, batch_size=8, grad_accum=1,
                     learning_rate=1e-3, target_modules=("q_proj", "k_proj", "v_proj", "o_proj"))
    model = load_model(preset, base, None)
    quantized = [m for m in model.modules() if type(m).__name__ == "Linear4bit"]
    assert quantized and all(m.weight.dtype == torch.uint8 for m in quantized)
    result = _trained(preset, base, rows, tmp_path / "qlora")
    print(f"QLoRA 4-bit: {len(quantized)} 4-bit layers, {result.steps} steps, "
          f"loss {result.first_loss:.3f} -> {result.train_loss:.3f}, {result.tokens_per_s:.0f} tokens/s")
