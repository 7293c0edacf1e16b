"""The Cypher domain: natural-language questions and the Cypher that answers them.

Everything is derived from the graph itself (schema introspection plus real
values sampled from it), so the template teacher works on any graph the user
points `--graph` at: it samples query plans (plans.py) and keeps those
whose query returns some rows, not every node, quickly. The prompts show an LLM
teacher the same schema. Categories are levels of difficulty, and every
example records the constructs its query uses, so the loop can see which ones
the student gets wrong.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from agents.domains.base import Critique, Domain, EvalFile, Task, leave_out, with_steering
from agents.domains.cypher.lexicon import NUMBER_WORDS, name_words, plural
from agents.domains.cypher.plans import LEVELS, SMALL_LABEL, PlanSampler
from agents.domains.cypher.verify import execution_match, query_constructs, schema_names, verify_cypher_example
from agents.domains.cypher.graphdb import GraphBackend, is_write_query, strip_strings
from evaluators.harness import degenerate
from forge.errors import InputError
from forge.records import Check, Example
from forge.rows import read_rows

_CHEAP_SECONDS = 0.5
_CANDIDATES = 4  # plans drawn per slot when the loop asks for more of some constructs

# Words a question needs for each construct its query uses (besides the values).
_CUES = {
    "count": ("how many", "number of", "count", "most", "fewest", "more than", "less than"),
    "numeric_aggregate": ("average", "mean", "total", "sum", "highest", "lowest", "maximum", "minimum", "most", "least"),
    "order_by": ("top", "highest", "lowest", "most", "fewest", "least", "first", "last", "latest", "earliest", "sort",
                 "order", "rank", "largest", "smallest", "biggest"),
    "not_exists": ("no ", "not", "never", "without", "none"),
    "not": ("not", "no ", "never", "without", "except", "other"),
    "optional_match": ("including", "even", "if any", "none", "zero"),
    "or": (" or ", "either", "outside"),
    "shortest_path": ("shortest", "hops", "apart", "closest", "distance"),
    "variable_length": ("hops", "within", "reach", "path", "connected"),
}


class CypherEvalRow(BaseModel):
    """One row of a user's evaluation file."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1)
    cypher: str = Field(min_length=1, description="The reference query; scored by execution accuracy.")
    category: str = "eval"


class CypherDraft(BaseModel):
    """What a teacher returns for one example."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=8, max_length=300, description="A natural-language question about the graph.")
    cypher: str = Field(min_length=6, max_length=400, description="One Cypher query that answers it.")


class CypherDomain(Domain):
    name = "cypher"
    metric = "execution accuracy"
    default_weights = {"simple_retrieval": 1.0, "complex_retrieval": 1.0, "simple_aggregation": 1.0,
                       "complex_aggregation": 1.0, "paths": 0.6, "writes": 0.4}
    draft_model = CypherDraft

    def __init__(self, graphdb: GraphBackend) -> None:
        self.graphdb = graphdb
        self.schema = graphdb.schema()
        self.schema_text = self.schema.describe()
        # What the student sees before every question: the task and the graph's
        # names, so it can copy labels and properties rather than guess them.
        self.system_prompt = f"Answer with one Cypher query over this graph. {self.schema.compact()}"
        self.plans = PlanSampler(graphdb, self.schema)
        # Said up front, not found slot by slot: what this graph cannot feed leaves the schedule.
        self.categories = tuple(level for level in LEVELS if self.plans.feeds(level))
        if not self.categories:
            raise InputError("--graph: the graph gives no query of any level (it needs labels with properties, and "
                             "relationships for most levels); check that it holds what you meant to load")
        for level in LEVELS:
            if level not in self.categories:
                leave_out(level, f"this graph gives no query of this level ({LEVELS[level]})")
        self.default_weights = {c: w for c, w in self.default_weights.items() if c in self.categories}

    # -- what the example graph calls ---------------------------------------

    def template_draft(self, task: Task, attempt: int) -> dict[str, str]:
        """A sampled plan that runs: some rows, not every node, quickly. When the
        loop weights constructs (what the student got wrong), draw a few plans
        and prefer the one whose constructs weigh most."""
        rng = random.Random(f"{task.seed}:{attempt}")
        candidates = [self._runnable_plan(task.category, rng) for _ in range(_CANDIDATES if task.emphasis else 1)]
        if task.emphasis:
            weight = dict(task.emphasis)
            scores = [(1.0 + sum(weight.get(c, 0.0) for c in query_constructs(cypher))) ** 2 for _, cypher in candidates]
            question, cypher = rng.choices(candidates, weights=scores)[0]
        else:
            question, cypher = candidates[0]
        return {"question": question, "cypher": cypher}

    def _runnable_plan(self, level: str, rng: random.Random) -> tuple[str, str]:
        for _ in range(20):
            question, cypher = self.plans.sample(level, rng)
            if is_write_query(cypher):
                return question, cypher
            started = time.perf_counter()
            result = self.graphdb.run(cypher)
            took = time.perf_counter() - started
            summarised = {"limit", "count", "numeric_aggregate"} & set(query_constructs(cypher))
            size = self.plans.size(cypher)
            everything = result.ok and not summarised and len(result.rows) >= size > SMALL_LABEL
            if result.ok and result.rows and not everything and took < _CHEAP_SECONDS:
                return question, cypher
        return question, cypher  # the verifier says why it fails

    def generation_messages(self, task: Task, feedback: str) -> list[dict[str, str]]:
        rng = random.Random(task.seed)
        shown = ""
        if self.plans.key:  # some values, to write real ones; a graph without properties has none to show
            label = rng.choice(sorted(self.plans.key))
            key = self.plans.key[label]
            values = [r[key] for r in self.plans.rows[label] if r.get(key) is not None]
            shown = f"Some {label} {key} values in the graph: " + \
                ", ".join(repr(v) for v in rng.sample(values, min(4, len(values)))) + ".\n\n"
        user = (f"Graph schema:\n{self.schema_text}\n\n{shown}"
                f"Write one example of level '{task.category}': {LEVELS[task.category]}.\n"
                "Ask the question as a person would, in plain words, not in the schema's names.\n"
                "The question must be answerable from this graph; the query must use only the labels, relationship "
                "types and properties above, and a read query must return at least one row.")
        return [
            {"role": "system", "content": "You write training data for a text-to-Cypher model. Reply with one JSON "
                                          'object: {"question": "...", "cypher": "..."} and nothing else.'},
            {"role": "user", "content": with_steering(user, task, feedback)},
        ]

    def to_example(self, task: Task, draft: dict[str, str]) -> Example:
        return Example(
            domain=self.name,
            category=task.category,
            format="instruction",
            payload={"instruction": draft["question"].strip(), "input": "", "output": draft["cypher"].strip()},
            metadata={"graph": self.graphdb.name, "schema": self.schema_text, "system": self.system_prompt,
                      "constructs": list(query_constructs(draft["cypher"]))},
        )

    def critique_messages(self, example: Example) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": "You review text-to-Cypher training data. " + Critique.instruction()},
            {"role": "user", "content": f"Graph schema:\n{self.schema_text}\n\nQuestion: {example.payload['instruction']}\n"
                                        f"Cypher: {example.payload['output']}\n\n"
                                        "Does the query answer exactly this question (same entities, filters, "
                                        "ordering and limits)?"},
        ]

    def template_critique(self, example: Example) -> dict[str, str]:
        """A deterministic critic: the question and the query talk about the same
        things. Every literal and label in the query is named in the question
        (as the schema names it, in words, or plural), every number and quoted
        value in the question is in the query, and each construct the query
        uses (a count, an order, a negation...) has words in the question."""
        question = example.payload["instruction"].lower()
        query = example.payload["output"]
        literals = [s[1:-1].replace("\\'", "'") for s in re.findall(r"'(?:[^'\\]|\\.)*'", query)]
        numbers = re.findall(r"(?<![\w.*])-?\d+(?:\.\d+)?(?![\w.])", re.sub(r"\[\*[\d.]*\]", "", strip_strings(query)))
        labels, _, _ = schema_names(query)
        # A node pinned by a named value ("Who wrote 'The Hidden Crown'?") needs no label of its own.
        pinned = set(re.findall(r"\(\s*\w*\s*:\s*`?(\w+)`?\s*\{[^}]*'", query))
        said = {str(n): word for n, word in NUMBER_WORDS.items()}
        missing = [x for x in literals + numbers if x.lower() not in question
                   and not (x in said and re.search(rf"\b{said[x]}\b", question))]
        missing += [label for label in sorted(labels - pinned)
                    if not any(form in question for form in (label.lower(), name_words(label), plural(label)))]
        if missing:
            return {"verdict": "disagree", "reason": f"the query uses {missing} which the question never mentions"}
        unquoted = re.sub(r"'[^']*'", " ", question)
        extra = [n for n in re.findall(r"(?<![\w.-])\d+(?:\.\d+)?(?![\w-])", unquoted) if not re.search(rf"(?<![\w])(?<!\d\.){re.escape(n)}(?![\w])", query)]
        extra += [v for v in re.findall(r"'([^']+)'", question) if v not in query.lower() and v not in query]
        if extra:
            return {"verdict": "disagree", "reason": f"the question mentions {extra} which the query never uses"}
        unsaid = [c for c in query_constructs(query) if c in _CUES and not any(cue in question for cue in _CUES[c])]
        if unsaid:
            return {"verdict": "disagree", "reason": f"the query uses {', '.join(unsaid)} which the question never asks for"}
        return {"verdict": "agree", "reason": "the question names every label, value and construct of the query, and no other value"}

    def verify(self, example: Example) -> list[Check]:
        return verify_cypher_example(example, self.graphdb)

    def close(self) -> None:
        self.graphdb.close()

    def load_eval(self, path: Path, limit: int | None = None) -> EvalFile:
        """{question, cypher, category?} rows; a reference query that does not run on the graph is skipped."""
        read = read_rows(path, CypherEvalRow, "{question, cypher, category?}")
        loaded = EvalFile(path, failing=f"do not run on {self.graphdb.name}", ignored_fields=read.ignored)
        for line, row in read.rows[:limit]:
            result = self.graphdb.run(row.cypher)
            if not result.ok:
                loaded.skipped.append((f"{path}:{line}", f"the reference query fails: {result.error[:200]}"))
                continue
            loaded.items.append(self.to_example(Task(line, row.category, ""), {"question": row.question, "cypher": row.cypher}))
        return loaded

    def answer_measures(self, example: Example, answer: str) -> dict[str, float]:
        return {"degenerate": float(degenerate(answer))}

    def score_answer(self, example: Example, answer: str) -> Check:
        """Execution accuracy of a student's answer against the reference query."""
        return execution_match(example.payload["output"], answer, self.graphdb)


def open_domain(sources: dict[str, str]) -> CypherDomain:
    from agents.domains.cypher.graphdb import open_graph

    graph = open_graph(sources["graph"])
    try:
        return CypherDomain(graph)
    except InputError:
        graph.close()
        raise
