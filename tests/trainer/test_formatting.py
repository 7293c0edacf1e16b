"""Loss masking and padding on the real tiny tokenizer and model."""

import pytest
import torch

from trainer.formatting import IGNORE, DynamicPaddingCollator, tokenize_row


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


def test_only_the_response_is_labelled(tokenizer):
    row = {"instruction": "How many Author nodes are in the graph?", "input": "",
           "output": "MATCH (n:Author) RETURN count(n) AS count"}
    encoded = tokenize_row(row, tokenizer, max_len=256)
    labelled = [t for t, label in zip(encoded["input_ids"], encoded["labels"]) if label != IGNORE]
    masked = [t for t, label in zip(encoded["input_ids"], encoded["labels"]) if label == IGNORE]
    assert tokenizer.decode(labelled, skip_special_tokens=True).strip() == row["output"]
    assert "How many Author" in tokenizer.decode(masked) and "MATCH" not in tokenizer.decode(masked)
    assert tokenizer.convert_tokens_to_ids("<|end|>") in labelled  # the model learns to stop


def test_every_assistant_turn_of_a_conversation_is_learned(tokenizer):
    row = {"format": "messages", "messages": [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "Name a genre."}, {"role": "assistant", "content": "Fantasy."},
        {"role": "user", "content": "Another?"}, {"role": "assistant", "content": "Mystery."}]}
    encoded = tokenize_row(row, tokenizer, max_len=256)
    labelled = tokenizer.decode([t for t, l in zip(encoded["input_ids"], encoded["labels"]) if l != IGNORE])
    assert "Fantasy." in labelled and "Mystery." in labelled
    assert "Name a genre" not in labelled and "You answer briefly" not in labelled


def test_the_models_loss_counts_response_tokens_only(tiny_model, tokenizer):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    row = {"instruction": "List the name of every Genre.", "output": "MATCH (n:Genre) RETURN n.name AS name"}
    encoded = tokenize_row(row, tokenizer, max_len=256)
    ids, labels = torch.tensor([encoded["input_ids"]]), torch.tensor([encoded["labels"]])
    with torch.no_grad():
        logits = model(ids).logits
        loss = model(ids, labels=labels).loss
        unmasked = model(ids, labels=ids).loss
    shift_logits, shift_labels = logits[0, :-1], labels[0, 1:]
    keep = shift_labels != IGNORE
    manual = torch.nn.functional.cross_entropy(shift_logits[keep], shift_labels[keep])
    assert torch.allclose(loss, manual, atol=1e-5)
    assert keep.sum() < len(shift_labels) and not torch.allclose(loss, unmasked)


def test_rows_that_cannot_fit_a_response_are_dropped(tokenizer):
    row = {"instruction": "word " * 400, "output": "MATCH (n) RETURN n"}
    assert tokenize_row(row, tokenizer, max_len=64) is None


def test_batches_pad_to_their_own_longest_row():
    collate = DynamicPaddingCollator(pad_token_id=0)
    batch = collate([{"input_ids": [5, 6, 7], "labels": [IGNORE, 6, 7]}, {"input_ids": [5], "labels": [5]}])
    assert batch["input_ids"].shape == (2, 3)
    assert batch["labels"][1].tolist() == [5, IGNORE, IGNORE]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
