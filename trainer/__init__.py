"""The student: presets, formatting, LoRA/QLoRA SFT, merge, and GGUF export."""


def quiet_hub_progress() -> None:
    """Hide the per-file load/save bars of transformers and huggingface_hub:
    a tiny model loads in milliseconds, and our own progress says what runs.
    Also a deprecation that peft triggers in transformers on every LoRA model
    it wraps, which no caller of ours can act on."""
    import warnings

    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging

    disable_progress_bars()
    logging.disable_progress_bar()
    logging.set_verbosity_error()
    warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
