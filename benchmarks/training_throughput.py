"""Training throughput, measured in one run on the same data.

Ours: `trainer.sft.train_student` (dynamic padding, length-grouped batches).
Baseline: the same model, Trainer and hyper-parameters, but every row padded
to max_seq_len, as the seed's original trainer did. Both count real (non-pad)
tokens per second of training. Target: ours >= 2x the baseline.

The data mix is realistic for a domain run: short Cypher question/query rows,
general-English grounding rows, and a quarter of the Cypher rows carrying the
graph schema as their input (the long tail).

Then the real pretrained student: LoRA tokens/s of `smollm2_135m` (134.5M
parameters, de-quantised from the shipped GGUF) through the same path, on the
first --smollm2-rows rows (0 skips it).

    python benchmarks/training_throughput.py [--rows 480] [--epochs 1] [--smollm2-rows 96]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from forge.native import ensure_static_tls_room  # noqa: E402


def length_mix(rows: int, seed: int = 0) -> list[dict]:
    from agents.domains import Task
    from agents.domains.cypher.generate import CypherDomain
    from evaluators.curation import load_rows
    from agents.domains.cypher.graphdb import KgliteGraph
    from forge.export import example_row

    domain = CypherDomain(KgliteGraph(REPO / "data" / "cypher" / "bookstore.cypher"))
    rng = random.Random(seed)
    grounding = load_rows(REPO / "data" / "general" / "english.jsonl")
    mix = []
    for slot in range(rows):
        if slot % 5 == 4:
            mix.append(rng.choice(grounding))
            continue
        task = Task(slot, domain.categories[slot % len(domain.categories)], f"bench:{slot}")
        row = example_row(domain.to_example(task, domain.template_draft(task, 1)))
        if rng.random() < 0.25:
            row["input"] = domain.schema_text  # the long tail: the schema in the prompt
        mix.append(row)
    return mix


def baseline_train(preset, base: Path, rows: list[dict], epochs: float) -> tuple[int, float]:
    """The seed's approach: every row padded to max_seq_len."""
    import datasets
    import torch
    from transformers import AutoTokenizer, PrinterCallback, Trainer, TrainingArguments

    from trainer.formatting import IGNORE
    from trainer.sft import load_model, tokenize_rows

    tokenizer = AutoTokenizer.from_pretrained(base)
    encoded, _ = tokenize_rows(rows, tokenizer, preset.max_seq_len)

    def pad_to_max(batch):
        n = preset.max_seq_len
        ids = torch.full((len(batch), n), tokenizer.pad_token_id)
        labels = torch.full((len(batch), n), IGNORE)
        mask = torch.zeros((len(batch), n), dtype=torch.long)
        for i, row in enumerate(batch):
            k = len(row["input_ids"])
            ids[i, :k], labels[i, :k], mask[i, :k] = torch.tensor(row["input_ids"]), torch.tensor(row["labels"]), 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}

    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, num_train_epochs=epochs, per_device_train_batch_size=preset.batch_size,
                                 gradient_accumulation_steps=preset.grad_accum, learning_rate=preset.learning_rate,
                                 save_strategy="no", report_to=[], use_cpu=not torch.cuda.is_available(),
                                 remove_unused_columns=False, disable_tqdm=True, logging_strategy="no")
        trainer = Trainer(model=load_model(preset, base, None), args=args, data_collator=pad_to_max,
                          train_dataset=datasets.Dataset.from_list(encoded))
        trainer.remove_callback(PrinterCallback)
        started = time.perf_counter()
        trainer.train()
        elapsed = time.perf_counter() - started
    return sum(len(r["input_ids"]) for r in encoded), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=480)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--smollm2-rows", type=int, default=96)
    args = parser.parse_args()

    from transformers import AutoTokenizer

    from evaluators.curation import row_text
    from trainer import quiet_hub_progress
    from trainer.presets import load_preset
    from trainer.sft import tokenize_rows, train_student
    from trainer.tiny import build_tiny_model

    quiet_hub_progress()
    preset = replace(load_preset("tiny"), max_seq_len=512)
    rows = length_mix(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        base = build_tiny_model(Path(tmp) / "base", [row_text(r) for r in rows], **preset.tiny_shape)
        lengths = sorted(len(r["input_ids"]) for r in tokenize_rows(rows, AutoTokenizer.from_pretrained(base),
                                                                  preset.max_seq_len)[0])
        print(f"{len(lengths)} rows, tokens per row: median {lengths[len(lengths) // 2]}, "
              f"p90 {lengths[int(len(lengths) * 0.9)]}, max {lengths[-1]}; max_seq_len {preset.max_seq_len}")

        base_tokens, base_s = baseline_train(preset, base, rows, args.epochs)
        started = time.perf_counter()
        train_student(preset, base, rows, [], Path(tmp) / "ours", epochs=args.epochs, save_every_steps=10**9)
        ours_s = time.perf_counter() - started
    ours_rate, base_rate = base_tokens * args.epochs / ours_s, base_tokens * args.epochs / base_s
    print(f"baseline (pad every row to {preset.max_seq_len}): {base_rate:,.0f} tokens/s ({base_s:.1f}s)")
    print(f"ours (dynamic padding, length-grouped batches): {ours_rate:,.0f} tokens/s ({ours_s:.1f}s)")
    print(f"speed-up: {ours_rate / base_rate:.2f}x (target >= 2x)")
    if args.smollm2_rows:
        smollm2 = load_preset("smollm2_135m")
        subset = rows[:args.smollm2_rows]
        encoded, _ = tokenize_rows(subset, AutoTokenizer.from_pretrained(smollm2.model), smollm2.max_seq_len)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = train_student(smollm2, smollm2.model, subset, [], Path(tmp) / "smollm2", epochs=1.0,
                                   save_every_steps=10**9)
            elapsed = time.perf_counter() - started  # model loading included, as in a real round
        tokens = sum(len(r["input_ids"]) for r in encoded)
        print(f"smollm2_135m LoRA (r={smollm2.lora_r}, all projections, batch {smollm2.batch_size}): "
              f"{tokens / elapsed:,.0f} tokens/s ({tokens} tokens, {len(encoded)} rows, {elapsed:.1f}s; "
              f"{result.tokens_per_s:,.0f} response tokens/s while training), loss {result.first_loss:.3f} -> "
              f"{result.train_loss:.3f}")


if __name__ == "__main__":
    ensure_static_tls_room()
    main()
