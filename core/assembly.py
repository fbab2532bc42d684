"""The assembly aggregate: a sheet's set being gathered again and proven complete before packing (fan-in)."""

from dataclasses import dataclass
from typing import Literal

from core.copying import replace
from core.events import (
    AssemblyCompleted,
    AssemblyOpened,
    CardUnitGathered,
    CardUnitRemovedFromSet,
    DomainEvent,
    SetPacked,
)

AssemblyStatus = Literal["pending", "in_progress", "complete", "packed"]


@dataclass(frozen=True, kw_only=True, slots=True)
class AssemblyState:
    assembly_id: str
    sheet_id: str
    job_id: str
    expected_count: int
    station_id: str
    gathered: tuple[tuple[int, str], ...] = ()  # (position, card unit id), in gathering order
    completed: bool = False
    pack_id: str | None = None

    @property
    def present_positions(self) -> tuple[int, ...]:
        return tuple(sorted(position for position, _ in self.gathered))

    @property
    def missing_positions(self) -> tuple[int, ...]:
        present = set(self.present_positions)
        return tuple(p for p in range(1, self.expected_count + 1) if p not in present)

    @property
    def card_unit_ids(self) -> tuple[str, ...]:
        return tuple(card for _, card in sorted(self.gathered))

    @property
    def status(self) -> AssemblyStatus:
        if self.pack_id is not None:
            return "packed"
        if self.completed:
            return "complete"
        return "in_progress" if self.gathered else "pending"


def evolve_assembly(state: AssemblyState | None, event: DomainEvent) -> AssemblyState:
    if isinstance(event, AssemblyOpened):
        return AssemblyState(
            assembly_id=event.assembly_id,
            sheet_id=event.sheet_id,
            job_id=event.job_id,
            expected_count=event.expected_count,
            station_id=event.station_id,
        )
    if state is None:
        raise TypeError(f"{event.event_type} before AssemblyOpened")
    match event:
        case CardUnitGathered():
            return replace(state, gathered=(*state.gathered, (event.position, event.card_unit_id)))
        case CardUnitRemovedFromSet():
            remaining = tuple(g for g in state.gathered if g[1] != event.card_unit_id)
            return replace(state, gathered=remaining, completed=False)
        case AssemblyCompleted():
            return replace(state, completed=True)
        case SetPacked():
            return replace(state, pack_id=event.pack_id)
        case _:
            raise TypeError(f"an assembly does not take {event.event_type}")
