"""Compositional Cypher: query plans sampled from a graph's schema and data,
each rendered both to the query and to the question it answers.

A plan is a walk of 0-3 hops from the node a question is about, conditions on
the nodes and relationships along it (values taken from a real path in the
graph), and a head: a list, a top k, a count, an aggregate, groups, an EXISTS
or NOT EXISTS subquery, an OPTIONAL MATCH, a variable-length or shortest path,
or a write. The question is realised from the same plan with the schema's
lexicon (lexicon.py), so it says exactly what the query does. The
domain executes every query and keeps a plan only if it returns some rows, not
every node, and quickly.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from agents.domains.cypher.lexicon import (MISSING, NUMBER_WORDS, Field, Relation, article, display_key, ident,
                                           measure_words, name_words, plural, profile, property_words, some)
from agents.domains.cypher.graphdb import GraphBackend, GraphSchema

LEVELS: dict[str, str] = {
    "simple_retrieval": "one label or one hop, at most one condition, optionally sorted and limited",
    "complex_retrieval": "one to three hops with several conditions (AND / OR / NOT, relationship properties), "
                         "EXISTS / NOT EXISTS, DISTINCT, top k",
    "simple_aggregation": "count, sum, avg, min or max over one label or one hop, optionally grouped",
    "complex_aggregation": "aggregates over paths: grouped top k with WITH, filters on aggregates, OPTIONAL MATCH",
    "paths": "chains of two or three hops, variable-length paths, shortestPath, shared neighbours",
    "writes": "CREATE, MERGE or SET",
}

_NEW_WORDS = ("Aurora", "Basil", "Cobalt", "Delta", "Ember", "Fable", "Granite", "Harlow", "Indigo", "Juniper",
              "Kestrel", "Linden", "Marlow", "Nimbus", "Opal", "Pioneer", "Quartz", "Rowan", "Sable", "Tamsin")
_LOCATIONS = {"country", "city", "region", "state", "province", "continent", "location"}
_SAMPLE_ROWS = 1000
SMALL_LABEL = 50
"""A label with at most this many nodes may be listed whole ("List every genre."); a bigger one never is."""


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


def _count(k: int, rng: random.Random) -> str:
    """A number as people write it in a question: "3" or "three"."""
    return NUMBER_WORDS[k] if k in NUMBER_WORDS and rng.random() < 0.35 else str(k)


def _said(value: Any, rng: random.Random) -> str:
    return f"'{value}'" if isinstance(value, str) and (" " in value or rng.random() < 0.4) else str(value)


@dataclass
class Condition:
    """One predicate: its Cypher and its words. `{be}` in the phrase agrees with the subject."""

    cypher: str
    phrase: str
    pin: tuple[str, Any] | None = None
    """(property, value) written in the node's pattern map, not in WHERE."""
    field: str = ""
    """The property it tests, so a node or relationship gets at most one condition per property."""


@dataclass
class Walk:
    """A path through the schema from the subject (node 0) and a real instance of it."""

    labels: list[str]
    relations: list[tuple[str, bool]]
    """(type, forward) per hop; forward when it points away from the subject."""
    row: dict[str, Any]
    """n{i}.{prop} and r{i}.{prop} values of one matching path."""
    variables: list[str] = field(default_factory=list)
    conditions: dict[int, list[Condition]] = field(default_factory=dict)
    relation_conditions: dict[int, list[Condition]] = field(default_factory=dict)
    """Per hop i: its relationship is named r{i} in the pattern, and these conditions test it."""

    def __post_init__(self) -> None:
        taken = {f"r{i}" for i in range(1, len(self.labels))}  # relationship variables
        for label in self.labels:
            var = next((ch.lower() for ch in label if ch.isascii() and ch.isalpha()), "n")
            while var in taken:
                var += str(len(taken))
            taken.add(var)
            self.variables.append(var)

    def node(self, i: int, labelled: bool = True) -> str:
        pins = [c.pin for c in self.conditions.get(i, []) if c.pin]
        body = " {" + ", ".join(f"{ident(p)}: {literal(v)}" for p, v in pins) + "}" if pins else ""
        return f"({self.variables[i]}:{ident(self.labels[i])}{body})" if labelled else f"({self.variables[i]})"

    def pattern(self, start: int = 0) -> str:
        text = self.node(start)
        for i in range(start + 1, len(self.labels)):
            rel, forward = self.relations[i - 1]
            var = f"r{i}" if i in self.relation_conditions else ""
            text += (f"-[{var}:{ident(rel)}]->" if forward else f"<-[{var}:{ident(rel)}]-") + self.node(i)
        return text

    def trim(self) -> None:
        """Drop the hops past the last node or relationship with a condition: "purchased by a customer" says nothing."""
        last = max([0, *[i for i, c in self.conditions.items() if c], *[i for i, c in self.relation_conditions.items() if c]])
        del self.labels[last + 1:], self.relations[last:], self.variables[last + 1:]

    def used(self, i: int) -> set[str]:
        return {c.field for c in self.conditions.get(i, [])}

    def where(self) -> list[str]:
        clauses = [c.cypher for i in sorted(self.conditions) for c in self.conditions[i] if not c.pin]
        return clauses + [c.cypher for i in sorted(self.relation_conditions) for c in self.relation_conditions[i]]


class NothingToAsk(LookupError):
    """The graph gave no query of a level in this slot's draws: the slot is rejected with this reason, the run goes on."""

    reason = "nothing_to_ask"


class PlanSampler:
    """Samples (question, cypher) pairs for a level from one graph."""

    def __init__(self, graphdb: GraphBackend, schema: GraphSchema) -> None:
        self.graphdb = graphdb
        self.schema = schema
        self.rows = {label: self._rows(label) for label in schema.labels}
        # Sorted: the graph may list properties in any order, and a draft must depend on its seed alone.
        self.fields = {label: {p: profile(label, p, [r.get(p) for r in self.rows[label]]) for p in sorted(props)}
                       for label, props in schema.labels.items()}
        self.key = {label: display_key(fields) for label, fields in self.fields.items() if fields}
        # A label without properties has nothing to name its nodes by: queries go through labels that have some.
        self.edges = [e for e in schema.relationships if self.rows[e[0]] and self.rows[e[2]]
                      and e[0] in self.key and e[2] in self.key]
        self._instances: dict[tuple, list[dict[str, Any]]] = {}
        self._relation_fields: dict[str, dict[str, Field]] = {}
        self._group_sizes: dict[tuple, int] = {}
        self.heads: dict[str, list[Callable[[random.Random], tuple[str, str] | None]]] = {
            "simple_retrieval": [self._list, self._list, self._lookup, self._top_k, self._neighbours, self._whole_label],
            "complex_retrieval": [self._complex_list, self._complex_list, self._top_k_path, self._exists],
            "simple_aggregation": [self._count, self._aggregate, self._group_by_field, self._group_by_neighbour],
            "complex_aggregation": [self._top_groups, self._top_groups, self._having, self._optional_count,
                                    self._grouped_aggregate],
            "paths": [self._chain, self._variable_length, self._shortest_path, self._shared_neighbour],
            "writes": [self._create, self._merge_node, self._merge_edge, self._set_property],
        }

    # -- the graph, read once ------------------------------------------------

    def _rows(self, label: str) -> list[dict[str, Any]]:
        props = sorted(self.schema.labels[label])
        columns = ", ".join(f"n.{ident(p)} AS {ident(p)}" for p in props) or "id(n) AS id"
        return self.graphdb.run(f"MATCH (n:{ident(label)}) RETURN {columns} LIMIT {_SAMPLE_ROWS}").rows

    def relation_fields(self, rel: str) -> dict[str, Field]:
        if rel not in self._relation_fields:
            props = sorted(self.schema.relationship_properties.get(rel, {}))
            rows = self.graphdb.run(f"MATCH ()-[r:{ident(rel)}]->() RETURN " + ", ".join(f"r.{ident(p)} AS {ident(p)}" for p in props)
                                  + f" LIMIT {_SAMPLE_ROWS}").rows if props else []
            self._relation_fields[rel] = {p: profile(rel, p, [r.get(p) for r in rows]) for p in props}
        return self._relation_fields[rel]

    def relation(self, rel: str) -> Relation:
        targets = {t for _, r, t in self.schema.relationships if r == rel}
        return Relation(rel, targets.pop() if len(targets) == 1 else "")

    def _usable(self, fields: dict[str, Field], key: str | None = None) -> list[Field]:
        return [f for name, f in sorted(fields.items()) if f.comparable and name != key or f.role == "name" and name == key]

    def walk(self, rng: random.Random, hops: int, distinct_ends: bool = False) -> Walk | None:
        """A random path of `hops` relationships from any label with rows, with one real instance;
        None if there is none, or if `distinct_ends` and it ends on the label it started from."""
        labels = [rng.choice(sorted(label for label in self.key if self.rows[label]) or [None])]
        if labels[0] is None:
            return None
        relations: list[tuple[str, bool]] = []
        for _ in range(hops):
            here = labels[-1]
            options = [(rel, True, t) for s, rel, t in self.edges if s == here] + \
                      [(rel, False, s) for s, rel, t in self.edges if t == here]
            options = [o for o in options if (o[0], o[2]) not in zip([r for r, _ in relations], labels)]
            if not options:
                return None
            rel, forward, label = rng.choice(sorted(options))
            relations.append((rel, forward))
            labels.append(label)
        instances = self._instances_of(tuple(labels), tuple(relations))
        if not instances:
            return None
        row = rng.choice(instances)
        return None if distinct_ends and labels[0] == labels[-1] else Walk(labels, relations, row)

    def _instances_of(self, labels: tuple[str, ...], relations: tuple[tuple[str, bool], ...]) -> list[dict[str, Any]]:
        if (labels, relations) not in self._instances:
            pattern, columns = f"(n0:{ident(labels[0])})", [f"n0.{ident(p)} AS {ident(f'n0.{p}')}" for p in self.fields[labels[0]]]
            for i, ((rel, forward), label) in enumerate(zip(relations, labels[1:]), start=1):
                pattern += (f"-[r{i}:{ident(rel)}]->" if forward else f"<-[r{i}:{ident(rel)}]-") + f"(n{i}:{ident(label)})"
                columns += [f"n{i}.{ident(p)} AS {ident(f'n{i}.{p}')}" for p in self.fields[label]]
                columns += [f"r{i}.{ident(p)} AS {ident(f'r{i}.{p}')}" for p in self.relation_fields(rel)]
            result = self.graphdb.run(f"MATCH {pattern} RETURN {', '.join(columns)} LIMIT {_SAMPLE_ROWS}")
            self._instances[(labels, relations)] = result.rows if result.ok else []
        return self._instances[(labels, relations)]

    # -- conditions: a value from the instance, in Cypher and in words ------------

    def condition(self, rng: random.Random, var: str, f: Field, value: Any, *, pin: bool = True,
                  joined: bool = False, negated: bool = False) -> Condition | None:
        """A predicate that the instance's `value` satisfies (`negated`: does not)."""
        if value is None or not f.comparable or isinstance(value, str) and (value.strip() in MISSING or value != value.strip()):
            return None
        p, expr = property_words(f.owner, f.name), f.expr(var)
        if f.role == "flag":
            truth = bool(value) != negated
            return Condition(f"{expr} = {literal(truth)}", f"that {{be}} {'' if truth else 'not '}{p.removeprefix('is ')}")
        if f.role == "name" and pin and not negated and not joined:
            return Condition("", "", pin=(f.name, value))
        if f.role == "name" and rng.random() < 0.5 and not negated:
            if rng.random() < 0.5:
                prefix = value[: rng.randint(2, 4)]
                return Condition(f"{expr} STARTS WITH {literal(prefix)}", f"whose {p} starts with '{prefix}'")
            word = max(value.split(), key=len)
            return Condition(f"{expr} CONTAINS {literal(word)}", f"whose {p} contains '{word}'")
        if f.role in ("name", "unique", "category"):
            if negated or rng.random() < 0.15 and f.role == "category":
                other = rng.choice([v for v in f.values if v != value] or [value]) if not negated else value
                return Condition(f"NOT {expr} = {literal(other)}", f"whose {p} is not {_said(other, rng)}")
            if joined and f.role == "category" and rng.random() < 0.5:
                other = rng.choice(f.values)
                if other != value:
                    return Condition(f"({expr} = {literal(value)} OR {expr} = {literal(other)})",
                                     f"whose {p} is {_said(value, rng)} or {_said(other, rng)}")
            place = p in _LOCATIONS and rng.random() < 0.5
            return Condition(f"{expr} = {literal(value)}", f"in {_said(value, rng)}" if place else f"whose {p} is {_said(value, rng)}")
        return self._range(rng, f, expr, p, value, joined)

    def _range(self, rng: random.Random, f: Field, expr: str, p: str, value: Any, joined: bool) -> Condition | None:
        if f.role == "date":
            value = str(value)
        below = [v for v in f.values if v < (float(value) if f.cast else value)]
        above = [v for v in f.values if v > (float(value) if f.cast else value)]

        def said(v: Any) -> Any:
            if f.role == "date":
                return str(v)[:10]
            if isinstance(v, float) and (f.cast or not v.is_integer()):
                return int(v) if v.is_integer() else round(v, 1)
            return v

        def words_for(op: str) -> str:
            if f.role in ("year", "date"):
                when = {"<": "before", ">": "after", "<=": "in or before", ">=": "in or after"}[op]
                return f"{p} {when}" if p.endswith(("ed", "born")) else f"with {some(p)} {when}"
            return rng.choice({">": [f"with {some(p)} above", f"with {some(p)} greater than", f"with {some(p)} over"],
                               "<": [f"with {some(p)} below", f"with {some(p)} less than", f"with {some(p)} under"],
                               ">=": [f"with {some(p)} of at least"], "<=": [f"with {some(p)} of at most"]}[op])

        lit = (lambda v: literal(str(v)[:10])) if f.role == "date" else literal
        shape = rng.choice(["<", ">", ">=", "<=", "between", "outside"] if joined else ["<", ">", ">=", "<="])
        if shape == "between" and below and above:
            low, high = said(rng.choice(below)), said(rng.choice(above))
            return Condition(f"{expr} >= {lit(low)} AND {expr} <= {lit(high)}",
                             f"{words_for('>=').rsplit(' ', 3)[0] if f.role in ('year', 'date') else 'with ' + some(p)} "
                             f"between {low} and {high}")
        if shape == "outside" and below and above:
            low, high = said(rng.choice(below)), said(rng.choice(above))
            if low != high:
                return Condition(f"({expr} < {lit(low)} OR {expr} > {lit(high)})", f"{words_for('<')} {low} or after {high}"
                                 if f.role in ("year", "date") else f"{words_for('<')} {low} or above {high}")
        shape = shape if shape in ("<", ">", ">=", "<=") else rng.choice(["<", ">"])
        pool = below if shape.startswith(">") else above
        if not pool:
            return None
        threshold = said(rng.choice(pool))
        return Condition(f"{expr} {shape} {lit(threshold)}", f"{words_for(shape)} {threshold}")

    def conditions_on(self, rng: random.Random, walk: Walk, i: int, count: int, *, pin: bool, joined: bool = False) -> None:
        label = walk.labels[i]
        fields = self._usable(self.fields[label], self.key.get(label))
        fields = [f for f in fields if f.name not in walk.used(i)]
        for f in rng.sample(fields, min(count, len(fields))):
            c = self.condition(rng, walk.variables[i], f, walk.row.get(f"n{i}.{f.name}"), pin=pin, joined=joined)
            if c and not (c.pin and any(x.pin for x in walk.conditions.get(i, []))):
                c.field = f.name
                walk.conditions.setdefault(i, []).append(c)

    def singles_out(self, walk: Walk, i: int) -> bool:
        """Whether node i's conditions pick out one node by its name or a unique value: counting
        or averaging it asks nothing ("How many the book 'X' are there?")."""
        fields, var = self.fields[walk.labels[i]], walk.variables[i]
        return any(c.pin or fields[c.field].role in ("name", "unique") and " OR " not in c.cypher
                   and c.cypher.startswith(f"{fields[c.field].expr(var)} = ") for c in walk.conditions.get(i, []))

    def relation_condition(self, rng: random.Random, walk: Walk, i: int) -> bool:
        rel = walk.relations[i - 1][0]
        used = {c.field for c in walk.relation_conditions.get(i, [])}
        fields = [f for f in self.relation_fields(rel).values() if f.ordered and f.name not in used]
        if not fields:
            return False
        f = rng.choice(fields)
        c = self.condition(rng, f"r{i}", f, walk.row.get(f"r{i}.{f.name}"))
        if not c:
            return False
        c.field = f.name
        clash = any(f.name in self.schema.labels[label] for label in walk.labels[i - 1: i + 1])
        if clash:  # "unit price" could mean the product's: say whose it is
            said = property_words(f.owner, f.name)
            c.phrase = c.phrase.replace(f"with {some(said)}", f"with {article(name_words(rel) + ' ' + said)}", 1)
        walk.relation_conditions.setdefault(i, []).append(c)
        return True

    # -- words for a walk ------------------------------------------------------

    def describe(self, walk: Walk, i: int = 0, many: bool = True, quantifier: str = "", follow: bool = True,
                 via: tuple[str, ...] = ()) -> str:
        """Node i and everything beyond it: "products with a unit price above 20 that are part of the category Beverages".
        `via`: conditions on the relationship that reached node i, said right after it, before anything further."""
        label = walk.labels[i]
        pins = [c.pin for c in walk.conditions.get(i, []) if c.pin]
        rng = random.Random(repr(walk.row.get(f"n{i}.{self.key.get(label)}")))
        if pins:
            text = f"the {name_words(label)} {_said(pins[0][1], rng)}"
            many = False
        elif quantifier:
            text = f"{quantifier} {name_words(label)}"
        else:
            text = plural(label) if many else article(name_words(label))
        conditions = [c.phrase.replace("{be}", "are" if many else "is") for c in walk.conditions.get(i, []) if not c.pin]
        if conditions:
            text += " " + " and ".join(conditions)
        if via:
            text += "," + " and".join(" " + p for p in via) + ","
        if follow and i + 1 < len(walk.labels):
            relation, forward = walk.relations[i]
            rel = self.relation(relation)
            further = self.describe(walk, i + 1, many=False, via=tuple(c.phrase for c in walk.relation_conditions.get(i + 1, [])))
            text += " " + (f"that {rel.forward(many)} {further}" if forward else rel.backward(further))
        return text.rstrip(",")

    def returned(self, walk: Walk, i: int = 0, extra: Field | None = None) -> tuple[str, str]:
        """(RETURN items, words for them) for node i: its display key, and `extra` if given."""
        var, key = walk.variables[i], self.key[walk.labels[i]]
        items = f"{var}.{ident(key)}"
        if extra is not None and extra.name != key:
            return f"{items}, {var}.{ident(extra.name)}", f" with their {property_words(extra.owner, extra.name)}"
        return items, ""

    def match(self, walk: Walk) -> str:
        where = walk.where()
        return f"MATCH {walk.pattern()}" + (f" WHERE {' AND '.join(where)}" if where else "")

    def _ask(self, rng: random.Random, subject: str, suffix: str = "", noun: str = "", acts: bool = True) -> str:
        """A question or request for the things `subject` describes: "Which products are supplied by ...?".
        `acts`: a "that" right after the noun starts what the things do ("that supply"), not what is done to them."""
        rest = subject[len(noun):] if noun and subject.startswith(noun + " ") else ""
        if rest.startswith(" that ") and acts and rng.random() < 0.6:
            return f"Which {noun} {rest[6:]}{suffix}?"
        if rest.split(" ")[1:3][-1:] == ["by"] and rest.split(" ")[1].endswith(("ed", "en")) and rng.random() < 0.6:
            return f"Which {noun} are{rest}{suffix}?"
        form = rng.choice(["List the {s}.", "Find the {s}.", "Show the {s}.", "Name the {s}.", "What are the {s}?"])
        return form.format(s=subject + suffix)

    # -- heads: each returns (question, cypher) or None -----------------------------------

    def _list(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self.walk(rng, 0)
        if not walk:
            return None
        self.conditions_on(rng, walk, 0, 1, pin=False)
        if not walk.conditions:
            return None
        extra = next((f for f in self._usable(self.fields[walk.labels[0]]) if f.ordered and rng.random() < 0.3), None)
        items, said = self.returned(walk, 0, extra)
        return self._ask(rng, self.describe(walk), said, plural(walk.labels[0]), acts=not walk.relations or walk.relations[0][1]), f"{self.match(walk)} RETURN {items}"

    def _neighbours(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self.walk(rng, 1)
        if not walk:
            return None
        self.conditions_on(rng, walk, 1, 1, pin=True)
        if not walk.conditions:
            return None
        items, said = self.returned(walk)
        return self._ask(rng, self.describe(walk), said, plural(walk.labels[0]), acts=not walk.relations or walk.relations[0][1]), f"{self.match(walk)} RETURN DISTINCT {items}"

    def _lookup(self, rng: random.Random) -> tuple[str, str] | None:
        """A property of a named node: "What is the unit price of Chai?", "When was the author Sven Berg born?"."""
        walk = self.walk(rng, 0)
        if not walk or walk.labels[0] not in self.key:
            return None
        key = self.key[walk.labels[0]]
        name = walk.row.get(f"n0.{key}")
        if self.fields[walk.labels[0]][key].role != "name" or not isinstance(name, str):
            return None
        walk.conditions[0] = [Condition("", "", pin=(key, name))]
        shown = [f for f in self._usable(self.fields[walk.labels[0]]) if f.name != key] or [None]
        f = rng.choice(shown)
        if f is None:
            return None
        p = property_words(f.owner, f.name)
        if f.role == "year" and p.endswith(("ed", "born")):
            question = f"When was {self.describe(walk)} {p}?"
        else:
            question = rng.choice([f"What is the {p} of {self.describe(walk)}?", f"Tell me the {p} of {self.describe(walk)}.",
                                   f"What {p} does {self.describe(walk)} have?"])
        return question, f"MATCH {walk.pattern()} RETURN {walk.variables[0]}.{ident(f.name)}"

    def _top_k_core(self, rng: random.Random, walk: Walk) -> tuple[str, str] | None:
        i = rng.randrange(len(walk.labels)) if len(walk.labels) > 1 and rng.random() < 0.3 else 0
        ordered = [f for f in self._usable(self.fields[walk.labels[i]]) if f.ordered]
        if not ordered:
            return None
        f, k = rng.choice(ordered), rng.choice([1, 3, 3, 5, 5, 10])
        most, order = rng.choice([("highest", "DESC"), ("lowest", "ASC")])
        if f.role in ("year", "date"):
            most = {"DESC": "latest", "ASC": "earliest"}[order]
        p = measure_words(f)
        var = walk.variables[i]
        distinct = "DISTINCT " if len(walk.labels) > 1 else ""
        subject = self.describe(walk)
        whose = "" if i == 0 else f" (by the {p} of their {name_words(walk.labels[i])})"
        n = _count(k, rng)
        question = rng.choice([f"What are the top {n} {subject} by {p}{whose}?",
                               f"Which {n} {subject} have the {most} {p}{whose}?",
                               f"List the {n} {subject} with the {most} {p}{whose}.",
                               f"Show the first {n} {subject} by {p}, {most} first{whose}."])
        if k == 1:
            question = f"Which one of the {subject} has the {most} {p}{whose}?"
        items = f"{walk.variables[0]}.{ident(self.key[walk.labels[0]])}, {f.expr(var)}"
        return question, f"{self.match(walk)} RETURN {distinct}{items} ORDER BY {f.expr(var)} {order} LIMIT {k}"

    def _whole_label(self, rng: random.Random) -> tuple[str, str] | None:
        """Every node of a small label, or any k of a bigger one, optionally sorted: "List every genre with its name."."""
        walk = self.walk(rng, 0)
        if not walk or walk.labels[0] not in self.key:
            return None
        label, var = walk.labels[0], walk.variables[0]
        extra = next((f for f in self._usable(self.fields[label]) if f.name != self.key[label] and rng.random() < 0.4), None)
        items, said = self.returned(walk, 0, extra)
        things = plural(label)
        if len(self.rows[label]) > SMALL_LABEL:
            k = rng.choice([2, 3, 5, 5, 10])
            n = _count(k, rng)
            return rng.choice([f"Show {n} {things}{said}.", f"Name any {n} {things}{said}.", f"Give me {n} {things}{said}."]), \
                f"MATCH ({var}:{ident(label)}) RETURN {items} LIMIT {k}"
        ordered = [f for f in self._usable(self.fields[label]) if f.ordered]
        if ordered and rng.random() < 0.4:
            f = rng.choice(ordered)
            order, way = rng.choice([("ASC", "lowest first"), ("DESC", "highest first")])
            if f.role in ("year", "date"):
                way = {"ASC": "earliest first", "DESC": "latest first"}[order]
            p = measure_words(f)
            return rng.choice([f"Sort the {things} by {p}, {way}.", f"List every {name_words(label)} by {p}, {way}."]), \
                f"MATCH ({var}:{ident(label)}) RETURN {var}.{ident(self.key[label])}, {f.expr(var)} ORDER BY {f.expr(var)} {order}"
        return rng.choice([f"List every {name_words(label)}{said}.", f"What are all the {things}{said}?",
                           f"Show me all the {things}{said}."]), f"MATCH ({var}:{ident(label)}) RETURN {items}"

    def _top_k(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self.walk(rng, 0)
        if not walk:
            return None
        if rng.random() < 0.5:
            self.conditions_on(rng, walk, 0, 1, pin=False)
        return self._top_k_core(rng, walk)

    def _complex_walk(self, rng: random.Random, hops: int) -> Walk | None:
        walk = self.walk(rng, hops)
        if not walk:
            return None
        budget = rng.randint(2, 3)
        nodes = list(range(len(walk.labels)))
        for _ in range(budget):
            i = rng.choice(nodes)
            if i > 0 and rng.random() < 0.45 and self.relation_condition(rng, walk, i):
                continue
            self.conditions_on(rng, walk, i, 1, pin=i > 0, joined=True)
        walk.trim()
        return walk if sum(map(len, walk.conditions.values())) + sum(map(len, walk.relation_conditions.values())) >= 2 else None

    def _complex_list(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self._complex_walk(rng, rng.choice([1, 1, 2, 2, 3]))
        if not walk:
            return None
        items, said = self.returned(walk)
        return self._ask(rng, self.describe(walk), said, plural(walk.labels[0]), acts=not walk.relations or walk.relations[0][1]), f"{self.match(walk)} RETURN DISTINCT {items}"

    def _top_k_path(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self.walk(rng, rng.choice([1, 2]))
        if not walk:
            return None
        self.conditions_on(rng, walk, rng.randrange(1, len(walk.labels)), 1, pin=True)
        walk.trim()
        if len(walk.labels) == 1:
            return None
        return self._top_k_core(rng, walk)

    def _exists(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self.walk(rng, 1)
        if not walk:
            return None
        self.conditions_on(rng, walk, 1, 1, pin=False)
        inner = [c for c in walk.conditions.get(1, [])]
        if not inner:
            return None
        negated = rng.random() < 0.6
        rel, forward = walk.relations[0]
        sub_walk = Walk(walk.labels[1:], [], walk.row)
        sub_walk.variables = [walk.variables[1]]
        sub_walk.conditions = {0: inner}
        arrow = f"-[:{ident(rel)}]->" if forward else f"<-[:{ident(rel)}]-"
        sub_where = sub_walk.where()
        subquery = f"EXISTS {{ MATCH ({walk.variables[0]}){arrow}{sub_walk.node(0)}" + \
                   (f" WHERE {' AND '.join(sub_where)}" if sub_where else "") + " }"
        other = self.describe(sub_walk, 0, many=False, quantifier="no" if negated else "")
        relation = self.relation(rel)
        clause = f"that {relation.forward(True)} {other}" if forward else relation.backward(other)
        question = self._ask(rng, f"{plural(walk.labels[0])} {clause}", noun=plural(walk.labels[0]))
        key = f"{walk.variables[0]}.{ident(self.key[walk.labels[0]])}"
        return question, f"MATCH ({walk.variables[0]}:{ident(walk.labels[0])}) WHERE {'NOT ' if negated else ''}{subquery} RETURN {key}"

    def _count(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self.walk(rng, rng.choice([0, 0, 1]))
        if not walk:
            return None
        self.conditions_on(rng, walk, len(walk.labels) - 1, rng.choice([0, 1, 1]), pin=len(walk.labels) > 1)
        if self.singles_out(walk, 0):
            return None
        subject = self.describe(walk)
        question = rng.choice([f"How many {subject} are there?", f"Count the {subject}.", f"What is the number of {subject}?"])
        distinct = "DISTINCT " if len(walk.labels) > 1 else ""
        return question, f"{self.match(walk)} RETURN count({distinct}{walk.variables[0]}) AS count"

    def _aggregate(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self.walk(rng, rng.choice([0, 0, 1]))
        if not walk:
            return None
        numbers = [f for f in self._usable(self.fields[walk.labels[0]]) if f.role == "number"]
        if not numbers:
            return None
        f = rng.choice(numbers)
        self.conditions_on(rng, walk, len(walk.labels) - 1, rng.choice([0, 1]), pin=len(walk.labels) > 1)
        if self.singles_out(walk, 0):
            return None
        function, said = rng.choice([("avg", "average"), ("sum", "total"), ("max", "highest"), ("min", "lowest")])
        p = property_words(f.owner, f.name)
        question = rng.choice([f"What is the {said} {p} of {self.describe(walk)}?",
                               f"What is the {said} {p} across {self.describe(walk)}?"])
        if len(walk.labels) > 1 and function in ("avg", "sum"):
            return None  # a node reached twice would count twice
        return question, f"{self.match(walk)} RETURN {function}({f.expr(walk.variables[0])}) AS {said}"

    def _group_by_field(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self.walk(rng, 0)
        if not walk:
            return None
        groups = [f for f in self.fields[walk.labels[0]].values() if f.role == "category"]
        if not groups:
            return None
        g = rng.choice(groups)
        p = property_words(g.owner, g.name)
        subject = self.describe(walk)
        question = rng.choice([f"How many {subject} are there for each {p}?", f"For each {p}, how many {subject} are there?",
                               f"Count the {subject} per {p}."])
        var = walk.variables[0]
        return question, f"{self.match(walk)} RETURN {var}.{ident(g.name)}, count({var}) AS count"

    def _group_by_neighbour(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self.walk(rng, 1)
        if not walk or walk.labels[1] not in self.key or self._most_per_group(walk) <= 1:
            return None
        subject, group = plural(walk.labels[0]), walk.labels[1]
        link = self._link_to_group(walk, "it")
        question = rng.choice([f"For each {name_words(group)}, how many {subject} are there {link}?",
                               f"For each {name_words(group)}, count the {subject} {link}."])
        g = walk.variables[1]
        return question, (f"{self.match(walk)} RETURN {g}.{ident(self.key[group])}, count(DISTINCT {walk.variables[0]}) AS count")

    def _group_walk(self, rng: random.Random, hops: int) -> Walk | None:
        walk = self.walk(rng, hops, distinct_ends=True)
        if not walk or walk.labels[-1] not in self.key:
            return None
        if hops == 1 and self._most_per_group(walk) <= 1:
            return None  # every group holds one: "the orders with the most customers" asks nothing
        if rng.random() < 0.4:
            self.conditions_on(rng, walk, 0, 1, pin=False)
        return walk

    def _most_per_group(self, walk: Walk) -> int:
        key = (tuple(walk.labels), tuple(walk.relations))
        if key not in self._group_sizes:
            rows = self.graphdb.run(f"MATCH {walk.pattern()} WITH {walk.variables[-1]}, count(*) AS n RETURN max(n) AS most").rows
            self._group_sizes[key] = (rows[0]["most"] or 0) if rows else 0
        return self._group_sizes[key]

    def _top_groups(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self._group_walk(rng, rng.choice([1, 1, 2]))
        if not walk:
            return None
        g, x = walk.variables[-1], walk.variables[0]
        group = walk.labels[-1]
        k = rng.choice([3, 3, 5, 5, 10])
        rels = [1] if len(walk.labels) == 2 and any(f.role == "number" for f in self.relation_fields(walk.relations[0][0]).values()) else []
        things = self.describe(walk, 0, many=True, follow=False)
        link = self._link_to_group(walk)
        if rels and rng.random() < 0.4:
            i = rng.choice(rels)
            f = rng.choice([f for f in self.relation_fields(walk.relations[i - 1][0]).values() if f.role == "number"])
            walk.relation_conditions.setdefault(i, [])  # names the relationship, so the sum can read it
            p = property_words(f.owner, f.name)
            question = rng.choice([f"Which {k} {plural(group)} have the highest total {p} over the {things} {link}?",
                                   f"What are the top {k} {plural(group)} by total {p} over the {things} {link}?"])
            return question, (f"{self.match(walk)} WITH {g}, sum({f.expr(f'r{i}')}) AS total ORDER BY total DESC LIMIT {k} "
                              f"RETURN {g}.{ident(self.key[group])}, total")
        most, order = rng.choice([("most", "DESC"), ("fewest", "ASC")])
        forms = [f"Which {k} {plural(group)} have the {most} {things} {link}?"]
        if order == "DESC":
            forms.append(f"What are the top {k} {plural(group)} by number of {things} {link}?")
        relation, forward = walk.relations[-1]
        done_to_group = self.relation(relation).backward("x")  # "supplied by x": the group is what the others act on
        if len(walk.labels) == 2 and forward and done_to_group.endswith(" by x") and not walk.conditions.get(0):
            done = done_to_group.removesuffix(" by x")
            least = "least" if order == "ASC" else "most"
            forms.append(f"What are the {k} {least} {done} {plural(group)}, by number of {things}?")
        question = rng.choice(forms)
        return question, (f"{self.match(walk)} WITH {g}, count(DISTINCT {x}) AS count ORDER BY count {order} LIMIT {k} "
                          f"RETURN {g}.{ident(self.key[group])}, count")

    def _link_to_group(self, walk: Walk, pronoun: str = "them") -> str:
        """How the subject reaches the group, said from the subject: "that are part of it", "supplied by them"."""
        relation, forward = walk.relations[0]
        rel = self.relation(relation)
        subject = "they" if pronoun == "them" else pronoun
        if len(walk.labels) == 2:
            return f"that {rel.forward(True)} {pronoun}" if forward else rel.backward(subject, pronoun == "them").replace("by they", "by them")
        second, forward2 = walk.relations[1]
        rel2 = self.relation(second)
        middle = article(name_words(walk.labels[1])) + " " + (
            f"that {rel2.forward(False)} {pronoun}" if forward2 else rel2.backward(subject, pronoun == "them").replace("by they", "by them"))
        return f"that {rel.forward(True)} {middle}" if forward else rel.backward(middle)

    def _having(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self._group_walk(rng, 1)
        if not walk:
            return None
        g, x, group = walk.variables[-1], walk.variables[0], walk.labels[-1]
        counts = self.graphdb.run(f"{self.match(walk)} WITH {g}, count(DISTINCT {x}) AS count RETURN count").rows
        values = sorted({r["count"] for r in counts})
        if len(values) < 2:
            return None
        t = rng.choice(values[:-1])
        things = self.describe(walk, 0, many=True, follow=False)
        link = self._link_to_group(walk)
        question = rng.choice([f"Which {plural(group)} have more than {t} {things} {link}?",
                               f"List the {plural(group)} with more than {t} {things} {link}, and how many."])
        return question, (f"{self.match(walk)} WITH {g}, count(DISTINCT {x}) AS count WHERE count > {t} "
                          f"RETURN {g}.{ident(self.key[group])}, count")

    def _optional_count(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self.walk(rng, 1, distinct_ends=True)
        if not walk:
            return None
        self.conditions_on(rng, walk, 0, 1, pin=False)
        x, y = walk.variables
        relation, forward = walk.relations[0]
        rel = self.relation(relation)
        arrow = f"-[:{ident(relation)}]->" if forward else f"<-[:{ident(relation)}]-"
        link = f"that it {rel.forward(False)}" if forward else f"that {rel.forward(True)} it"
        subject, others = self.describe(walk, 0, many=True, follow=False), plural(walk.labels[1])
        question = rng.choice([f"List all {subject} with the number of {others} {link}, including those with none.",
                               f"For every one of the {subject}, how many {others} are there {link}? Include zeros."])
        where = walk.where()
        return question, (f"MATCH {walk.node(0)}" + (f" WHERE {' AND '.join(where)}" if where else "") +
                          f" OPTIONAL MATCH ({x}){arrow}({y}:{ident(walk.labels[1])}) "
                          f"RETURN {x}.{ident(self.key[walk.labels[0]])}, count({y}) AS count")

    def _grouped_aggregate(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self._group_walk(rng, 1)
        if not walk:
            return None
        numbers = [f for f in self._usable(self.fields[walk.labels[0]]) if f.role == "number"]
        if not numbers:
            return None
        f = rng.choice(numbers)
        function, said = rng.choice([("avg", "average"), ("max", "highest"), ("min", "lowest")])
        p, group = property_words(f.owner, f.name), walk.labels[-1]
        things = self.describe(walk, 0, many=True, follow=False)
        link = self._link_to_group(walk, "it")
        question = rng.choice([f"What is the {said} {p} of the {things} {link}, for each {name_words(group)}?",
                               f"For each {name_words(group)}, what is the {said} {p} of the {things} {link}?"])
        g = walk.variables[-1]
        return question, (f"{self.match(walk)} RETURN {g}.{ident(self.key[group])}, {function}({f.expr(walk.variables[0])}) AS {said}")

    def _chain(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self.walk(rng, rng.choice([2, 2, 3]), distinct_ends=True)
        if not walk:
            return None
        self.conditions_on(rng, walk, len(walk.labels) - 1, 1, pin=True)
        if not walk.conditions:
            return None
        items, said = self.returned(walk)
        return self._ask(rng, self.describe(walk), said, plural(walk.labels[0]), acts=not walk.relations or walk.relations[0][1]), f"{self.match(walk)} RETURN DISTINCT {items}"

    def _named(self, rng: random.Random, label: str) -> Any:
        key = self.key.get(label)
        if not key or self.fields[label][key].role != "name":
            return None
        values = [r[key] for r in self.rows[label] if isinstance(r.get(key), str)]
        return rng.choice(values) if values else None

    def _variable_length(self, rng: random.Random) -> tuple[str, str] | None:
        source, target = rng.choice(sorted(self.key)), rng.choice(sorted(self.key))
        name = self._named(rng, source)
        if name is None or source == target or target not in self.key:
            return None
        hops, sk = rng.randint(2, 3), self.key[source]
        question = rng.choice([f"Which {plural(target)} are within {hops} hops of the {name_words(source)} {_said(name, rng)}?",
                               f"Which {plural(target)} can be reached from the {name_words(source)} {_said(name, rng)} in at most "
                               f"{hops} hops, in any direction?"])
        return question, (f"MATCH (a:{ident(source)} {{{ident(sk)}: {literal(name)}}})-[*1..{hops}]-(b:{ident(target)}) "
                          f"RETURN DISTINCT b.{ident(self.key[target])}")

    def _shortest_path(self, rng: random.Random) -> tuple[str, str] | None:
        source, target = rng.choice(sorted(self.key)), rng.choice(sorted(self.key))
        a, b = self._named(rng, source), self._named(rng, target)
        if a is None or b is None or a == b:
            return None
        question = rng.choice([f"How many relationships are on the shortest path between the {name_words(source)} {_said(a, rng)} "
                               f"and the {name_words(target)} {_said(b, rng)}?",
                               f"How many hops apart are the {name_words(source)} {_said(a, rng)} and the {name_words(target)} {_said(b, rng)}?"])
        return question, (f"MATCH p = shortestPath((a:{ident(source)} {{{ident(self.key[source])}: {literal(a)}}})-[*..8]-"
                          f"(b:{ident(target)} {{{ident(self.key[target])}: {literal(b)}}})) RETURN length(p) AS hops")

    def _shared_neighbour(self, rng: random.Random) -> tuple[str, str] | None:
        walk = self.walk(rng, 1, distinct_ends=True)
        if not walk:
            return None
        name = walk.row.get(f"n0.{self.key[walk.labels[0]]}")
        if self.fields[walk.labels[0]][self.key[walk.labels[0]]].role != "name":
            return None
        (relation, forward), (x, y) = walk.relations[0], walk.labels
        key, rel = self.key[x], self.relation(relation)
        typed = ident(relation)
        arrow, back = (f"-[:{typed}]->", f"<-[:{typed}]-") if forward else (f"<-[:{typed}]-", f"-[:{typed}]->")
        if forward:
            question = f"Which other {plural(x)} {rel.forward(True)} {article(name_words(y))} that {_said(name, rng)} {rel.forward(False)} too?"
        elif rel.backward("x").endswith(" by x"):  # "supplied by": say what the other side does
            question = (f"Which other {plural(x)} are {rel.backward(article(name_words(y)))} that {rel.forward(False)} "
                        f"{_said(name, rng)} too?")
        else:
            question = f"Which other {plural(x)} share {article(name_words(y))} with the {name_words(x)} {_said(name, rng)}?"
        return question, (f"MATCH (a:{ident(x)} {{{ident(key)}: {literal(name)}}}){arrow}(:{ident(y)}){back}(o:{ident(x)}) "
                          f"WHERE o <> a RETURN DISTINCT o.{ident(key)}")

    def _new_value(self, rng: random.Random, f: Field) -> Any:
        if f.role in ("number", "year") and not f.cast:
            return type(f.values[0])(rng.choice(f.values)) + rng.randint(1, 9)
        return f"{rng.choice(_NEW_WORDS)} {rng.choice(_NEW_WORDS)}"

    def _create(self, rng: random.Random) -> tuple[str, str] | None:
        label = rng.choice(sorted(label for label in self.key if self.fields[label][self.key[label]].role == "name") or [None])
        if label is None:
            return None
        fields = [self.fields[label][self.key[label]]]
        extra = [f for f in self._usable(self.fields[label]) if f.role in ("number", "year") and not f.cast]
        fields += rng.sample(extra, min(len(extra), rng.randint(0, 2)))
        values = {f.name: self._new_value(rng, f) for f in fields}
        said = " and ".join(f"{property_words(label, p)} {_said(v, rng)}" for p, v in values.items())
        body = ", ".join(f"{ident(p)}: {literal(v)}" for p, v in values.items())
        return (rng.choice([f"Add a new {name_words(label)} with {said}.", f"Create {article(name_words(label))} with {said}."]),
                f"CREATE (n:{ident(label)} {{{body}}})")

    def _merge_node(self, rng: random.Random) -> tuple[str, str] | None:
        label = rng.choice(sorted(self.key))
        key = self.key[label]
        if self.fields[label][key].role != "name":
            return None
        value = self._named(rng, label) if rng.random() < 0.5 else self._new_value(rng, self.fields[label][key])
        return (rng.choice([f"Make sure {article(name_words(label))} called {_said(value, rng)} exists, without creating a duplicate.",
                            f"Add the {name_words(label)} {_said(value, rng)} unless it already exists."]),
                f"MERGE (n:{ident(label)} {{{ident(key)}: {literal(value)}}}) RETURN n.{ident(key)}")

    def _merge_edge(self, rng: random.Random) -> tuple[str, str] | None:
        s, relation, t = rng.choice(self.edges)
        a, b = self._named(rng, s), self._named(rng, t)
        if a is None or b is None:
            return None
        rel = self.relation(relation)
        return (f"Record that the {name_words(s)} {_said(a, rng)} {rel.forward(False)} the {name_words(t)} {_said(b, rng)}, "
                f"unless that is already recorded.",
                f"MATCH (a:{ident(s)} {{{ident(self.key[s])}: {literal(a)}}}), (b:{ident(t)} {{{ident(self.key[t])}: "
                f"{literal(b)}}}) MERGE (a)-[:{ident(relation)}]->(b)")

    def _set_property(self, rng: random.Random) -> tuple[str, str] | None:
        label = rng.choice(sorted(self.key))
        name = self._named(rng, label)
        numbers = [f for f in self._usable(self.fields[label]) if f.role == "number" and not f.cast]
        if name is None or not numbers:
            return None
        f = rng.choice(numbers)
        value = self._new_value(rng, f)
        p = property_words(label, f.name)
        return (rng.choice([f"Set the {p} of the {name_words(label)} {_said(name, rng)} to {value}.",
                            f"Change the {p} of the {name_words(label)} {_said(name, rng)} to {value}."]),
                f"MATCH (n:{ident(label)} {{{ident(self.key[label])}: {literal(name)}}}) SET n.{ident(f.name)} = {value} "
                f"RETURN n.{ident(f.name)}")

    # -- what the domain calls ---------------------------------------------------

    def size(self, cypher: str) -> int:
        """How many nodes carry the label a query returns (its first node's); a list that long is every node."""
        match = re.search(r"\(\s*\w+\s*:\s*(`(?:[^`]|``)+`|\w+)", cypher)
        label = match.group(1).strip("`").replace("``", "`") if match else ""
        return len(self.rows.get(label, ()))

    def feeds(self, level: str) -> bool:
        """Whether the graph gives queries of this level at all (a level needs paths, numbers, names...)."""
        try:
            self.sample(level, random.Random(f"feeds:{level}"), tries=80)
        except LookupError:
            return False
        return True

    def sample(self, level: str, rng: random.Random, tries: int = 40) -> tuple[str, str]:
        """A (question, cypher) pair of this level; raises if the graph cannot give one."""
        for _ in range(tries if self.key else 0):  # no label has a property: nothing can be named or returned
            drafted = rng.choice(self.heads[level])(rng)
            if drafted is not None:
                return drafted
        raise NothingToAsk(f"the graph gave nothing to ask at level {level} in {tries} draws: its schema or data "
                           "lacks what the level needs")
