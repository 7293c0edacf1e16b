"""The example graph: how one training example is made.

    generate ─► critique ─► verify ─┬─► decide        (every check passed, or out of attempts)
        ▲                           │
        └──────── repair ◄──────────┘                 (findings fed back to the generator)

Verification is the domain's own checks, then the checks every domain gets
(`SharedCheck`s: today `Novelty`). Each node appends its outcome to the example's lineage. The graph keeps no
checkpoints: an example takes milliseconds to seconds, and the store records
each finished slot durably, so after a crash only in-flight slots re-run.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import Any, Protocol, Sequence, TypedDict

from langgraph.graph import END, START, StateGraph

from agents.domains.base import Domain
from agents.teachers.base import Teacher, TeacherRequest
from forge.records import Check, Example, Lineage, Verdict, content_hash
from forge.store import Store


class ExampleState(TypedDict, total=False):
    task: Any
    attempt: int
    example: Example
    checks: list[Check]
    feedback: str
    lineage: Lineage
    verdict: Verdict


def _failures(checks: list[Check]) -> str:
    return "\n".join(f"- {c.name} failed ({c.reason}): {c.detail[:400]}" for c in checks if not c.passed)


def failure_check(exc: BaseException, name: str, reason: str) -> tuple[Check, str]:
    """An exception raised while making or checking one example, as the check
    that rejects that example alone (a sandbox's TaskTooLarge brings its own
    reason, `task_too_large`) and its traceback, for the lineage."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    detail = f"{type(exc).__name__}: {lines[-1] if lines else '(no message)'}"
    return Check(name, False, detail, getattr(exc, "reason", reason)), "".join(traceback.format_exception(exc))


class SharedCheck(Protocol):
    """A check that every domain's examples get, after the domain's own."""

    def check(self, example: Example) -> Check:
        ...

    def passed(self, example: Example) -> None:
        """The example passed every check (and will be accepted)."""
        ...


class Novelty:
    """`novel`: the example repeats no accepted one in the workspace, by content
    or by the domain's `duplicate_key` (the same question put another way).
    It counts examples accepted by this graph but not yet stored, so two slots
    that draw the same content at once are not both accepted."""

    def __init__(self, domain: Domain, store: Store) -> None:
        self.domain, self.store = domain, store
        self.claimed: set[str] = set()
        self.claimed_keys: set[str] | None = None  # read from the store on first need

    def check(self, example: Example) -> Check:
        if example.id in self.claimed or self.store.is_accepted(example.id):
            return Check("novel", False, f"example {example.id} is already accepted in this workspace", "duplicate")
        key = self.domain.duplicate_key(example)
        if key is not None:
            if self.claimed_keys is None:
                self.claimed_keys = {k for e in self.store.accepted_examples(self.domain.name)
                                     if (k := self.domain.duplicate_key(e))}
            if key in self.claimed_keys:
                return Check("novel", False, "the same question, put another way, is already accepted in this "
                                             "workspace", "duplicate")
        return Check("novel", True)

    def passed(self, example: Example) -> None:
        self.claimed.add(example.id)
        if self.claimed_keys is not None and (key := self.domain.duplicate_key(example)):
            self.claimed_keys.add(key)


def build_example_graph(domain: Domain, teacher: Teacher, critic: Teacher, store: Store, max_attempts: int = 3,
                        shared_checks: Sequence[SharedCheck] | None = None):
    """Compile the graph for one domain. Invoke it with {"task", "lineage"}.
    `shared_checks` run on every example after the domain's own (default: `Novelty`)."""
    every_domain = list(shared_checks) if shared_checks is not None else [Novelty(domain, store)]

    async def generate(state: ExampleState) -> ExampleState:
        task, lineage = state["task"], state["lineage"]
        attempt = state.get("attempt", 0) + 1
        lineage.attempts = attempt
        # A domain or teacher that raises on this slot's input (a source it did not expect) fails this slot,
        # never the run: the slot is rejected as `generator_error`, with the traceback in its lineage.
        try:
            messages = domain.generation_messages(task, state.get("feedback", ""))
            if attempt == 1:
                lineage.prompt_hash = content_hash(messages)
            reply = await teacher.complete(TeacherRequest("generate", messages, domain.draft_model, attempt, task=task))
            lineage.calls.append(reply.call)
            example = domain.to_example(task, reply.data) if reply.data is not None else None
        except Exception as exc:
            check, failure = failure_check(exc, "generated", "generator_error")
            lineage.event("generate", attempt, False, reason=check.reason, detail=check.detail, traceback=failure)
            failed = Example(domain.name, task.category, "instruction",
                             {"instruction": "", "input": "", "output": f"slot {task.slot}: {check.detail}"})
            return {"attempt": attempt, "example": failed, "checks": [check]}
        if example is None:
            example = Example(domain.name, task.category, "instruction", {"instruction": "", "input": "", "output": reply.raw})
            check = Check("teacher_output_valid", False, reply.problem, reply.call.error)
            lineage.event("generate", attempt, False, reason=reply.call.error, detail=reply.problem)
            return {"attempt": attempt, "example": example, "checks": [check]}
        lineage.event("generate", attempt, True, example_id=example.id, retries=reply.call.retries, cached=reply.call.cached)
        return {"attempt": attempt, "example": example, "checks": []}

    async def critique(state: ExampleState) -> ExampleState:
        example, lineage, attempt = state["example"], state["lineage"], state["attempt"]
        try:
            reply = await critic.complete(TeacherRequest("critique", domain.critique_messages(example),
                                                         domain.critique_model, attempt, task=state["task"], example=example))
            lineage.calls.append(reply.call)
            if reply.data is None:
                check = Check("critic_agrees", False, f"critic output unusable: {reply.problem}", "critic_output_invalid")
            else:
                check = domain.critique_check(critic.spec, reply.data)
        except Exception as exc:
            check, failure = failure_check(exc, "critic_agrees", "critic_error")
            lineage.event("critique", attempt, False, critic=critic.spec, detail=check.detail, traceback=failure)
            return {"checks": [check]}
        lineage.event("critique", attempt, check.passed, critic=critic.spec, detail=check.detail)
        return {"checks": [check]}

    async def verify(state: ExampleState) -> ExampleState:
        example, lineage, attempt = state["example"], state["lineage"], state["attempt"]
        # Sandboxed verification blocks for tens of milliseconds: off the event loop.
        # (kglite is single-threaded, so in-process verifiers stay on it.)
        # A verifier that raises fails this example, never the run.
        failure = ""
        try:
            if domain.blocking_verify:
                checks = list(state["checks"]) + await asyncio.to_thread(domain.verify, example)
            else:
                checks = list(state["checks"]) + domain.verify(example)
        except Exception as exc:
            check, failure = failure_check(exc, "verified", "verifier_error")
            checks = list(state["checks"]) + [check]
        checks += [shared.check(example) for shared in every_domain]
        if all(c.passed for c in checks):
            for shared in every_domain:
                shared.passed(example)
        failed = [c.reason for c in checks if not c.passed]
        lineage.event("verify", attempt, not failed, failed=failed, **({"traceback": failure} if failure else {}))
        return {"checks": checks}

    def after_generate(state: ExampleState) -> str:
        return "critique" if not state["checks"] else "decide"

    def after_verify(state: ExampleState) -> str:
        if all(c.passed for c in state["checks"]) or state["attempt"] >= max_attempts:
            return "decide"
        return "repair"

    async def repair(state: ExampleState) -> ExampleState:
        feedback = f"Question: {state['example'].payload.get('instruction', '')}\n" \
                   f"Answer: {state['example'].payload.get('output', '')}\n{_failures(state['checks'])}"
        state["lineage"].event("repair", state["attempt"], True, feedback=_failures(state["checks"]))
        return {"feedback": feedback}

    async def decide(state: ExampleState) -> ExampleState:
        verdict = Verdict(tuple(state["checks"]))
        lineage = state["lineage"]
        lineage.event("decide", state["attempt"], verdict.accepted, reasons=verdict.reasons)
        return {"verdict": verdict}

    graph = StateGraph(ExampleState)
    graph.add_node("generate", generate)
    graph.add_node("critique", critique)
    graph.add_node("verify", verify)
    graph.add_node("repair", repair)
    graph.add_node("decide", decide)
    graph.add_edge(START, "generate")
    graph.add_conditional_edges("generate", after_generate, ["critique", "decide"])
    graph.add_edge("critique", "verify")
    graph.add_conditional_edges("verify", after_verify, ["repair", "decide"])
    graph.add_edge("repair", "generate")
    graph.add_edge("decide", END)
    # checkpointer=False: never inherit the improvement cycle's checkpointer when
    # run inside one of its nodes; slots are made durable by the store instead.
    return graph.compile(checkpointer=False)
