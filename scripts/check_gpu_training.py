"""On a machine with GPUs: train with one process and with one per GPU
(--train-procs N) on the same rows, and print both loss curves side by side.
The shipped SmolLM2-135M with LoRA (DDP), then the `tiny` student fully
fine-tuned (FSDP). CI never runs this; run it by hand where GPUs are:

    .venv/bin/python scripts/check_gpu_training.py
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forge.native import ensure_static_tls_room  # noqa: E402

ensure_static_tls_room()


def demo_rows(count: int = 128) -> list[dict]:
    """Verified template examples over the demo graph, as training rows."""
    from agents.domains import Task
    from agents.domains.cypher.generate import CypherDomain
    from agents.domains.cypher.graphdb import KgliteGraph
    from forge.export import example_row

    domain = CypherDomain(KgliteGraph(Path(__file__).resolve().parents[1] / "data" / "cypher" / "bookstore.cypher"))
    rows = []
    for slot in range(count * 2):
        task = Task(slot, domain.categories[slot % len(domain.categories)], f"gpu-check:{slot}")
        example = domain.to_example(task, domain.template_draft(task, 1))
        if all(c.passed for c in domain.verify(example)):
            rows.append(example_row(example))
    return rows[:count]


def compare(label: str, preset, base: str, rows: list[dict], procs: int, folder: Path) -> None:
    from trainer.distributed import train_in_processes
    from trainer.sft import train_student

    one = train_student(preset, base, rows[:96], rows[96:], folder / f"{label}-1", epochs=2)
    many = train_in_processes(procs, preset, base, rows[:96], rows[96:], folder / f"{label}-{procs}", epochs=2)
    print(f"\n{label}: 1 process {one.seconds:.1f}s, {procs} processes {many.seconds:.1f}s")
    print(f"{'step':>5} {'1 process':>10} {f'{procs} processes':>12} {'rel. diff':>10}")
    for step, (a, b) in enumerate(zip(one.losses, many.losses), 1):
        print(f"{step:>5} {a:>10.4f} {b:>12.4f} {abs(a - b) / a:>10.2%}")
    print(f"eval loss: {one.eval_loss:.4f} vs {many.eval_loss:.4f}")


def main() -> int:
    import torch

    from evaluators.curation import row_text
    from trainer.presets import load_preset
    from trainer.tiny import build_tiny_model

    gpus = torch.cuda.device_count()
    if gpus == 0:
        print("no CUDA GPU here: this check is for a GPU machine (the CPU version runs in CI: "
              "tests/trainer/test_distributed.py)")
        return 2
    rows = demo_rows()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        smollm2 = load_preset("smollm2_135m")
        compare("smollm2_135m LoRA (DDP)", smollm2, smollm2.model, rows, gpus, folder)
        tiny = load_preset("tiny")
        base = build_tiny_model(folder / "tiny-base", [row_text(r) for r in rows], **tiny.tiny_shape)
        compare("tiny full (FSDP)", replace(tiny, batch_size=16 // gpus * gpus or gpus), str(base), rows, gpus, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
