"""Real lakes for the projection tests: events written through the event store, sealed or left in its journal."""

from collections.abc import Sequence
from itertools import groupby

from core.envelope import EventContext, PendingEvent, RecordedEvent
from projections.store import Append, EventStore


def pending(event: RecordedEvent) -> PendingEvent:
    return PendingEvent(
        aggregate_type=event.aggregate_type,
        aggregate_id=event.aggregate_id,
        event=event.event,
        context=EventContext(
            occurred_at=event.occurred_at,
            station_id=event.station_id,
            operator_id=event.operator_id,
            scan_id=event.scan_id,
        ),
        job_id=event.job_id,
        sheet_id=event.sheet_id,
        card_unit_id=event.card_unit_id,
    )


def append_all(store: EventStore, events: Sequence[RecordedEvent]) -> list[RecordedEvent]:
    """Append a floor's events command by command (the events one command emitted share their recorded time).

    The store numbers and times them itself; what it recorded is returned, to be compared with the reference.
    """
    recorded: list[RecordedEvent] = []
    for _, group in groupby(events, key=lambda e: e.recorded_at):
        batch = list(group)
        expected: dict[str, int] = {}
        for event in batch:
            expected.setdefault(event.aggregate_id, event.aggregate_version - 1)
        result = store.append(Append(events=tuple(pending(e) for e in batch), expected_versions=expected))
        recorded.extend(result.events)
    return recorded
