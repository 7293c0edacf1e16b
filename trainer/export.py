"""Export a trained student for llama.cpp / NornicDB.

merge LoRA into the base (peft) -> convert to GGUF with llama.cpp's own
convert_hf_to_gguf.py -> quantize with llama.cpp -> load the result with
llama_cpp.Llama and generate once, so a broken file never leaves here.
"""

from __future__ import annotations

import ctypes
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from forge.errors import InputError
from trainer import quiet_hub_progress
from trainer.gguf import convert_to_gguf

QUANTS = ("f16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_0")


@dataclass(frozen=True)
class ExportResult:
    gguf: Path
    size_mib: float
    smoke_prompt: str
    smoke_output: str


def merge_student(student_dir: str | Path, out_dir: str | Path) -> Path:
    """A full model directory: the student itself, or base + LoRA merged."""
    student, out = Path(student_dir), Path(out_dir)
    if not (student / "adapter_config.json").is_file():
        return student
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoTokenizer

    quiet_hub_progress()
    model = AutoPeftModelForCausalLM.from_pretrained(student)
    model.merge_and_unload().save_pretrained(out)
    AutoTokenizer.from_pretrained(student).save_pretrained(out)
    if (student / "tokenizer.model").is_file():  # the GGUF converter reads SentencePiece vocabularies from here
        shutil.copy(student / "tokenizer.model", out / "tokenizer.model")
    return out


def quantize(f16_gguf: Path, out: Path, quant: str) -> Path:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{quant.upper()}")
    status = llama_cpp.llama_model_quantize(str(f16_gguf).encode(), str(out).encode(), ctypes.byref(params))
    if status != 0 or not out.is_file():
        raise RuntimeError(f"llama.cpp could not quantize {f16_gguf} to {quant} (status {status})")
    return out


def smoke_test(gguf: Path, prompt: str) -> str:
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf), n_ctx=0, verbose=False)
    out = llm.create_chat_completion(messages=[{"role": "user", "content": prompt}], max_tokens=32, temperature=0.0)
    return out["choices"][0]["message"]["content"] or ""


def export_gguf(student_dir: str | Path, out_path: str | Path, quant: str = "q4_k_m",
                smoke_prompt: str = "Say hello.") -> ExportResult:
    if quant not in QUANTS:
        raise InputError(f"unknown quantization {quant!r}: choose one of {', '.join(QUANTS)}")
    student = Path(student_dir)
    if not (student / "config.json").is_file() and not (student / "adapter_config.json").is_file():
        raise InputError(f"{student} holds no trained student (no config.json or adapter_config.json). "
                         "Run `python loop.py run ...` first.")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        merged = merge_student(student, Path(tmp) / "merged")
        f16 = convert_to_gguf(merged, Path(tmp) / "model-f16.gguf", outtype="f16")
        partial = Path(tmp) / out.name
        if quant == "f16":
            shutil.move(f16, partial)
        else:
            quantize(f16, partial, quant)
        output = smoke_test(partial, smoke_prompt)
        partial.replace(out)  # only a file that loaded and generated reaches its final name
    return ExportResult(out, out.stat().st_size / 2**20, smoke_prompt, output)
