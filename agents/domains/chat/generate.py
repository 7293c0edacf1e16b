"""The chat domain: a helpful multi-turn assistant under a system prompt the
user gives, learned from conversations people had (imported with `loop.py
chat import`) and from conversations synthesised around them.

The offline teacher builds real conversations from a bank (data/chat/bank.yaml:
how-to questions about Python with runnable code and what it prints, each
with a follow-up, a vague version and the question that clarifies it, and a
correction; requests outside the assistant's scope) and from windows of the
imported conversations. Personas change how the user asks.

Where the bank and the conversations are big enough, a fifth of the topics,
the out-of-scope requests and the conversations is held out: training never
sees them, and the evaluation is built from them. The student writes the last
assistant turn; an LLM grader (`--grader`) scores it against the reference
with the rubric, and offline the checks and the reference overlap do.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.domains.base import Domain, EvalFile, Task, open_sandbox_for, with_steering
from agents.domains.chat import verify as check
from agents.domains.chat.formats import read_conversations
from agents.domains.chat.imports import repair_turns, scrub_turns
from evaluators.python_ast import parse_python
from evaluators.text import words
from forge.errors import InputError
from forge.records import Check, Example, stable_fraction
from forge.yaml_file import YamlDocument

CATEGORIES = {
    "how_to": "a how-to question, answered with a runnable example and what it prints",
    "follow_up": "an answer, then a follow-up question that builds on it",
    "clarification": "a vague request: the assistant asks what is meant, then answers",
    "correction": "the user reports a problem with the answer or corrects it; the assistant corrects course",
    "refusal": "a request outside the system prompt's scope, declined politely",
    "imported": "a stretch of a real imported conversation",
}
REFUSAL, IMPORTED = "refusal", "imported"
HELD_OUT_SHARE = 0.2
MIN_TO_HOLD_OUT = 10
RUBRIC_THRESHOLD = 3
REFERENCE_OVERLAP = 0.3
CLOSINGS = (("Thanks, that helps!", "You're welcome! Ask again any time."),
            ("Great, thank you.", "Glad it helped. Happy coding, and ask again any time!"),
            ("Perfect, that works now.", "Good to hear. Good luck with the rest of it!"))


class Part(BaseModel):
    """An answer in the bank: what to say, the code, and what it prints."""

    model_config = ConfigDict(extra="forbid")
    ask: str = ""
    says: str = ""
    answer: str = Field(min_length=1)
    code: str = Field(min_length=1)
    output: str

    def reply(self) -> str:
        return f"{self.answer}\n\n```python\n{self.code.rstrip()}\n```\n\nOutput:\n\n```text\n{self.output.rstrip()}\n```"


class Topic(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    asks: list[str] = Field(min_length=1)
    answer: str = Field(min_length=1)
    code: str = Field(min_length=1)
    output: str
    follow_up: Part
    vague: str = Field(min_length=1)
    clarify: str = Field(min_length=1)
    clarified: str = Field(min_length=1)
    correction: Part

    @property
    def main(self) -> Part:
        return Part(answer=self.answer, code=self.code, output=self.output)


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    says: str


class OutOfScope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ask: str = Field(min_length=1)
    about: str = Field(min_length=1, description="What the request is, as in 'X is outside what I can help with'.")


class Bank(BaseModel):
    """The offline teacher's material (data/chat/bank.yaml is ours; pass --bank for yours)."""

    model_config = ConfigDict(extra="forbid")
    system_prompt: str = Field(min_length=1)
    scope: str = Field(min_length=1, description="What the assistant helps with, as in 'I can only help with X'.")
    personas: list[Persona] = Field(min_length=1)
    topics: list[Topic] = Field(min_length=2)
    out_of_scope: list[OutOfScope] = Field(min_length=2)


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=6000)


class ChatDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    messages: list[Turn] = Field(min_length=2, max_length=6, description="User and assistant turns, alternating, "
                                 "from the user's; the assistant's last.")


class ChatRubric(BaseModel):
    """What a critic returns: each criterion from 1 (fails it) to 5 (meets it fully)."""

    model_config = ConfigDict(extra="forbid")
    helpful: int = Field(ge=1, le=5, description="The answers do what the user asked.")
    correct: int = Field(ge=1, le=5, description="What the answers say and their code are right.")
    follows_system_prompt: int = Field(ge=1, le=5, description="The assistant keeps to the system prompt's role and scope.")
    consistent: int = Field(ge=1, le=5, description="Later turns agree with earlier ones and build on them.")
    reason: str = Field(max_length=400, description="One or two sentences on the lowest score.")


CRITERIA = ("helpful", "correct", "follows_system_prompt", "consistent")
RUBRIC_REPLY = ('Score each criterion from 1 (fails it) to 5 (meets it fully) and reply with one JSON object: '
                '{"helpful": n, "correct": n, "follows_system_prompt": n, "consistent": n, "reason": "..."} '
                'and nothing else.')


def load_bank(path: Path) -> Bank:
    return YamlDocument(path).validate(Bank)


def load_conversations(path: Path) -> list[list[dict[str, str]]]:
    """Conversations in our format (`{"messages": [...]}` per line, what `chat
    import` writes), scrubbed and repaired as an import would; records that
    cannot be used are skipped with a warning."""
    import logging

    read = read_conversations(path, "openai")
    if read.bad and not read.records:
        raise InputError(f"--conversations {path}: no line is a conversation in our format ({read.bad[0].where}: "
                         f"{read.bad[0].reason}). Bring the file in with `loop.py chat import {path} --format "
                         "sharegpt|openai|csv --workspace WS` and pass WS/imports/NAME.jsonl.")
    kept = []
    for bad in read.bad:
        logging.getLogger("domainforge").warning("skipped %s: %s", bad.where, bad.reason)
    for record in read.records:
        messages, _, problem = repair_turns(scrub_turns(record.messages)[0])
        if problem:
            logging.getLogger("domainforge").warning("skipped %s: %s", record.where, problem[1])
        else:
            kept.append(messages)
    return kept


def overlap(answer: str, reference: str) -> float:
    """Token F1 between an answer and the reference."""
    mine, theirs = words(answer), words(reference)
    if not mine or not theirs:
        return float(mine == theirs)
    common = sum(min(mine.count(w), theirs.count(w)) for w in set(mine))
    return 2 * common / (len(mine) + len(theirs))


class ChatDomain(Domain):
    name = "chat"
    metric = "answers that pass the checks and match the reference"
    categories = tuple(CATEGORIES)
    draft_model = ChatDraft
    critique_model = ChatRubric
    blocking_verify = True
    answer_tokens = 200
    default_weights = {"how_to": 1.0, "follow_up": 1.0, "clarification": 1.0, "correction": 1.0, "refusal": 0.6,
                       "imported": 1.4}

    def __init__(self, bank: Bank, conversations: list[list[dict[str, str]]], budget: check.TokenBudget, sandbox,
                 system_prompt: str | None = None, grader=None) -> None:
        self.bank, self.budget, self.sandbox, self.grader = bank, budget, sandbox, grader
        self.system_prompt = " ".join((system_prompt or bank.system_prompt).split())
        self.held_topics = self._held_out(bank.topics, lambda t: t.name)
        self.held_requests = self._held_out(bank.out_of_scope, lambda r: r.ask)
        conversations = [self._with_system(c) for c in conversations]
        # by the turns alone, so the split stays when the system prompt changes
        self.held_conversations = self._held_out(conversations, lambda c: json.dumps(check.turns_of(c)))
        self.train = {
            "topics": [t for t in bank.topics if t not in self.held_topics],
            "requests": [r for r in bank.out_of_scope if r not in self.held_requests],
            "conversations": [c for c in conversations if c not in self.held_conversations],
        }
        if not self.train["conversations"]:
            # no conversations to learn from: the imported category has nothing to draw on
            self.categories = tuple(c for c in CATEGORIES if c != IMPORTED)
            self.default_weights = {c: w for c, w in self.default_weights.items() if c != IMPORTED}

    @staticmethod
    def _held_out(items: list, key) -> list:
        if len(items) < MIN_TO_HOLD_OUT:
            return []
        return [item for item in items if stable_fraction(key(item)) < HELD_OUT_SHARE]

    def _with_system(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system_prompt}] + check.turns_of(messages)

    # -- the offline teacher ----------------------------------------------------------

    def _refusal(self, request: OutOfScope, rng: random.Random, topics: list[Topic]) -> str:
        return (f"I'm sorry, but {request.about} is outside what I can help with here: I can only help with "
                f"{self.bank.scope}. If you have one of those, for example about {rng.choice(topics).name}, "
                "I'd be glad to help.")

    def _window(self, conversation: list[dict[str, str]], rng: random.Random) -> list[dict[str, str]]:
        """2-6 turns of a conversation, from a user turn to an assistant turn."""
        turns = check.turns_of(conversation)
        end = rng.randrange(1, len(turns), 2) + 1  # just after an assistant turn
        start = max(0, end - 2 * rng.randint(1, check.MAX_TURNS // 2))
        return turns[start:end]

    def _draft(self, category: str, rng: random.Random, topics: list[Topic], requests: list[OutOfScope],
               conversations: list[list[dict[str, str]]]) -> dict[str, Any]:
        persona = rng.choice(self.bank.personas)
        if category == IMPORTED:
            window = self._window(rng.choice(conversations), rng)
            return {"messages": window, "persona": "", "topic": ""}
        topic = rng.choice(topics)
        ask = persona.says + rng.choice(topic.asks)
        opening = [{"role": "user", "content": ask}, {"role": "assistant", "content": topic.main.reply()}]
        if category == "how_to":
            turns = opening
        elif category == "follow_up":
            turns = opening + [{"role": "user", "content": topic.follow_up.ask},
                               {"role": "assistant", "content": topic.follow_up.reply()}]
            if rng.random() < 0.3:
                said, answered = rng.choice(CLOSINGS)
                turns += [{"role": "user", "content": said}, {"role": "assistant", "content": answered}]
        elif category == "clarification":
            turns = [{"role": "user", "content": persona.says + topic.vague},
                     {"role": "assistant", "content": topic.clarify},
                     {"role": "user", "content": topic.clarified},
                     {"role": "assistant", "content": topic.main.reply()}]
        elif category == "correction":
            turns = opening + [{"role": "user", "content": topic.correction.says},
                               {"role": "assistant", "content": topic.correction.reply()}]
        else:
            request = rng.choice(requests)
            refusal = [{"role": "user", "content": persona.says + request.ask},
                       {"role": "assistant", "content": self._refusal(request, rng, topics)}]
            turns = opening + refusal if rng.random() < 0.5 else refusal
            topic = None
        return {"messages": turns, "persona": persona.name, "topic": topic.name if topic else ""}

    def template_draft(self, task: Task, attempt: int) -> dict[str, Any]:
        rng = random.Random(f"{task.seed}:{attempt}")
        return self._draft(task.category, rng, self.train["topics"], self.train["requests"], self.train["conversations"])

    def template_critique(self, example: Example) -> dict[str, Any]:
        """A deterministic critic that scores what it can tell from the text:
        substantial answers (helpful), code that parses (correct), the system
        prompt kept and refusals only where due (follows the system prompt), no
        answer repeated word for word (consistent)."""
        messages = example.payload["messages"]
        answers = [m["content"] for m in messages if m["role"] == "assistant"]
        refusal = example.category == REFUSAL
        found = []
        helpful = 5 if all(len(words(a)) >= 6 for a in answers) else 2
        if helpful < 5:
            found.append("an answer has fewer than six words")
        correct = 5
        for code in (code for a in answers for code in check.python_blocks(a)):
            try:
                parse_python(code)
            except SyntaxError as exc:
                correct = 1
                found.append(f"a Python block does not parse ({exc.msg})")
                break
        kept = bool(messages) and messages[0]["role"] == "system" and messages[0]["content"] == self.system_prompt
        refused_right = example.category == IMPORTED or bool(answers) and check.refuses(answers[-1]) == refusal
        follows = 5 if kept and refused_right else 1
        if not kept:
            found.append("the system prompt is not the domain's")
        if not refused_right:
            found.append("the last answer refuses an in-scope request" if not refusal else "the last answer does not decline")
        consistent = 5 if len(set(answers)) == len(answers) else 2
        if consistent < 5:
            found.append("an answer repeats an earlier one word for word")
        return {"helpful": helpful, "correct": correct, "follows_system_prompt": follows, "consistent": consistent,
                "reason": "; ".join(found) or "every criterion the template critic can check holds"}

    def critique_check(self, critic: str, reply: dict[str, Any]) -> Check:
        scores = ", ".join(f"{c.replace('_', ' ')} {reply[c]}" for c in CRITERIA)
        detail = f"{critic}: {scores} (each must be >= {RUBRIC_THRESHOLD}): {reply['reason']}"
        low = min(reply[c] for c in CRITERIA)
        return Check("critic_rubric", low >= RUBRIC_THRESHOLD, detail, "" if low >= RUBRIC_THRESHOLD else "rubric_below_threshold")

    # -- LLM teachers and critics ------------------------------------------------------

    def generation_messages(self, task: Task, feedback: str) -> list[dict[str, str]]:
        rng = random.Random(f"llm:{task.seed}")
        persona = rng.choice(self.bank.personas)
        ask = (f"Write one conversation of category '{task.category}' ({CATEGORIES[task.category]}) between a user and "
               f"the assistant, {check.MIN_TURNS} to {check.MAX_TURNS} turns, the assistant's last.")
        if task.category == REFUSAL:
            ask += f" The user asks for something outside the assistant's scope ({self.bank.scope}), for example: " \
                   f"{rng.choice(self.train['requests']).ask}"
        elif task.category == IMPORTED and self.train["conversations"]:
            shown = self._window(rng.choice(self.train["conversations"]), rng)
            ask += " Continue in the style of this real conversation, on a new question:\n" + \
                   "\n".join(f"{m['role']}: {m['content']}" for m in shown)
        else:
            ask += f" Topic: {rng.choice(self.train['topics']).name}."
        if persona.says:
            ask += f" The user is like this: {persona.says.strip()}"
        ask += (" When an answer shows Python code, make it runnable on its own, and if it says what the code prints, "
                "put the exact output in a ```text block right after it.")
        system = (f"You write training conversations for a chat assistant whose system prompt is:\n{self.system_prompt}\n"
                  'Reply with one JSON object {"messages": [{"role": "user", "content": "..."}, '
                  '{"role": "assistant", "content": "..."}, ...]} and nothing else.')
        return [{"role": "system", "content": system}, {"role": "user", "content": with_steering(ask, task, feedback)}]

    def critique_messages(self, example: Example) -> list[dict[str, str]]:
        shown = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in example.payload["messages"])
        return [{"role": "system", "content": f"You review conversations between a user and an assistant. {RUBRIC_REPLY}"},
                {"role": "user", "content": f"Category: {example.category} ({CATEGORIES.get(example.category, '')})\n\n"
                                            f"{shown}"}]

    def to_example(self, task: Task, draft: dict[str, Any]) -> Example:
        messages = [{"role": m["role"], "content": m["content"]} for m in draft["messages"]]
        if not messages or messages[0]["role"] != "system":
            messages = [{"role": "system", "content": self.system_prompt}] + messages
        metadata = {k: draft[k] for k in ("topic", "persona") if draft.get(k)}
        return Example(self.name, task.category, "messages", {"messages": messages}, metadata)

    # -- verification ---------------------------------------------------------------------

    def verify(self, example: Example) -> list[Check]:
        messages = example.payload["messages"]
        checks = check.check_structure(messages, self.system_prompt)
        checks.append(check.check_no_pii(messages))
        checks.append(check.check_substance(messages))
        checks += check.check_boilerplate(messages, None if example.category == IMPORTED else example.category == REFUSAL)
        if checks[0].passed:
            checks.append(self.budget.check(messages))
            checks += check.check_code_output(self.sandbox, messages)
        return checks

    # -- evaluation -------------------------------------------------------------------------

    def heldout_items(self) -> list[Example] | None:
        """Conversations about held-out topics and requests, and held-out
        imported conversations, each verified; None when nothing is held out."""
        if not (self.held_topics and self.held_requests):
            return None
        items: dict[str, Example] = {}
        for category in self.categories:
            conversations = self.held_conversations or []
            if category == IMPORTED and not conversations:
                continue
            for k in range(8):
                rng = random.Random(f"heldout:{category}:{k}")
                draft = self._draft(category, rng, self.held_topics, self.held_requests, conversations)
                example = self.to_example(Task(k, category, ""), draft)
                if all(c.passed for c in self.verify(example)):
                    items.setdefault(example.id, example)
        return list(items.values())

    def load_eval(self, path: Path, limit: int | None = None) -> EvalFile:
        """Conversations in any import format (sharegpt, openai, csv: by the
        file's suffix and first record), scrubbed and repaired; the student
        writes each one's last assistant turn. A row may carry a `category`
        (or `type`). A record that cannot be read, or has no answer to a user
        turn to score, is skipped."""
        format = "csv" if path.suffix.lower() == ".csv" else \
            "sharegpt" if '"conversations"' in path.read_text(encoding="utf-8", errors="replace")[:4000] else "openai"
        read = read_conversations(path, format)
        loaded = EvalFile(path, failing="cannot be read or end without an answer to score")
        loaded.skipped += [(bad.where, bad.reason) for bad in read.bad]
        for record in read.records[:limit]:
            messages, _, problem = repair_turns(scrub_turns(record.messages)[0])
            if problem:
                loaded.skipped.append((record.where, f"{problem[1]}: an evaluation conversation needs a user turn and "
                                                     "the assistant's answer to it"))
                continue
            category = record.category if record.category in CATEGORIES else IMPORTED
            loaded.items.append(Example(self.name, category, "messages", {"messages": self._with_system(messages)},
                                        {"source": record.where}))
        return loaded

    def _grade(self, example: Example, answer: str) -> tuple[dict[str, float], list[Check]]:
        reference = example.payload["messages"][-1]["content"]
        conversation = example.payload["messages"][:-1] + [{"role": "assistant", "content": answer}]
        checks = [check.check_no_pii([{"role": "assistant", "content": answer}]), check.check_substance(conversation)]
        checks += check.check_boilerplate(conversation, None if example.category == IMPORTED else example.category == REFUSAL)
        checks += check.check_code_output(self.sandbox, [{"role": "assistant", "content": answer}])
        same = check.check_same_result(self.sandbox, answer, reference)
        checks += [same] if same else []
        measures = {"reference_overlap": overlap(answer, reference),
                    "checks_passed": sum(c.passed for c in checks) / len(checks)}
        return measures, checks

    def answer_measures(self, example: Example, answer: str) -> dict[str, float]:
        """Token F1 with the reference answer, and the share of checks passed."""
        return self._grade(example, answer)[0]

    def score_answer(self, example: Example, answer: str) -> Check:
        """With a grader: its rubric scores, each >= RUBRIC_THRESHOLD. Offline:
        every check passes (no personal data or boilerplate, refuses exactly
        when the request is out of scope, claimed output is printed, and where
        the reference's code prints something, the answer's prints the same)
        and the answer overlaps the reference (token F1 >= REFERENCE_OVERLAP)."""
        if self.grader is not None:
            reply = self.grader(self._grading_messages(example, answer))
            if reply.data is None:
                return Check("answer_correct", False, f"the grader gave no usable grade: {reply.problem}", "grader_failed")
            graded = self.critique_check(reply.call.model, reply.data)
            return Check("answer_correct", graded.passed, graded.detail, graded.reason)
        measures, checks = self._grade(example, answer)
        failed = next((c for c in checks if not c.passed), None)
        if failed:
            return Check("answer_correct", False, f"{failed.name}: {failed.detail}", failed.reason)
        detail = f"reference overlap {measures['reference_overlap']:.2f}"
        if measures["reference_overlap"] < REFERENCE_OVERLAP:
            return Check("answer_correct", False, detail, "answer_differs")
        return Check("answer_correct", True, detail)

    def _grading_messages(self, example: Example, answer: str) -> list[dict[str, str]]:
        *before, reference = example.payload["messages"]
        shown = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in before)
        return [{"role": "system", "content": "You grade an assistant's last answer in a conversation against a "
                                              f"reference answer. {RUBRIC_REPLY}"},
                {"role": "user", "content": f"{shown}\n\nReference answer:\n{reference['content']}\n\n"
                                            f"Answer to grade:\n{answer}"}]

    def close(self) -> None:
        self.sandbox.close()


def open_domain(sources: dict[str, str]) -> ChatDomain:
    from agents.teachers import grader

    bank = load_bank(Path(sources["bank"]))
    conversations = load_conversations(Path(sources["conversations"]))
    budget = check.open_budget(sources["tokenizer"])
    grade = grader(sources["grader"], ChatRubric) if sources.get("grader") else None
    return ChatDomain(bank, conversations, budget, open_sandbox_for(sources), sources.get("system_prompt"), grade)
