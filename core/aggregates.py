"""One fold for every aggregate: `evolve(state, event) -> state`, and the reader decisions load states through."""

from collections.abc import Iterable
from typing import Protocol, TypeVar

from core.assembly import AssemblyState, evolve_assembly
from core.card_unit import CardUnitState, evolve_card_unit
from core.envelope import AggregateType
from core.errors import UnknownEntity
from core.events import DomainEvent
from core.job import JobState, evolve_job
from core.memorabilia import MemorabiliaState, evolve_memorabilia
from core.pack import PackState, evolve_pack
from core.sheet import SheetState, evolve_sheet
from core.station import StationState, evolve_station

S = TypeVar("S")

AggregateState = JobState | SheetState | CardUnitState | AssemblyState | PackState | StationState | MemorabiliaState


def evolve(aggregate_type: AggregateType, state: AggregateState | None, event: DomainEvent) -> AggregateState:
    match aggregate_type:
        case "job":
            return evolve_job(_as(state, JobState), event)
        case "sheet":
            return evolve_sheet(_as(state, SheetState), event)
        case "card_unit":
            return evolve_card_unit(_as(state, CardUnitState), event)
        case "assembly":
            return evolve_assembly(_as(state, AssemblyState), event)
        case "pack":
            return evolve_pack(_as(state, PackState), event)
        case "station":
            return evolve_station(_as(state, StationState), event)
        case "memorabilia":
            return evolve_memorabilia(_as(state, MemorabiliaState), event)


def fold(aggregate_type: AggregateType, events: Iterable[DomainEvent]) -> AggregateState | None:
    state: AggregateState | None = None
    for event in events:
        state = evolve(aggregate_type, state, event)
    return state


def _as(state: AggregateState | None, kind: type[S]) -> S | None:
    if state is None or isinstance(state, kind):
        return state
    raise TypeError(f"expected {kind.__name__}, got {type(state).__name__}")


class AggregateReader(Protocol):
    """Loads an aggregate's current state; the store behind it remembers which versions a decision read."""

    def load(self, aggregate_id: str) -> AggregateState | None: ...


def load_required(reader: AggregateReader, aggregate_id: str, kind: type[S], what: str) -> S:
    state = reader.load(aggregate_id)
    if state is None:
        raise UnknownEntity(f"{what} {aggregate_id} does not exist")
    if not isinstance(state, kind):
        raise UnknownEntity(f"{aggregate_id} is not a {what}")
    return state


def load_optional(reader: AggregateReader, aggregate_id: str, kind: type[S]) -> S | None:
    state = reader.load(aggregate_id)
    if state is None or isinstance(state, kind):
        return state
    raise UnknownEntity(f"{aggregate_id} is not a {kind.__name__}")
