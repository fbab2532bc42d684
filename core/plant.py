"""The whole plant as one pure value: `execute(plant, command) -> (new_plant, events)`.

This is the decision layer's reference composition: the aggregates a command reads come from the plant,
the events it emits are evolved into a new plant. The ingest service does the same against the durable
event store; the tests and the reference folds use this one.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from core.aggregates import AggregateState, evolve
from core.commands import Command
from core.decisions import decide
from core.envelope import PendingEvent, RecordedEvent, record
from core.factory import Factory


@dataclass(frozen=True, kw_only=True, slots=True)
class Plant:
    factory: Factory
    aggregates: Mapping[str, tuple[int, AggregateState]] = field(default_factory=dict)  # id -> (version, state)
    last_sequence: int = 0

    def load(self, aggregate_id: str) -> AggregateState | None:
        entry = self.aggregates.get(aggregate_id)
        return entry[1] if entry else None

    def version(self, aggregate_id: str) -> int:
        entry = self.aggregates.get(aggregate_id)
        return entry[0] if entry else 0


def apply(
    plant: Plant, pending: tuple[PendingEvent, ...], recorded_at: datetime
) -> tuple[Plant, tuple[RecordedEvent, ...]]:
    """Evolve the plant by events a decision emitted, numbering them as a store would."""
    aggregates = dict(plant.aggregates)
    sequence = plant.last_sequence
    recorded: list[RecordedEvent] = []
    for event in pending:
        version, state = aggregates.get(event.aggregate_id, (0, None))
        sequence += 1
        aggregates[event.aggregate_id] = (version + 1, evolve(event.aggregate_type, state, event.event))
        recorded.append(record(event, sequence_num=sequence, aggregate_version=version + 1, recorded_at=recorded_at))
    return Plant(factory=plant.factory, aggregates=aggregates, last_sequence=sequence), tuple(recorded)


def execute(plant: Plant, command: Command, recorded_at: datetime) -> tuple[Plant, tuple[RecordedEvent, ...]]:
    return apply(plant, decide(command, plant, plant.factory), recorded_at)
