"""Chat verification. A conversation has no database or test suite to answer
to, so each check is the best evidence there is for chat data, and each is
recorded with what it found:

- structure: known roles, at most one system turn and it comes first, user and
  assistant alternate from a user turn, the last turn is the assistant's, no
  empty turn, 2-6 turns; the domain's system prompt is the one kept;
- the conversation, with the student's chat template applied, fits its
  max_seq_len (real token counts, from the student's own tokenizer);
- no personal data is left (evaluators/pii.py);
- no assistant boilerplate ("As an AI language model"), and refusals only
  where the category is a refusal;
- a Python block whose output the answer claims (a following ``` block
  labelled output, text or console, or none) runs in the sandbox and prints it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from evaluators.pii import scrub_conversation
from forge.errors import InputError
from forge.records import Check

MIN_TURNS, MAX_TURNS = 2, 6
BOILERPLATE = re.compile(
    r"\bas an? (?:ai|artificial intelligence)(?: language model| model| assistant)?\b|\bas a (?:large )?language model\b|"
    r"\bi(?: am|'m) (?:just |only )?an? (?:ai|language model)\b|\bmy (?:knowledge cutoff|training data)\b|"
    r"\bas of my last (?:knowledge )?update\b|\bi (?:do not|don't) have (?:personal )?(?:opinions|feelings)\b|"
    r"\bi (?:cannot|can't) browse the (?:internet|web)\b", re.I)
REFUSAL = re.compile(
    r"\bi (?:can't|cannot|can not|won't|am not able to|'m not able to) (?:help|assist) with\b|"
    r"\bi can only (?:help|assist) with\b|\b(?:is |that's |falls )?outside (?:of )?(?:what i can help with|my scope|"
    r"the scope)\b|\bnot something i can help with\b", re.I)
NON_ANSWER = re.compile(r"^\W*(?:sorry\W*)?(?:i (?:do not|don't) know|i'm not sure|i am not sure|no idea|"
                        r"i have no idea|not sure)\b", re.I)
MIN_ANSWER_WORDS = 5
BLOCK = re.compile(r"```([\w+-]*)[^\n]*\n(.*?)```", re.S)
PYTHON_LANGS = ("python", "py", "python3")
OUTPUT_LANGS = ("", "output", "text", "console", "stdout", "plaintext")


def turns_of(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The conversation without its system turn."""
    return [m for m in messages if m["role"] != "system"]


def refuses(text: str) -> bool:
    return bool(REFUSAL.search(text))


def check_structure(messages: list[dict[str, str]], system_prompt: str | None) -> list[Check]:
    """Roles, order and turn count; then whether the system prompt is the domain's."""
    problem = structure_problem(messages)
    checks = [Check("structure", False, problem[1], problem[0]) if problem else
              Check("structure", True, f"{len(turns_of(messages))} turns, alternating, the assistant's last")]
    if system_prompt is not None:
        first = messages[0] if messages else {"role": "", "content": ""}
        if first["role"] != "system":
            checks.append(Check("system_prompt_kept", False, "the conversation has no system turn", "system_prompt_missing"))
        elif first["content"].strip() != system_prompt.strip():
            checks.append(Check("system_prompt_kept", False, f"the system turn is {first['content'][:120]!r}, not the "
                                                             "domain's system prompt", "system_prompt_changed"))
        else:
            checks.append(Check("system_prompt_kept", True, "the domain's system prompt opens the conversation"))
    return checks


def structure_problem(messages: list[dict[str, str]]) -> tuple[str, str] | None:
    """(reason, detail) for the first thing wrong with the turns, else None."""
    for i, m in enumerate(messages):
        if m.get("role") not in ("system", "user", "assistant"):
            return "bad_role", f"turn {i + 1} has role {m.get('role')!r}"
        if not str(m.get("content", "")).strip():
            return "empty_turn", f"turn {i + 1} ({m['role']}) is empty"
        if m["role"] == "system" and i > 0:
            return "role_order", f"turn {i + 1} is a system turn; only the first turn may be"
    turns = turns_of(messages)
    for i, m in enumerate(turns):
        expected = "user" if i % 2 == 0 else "assistant"
        if m["role"] != expected:
            return "role_order", (f"turn {i + 1} is the {m['role']}'s, after the {turns[i - 1]['role']}'s: roles must "
                                  "alternate" if i else "the conversation must open with a user turn")
    if not turns or turns[-1]["role"] != "assistant":
        return "last_turn_not_assistant", "the last turn is not the assistant's: there is no answer to learn"
    if not MIN_TURNS <= len(turns) <= MAX_TURNS:
        return "turn_count", f"{len(turns)} turns; a conversation here has {MIN_TURNS} to {MAX_TURNS}"
    return None


@dataclass(frozen=True)
class TokenBudget:
    """A student's tokenizer, chat template and max_seq_len: what a
    conversation must fit to be learned whole."""

    name: str
    tokenizer: object
    max_tokens: int

    def count(self, messages: list[dict[str, str]]) -> int:
        text = self.tokenizer.apply_chat_template(messages, tokenize=False)
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def check(self, messages: list[dict[str, str]]) -> Check:
        n = self.count(messages)
        detail = f"{n} tokens with {self.name}'s chat template; its max_seq_len is {self.max_tokens}"
        return Check("fits_context", True, detail) if n <= self.max_tokens else Check("fits_context", False, detail, "too_long")


def open_budget(spec: str) -> TokenBudget:
    """`spec` is a student preset (its tokenizer and max_seq_len) or a Hugging
    Face model folder with a chat template, optionally `FOLDER:MAX_TOKENS`."""
    from transformers import AutoTokenizer

    from trainer.presets import PRESETS, load_preset

    if spec in PRESETS:
        preset = load_preset(spec)
        if preset.is_tiny:
            raise InputError("tiny trains its tokenizer on each run's own data, so no conversation can be measured "
                             "with it before a run: pass --tokenizer smollm2_135m (the default) or a model folder")
        folder, max_tokens, name = preset.model, preset.max_seq_len, spec
    else:
        folder, _, limit = spec.rpartition(":") if re.search(r":\d+$", spec) else (spec, "", "")
        if not Path(folder).is_dir():
            raise InputError(f"--tokenizer {spec!r} is neither a student preset ({', '.join(PRESETS)}) nor a model "
                             "folder: pass a preset name or FOLDER[:MAX_TOKENS]")
        max_tokens, name = int(limit) if limit else 0, Path(folder).name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load a tokenizer from {folder}: {exc}") from exc
    if not getattr(tokenizer, "chat_template", None):
        raise InputError(f"the tokenizer in {folder} has no chat template, so conversations cannot be measured as "
                         "the student sees them: pass a chat model's folder")
    max_tokens = max_tokens or int(min(tokenizer.model_max_length, 1 << 20))
    return TokenBudget(name, tokenizer, max_tokens)


def check_no_pii(messages: list[dict[str, str]]) -> Check:
    found = [f"{kind.replace('_', ' ')} in turn {i + 1}" for i, scrubbed in
             enumerate(scrub_conversation([m["content"] for m in messages])) for kind in sorted(scrubbed.found)]
    if found:
        return Check("no_pii", False, "; ".join(found), "pii_left")
    return Check("no_pii", True, "no email, phone, card, IP, street address or introduced name")


def check_boilerplate(messages: list[dict[str, str]], refusal_expected: bool | None) -> list[Check]:
    """No "As an AI language model"; and a refusal only where one is expected
    (then the last answer must refuse). None: either may be right (a real
    conversation's)."""
    answers = [(i + 1, m["content"]) for i, m in enumerate(messages) if m["role"] == "assistant"]
    said = [f"turn {i}: {match.group()!r}" for i, text in answers for match in [BOILERPLATE.search(text)] if match]
    checks = [Check("no_boilerplate", False, "; ".join(said), "boilerplate") if said else
              Check("no_boilerplate", True, "no assistant boilerplate")]
    refused = [i for i, text in answers if refuses(text)]
    if refusal_expected is None:
        return checks
    if refusal_expected:
        last = answers[-1][0] if answers else 0
        checks.append(Check("refuses", True, f"turn {last} declines and says what it can help with") if last in refused
                      else Check("refuses", False, "the request is out of scope, but the last answer does not decline",
                                 "no_refusal"))
    elif refused:
        checks.append(Check("refuses", False, f"turn {refused[0]} declines a request that is in scope", "needless_refusal"))
    return checks


def check_substance(messages: list[dict[str, str]]) -> Check:
    """The last answer says something: at least MIN_ANSWER_WORDS words, and not
    "I don't know" (a refusal or a clarifying question is substance)."""
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    last = answers[-1] if answers else ""
    count = len(re.findall(r"\w+", last))
    if count < MIN_ANSWER_WORDS or NON_ANSWER.search(last):
        return Check("answers", False, f"the last answer is {last[:120]!r}: it gives the user nothing", "non_answer")
    return Check("answers", True, f"the last answer has {count} words")


def python_blocks(text: str) -> list[str]:
    return [code for lang, code in BLOCK.findall(text) if lang.lower() in PYTHON_LANGS]


def output_claims(text: str) -> list[tuple[str, str]]:
    """(python code, the output the text claims it prints): a ```python block
    followed, after at most a short line ("Output:"), by an output block."""
    blocks = list(BLOCK.finditer(text))
    claims = []
    for code, shown in zip(blocks, blocks[1:]):
        between = text[code.end():shown.start()].strip()
        if code.group(1).lower() in PYTHON_LANGS and shown.group(1).lower() in OUTPUT_LANGS \
                and len(between) <= 80 and "\n" not in between:
            claims.append((code.group(2), shown.group(2)))
    return claims


def _same_output(printed: str, claimed: str) -> bool:
    lines = lambda s: [line.rstrip() for line in s.strip().splitlines()]
    return lines(printed) == lines(claimed)


def run_blocks(sandbox, codes: list[str]) -> tuple[list[tuple[int, str]], str]:
    """(exit code, output) of each block run alone, from one sandbox run; and,
    when the run ended before every block ran, why."""
    files = {f"block_{k}.py": code for k, code in enumerate(codes)}
    # Each block's output framed, so one sandbox run serves every block.
    script = "; ".join(f'echo "@@block {k}"; python3 block_{k}.py 2>&1; echo "@@exit $?"' for k in range(len(codes)))
    result = sandbox.run(files, ["sh", "-c", script])
    ran = [(int(code), out) for out, code in re.findall(r"@@block \d+\n(.*?)@@exit (\d+)\n", result.stdout, re.S)]
    return ran, "" if len(ran) == len(codes) else result.describe()


def check_code_output(sandbox, messages: list[dict[str, str]]) -> list[Check]:
    """Each claimed output, from running its block in the sandbox."""
    claims = [(i + 1, code, out) for i, m in enumerate(messages) if m["role"] == "assistant"
              for code, out in output_claims(m["content"])]
    if not claims:
        return []
    ran, ended = run_blocks(sandbox, [code for _, code, _ in claims])
    for (turn, _, claimed), (exit_code, printed) in zip(claims, ran):
        if exit_code:
            return [Check("code_output", False, f"turn {turn}: the code fails:\n{printed[-800:]}", "code_fails")]
        if not _same_output(printed, claimed):
            return [Check("code_output", False, f"turn {turn}: the answer claims it prints {claimed.strip()[:300]!r}, "
                                                f"but it prints {printed.strip()[:300]!r}", "code_output_differs")]
    if ended:
        return [Check("code_output", False, f"the sandbox run ended early: {ended}", "code_fails")]
    return [Check("code_output", True, f"{len(claims)} block(s) print what the answers claim")]


def check_same_result(sandbox, answer: str, reference: str) -> Check | None:
    """When the reference shows code and what it prints, one of the answer's
    Python blocks, run alone, prints the same; None when it shows no output."""
    claims = output_claims(reference)
    if not claims:
        return None
    expected = claims[-1][1]
    codes = python_blocks(answer)
    if not codes:
        return Check("same_result", False, "the reference answers with code and its output; this answer shows no "
                                           "Python code", "no_code")
    ran, ended = run_blocks(sandbox, codes)
    if any(exit_code == 0 and _same_output(printed, expected) for exit_code, printed in ran):
        return Check("same_result", True, f"a block prints {expected.strip()[:200]!r}, as the reference's does")
    shown = "; ".join(f"exit {exit_code}: {printed.strip()[:150]!r}" for exit_code, printed in ran) or ended
    return Check("same_result", False, f"the reference's code prints {expected.strip()[:200]!r}; the answer's blocks "
                                       f"print {shown}", "result_differs")
