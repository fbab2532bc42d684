"""The envelope around a domain event: who it belongs to, where and when it happened, and where it sits in the log.

`PendingEvent` is what a decision emits (no version, no sequence, no recorded time: the store assigns those);
`RecordedEvent` is what the log holds. Keeping the payload apart from the envelope lets an event's meaning
evolve (schema versions) without touching the columns every engine filters on.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from core.events import DomainEvent

AggregateType = Literal["job", "sheet", "card_unit", "assembly", "pack", "station", "memorabilia"]


@dataclass(frozen=True, kw_only=True, slots=True)
class EventContext:
    """Who did what, where and when: copied from the scan or request onto every event it causes."""

    occurred_at: datetime  # timezone-aware; from the scanner's clock, never the server's
    station_id: str | None = None
    operator_id: str | None = None
    scan_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PendingEvent:
    aggregate_type: AggregateType
    aggregate_id: str
    event: DomainEvent
    context: EventContext
    job_id: str | None = None
    sheet_id: str | None = None
    card_unit_id: str | None = None

    @property
    def event_type(self) -> str:
        return self.event.event_type


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordedEvent:
    """An event as the log holds it: gapless `sequence_num` from 1, per-aggregate `aggregate_version` from 1."""

    sequence_num: int
    aggregate_type: AggregateType
    aggregate_id: str
    aggregate_version: int
    event: DomainEvent
    occurred_at: datetime
    recorded_at: datetime
    job_id: str | None = None
    sheet_id: str | None = None
    card_unit_id: str | None = None
    station_id: str | None = None
    operator_id: str | None = None
    scan_id: str | None = None

    @property
    def event_type(self) -> str:
        return self.event.event_type

    @property
    def schema_version(self) -> int:
        return self.event.schema_version


def record(pending: PendingEvent, *, sequence_num: int, aggregate_version: int, recorded_at: datetime) -> RecordedEvent:
    context = pending.context
    return RecordedEvent(
        sequence_num=sequence_num,
        aggregate_type=pending.aggregate_type,
        aggregate_id=pending.aggregate_id,
        aggregate_version=aggregate_version,
        event=pending.event,
        occurred_at=context.occurred_at,
        recorded_at=recorded_at,
        job_id=pending.job_id,
        sheet_id=pending.sheet_id,
        card_unit_id=pending.card_unit_id,
        station_id=context.station_id,
        operator_id=context.operator_id,
        scan_id=context.scan_id,
    )
