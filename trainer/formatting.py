"""Training rows -> token ids with loss only on what the assistant says.

Both formats go through the model's own chat template: `instruction` rows
become a user turn (instruction, then input if any) and an assistant turn,
after a system turn when the row carries a `system` prompt; `messages` rows
are used as they are, and every assistant turn is learned.
Batches are padded to their longest row, never to the maximum length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IGNORE = -100  # label value the loss skips


def to_messages(row: dict[str, Any]) -> list[dict[str, str]]:
    if row.get("format") == "messages" or "messages" in row and "instruction" not in row:
        return [{"role": m["role"], "content": m["content"]} for m in row["messages"]]
    user = row["instruction"] + (f"\n\n{row['input']}" if row.get("input") else "")
    system = [{"role": "system", "content": row["system"]}] if row.get("system") else []
    return system + [{"role": "user", "content": user}, {"role": "assistant", "content": row["output"]}]


def prompt_messages(row: dict[str, Any]) -> list[dict[str, str]]:
    """What the student sees at inference: everything before the last assistant turn."""
    messages = to_messages(row)
    return messages[:-1] if messages and messages[-1]["role"] == "assistant" else messages


def _ids(tokenizer, messages: list[dict[str, str]], generation_prompt: bool) -> list[int]:
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def tokenize_row(row: dict[str, Any], tokenizer, max_len: int) -> dict[str, list[int]] | None:
    """input_ids and labels (IGNORE on every non-assistant token); None if no
    assistant token fits in max_len."""
    messages = to_messages(row)
    full = _ids(tokenizer, messages, generation_prompt=False)
    labels = [IGNORE] * len(full)
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = _ids(tokenizer, messages[:i], generation_prompt=True)
        through = _ids(tokenizer, messages[: i + 1], generation_prompt=False)
        if full[: len(through)] != through or through[: len(before)] != before:
            raise ValueError("the chat template is not prefix-stable, so assistant turns cannot be located; "
                             "use a template where each turn only appends tokens")
        labels[len(before): len(through)] = through[len(before):]
    full, labels = full[:max_len], labels[:max_len]
    if all(label == IGNORE for label in labels):
        return None
    return {"input_ids": full, "labels": labels}


@dataclass
class DynamicPaddingCollator:
    """Pads each batch to its own longest row (right padding)."""

    pad_token_id: int

    def __call__(self, rows: list[dict[str, list[int]]]):
        import torch

        longest = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), longest), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(rows), longest), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for i, row in enumerate(rows):
            n = len(row["input_ids"])
            ids[i, :n] = torch.tensor(row["input_ids"])
            labels[i, :n] = torch.tensor(row["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}
