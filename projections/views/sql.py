"""The small SQL vocabulary the views share: quoting, event-type literals checked against core, typed empties."""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from core.events import COMPLETING_EVENT_TYPES, EVENT_TYPES

# Events that complete an operation of a card (SheetCut completes a sheet's).
CARD_COMPLETIONS: tuple[str, ...] = tuple(name for name in COMPLETING_EVENT_TYPES if name != "SheetCut")


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def event_type(name: str) -> str:
    """A quoted event-type literal, checked against core's events so a typo fails at import, not silently."""
    if name not in EVENT_TYPES:
        raise ValueError(f"unknown event type {name!r}")
    return quote(name)


def event_types(names: Iterable[str]) -> str:
    """A parenthesised list of event-type literals for `IN (...)`."""
    return "(" + ", ".join(event_type(name) for name in names) + ")"


def event_type_codes(names: Sequence[str]) -> str:
    """The WHEN arms of `CASE event_type ... END` giving each name its 1-based position: an event type as a
    small integer inside a fold, where a string would widen every row it sorts or groups."""
    return " ".join(f"WHEN {event_type(name)} THEN {code}" for code, name in enumerate(names, start=1))


def timestamp_literal(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a cut needs a timezone-aware time, got {moment!r}")
    return f"TIMESTAMPTZ {quote(moment.astimezone(UTC).isoformat())}"


def empty_relation(columns: Sequence[tuple[str, str]]) -> str:
    """A typed relation with no rows: the 'previous state' of a fold from scratch."""
    typed = ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind in columns)
    return f"(SELECT {typed} LIMIT 0)"


def payload_schema(fields: Sequence[tuple[str, str]]) -> str:
    """A `from_json` structure literal for the given (field, DuckDB type) pairs."""
    inner = ", ".join(f'"{name}": "{kind}"' for name, kind in fields)
    return "'{" + inner + "}'"
