"""What a query selects below a field, for resolvers that preload for their nodes.

A page resolver that knows which fields its nodes will be asked for can read
their data for the whole page up front (one statement or call per kind) and
let those fields answer synchronously. These helpers read strawberry's
`selected_fields`, looking through inline fragments and fragment spreads.
"""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.types.nodes import SelectedField, Selection


def names(selections: Sequence[Selection]) -> set[str]:
    """Field names selected, looking through fragments."""
    found: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            found.add(selection.name)
        else:
            found |= names(selection.selections)
    return found


def children(selections: Sequence[Selection], name: str) -> list[Selection]:
    """Sub-selections of the fields called `name`, looking through fragments."""
    found: list[Selection] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name:
                found.extend(selection.selections)
        else:
            found.extend(children(selection.selections, name))
    return found


def connection_nodes(selected: Sequence[Selection]) -> list[Selection]:
    """For a connection field being resolved (`info.selected_fields`): what its nodes select."""
    below = [s for f in selected if isinstance(f, SelectedField) for s in f.selections]
    return children(below, "nodes")
