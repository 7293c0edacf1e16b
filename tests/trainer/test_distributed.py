"""Training in two processes (torchrun, gloo on CPU) against one process on the
same rows: the batch is split over the processes, so every step sees the same
rows, and the loss curves agree to 0.1 % at every logged step (float sums in
another order are all that differ)."""

import pytest
import torch

from trainer.distributed import train_in_processes
from trainer.presets import load_preset
from trainer.sft import train_student

pytestmark = pytest.mark.slow


def test_two_processes_follow_the_loss_curve_of_one_and_resume(tiny_model, demo_rows, tmp_path):
    from transformers import AutoModelForCausalLM

    preset = load_preset("tiny")
    one = train_student(preset, tiny_model, demo_rows[:64], demo_rows[64:80], tmp_path / "one", epochs=2)
    steps = []
    two = train_in_processes(2, preset, tiny_model, demo_rows[:64], demo_rows[64:80], tmp_path / "two", epochs=2,
                             on_progress=lambda step, total: steps.append((step, total)))
    assert two.steps == one.steps and steps[-1] == (two.steps, two.steps)
    assert len(two.losses) == len(one.losses) >= 4
    assert two.losses == pytest.approx(one.losses, rel=1e-3)
    assert two.eval_loss == pytest.approx(one.eval_loss, rel=1e-3)
    weights = [AutoModelForCausalLM.from_pretrained(r.model_dir).state_dict() for r in (one, two)]
    assert all(torch.allclose(weights[0][k], weights[1][k], atol=1e-4) for k in weights[0])

    again = train_in_processes(2, preset, tiny_model, demo_rows[:64], demo_rows[64:80], tmp_path / "two", epochs=2)
    assert again.resumed_from and again.resumed_from.endswith(f"checkpoint-{two.steps}")
    assert again.steps == two.steps  # nothing left to train

