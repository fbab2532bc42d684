"""The station aggregate: only assembly stations keep state, the set they have open (CONTRACTS section 3)."""

from dataclasses import dataclass

from core.copying import replace
from core.events import DomainEvent, SetClosedAtStation, SetOpenedAtStation


@dataclass(frozen=True, kw_only=True, slots=True)
class StationState:
    station_id: str
    open_assembly_id: str | None = None


def evolve_station(state: StationState | None, event: DomainEvent) -> StationState:
    match event:
        case SetOpenedAtStation():
            return StationState(station_id=event.station_id, open_assembly_id=event.assembly_id)
        case SetClosedAtStation():
            base = state or StationState(station_id=event.station_id)
            return replace(base, open_assembly_id=None)
        case _:
            raise TypeError(f"a station does not take {event.event_type}")
