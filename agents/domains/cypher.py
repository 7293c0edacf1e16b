"""The Cypher domain: natural-language questions and the Cypher that answers them.

Everything is derived from the graph itself (schema introspection plus real
values sampled from it), so the template generator works on any graph the user
points `--graph` at, and the prompts show an LLM teacher the same schema.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field

from agents.domains.base import Domain, EvalFile, Task, with_steering
from evaluators.cypher import execution_match, schema_names, verify_cypher_example
from evaluators.graphdb import GraphBackend, strip_strings
from forge.records import Check, Example
from forge.rows import read_rows

CATEGORIES: dict[str, str] = {
    "basic_match": "a simple MATCH ... RETURN over one label, optionally with ORDER BY / LIMIT",
    "property_filter": "MATCH with an exact property filter, in the pattern map or WHERE",
    "relationship": "one relationship hop between two labels",
    "aggregation": "count / avg / min / max / sum, optionally grouped",
    "where_clause": "WHERE with comparisons, ranges, STARTS WITH / CONTAINS, AND / OR",
    "create_merge": "a write: CREATE, MERGE, SET or DELETE",
    "multi_hop": "two or more hops, variable-length paths or shortestPath",
}

_NEW_WORDS = ("Aurora", "Basil", "Cobalt", "Delta", "Ember", "Fable", "Granite", "Harlow", "Indigo", "Juniper",
              "Kestrel", "Linden", "Marlow", "Nimbus", "Opal", "Pioneer", "Quartz", "Rowan", "Sable", "Tamsin")


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


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


def _said(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def _words(name: str) -> str:
    """A schema name as words: LIVES_IN -> lives in, birthYear -> birth year, Book -> book."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").lower()


def _plural(label: str) -> str:
    word = _words(label)
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("s", "x", "z", "ch", "sh")) else "s")


_PREPOSITIONS = {"in", "on", "at", "of", "for", "from", "to", "with", "by", "under", "near"}


def _verb(rel: str, plural: bool = False) -> str:
    """A relationship type as what its source does, for a subject in the
    singular or plural: WROTE -> wrote; FOLLOWS -> follows / follow; LIVES_IN
    -> lives in / live in; PUBLISHED_BY -> is published by; IN_GENRE -> is in genre."""
    words = _words(rel).split()
    if len(words) > 1 and (words[0].endswith("ed") or words[0] in _PREPOSITIONS):
        return ("are " if plural else "is ") + " ".join(words)
    if plural and words[0].endswith("s") and not words[0].endswith("ss"):
        words[0] = words[0][:-1]
    return " ".join(words)


def _ask(rng: random.Random, *forms: str) -> str:
    """One of several phrasings of the same question. The first is the formal
    one, naming labels and properties as the schema does; the others ask as a
    person would (plural nouns, relationship types as verbs, names unquoted)."""
    return rng.choice(forms)


class CypherDomain(Domain):
    name = "cypher"
    description = "natural-language questions and the Cypher that answers them, checked against a graph database"
    metric = "execution accuracy"
    categories = tuple(CATEGORIES)
    draft_model = CypherDraft

    def __init__(self, graph: GraphBackend) -> None:
        self.graph = graph
        self.schema = graph.schema()
        self.schema_text = self.schema.describe()
        # What the student sees before every question: the task and the graph's
        # names, so it can copy labels and properties rather than guess them.
        self.system_prompt = f"Answer with one Cypher query over this graph. {self.schema.compact()}"
        self.rows = {label: self._sample(label, props) for label, props in self.schema.labels.items()}
        self.key = {label: self._display_key(label) for label in self.schema.labels}
        self.edges = {pattern: self._sample_edges(*pattern) for pattern in self.schema.relationships}
        self.edges = {pattern: rows for pattern, rows in self.edges.items() if rows}
        self.templates: dict[str, list[Callable[[random.Random], tuple[str, str]]]] = {
            "basic_match": [self._list_property, self._list_limited, self._list_sorted, self._top_k],
            "property_filter": [self._property_of_key, self._filter_equals, self._filter_in_where],
            "relationship": [self._rel_forward, self._rel_backward, self._rel_pairs, self._rel_property],
            "aggregation": [self._count_label, self._numeric_aggregate, self._group_count, self._count_neighbours, self._group_by_property],
            "where_clause": [self._greater_than, self._between, self._starts_with, self._contains, self._outside_range],
            "create_merge": [self._create_node, self._merge_node, self._merge_edge, self._set_property, self._delete_edge],
            "multi_hop": [self._two_hops, self._variable_length, self._shortest_path, self._co_occurrence],
        }

    # -- graph sampling (once, at start) -------------------------------------

    def _sample(self, label: str, props: dict[str, str]) -> list[dict[str, Any]]:
        columns = ", ".join(f"n.`{p}` AS `{p}`" for p in sorted(props)) or "id(n) AS id"
        result = self.graph.run(f"MATCH (n:`{label}`) RETURN {columns} LIMIT 500")
        return [row for row in result.rows if all(v is not None for v in row.values())]

    def _display_key(self, label: str) -> str:
        strings = [p for p, t in self.schema.labels[label].items() if t.lower() in ("string", "str")]
        if not strings:
            return sorted(self.schema.labels[label])[0]
        return max(strings, key=lambda p: (len({r[p] for r in self.rows[label]}), p in ("name", "title")))

    def _sample_edges(self, source: str, rel: str, target: str) -> list[dict[str, Any]]:
        sk, tk = self._display_key(source), self._display_key(target)
        rel_props = sorted(self.schema.relationship_properties.get(rel, {}))
        extra = "".join(f", r.`{p}` AS `r_{p}`" for p in rel_props)
        query = f"MATCH (a:`{source}`)-[r:`{rel}`]->(b:`{target}`) RETURN a.`{sk}` AS a, b.`{tk}` AS b{extra} LIMIT 500"
        return self.graph.run(query).rows

    def _numeric(self, label: str) -> list[str]:
        return sorted(p for p, t in self.schema.labels[label].items() if t.lower().startswith(("int", "float")))

    def _labels_with(self, predicate: Callable[[str], bool]) -> list[str]:
        return sorted(label for label in self.schema.labels if self.rows[label] and predicate(label))

    # -- templates: each returns (question, cypher) --------------------------

    def _list_property(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda _: True))
        prop = rng.choice(sorted(self.schema.labels[label]))
        return (_ask(rng, f"List the {prop} of every {label}.", f"What is the {_words(prop)} of each {_words(label)}?",
                     f"Show every {_words(label)}'s {_words(prop)}."),
                f"MATCH (n:{label}) RETURN n.{prop} AS {prop}")

    def _list_limited(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda _: True))
        key, k = self.key[label], rng.randint(2, 12)
        others = sorted(set(self.schema.labels[label]) - {key})
        if not others:
            return (_ask(rng, f"Show the {key} of {k} {label} nodes.", f"Name any {k} {_plural(label)}."),
                    f"MATCH (n:{label}) RETURN n.{key} AS {key} LIMIT {k}")
        other = rng.choice(others)
        return (_ask(rng, f"Show the {key} and {other} of {k} {label} nodes.",
                     f"Give me {k} {_plural(label)} with their {_words(other)}."),
                f"MATCH (n:{label}) RETURN n.{key} AS {key}, n.{other} AS {other} LIMIT {k}")

    def _list_sorted(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda l: bool(self._numeric(l))))
        key, prop = self.key[label], rng.choice(self._numeric(label))
        order, words = rng.choice([("DESC", "from highest to lowest"), ("ASC", "from lowest to highest")])
        return (_ask(rng, f"List every {label} by {key}, sorted by {prop} {words}.",
                     f"Sort the {_plural(label)} by {_words(prop)}, {words}, with their {_words(key)}."),
                f"MATCH (n:{label}) RETURN n.{key} AS {key}, n.{prop} AS {prop} ORDER BY n.{prop} {order}")

    def _top_k(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda l: bool(self._numeric(l))))
        key, prop, k = self.key[label], rng.choice(self._numeric(label)), rng.randint(1, 10)
        most, order = rng.choice([("highest", "DESC"), ("lowest", "ASC")])
        return (_ask(rng, f"Which {k} {label} nodes have the {most} {prop}? Give their {key} and {prop}.",
                     f"What are the {k} {_plural(label)} with the {most} {_words(prop)}?",
                     f"Top {k} {_plural(label)} by {_words(prop)}, {most} first?"),
                f"MATCH (n:{label}) RETURN n.{key} AS {key}, n.{prop} AS {prop} ORDER BY n.{prop} {order} LIMIT {k}")

    def _property_of_key(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda l: len(self.schema.labels[l]) > 1))
        key = self.key[label]
        row = rng.choice(self.rows[label])
        prop = rng.choice(sorted(set(self.schema.labels[label]) - {key}))
        return (_ask(rng, f"What is the {prop} of the {label} whose {key} is {_said(row[key])}?",
                     f"What is the {_words(prop)} of {row[key]}?", f"Tell me the {_words(prop)} of the {_words(label)} {row[key]}."),
                f"MATCH (n:{label} {{{key}: {_literal(row[key])}}}) RETURN n.{prop} AS {prop}")

    def _filter_equals(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda l: len(self.schema.labels[l]) > 1))
        key = self.key[label]
        prop = rng.choice(sorted(set(self.schema.labels[label]) - {key}))
        value = rng.choice(self.rows[label])[prop]
        return (_ask(rng, f"Which {label} nodes have {prop} equal to {_said(value)}? Return their {key}.",
                     f"Which {_plural(label)} have {value} as their {_words(prop)}?",
                     f"Find the {_plural(label)} whose {_words(prop)} is {value}."),
                f"MATCH (n:{label}) WHERE n.{prop} = {_literal(value)} RETURN n.{key} AS {key}")

    def _filter_in_where(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda l: len(self.schema.labels[l]) > 2))
        key = self.key[label]
        first, second = rng.sample(sorted(set(self.schema.labels[label]) - {key}), 2)
        row = rng.choice(self.rows[label])
        return (_ask(rng, f"Find the {label} with {first} {_said(row[first])} and {second} {_said(row[second])}, and return its {key}.",
                     f"Which {_words(label)} has {_words(first)} {row[first]} and {_words(second)} {row[second]}?"),
                f"MATCH (n:{label}) WHERE n.{first} = {_literal(row[first])} AND n.{second} = {_literal(row[second])} "
                f"RETURN n.{key} AS {key}")

    def _edge(self, rng: random.Random) -> tuple[tuple[str, str, str], dict[str, Any]]:
        pattern = rng.choice(sorted(self.edges))
        return pattern, rng.choice(self.edges[pattern])

    def _rel_forward(self, rng: random.Random) -> tuple[str, str]:
        (s, rel, t), edge = self._edge(rng)
        sk, tk = self.key[s], self.key[t]
        return (_ask(rng, f"Which {t} nodes does the {s} with {sk} {_said(edge['a'])} have a {rel} relationship to? Return their {tk}.",
                     f"List the {_plural(t)} that {edge['a']} {_verb(rel)}.", f"{edge['a']} {_verb(rel)} which {_plural(t)}?"),
                f"MATCH (a:{s} {{{sk}: {_literal(edge['a'])}}})-[:{rel}]->(b:{t}) RETURN b.{tk} AS {tk}")

    def _rel_backward(self, rng: random.Random) -> tuple[str, str]:
        (s, rel, t), edge = self._edge(rng)
        sk, tk = self.key[s], self.key[t]
        return (_ask(rng, f"Which {s} nodes have a {rel} relationship to the {t} with {tk} {_said(edge['b'])}? Return their {sk}.",
                     f"Which {_plural(s)} {_verb(rel, plural=True)} {edge['b']}?",
                     f"Name the {_plural(s)} that {_verb(rel, plural=True)} the {_words(t)} {edge['b']}."),
                f"MATCH (a:{s})-[:{rel}]->(b:{t} {{{tk}: {_literal(edge['b'])}}}) RETURN a.{sk} AS {sk}")

    def _rel_pairs(self, rng: random.Random) -> tuple[str, str]:
        (s, rel, t), _ = self._edge(rng)
        sk, tk, k = self.key[s], self.key[t], rng.randint(3, 15)
        return (_ask(rng, f"List {k} pairs of {s} {sk} and {t} {tk} connected by {rel}.",
                     f"Show {k} {_plural(s)} with the {_plural(t)} they {_verb(rel, plural=True)}."),
                f"MATCH (a:{s})-[:{rel}]->(b:{t}) RETURN a.{sk} AS {s.lower()}_{sk}, b.{tk} AS {t.lower()}_{tk} LIMIT {k}")

    def _rel_property(self, rng: random.Random) -> tuple[str, str]:
        with_props = sorted(p for p in self.edges if self.schema.relationship_properties.get(p[1]))
        if not with_props:
            return self._rel_forward(rng)
        s, rel, t = rng.choice(with_props)
        edge = rng.choice(self.edges[(s, rel, t)])
        prop = rng.choice(sorted(self.schema.relationship_properties[rel]))
        sk, tk, value = self.key[s], self.key[t], edge[f"r_{prop}"]
        return (_ask(rng, f"Which {t} nodes has the {s} {_said(edge['a'])} connected to by {rel} with {prop} at least {value}? "
                          f"Return each {tk} and the {prop}.",
                     f"Which {_plural(t)} got at least {value} {_words(prop)} from {edge['a']}, and how many?"),
                f"MATCH (a:{s} {{{sk}: {_literal(edge['a'])}}})-[r:{rel}]->(b:{t}) WHERE r.{prop} >= {value} "
                f"RETURN b.{tk} AS {tk}, r.{prop} AS {prop}")

    def _count_label(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda _: True))
        if rng.random() < 0.5:
            return (_ask(rng, f"How many {label} nodes are in the graph?", f"How many {_plural(label)} are there?",
                         f"Count the {_plural(label)}."),
                    f"MATCH (n:{label}) RETURN count(n) AS count")
        prop = rng.choice(sorted(self.schema.labels[label]))
        return (_ask(rng, f"How many distinct {prop} values do {label} nodes have?",
                     f"How many different {_words(prop)} values do the {_plural(label)} have?"),
                f"MATCH (n:{label}) RETURN count(DISTINCT n.{prop}) AS distinct_{prop}")

    def _numeric_aggregate(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda l: bool(self._numeric(l))))
        prop = rng.choice(self._numeric(label))
        word, fn = rng.choice([("average", "avg"), ("smallest", "min"), ("largest", "max"), ("total", "sum")])
        return (_ask(rng, f"What is the {word} {prop} of all {label} nodes?",
                     f"What is the {word} {_words(prop)} of the {_plural(label)}?"),
                f"MATCH (n:{label}) RETURN {fn}(n.{prop}) AS {fn}_{prop}")

    def _group_count(self, rng: random.Random) -> tuple[str, str]:
        (s, rel, t), _ = self._edge(rng)
        sk, k = self.key[s], rng.randint(1, 10)
        return (_ask(rng, f"Which {k} {s} nodes have the most {rel} relationships to {t} nodes? Give each {sk} and the count, "
                          f"ties broken by {sk}.",
                     f"Which {k} {_plural(s)} {_verb(rel, plural=True)} the most {_plural(t)}, with the count?"),
                f"MATCH (a:{s})-[:{rel}]->(b:{t}) RETURN a.{sk} AS {sk}, count(b) AS count ORDER BY count DESC, {sk} LIMIT {k}")

    def _count_neighbours(self, rng: random.Random) -> tuple[str, str]:
        (s, rel, t), edge = self._edge(rng)
        sk = self.key[s]
        return (_ask(rng, f"How many {t} nodes does the {s} {_said(edge['a'])} have a {rel} relationship to?",
                     f"Count the {_plural(t)} that {edge['a']} {_verb(rel)}."),
                f"MATCH (a:{s} {{{sk}: {_literal(edge['a'])}}})-[:{rel}]->(b:{t}) RETURN count(b) AS count")

    def _group_by_property(self, rng: random.Random) -> tuple[str, str]:
        def repeated(label: str) -> list[str]:
            return [p for p in self.schema.labels[label] if len({r[p] for r in self.rows[label]}) < len(self.rows[label])]
        label = rng.choice(self._labels_with(lambda l: bool(repeated(l))))
        prop = rng.choice(sorted(repeated(label)))
        return (_ask(rng, f"How many {label} nodes are there for each {prop}? Largest groups first.",
                     f"How many {_plural(label)} are there of each {_words(prop)}, most first?"),
                f"MATCH (n:{label}) RETURN n.{prop} AS {prop}, count(n) AS count ORDER BY count DESC, {prop}")

    def _threshold(self, rng: random.Random, label: str, prop: str) -> Any:
        values = sorted(r[prop] for r in self.rows[label])
        return values[int(len(values) * rng.uniform(0.15, 0.85))]

    def _greater_than(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda l: bool(self._numeric(l))))
        key, prop = self.key[label], rng.choice(self._numeric(label))
        value = self._threshold(rng, label, prop)
        words, op = rng.choice([("greater than", ">"), ("less than", "<"), ("at least", ">="), ("at most", "<=")])
        short = {">": "above", "<": "below", ">=": "of at least", "<=": "of at most"}[op]
        return (_ask(rng, f"Which {label} nodes have a {prop} {words} {value}? Return their {key}.",
                     f"Which {_plural(label)} have a {_words(prop)} {short} {value}?",
                     f"Find the {_plural(label)} with {_words(prop)} {words} {value}."),
                f"MATCH (n:{label}) WHERE n.{prop} {op} {value} RETURN n.{key} AS {key}")

    def _between(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda l: bool(self._numeric(l))))
        key, prop = self.key[label], rng.choice(self._numeric(label))
        low, high = sorted((self._threshold(rng, label, prop), self._threshold(rng, label, prop)))
        return (_ask(rng, f"Find the {label} nodes whose {prop} is between {low} and {high} inclusive, with their {key} and {prop}.",
                     f"Which {_plural(label)} have a {_words(prop)} from {low} to {high}, and what is it?"),
                f"MATCH (n:{label}) WHERE n.{prop} >= {low} AND n.{prop} <= {high} RETURN n.{key} AS {key}, n.{prop} AS {prop}")

    def _outside_range(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda l: bool(self._numeric(l))))
        key, prop = self.key[label], rng.choice(self._numeric(label))
        low, high = sorted((self._threshold(rng, label, prop), self._threshold(rng, label, prop)))
        return (_ask(rng, f"Which {label} nodes have a {prop} below {low} or above {high}? Return their {key}.",
                     f"Which {_plural(label)} have a {_words(prop)} under {low} or over {high}?"),
                f"MATCH (n:{label}) WHERE n.{prop} < {low} OR n.{prop} > {high} RETURN n.{key} AS {key}")

    def _starts_with(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda l: isinstance(self.rows[l][0][self.key[l]], str)))
        key = self.key[label]
        prefix = rng.choice(self.rows[label])[key][: rng.randint(1, 4)]
        return (_ask(rng, f"Which {label} nodes have a {key} starting with '{prefix}'?",
                     f"Which {_plural(label)} have a {_words(key)} that begins with '{prefix}'?"),
                f"MATCH (n:{label}) WHERE n.{key} STARTS WITH {_literal(prefix)} RETURN n.{key} AS {key}")

    def _contains(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda l: isinstance(self.rows[l][0][self.key[l]], str)))
        key = self.key[label]
        word = rng.choice(rng.choice(self.rows[label])[key].split())
        return (_ask(rng, f"List the {label} nodes whose {key} contains '{word}'.",
                     f"Which {_plural(label)} have the word {word} in their {_words(key)}?"),
                f"MATCH (n:{label}) WHERE n.{key} CONTAINS {_literal(word)} RETURN n.{key} AS {key}")

    def _new_value(self, rng: random.Random, label: str, prop: str) -> Any:
        existing = [r[prop] for r in self.rows[label]]
        if isinstance(existing[0], str):
            return f"{rng.choice(_NEW_WORDS)} {rng.choice(_NEW_WORDS)}"
        return type(existing[0])(rng.choice(existing)) + rng.randint(1, 9)

    def _create_node(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda _: True))
        key = self.key[label]
        props = {key: self._new_value(rng, label, key)}
        for prop in rng.sample(sorted(set(self.schema.labels[label]) - {key}), min(2, len(self.schema.labels[label]) - 1)):
            props[prop] = self._new_value(rng, label, prop)
        said = ", ".join(f"{p} {_said(v)}" for p, v in props.items())
        body = ", ".join(f"{p}: {_literal(v)}" for p, v in props.items())
        return _ask(rng, f"Add a new {label} with {said}.", f"Create a {_words(label)} called {said}."), f"CREATE (n:{label} {{{body}}})"

    def _merge_node(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda _: True))
        key = self.key[label]
        value = rng.choice(self.rows[label])[key] if rng.random() < 0.5 else self._new_value(rng, label, key)
        return (_ask(rng, f"Make sure a {label} with {key} {_said(value)} exists, without creating a duplicate, and return its {key}.",
                     f"Add the {_words(label)} {value} unless it already exists, and return its {_words(key)}."),
                f"MERGE (n:{label} {{{key}: {_literal(value)}}}) RETURN n.{key} AS {key}")

    def _merge_edge(self, rng: random.Random) -> tuple[str, str]:
        (s, rel, t), _ = self._edge(rng)
        sk, tk = self.key[s], self.key[t]
        a, b = rng.choice(self.rows[s])[sk], rng.choice(self.rows[t])[tk]
        return (_ask(rng, f"Connect the {s} {_said(a)} to the {t} {_said(b)} with a {rel} relationship, unless one exists.",
                     f"Record that {a} {_verb(rel)} the {_words(t)} {b}, if that is not recorded yet."),
                f"MATCH (a:{s} {{{sk}: {_literal(a)}}}), (b:{t} {{{tk}: {_literal(b)}}}) MERGE (a)-[:{rel}]->(b)")

    def _set_property(self, rng: random.Random) -> tuple[str, str]:
        label = rng.choice(self._labels_with(lambda l: bool(self._numeric(l))))
        key, prop = self.key[label], rng.choice(self._numeric(label))
        row = rng.choice(self.rows[label])
        value = self._new_value(rng, label, prop)
        return (_ask(rng, f"Set the {prop} of the {label} {_said(row[key])} to {value}.",
                     f"Change the {_words(prop)} of the {_words(label)} {row[key]} to {value}."),
                f"MATCH (n:{label} {{{key}: {_literal(row[key])}}}) SET n.{prop} = {value} RETURN n.{key} AS {key}, n.{prop} AS {prop}")

    def _delete_edge(self, rng: random.Random) -> tuple[str, str]:
        (s, rel, t), edge = self._edge(rng)
        sk, tk = self.key[s], self.key[t]
        return (_ask(rng, f"Remove the {rel} relationship from the {s} {_said(edge['a'])} to the {t} {_said(edge['b'])}.",
                     f"{edge['a']} no longer {_verb(rel)} {edge['b']}: delete that link."),
                f"MATCH (a:{s} {{{sk}: {_literal(edge['a'])}}})-[r:{rel}]->(b:{t} {{{tk}: {_literal(edge['b'])}}}) DELETE r")

    def _two_hops(self, rng: random.Random) -> tuple[str, str]:
        chains = [(p, q) for p in sorted(self.edges) for q in sorted(self.edges) if p[2] == q[0] and p != q]
        joins = [(p, q) for p in sorted(self.edges) for q in sorted(self.edges) if p[2] == q[2] and p[0] != q[0]]
        if chains and (not joins or rng.random() < 0.5):
            (s, r1, m), (_, r2, t) = rng.choice(chains)
            edge = rng.choice(self.edges[(s, r1, m)])
            sk, tk = self.key[s], self.key[t]
            return (_ask(rng, f"Starting from the {s} {_said(edge['a'])}, follow {r1} to {m} nodes and then {r2} to {t} nodes. "
                              f"Which distinct {t} {tk} values do you reach?",
                         f"Which {_plural(t)} do the {_plural(m)} that {edge['a']} {_verb(r1)} lead to through {_words(r2)}?"),
                    f"MATCH (a:{s} {{{sk}: {_literal(edge['a'])}}})-[:{r1}]->(:{m})-[:{r2}]->(c:{t}) RETURN DISTINCT c.{tk} AS {tk}")
        (s, r1, m), (o, r2, _) = rng.choice(joins)
        edge = rng.choice(self.edges[(s, r1, m)])
        sk, ok = self.key[s], self.key[o]
        return (_ask(rng, f"Which {o} nodes have a {r2} relationship to a {m} that the {s} {_said(edge['a'])} has a {r1} "
                          f"relationship to? Return distinct {ok} values.",
                     f"Which {_plural(o)} {_verb(r2, plural=True)} a {_words(m)} that {edge['a']} {_verb(r1)}?"),
                f"MATCH (a:{s} {{{sk}: {_literal(edge['a'])}}})-[:{r1}]->(:{m})<-[:{r2}]-(c:{o}) RETURN DISTINCT c.{ok} AS {ok}")

    def _variable_length(self, rng: random.Random) -> tuple[str, str]:
        (s, _, _), edge = self._edge(rng)
        target = rng.choice(self._labels_with(lambda l: l != s))
        sk, tk, hops = self.key[s], self.key[target], rng.randint(2, 3)
        return (_ask(rng, f"Which {target} nodes can be reached from the {s} {_said(edge['a'])} in 1 to {hops} hops, "
                          f"in any direction? Return distinct {tk} values.",
                     f"Which {_plural(target)} are within {hops} hops of {edge['a']}?"),
                f"MATCH (a:{s} {{{sk}: {_literal(edge['a'])}}})-[*1..{hops}]-(b:{target}) RETURN DISTINCT b.{tk} AS {tk}")

    def _shortest_path(self, rng: random.Random) -> tuple[str, str]:
        first, second = rng.choice(sorted(self.edges)), rng.choice(sorted(self.edges))
        s, t = first[0], second[2]
        a, b = rng.choice(self.rows[s])[self.key[s]], rng.choice(self.rows[t])[self.key[t]]
        sk, tk = self.key[s], self.key[t]
        return (_ask(rng, f"How many relationships are on the shortest path between the {s} {_said(a)} and the {t} {_said(b)}?",
                     f"How many hops apart are the {_words(s)} {a} and the {_words(t)} {b}?"),
                f"MATCH p = shortestPath((a:{s} {{{sk}: {_literal(a)}}})-[*..8]-(b:{t} {{{tk}: {_literal(b)}}})) "
                f"RETURN length(p) AS hops")

    def _co_occurrence(self, rng: random.Random) -> tuple[str, str]:
        (s, rel, t), edge = self._edge(rng)
        sk = self.key[s]
        return (_ask(rng, f"Which other {s} nodes share a {t} with the {s} {_said(edge['a'])} through {rel}? Return distinct {sk} values.",
                     f"Which other {_plural(s)} {_verb(rel, plural=True)} a {_words(t)} that {edge['a']} {_verb(rel)} too?"),
                f"MATCH (a:{s} {{{sk}: {_literal(edge['a'])}}})-[:{rel}]->(:{t})<-[:{rel}]-(o:{s}) WHERE o <> a "
                f"RETURN DISTINCT o.{sk} AS {sk}")

    # -- what the example graph calls ---------------------------------------

    def template_draft(self, task: Task, attempt: int) -> dict[str, str]:
        rng = random.Random(f"{task.seed}:{attempt}")
        template = rng.choice(self.templates[task.category])
        question, cypher = template(rng)
        return {"question": question, "cypher": cypher}

    def generation_messages(self, task: Task, feedback: str) -> list[dict[str, str]]:
        rng = random.Random(task.seed)
        label = rng.choice(self._labels_with(lambda _: True))
        examples = ", ".join(_said(r[self.key[label]]) for r in rng.sample(self.rows[label], min(4, len(self.rows[label]))))
        user = (f"Graph schema:\n{self.schema_text}\n\n"
                f"Some {label} {self.key[label]} values in the graph: {examples}.\n\n"
                f"Write one example of category '{task.category}': {CATEGORIES[task.category]}.\n"
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
            metadata={"graph": self.graph.name, "schema": self.schema_text, "system": self.system_prompt},
        )

    def critique_messages(self, example: Example) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": "You review text-to-Cypher training data. Reply with one JSON object: "
                                          '{"verdict": "agree" or "disagree", "reason": "..."} and nothing else.'},
            {"role": "user", "content": f"Graph schema:\n{self.schema_text}\n\nQuestion: {example.payload['instruction']}\n"
                                        f"Cypher: {example.payload['output']}\n\n"
                                        "Does the query answer exactly this question (same entities, filters, "
                                        "ordering and limits)?"},
        ]

    def template_critique(self, example: Example) -> dict[str, str]:
        """A deterministic critic: every literal and label in the query must be
        named in the question (as the schema names it, in words, or plural), so
        the two talk about the same things."""
        question = example.payload["instruction"].lower()
        query = example.payload["output"]
        literals = [s[1:-1].replace("\\'", "'") for s in re.findall(r"'(?:[^'\\]|\\.)*'", query)]
        numbers = re.findall(r"(?<![\w.*])-?\d+(?:\.\d+)?(?![\w.])", re.sub(r"\[\*[\d.]*\]", "", strip_strings(query)))
        labels, _, _ = schema_names(query)
        # A node pinned by a named value ("Who wrote 'The Hidden Crown'?") needs no label of its own.
        pinned = set(re.findall(r"\(\s*\w*\s*:\s*`?(\w+)`?\s*\{[^}]*'", query))
        missing = [x for x in literals + numbers if x.lower() not in question]
        missing += [label for label in sorted(labels - pinned)
                    if not any(form in question for form in (label.lower(), _words(label), _plural(label)))]
        if missing:
            return {"verdict": "disagree", "reason": f"the query uses {missing} which the question never mentions"}
        return {"verdict": "agree", "reason": "every label and literal in the query is named in the question"}

    def verify(self, example: Example) -> list[Check]:
        return verify_cypher_example(example, self.graph)

    def close(self) -> None:
        self.graph.close()

    def load_eval(self, path: Path, limit: int | None = None) -> EvalFile:
        """{question, cypher, category?} rows; a reference query that does not run on the graph is skipped."""
        read = read_rows(path, CypherEvalRow, "{question, cypher, category?}")
        loaded = EvalFile(path, failing=f"do not run on {self.graph.name}", ignored_fields=read.ignored)
        for line, row in read.rows[:limit]:
            result = self.graph.run(row.cypher)
            if not result.ok:
                loaded.skipped.append((f"{path}:{line}", f"the reference query fails: {result.error[:200]}"))
                continue
            loaded.items.append(self.to_example(Task(line, row.category, ""), {"question": row.question, "cypher": row.cypher}))
        return loaded

    def score_answer(self, example: Example, answer: str) -> Check:
        """Execution accuracy of a student's answer against the reference query."""
        return execution_match(example.payload["output"], answer, self.graph)
