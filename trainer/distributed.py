"""Training in several processes (`--train-procs N`): torchrun starts N copies
of `train_student`, one per GPU (or, on a CPU-only machine, N processes that
talk over gloo). transformers' Trainer sees torchrun's environment and wraps
the model itself: DDP for LoRA, and FSDP for full fine-tuning on GPUs (DDP on
CPUs, where FSDP does not run). The global batch stays the preset's, so one
process and N train the same way; checkpoints and resuming after a kill work
as with one process (rank 0 writes them).

    parent: rows and options to a launch folder -> torchrun ... -m trainer.distributed FOLDER
            -> reads rank 0's progress lines -> rank 0's train_result.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from forge.errors import InputError
from forge.rows import text_lines
from trainer.presets import Preset
from trainer.sft import TrainResult, train_student

PROGRESS = "train-step "


def train_in_processes(procs: int, preset: Preset, base: str | Path, train_rows: list[dict[str, Any]],
                       val_rows: list[dict[str, Any]], out_dir: str | Path, *, init_from: str | Path | None = None,
                       epochs: float | None = None, seed: int = 0, save_every_steps: int | None = None,
                       on_progress: Callable[[int, int], None] = lambda step, steps: None) -> TrainResult:
    """`train_student` in `procs` processes started by torchrun; the same arguments and result."""
    out = Path(out_dir)
    launch = out / "launch"
    launch.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train_rows), ("validation", val_rows)):
        (launch / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    (launch / "options.json").write_text(json.dumps({
        "preset": asdict(preset), "base": str(base), "out_dir": str(out), "init_from": str(init_from) if init_from else None,
        "epochs": epochs, "seed": seed, "save_every_steps": save_every_steps}))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}",
               "-m", "trainer.distributed", str(launch)]
    # One thread per process unless the user set it: N processes share the machine's cores.
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                               cwd=Path(__file__).resolve().parents[1])
    said: list[str] = []
    for line in process.stdout:
        if line.startswith(PROGRESS):
            step, steps = line.removeprefix(PROGRESS).split("/")
            on_progress(int(step), int(steps))
        else:
            said = (said + [line])[-60:]
    if process.wait():
        raise RuntimeError(f"training in {procs} processes failed (exit {process.returncode}):\n{''.join(said)}")
    return TrainResult(**json.loads((out / "train_result.json").read_text()))


def main(launch: Path) -> None:
    """One torchrun process: the rows and options the parent wrote, trained; rank 0 reports progress."""
    options = json.loads((launch / "options.json").read_text())
    preset = _preset(options.pop("preset"))
    rows = {name: [json.loads(line) for line in text_lines((launch / f"{name}.jsonl").read_text()) if line]
            for name in ("train", "validation")}
    first = int(os.environ.get("RANK", "0")) == 0
    train_student(preset, options.pop("base"), rows["train"], rows["validation"], options.pop("out_dir"), **options,
                  on_progress=lambda step, steps: first and print(f"{PROGRESS}{step}/{steps}", flush=True))


def _preset(fields: dict[str, Any]) -> Preset:
    return Preset(**{**fields, "target_modules": tuple(fields["target_modules"])})


if __name__ == "__main__":
    try:
        main(Path(sys.argv[1]))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
