"""`replace` for the frozen dataclasses of core's states and views: `dataclasses.replace`'s result, at half its cost.

Every fold and decision evolves a state by replacing a few of its fields, once per event. `dataclasses.replace`
looks the class's fields up and passes every value through `__init__`'s keyword parsing each time; this looks the
field names up once per class and fills the copy's fields as the frozen dataclass's own `__init__` does (with
`object.__setattr__`). Classes whose `__init__` does more (`__post_init__`, fields outside `__init__`) and unknown
field names go to `dataclasses.replace` itself, with its checks and errors.
"""

import dataclasses
from typing import Final, TypeVar

State = TypeVar("State")

_set_field: Final = object.__setattr__
# Per class: its field names in order and as a set, or None when only dataclasses.replace copies it faithfully.
_SHAPES: dict[type, tuple[tuple[str, ...], frozenset[str]] | None] = {}


def replace(state: State, /, **changes: object) -> State:
    """A copy of the dataclass instance `state` with `changes` to its fields."""
    kind = type(state)
    try:
        shape = _SHAPES[kind]
    except KeyError:
        shape = _SHAPES[kind] = _shape_of(kind)
    if shape is None or not changes.keys() <= shape[1]:
        return dataclasses.replace(state, **changes)  # type: ignore[type-var]
    copy = object.__new__(kind)
    for name in shape[0]:
        _set_field(copy, name, changes[name] if name in changes else getattr(state, name))
    return copy


def _shape_of(kind: type) -> tuple[tuple[str, ...], frozenset[str]] | None:
    if not dataclasses.is_dataclass(kind) or hasattr(kind, "__post_init__"):
        return None
    if any(not field.init for field in dataclasses.fields(kind)):
        return None
    # InitVar pseudo-fields are not in fields(): a class with one has a __post_init__ to take it, refused above.
    names = tuple(field.name for field in dataclasses.fields(kind))
    return names, frozenset(names)
