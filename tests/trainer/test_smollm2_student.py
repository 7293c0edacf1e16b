"""The real pretrained student: SmolLM2-135M from the shipped GGUF, trained
with LoRA (its chat template kept), exported back to GGUF, loaded by
llama.cpp, and scored through the `eval` command both ways."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.slow

HANDWRITTEN = REPO / "data" / "cypher" / "eval_handwritten.jsonl"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, demo_rows):
    from trainer.presets import load_preset
    from trainer.sft import train_student

    preset = load_preset("smollm2_135m")
    out = tmp_path_factory.mktemp("smollm2")
    result = train_student(preset, preset.model, demo_rows[:32], demo_rows[32:40], out, epochs=2)
    return preset, result


def test_the_shipped_model_is_a_real_pretrained_llama(tmp_path):
    from transformers import AutoConfig, AutoTokenizer

    from forge.models import gguf_path, hf_dir

    assert gguf_path("smollm2").stat().st_size == 98_362_432
    config = AutoConfig.from_pretrained(hf_dir("smollm2"))
    assert config.model_type == "llama" and config.hidden_size == 576 and config.num_hidden_layers == 30
    template = AutoTokenizer.from_pretrained(hf_dir("smollm2")).chat_template
    assert "<|im_start|>" in template  # SmolLM2's own chat template, kept


def test_a_few_lora_steps_lower_the_loss_and_train_only_the_adapters(trained):
    from transformers import AutoTokenizer

    preset, result = trained
    assert result.steps >= 8 and result.train_loss < result.first_loss, result
    student = Path(result.model_dir)
    assert (student / "adapter_config.json").is_file() and not (student / "model.safetensors").exists()
    assert "<|im_start|>" in AutoTokenizer.from_pretrained(student).chat_template


def test_the_student_exports_to_gguf_that_llama_cpp_loads_and_answers(trained, tmp_path):
    from trainer.export import export_gguf

    _, result = trained
    exported = export_gguf(result.model_dir, tmp_path / "smollm2-student.gguf", "q8_0")
    assert exported.size_mib > 50 and exported.smoke_output.strip()

    for model in (["--student-dir", result.model_dir], ["--gguf", str(exported.gguf)]):
        scored = run_cli("eval", "--eval", str(HANDWRITTEN), *model, "--limit", "6")
        assert scored.returncode == 0, scored.stderr[-2000:]
        assert "execution accuracy" in scored.stdout and "│ all " in scored.stdout


def test_eval_scores_the_base_model_per_category():
    result = run_cli("eval", "--eval", str(HANDWRITTEN), "--student", "smollm2_135m", "--limit", "16")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "basic_match" in result.stdout and "property_filter" in result.stdout and "│ all " in result.stdout


def test_eval_runs_published_coding_tasks_in_the_sandbox():
    for fixture in ("humaneval_format.jsonl", "mbpp_format.jsonl"):
        result = run_cli("eval", "--domain", "coding", "--eval", str(REPO / "tests" / "fixtures" / fixture),
                         "--student", "smollm2_135m")
        assert result.returncode == 0, result.stderr[-2000:]
        assert "pass@1" in result.stdout and "│ generation " in result.stdout


def test_eval_refuses_bad_input_before_loading_a_model(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "How many books?"}\n')
    cases = [(["--eval", str(bad), "--student", "smollm2_135m"], f"{bad}:1: cypher: this field is required"),
             (["--eval", str(HANDWRITTEN)], "give exactly one model to score"),
             (["--eval", str(HANDWRITTEN), "--student", "tiny"], "tiny has no base weights"),
             (["--eval", str(HANDWRITTEN), "--gguf", str(tmp_path / "none.gguf")], "is not a file")]
    for args, message in cases:
        result = run_cli("eval", *args)
        assert result.returncode == 2 and message in result.stderr, result.stderr
