"""Student presets: which model, how to fine-tune it, and what that costs.

A preset names a Hugging Face id, a local path, or `shipped:<name>`, a model
that comes with DomainForge (forge/models.py; `smollm2_135m` runs offline). Set
DOMAINFORGE_MODEL_<NAME> (for example DOMAINFORGE_MODEL_QWEN_0_5B=/models/qwen)
or pass --student-model to use local weights; nothing else changes. `tiny` is built locally in seconds
(a random Llama with a SentencePiece tokenizer trained on the run's own data)
and trained fully rather than with LoRA: it is what tests and the demo use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from forge.errors import InputError


@dataclass(frozen=True)
class Preset:
    name: str
    model: str
    """Hugging Face id, local directory, `shipped:<name>`, or `tiny` (build one)."""
    params_b: float
    """Parameters in billions (for --estimate-memory)."""
    hidden_size: int
    num_layers: int
    method: str = "lora"
    """`lora`, `qlora` (4-bit base, CUDA only) or `full`."""
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    max_seq_len: int = 1024
    batch_size: int = 4
    grad_accum: int = 4
    learning_rate: float = 2e-4
    epochs: float = 3.0
    continue_epochs: float = 1.0
    """Epochs of a round that continues from the last round's student (new examples plus a replay share)."""
    replay: float = 0.3
    """Share of earlier examples replayed in a later round (1: retrain on everything accepted so far)."""
    warmup_ratio: float = 0.03
    tiny_shape: dict[str, int] = field(default_factory=dict)
    """Only for `tiny`: build_tiny_model() arguments."""

    def __post_init__(self) -> None:
        problems = []
        if self.method not in ("lora", "qlora", "full"):
            problems.append(f"method {self.method!r} is not lora, qlora or full")
        for name in ("lora_r", "lora_alpha", "max_seq_len", "batch_size", "grad_accum"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.learning_rate < 1:
            problems.append(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        if not 0 <= self.replay <= 1:
            problems.append(f"replay must be in [0, 1], got {self.replay}")
        if self.epochs <= 0 or self.continue_epochs <= 0:
            problems.append(f"epochs and continue_epochs must be > 0, got {self.epochs} and {self.continue_epochs}")
        if problems:
            raise InputError(f"preset {self.name!r}: " + "; ".join(problems))

    @property
    def is_tiny(self) -> bool:
        return self.model == "tiny"


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", "tiny", params_b=0.003, hidden_size=256, num_layers=4, method="full", max_seq_len=256,
                   batch_size=16, grad_accum=1, learning_rate=2e-3, epochs=12.0, continue_epochs=12.0, warmup_ratio=0.05,
                   # Random at the start, it is still learning the whole task in every round, and retraining on
                   # everything costs seconds: with a 30 % replay share the demo's third round scored 24 % on its
                   # test split and 5.6 % on the hand-written file, against 35.5 % and 13.0 % retraining on all.
                   replay=1.0,
                   tiny_shape={"vocab_size": 1024, "hidden_size": 256, "layers": 4, "heads": 4, "max_positions": 512}),
    "smollm2_135m": Preset("smollm2_135m", "shipped:smollm2", params_b=0.135, hidden_size=576, num_layers=30,
                           lora_r=16, lora_alpha=32, lora_dropout=0.0, max_seq_len=512, batch_size=8, grad_accum=1,
                           learning_rate=1e-3, epochs=3.0),
    "qwen_0_5b": Preset("qwen_0_5b", "Qwen/Qwen2.5-0.5B-Instruct", params_b=0.49, hidden_size=896, num_layers=24,
                        lora_r=16, lora_alpha=32, max_seq_len=1024, batch_size=8, grad_accum=2, learning_rate=2e-4),
    "qwen_1_5b": Preset("qwen_1_5b", "Qwen/Qwen2.5-1.5B-Instruct", params_b=1.54, hidden_size=1536, num_layers=28,
                        lora_r=16, lora_alpha=32, max_seq_len=1024, batch_size=4, grad_accum=4, learning_rate=2e-4),
    "phi3_mini": Preset("phi3_mini", "microsoft/Phi-3-mini-4k-instruct", params_b=3.82, hidden_size=3072, num_layers=32,
                        method="qlora", lora_r=16, lora_alpha=32, max_seq_len=2048, batch_size=2, grad_accum=8,
                        learning_rate=1e-4, target_modules=("qkv_proj", "o_proj", "gate_up_proj", "down_proj")),
    "tinyllama_1b": Preset("tinyllama_1b", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", params_b=1.1, hidden_size=2048,
                           num_layers=22, lora_r=16, lora_alpha=32, max_seq_len=2048, batch_size=4, grad_accum=4,
                           learning_rate=2e-4),
}


def preset_names() -> str:
    """Every preset by name, saying which ships with DomainForge and which is built for each run (for --help)."""
    return ", ".join(f"{name} (shipped)" if p.model.startswith("shipped:") else f"{name} (built for each run)"
                     if p.is_tiny else name for name, p in PRESETS.items())


def load_preset(name: str, model_override: str | None = None) -> Preset:
    if name not in PRESETS:
        raise InputError(f"unknown student preset {name!r}: choose one of {', '.join(PRESETS)}")
    preset = PRESETS[name]
    model = model_override or os.environ.get(f"DOMAINFORGE_MODEL_{name.upper()}")
    if model is None and preset.model.startswith("shipped:"):
        from forge.models import hf_dir

        model = str(hf_dir(preset.model.removeprefix("shipped:")))
    return replace(preset, model=model) if model else preset


def estimate_memory_gib(preset: Preset, seq_len: int | None = None) -> dict[str, float]:
    """A rough training-memory budget: weights, trainable state, activations.

    Weights: 2 bytes/param (bf16), 0.55 for 4-bit QLoRA, 4 for full fp32.
    Trainable state: params x 16 bytes (fp32 weights, grads and two Adam moments).
    Activations: batch x seq x hidden x layers x ~34 bytes (no checkpointing).
    """
    params = preset.params_b * 1e9
    seq = seq_len or preset.max_seq_len
    if preset.method == "full":
        weights, trainable = params * 4, params * 16
    else:
        per_layer = 4 * 2 * preset.hidden_size * preset.lora_r + 3 * 2 * preset.hidden_size * preset.lora_r * 3
        weights = params * (0.55 if preset.method == "qlora" else 2)
        trainable = per_layer * preset.num_layers * 16
    activations = preset.batch_size * seq * preset.hidden_size * preset.num_layers * 34
    gib = 1024 ** 3
    total = (weights + trainable + activations) * 1.2  # allocator and framework overhead
    return {"weights": weights / gib, "trainable_state": trainable / gib, "activations": activations / gib, "total": total / gib}
