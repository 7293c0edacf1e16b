"""The student evaluation harness.

Held-out items are split by a stable hash into a *feedback* set (its failures
steer the next round) and a *test* set (reported only). The student answers
each item (transformers, or an exported GGUF through llama.cpp), and the same
domain verifier that judged the training data scores the answer. A domain may
also measure each answer (the MTG judge: citation precision and recall, outcome
correctness); the summary averages those per category.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from forge.export import example_row
from forge.records import Example
from trainer import quiet_hub_progress
from trainer.formatting import prompt_messages


def split_feedback_test(items: list[Example]) -> tuple[list[Example], list[Example]]:
    """Deterministic by example id: the same item is always on the same side."""
    feedback, test = [], []
    for item in items:
        (test if int(hashlib.sha256(item.id.encode()).hexdigest(), 16) % 2 else feedback).append(item)
    return feedback, test


@dataclass(frozen=True)
class ItemScore:
    id: str
    category: str
    question: str
    reference: str
    answer: str
    correct: bool
    detail: str
    measures: dict[str, float] = field(default_factory=dict)
    constructs: tuple[str, ...] = ()


def score_answers(items: list[Example], answers: list[str], judge: Callable[[Example, str], Any],
                  measure: Callable[[Example, str], dict[str, float]] | None = None) -> list[ItemScore]:
    scores = []
    for item, answer in zip(items, answers, strict=True):
        check = judge(item, answer)
        question, reference = item.payload.get("instruction", ""), item.payload.get("output", "")
        if item.format == "messages":  # the last user turn, and the assistant turn the student writes
            *_, question, reference = ["", ""] + [m["content"] for m in item.payload["messages"]]
        scores.append(ItemScore(item.id, item.category, question, reference, answer, check.passed, check.detail,
                                measure(item, answer) if measure else {}, tuple(item.metadata.get("constructs", ()))))
    return scores


def summarise(scores: list[ItemScore]) -> dict[str, Any]:
    by_category: dict[str, list[bool]] = defaultdict(list)
    by_construct: dict[str, list[bool]] = defaultdict(list)
    measured: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    overall: dict[str, list[float]] = defaultdict(list)
    for s in scores:
        by_category[s.category].append(s.correct)
        for construct in s.constructs:
            by_construct[construct].append(s.correct)
        for name, value in s.measures.items():
            measured[s.category][name].append(value)
            overall[name].append(value)
    return {
        "accuracy": sum(s.correct for s in scores) / len(scores) if scores else 0.0,
        "n": len(scores),
        "by_category": {c: sum(v) / len(v) for c, v in sorted(by_category.items())},
        "by_construct": {c: [sum(v) / len(v), len(v)] for c, v in sorted(by_construct.items())},
        "measures_by_category": {c: {m: sum(v) / len(v) for m, v in sorted(ms.items())}
                                 for c, ms in sorted(measured.items())},
        "measures": {m: sum(v) / len(v) for m, v in sorted(overall.items())},
    }


Progress = Callable[[int, int], None]  # (answered, total)

_REPEATED = re.compile(r"(.{3,}?)\1{3,}", re.DOTALL)


def degenerate(answer: str) -> bool:
    """Whether an answer fell into a loop: one span of three or more characters
    written four times running ("doradoradoradora"), as greedy decoding does
    when the model has lost the thread."""
    return bool(_REPEATED.search(answer))


def answer_with_transformers(model_dir: str | Path, items: list[Example], max_new_tokens: int = 128,
                             batch_size: int = 16, on_progress: Progress = lambda done, total: None) -> list[str]:
    """Greedy answers from a Hugging Face model directory (full model or LoRA adapter)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_hub_progress()
    model_dir = Path(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if (model_dir / "adapter_config.json").is_file():
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(model_dir)
    else:
        model = AutoModelForCausalLM.from_pretrained(model_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).eval()
    prompts = [tokenizer.apply_chat_template(prompt_messages(example_row(i)), tokenize=False, add_generation_prompt=True)
               for i in items]
    answers: list[str] = []
    for start in range(0, len(prompts), batch_size):
        batch = tokenizer(prompts[start:start + batch_size], return_tensors="pt", padding=True,
                          add_special_tokens=False).to(device)
        with torch.no_grad():
            out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        new_tokens = out[:, batch["input_ids"].shape[1]:]
        answers += [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
        on_progress(len(answers), len(prompts))
    return answers


def answer_with_gguf(gguf_path: str | Path, items: list[Example], max_new_tokens: int = 128,
                     on_progress: Progress = lambda done, total: None) -> list[str]:
    """Greedy answers from an exported GGUF model, through llama.cpp."""
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf_path), n_ctx=0, verbose=False)
    answers = []
    for item in items:
        out = llm.create_chat_completion(messages=prompt_messages(example_row(item)), max_tokens=max_new_tokens,
                                         temperature=0.0)
        answers.append((out["choices"][0]["message"]["content"] or "").strip())
        on_progress(len(answers), len(items))
    return answers
