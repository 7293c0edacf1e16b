"""The `tiny` student: a randomly initialised Llama-architecture model with a
SentencePiece tokenizer trained on the caller's own text. Built in seconds on
a CPU with no hub access, for tests and the demo; real presets load weights."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Iterable

from trainer import quiet_hub_progress

SPECIAL_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
# Each turn is `<|role|>\ncontent<|end|>\n`; generation stops at <|end|>.
# tiny learns one run's data from scratch: a domain's constant system prompt
# (Cypher's schema, say) would teach it nothing and triple every sequence, so its
# template leaves system turns out, in training, evaluation and the GGUF alike.
CHAT_TEMPLATE = (
    "{% for message in messages if message['role'] != 'system' %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def train_tokenizer(texts: Iterable[str], out_dir: Path, vocab_size: int = 1024) -> Path:
    """Train a byte-fallback BPE SentencePiece model; return its tokenizer.model path."""
    import sentencepiece as spm

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter([t for t in texts if t.strip()]), model_prefix=f"{tmp}/tokenizer",
            vocab_size=vocab_size, model_type="bpe", byte_fallback=True, character_coverage=1.0, split_digits=True,
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1, user_defined_symbols=SPECIAL_TOKENS,
            hard_vocab_limit=False, minloglevel=2,
        )
        shutil.copy(f"{tmp}/tokenizer.model", out_dir / "tokenizer.model")
    return out_dir / "tokenizer.model"


def build_tiny_model(out_dir: str | Path, texts: Iterable[str], *, vocab_size: int = 1024, hidden_size: int = 64,
                     layers: int = 2, heads: int = 4, max_positions: int = 2048, seed: int = 0) -> Path:
    """Write a complete Hugging Face model directory (config, weights, tokenizer
    with a chat template) that transformers, peft and convert_hf_to_gguf read."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    quiet_hub_progress()
    out = Path(out_dir)
    train_tokenizer(texts, out, vocab_size)
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "<|end|>", "unk_token": "<unk>",
        "pad_token": "<unk>", "add_bos_token": True, "add_eos_token": False, "chat_template": CHAT_TEMPLATE,
        "model_max_length": max_positions,
    }))
    tokenizer = AutoTokenizer.from_pretrained(out)
    tokenizer.save_pretrained(out)  # adds tokenizer.json; tokenizer.model stays for the GGUF converter
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 4,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
        max_position_embeddings=max_positions, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
    )
    LlamaForCausalLM(config).save_pretrained(out)
    return out
