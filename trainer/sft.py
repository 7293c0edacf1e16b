"""Supervised fine-tuning of the student: LoRA, QLoRA or full, with transformers + peft.

setup (model, tokenizer, rows -> ids) -> train (resuming from the last
checkpoint in out_dir if one exists) -> save (out_dir/student).

- loss only on assistant tokens (trainer/formatting.py);
- dynamic padding, and length-grouped batches so rows of similar length share one;
- a validation split evaluated each epoch;
- CPU, CUDA with bf16 (or fp16 where bf16 is unsupported), QLoRA (4-bit) on CUDA.

Raises InputError for a QLoRA preset without CUDA and for data with no
trainable row.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from forge.errors import InputError
from trainer import quiet_hub_progress
from trainer.formatting import IGNORE, DynamicPaddingCollator, tokenize_row
from trainer.presets import Preset


@dataclass(frozen=True)
class TrainResult:
    model_dir: str
    steps: int
    first_loss: float | None
    train_loss: float | None
    eval_loss: float | None
    resumed_from: str | None
    train_tokens: int
    tokens_per_s: float
    rows: int
    dropped_rows: int
    seconds: float = 0.0
    """Wall time of this training (its last run, when it resumed)."""
    losses: tuple[float, ...] = ()
    """The training loss at each logging step (about 20 over the run)."""


def load_model(preset: Preset, base: str | Path, init_from: str | Path | None):
    """The model to train: base weights, with LoRA adapters (fresh or from init_from) unless full."""
    import torch
    from transformers import AutoModelForCausalLM

    cuda = torch.cuda.is_available()
    if preset.method == "qlora" and not cuda:
        raise InputError(f"preset {preset.name!r} uses QLoRA, which needs a CUDA GPU. Use a LoRA preset "
                         "(e.g. --student qwen_0_5b) on this machine.")
    dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda else torch.float32
    kwargs: dict[str, Any] = {"dtype": dtype}
    if preset.method == "qlora":
        from importlib.util import find_spec

        from transformers import BitsAndBytesConfig

        if find_spec("bitsandbytes") is None:
            raise InputError(f"preset {preset.name!r} uses QLoRA, which needs bitsandbytes: pip install -e '.[gpu]'")

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype)
    if preset.method == "full":
        return AutoModelForCausalLM.from_pretrained(init_from or base, **kwargs)
    from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training

    model = AutoModelForCausalLM.from_pretrained(base, **kwargs)
    if preset.method == "qlora":
        model = prepare_model_for_kbit_training(model, gradient_checkpointing_kwargs={"use_reentrant": False})
    if init_from:
        return PeftModel.from_pretrained(model, init_from, is_trainable=True)
    config = LoraConfig(r=preset.lora_r, lora_alpha=preset.lora_alpha, lora_dropout=preset.lora_dropout,
                        target_modules=list(preset.target_modules), task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def tokenize_rows(rows: list[dict[str, Any]], tokenizer, max_len: int) -> tuple[list[dict[str, list[int]]], int]:
    encoded = [tokenize_row(row, tokenizer, max_len) for row in rows]
    kept = [e for e in encoded if e is not None]
    return kept, len(encoded) - len(kept)


def last_checkpoint(out_dir: str | Path) -> str | None:
    """The checkpoint a killed training in out_dir resumes from, if there is one."""
    from transformers.trainer_utils import get_last_checkpoint

    checkpoints = Path(out_dir) / "checkpoints"
    return get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None


def train_student(preset: Preset, base: str | Path, train_rows: list[dict[str, Any]], val_rows: list[dict[str, Any]],
                  out_dir: str | Path, *, init_from: str | Path | None = None, epochs: float | None = None,
                  seed: int = 0, save_every_steps: int | None = None,
                  on_progress: Callable[[int, int], None] = lambda step, steps: None) -> TrainResult | None:
    """Train (or resume training) a student on rows; on_progress(step, steps) after each optimiser step.
    Under torchrun, the processes after the first return None: the first writes the student and the result."""
    import datasets
    import torch
    from transformers import AutoTokenizer, PrinterCallback, Trainer, TrainerCallback, TrainingArguments

    quiet_hub_progress()
    out = Path(out_dir)
    checkpoints = out / "checkpoints"
    tokenizer = AutoTokenizer.from_pretrained(init_from or base)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    train_ids, dropped = tokenize_rows(train_rows, tokenizer, preset.max_seq_len)
    val_ids, _ = tokenize_rows(val_rows, tokenizer, preset.max_seq_len)
    if not train_ids:
        raise InputError("no training row has an assistant token within max_seq_len; check the data and the preset")
    model = load_model(preset, base, init_from)

    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    epochs = epochs or preset.epochs
    # Under torchrun (trainer/distributed.py) each batch is split over the processes (split_batches), so every
    # step sees the same rows as with one process, and the loss curve is the same.
    processes = int(os.environ.get("WORLD_SIZE", "1"))
    if preset.batch_size % processes:
        raise InputError(f"preset {preset.name!r}: its batch size {preset.batch_size} does not split over "
                         f"{processes} training processes; choose --train-procs dividing it")
    sharded = processes > 1 and cuda and preset.method == "full"  # FSDP; DDP otherwise (FSDP needs GPUs)
    steps_per_epoch = math.ceil(len(train_ids) / (preset.batch_size * preset.grad_accum))
    total_steps = max(1, math.ceil(steps_per_epoch * epochs))
    args = TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=epochs,
        per_device_train_batch_size=preset.batch_size,
        per_device_eval_batch_size=preset.batch_size,
        gradient_accumulation_steps=preset.grad_accum,
        learning_rate=preset.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=max(1, int(total_steps * preset.warmup_ratio)),
        logging_steps=max(1, total_steps // 20),
        eval_strategy="epoch" if val_ids else "no",
        save_strategy="steps",
        save_steps=save_every_steps or max(1, total_steps // 4),
        save_total_limit=2,
        train_sampling_strategy="group_by_length",
        bf16=bf16,
        fp16=cuda and not bf16,
        use_cpu=not cuda,
        report_to=[],
        remove_unused_columns=False,
        dataloader_num_workers=0,
        seed=seed,
        disable_tqdm=True,
        fsdp="full_shard auto_wrap" if sharded else "",
        ddp_find_unused_parameters=False if processes > 1 else None,
        accelerator_config={"split_batches": True} if processes > 1 else None,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=datasets.Dataset.from_list(train_ids),
        eval_dataset=datasets.Dataset.from_list(val_ids) if val_ids else None,
        data_collator=DynamicPaddingCollator(tokenizer.pad_token_id),
    )
    resume = last_checkpoint(out)
    trainer.remove_callback(PrinterCallback)  # progress is ours to show; raw log dicts are noise

    class Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            on_progress(state.global_step, state.max_steps)

    trainer.add_callback(Progress())
    output = trainer.train(resume_from_checkpoint=resume)

    student = out / "student"
    trainer.save_model(str(student))  # every process takes part (FSDP gathers the shards); the first writes
    if not trainer.is_world_process_zero():
        return None
    history = trainer.state.log_history
    losses = [h["loss"] for h in history if "loss" in h]
    evals = [h["eval_loss"] for h in history if "eval_loss" in h]
    train_tokens = sum(sum(1 for label in row["labels"] if label != IGNORE) for row in train_ids)
    runtime = output.metrics.get("train_runtime") or float("nan")
    result = TrainResult(
        model_dir=str(student), steps=trainer.state.global_step, first_loss=losses[0] if losses else None,
        train_loss=output.metrics.get("train_loss"), eval_loss=evals[-1] if evals else None,
        resumed_from=resume, train_tokens=train_tokens, tokens_per_s=train_tokens * epochs / runtime,
        rows=len(train_ids), dropped_rows=dropped, seconds=runtime, losses=tuple(losses))
    tokenizer.save_pretrained(str(student))
    (out / "train_result.json").write_text(json.dumps(asdict(result), indent=2))
    return result
