"""The sheet aggregate: one printed sheet, tracked through its sheet operations until it is cut."""

from dataclasses import dataclass
from typing import Literal

from core.copying import replace
from core.events import DomainEvent, OperationCompleted, OperationStarted, SheetCreated, SheetCut

SheetStatus = Literal["created", "in_progress", "cut"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ActiveOperation:
    operation_id: str
    station_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SheetState:
    sheet_id: str
    job_id: str
    sheet_number: int
    product_id: str
    n_up: int
    run_size: int
    completed_operations: tuple[str, ...] = ()
    active: ActiveOperation | None = None
    card_unit_ids: tuple[str, ...] = ()

    @property
    def status(self) -> SheetStatus:
        if self.card_unit_ids:
            return "cut"
        return "in_progress" if self.active or self.completed_operations else "created"


def evolve_sheet(state: SheetState | None, event: DomainEvent) -> SheetState:
    if isinstance(event, SheetCreated):
        return SheetState(
            sheet_id=event.sheet_id,
            job_id=event.job_id,
            sheet_number=event.sheet_number,
            product_id=event.product_id,
            n_up=event.n_up,
            run_size=event.run_size,
        )
    if state is None:
        raise TypeError(f"{event.event_type} before SheetCreated")
    match event:
        case OperationStarted():
            return replace(state, active=ActiveOperation(operation_id=event.operation_id, station_id=event.station_id))
        case OperationCompleted():
            return replace(state, active=None, completed_operations=(*state.completed_operations, event.operation_id))
        case SheetCut():
            return replace(
                state,
                active=None,
                completed_operations=(*state.completed_operations, event.operation_id),
                card_unit_ids=event.card_unit_ids,
            )
        case _:
            raise TypeError(f"a sheet does not take {event.event_type}")
