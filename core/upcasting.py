"""Upcasters: older payload schema versions brought to the current one on read (events are never rewritten).

Register a function per (event_type, from_version); `upcast` applies them in a chain until the payload
reaches the event class's current `schema_version`.
"""

from collections.abc import Callable

from core.errors import InvalidCommand
from core.events import EVENT_TYPES, DomainEvent, PayloadValue, from_payload

Payload = dict[str, PayloadValue]
Upcaster = Callable[[Payload], Payload]

# No event's meaning has changed yet, so the chain is empty; tests register one to prove the mechanism.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcast(event_type: str, schema_version: int, payload: Payload) -> DomainEvent:
    return from_payload(event_type, upcast_payload(event_type, schema_version, payload))


def upcast_payload(event_type: str, schema_version: int, payload: Payload) -> Payload:
    """The payload brought to its event class's current schema version, as a document."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise InvalidCommand(f"unknown event type {event_type!r}")
    if schema_version > cls.schema_version:
        raise InvalidCommand(
            f"{event_type} has schema version {schema_version}, newer than this code's {cls.schema_version}"
        )
    version = schema_version
    while version < cls.schema_version:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise InvalidCommand(f"no upcaster for {event_type} from schema version {version}")
        payload = step(payload)
        version += 1
    return payload
