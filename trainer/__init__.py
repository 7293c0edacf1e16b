"""The student: presets, formatting, LoRA/QLoRA SFT, merge, and GGUF export."""
