"""Random, valid query documents over the real schema, for differential tests.

Each document picks a random subset of an object type's fields at every
level, and mixes in what changes how graphql-core collects and completes
fields: aliases, the same field selected twice (merged), inline fragments,
named fragments, `@skip`/`@include` on literals and on variables, and
`__typename`. Sizes stay inside the service's query limits. Seeded, so a
failing document can be reproduced from its seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import graphql

import allocation_api

SDL = Path(allocation_api.__file__).resolve().parent / "schema" / "schema.graphql"
SCHEMA = graphql.build_schema(SDL.read_text())

# Optional list arguments worth varying; every other field with arguments is left out.
PAGE_ARGS = ("first: 3", "first: 7", "first: 20", "")


@dataclass
class _Builder:
    rng: random.Random
    max_fields: int
    fragments: dict[str, str] = field(default_factory=dict)
    arguments: dict[tuple[str, str], str] = field(default_factory=dict)
    aliases: int = 0

    def selection(self, type_: graphql.GraphQLObjectType, depth: int) -> str:
        fields = list(type_.fields.items())
        self.rng.shuffle(fields)
        chosen: list[str] = []
        for name, definition in fields[: self.rng.randint(1, self.max_fields)]:
            if any(graphql.is_required_argument(a) for a in definition.args.values()):
                continue
            named = graphql.get_named_type(definition.type)
            sub = ""
            if isinstance(named, graphql.GraphQLObjectType):
                if depth <= 0:
                    continue
                sub = " { " + self.selection(named, depth - 1) + " }"
            args = ""
            if definition.args:
                # One choice per field and document: differing arguments under one
                # response key would not validate.
                key = (type_.name, name)
                if key not in self.arguments:
                    picked = self.rng.choice(PAGE_ARGS) if "first" in definition.args else ""
                    self.arguments[key] = f"({picked})" if picked else ""
                args = self.arguments[key]
            chosen.append(self._decorate(name + args, sub))
        chosen.append("__typename")
        if self.rng.random() < 0.3:
            chosen.append(self._fragment(type_, depth))
        self.rng.shuffle(chosen)
        return " ".join(chosen)

    def _decorate(self, head: str, sub: str) -> str:
        roll = self.rng.random()
        if roll < 0.08:
            head = f"{head} @skip(if: true)"
        elif roll < 0.16:
            head = f"{head} @include(if: $yes)"
        elif roll < 0.20:
            head = f"{head} @skip(if: $yes)"
        text = head + sub
        roll = self.rng.random()
        if roll < 0.15 and self.aliases < 20:
            self.aliases += 1
            text = f"a{self.aliases}: {text}"
        elif roll < 0.25:
            text = f"{text} {text}"  # the same field twice: merged into one response key
        return text

    def _fragment(self, type_: graphql.GraphQLObjectType, depth: int) -> str:
        inner = self.selection(type_, max(0, depth - 1))
        if self.rng.random() < 0.5:
            return f"... on {type_.name} {{ {inner} }}"
        name = f"F{len(self.fragments)}"
        self.fragments[name] = f"fragment {name} on {type_.name} {{ {inner} }}"
        return f"...{name}"


def random_document(seed: int, root: str, max_fields: int = 5, depth: int = 3) -> str:
    """A valid document starting at `root`, e.g. `prison(code: "LEI")` typed `Prison`."""
    rng = random.Random(seed)
    builder = _Builder(rng, max_fields)
    root_field, _, root_type = root.partition(" : ")
    type_ = SCHEMA.get_type(root_type)
    assert isinstance(type_, graphql.GraphQLObjectType)
    body = builder.selection(type_, depth)
    fragments = "\n".join(builder.fragments.values())
    variables = "($yes: Boolean! = true)" if "$yes" in body + fragments else ""
    document = f"query Q{variables} {{ {root_field} {{ {body} }} }}\n{fragments}"
    problems = graphql.validate(SCHEMA, graphql.parse(document))
    assert not problems, (seed, document, problems)
    return document
