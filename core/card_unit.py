"""The card-unit aggregate: one card, born at the cut (or as a replacement), living its own life until packed."""

from dataclasses import dataclass

from core.copying import replace
from core.events import (
    CardUnitCreated,
    CardUnitReplaced,
    CardUnitVoided,
    DomainEvent,
    MemorabiliaInserted,
    OperationCompleted,
    OperationStarted,
    QAResultRecorded,
    SerialNumberApplied,
)
from core.sheet import ActiveOperation


@dataclass(frozen=True, kw_only=True, slots=True)
class CardUnitState:
    card_unit_id: str
    sheet_id: str
    job_id: str
    position: int
    product_id: str
    serial_run_size: int
    replaces: str | None = None
    printed_on_sheet_id: str | None = None
    completed_operations: tuple[str, ...] = ()
    active: ActiveOperation | None = None
    qa_attempts: int = 0
    qa_result: str | None = None
    serial_number: int | None = None
    memorabilia_id: str | None = None
    voided: bool = False
    replaced_by: str | None = None


def evolve_card_unit(state: CardUnitState | None, event: DomainEvent) -> CardUnitState:
    if isinstance(event, CardUnitCreated):
        return CardUnitState(
            card_unit_id=event.card_unit_id,
            sheet_id=event.sheet_id,
            job_id=event.job_id,
            position=event.position,
            product_id=event.product_id,
            serial_run_size=event.serial_run_size,
            replaces=event.replaces,
            printed_on_sheet_id=event.printed_on_sheet_id,
        )
    if state is None:
        raise TypeError(f"{event.event_type} before CardUnitCreated")
    match event:
        case OperationStarted():
            return replace(state, active=ActiveOperation(operation_id=event.operation_id, station_id=event.station_id))
        case OperationCompleted():
            return _completed(state, event.operation_id)
        case QAResultRecorded():
            # Only a pass completes QA; a failure leaves it open for rework and another attempt.
            done = (*state.completed_operations, event.operation_id) if event.result == "PASS" else None
            return replace(
                state,
                active=None,
                qa_attempts=event.attempt,
                qa_result=event.result,
                completed_operations=state.completed_operations if done is None else done,
            )
        case SerialNumberApplied():
            return replace(
                state,
                active=None,
                serial_number=event.serial_number,
                completed_operations=(*state.completed_operations, event.operation_id),
            )
        case MemorabiliaInserted():
            return replace(
                state,
                active=None,
                memorabilia_id=event.memorabilia_id,
                completed_operations=(*state.completed_operations, event.operation_id),
            )
        case CardUnitVoided():
            return replace(state, voided=True, active=None, memorabilia_id=None)
        case CardUnitReplaced():
            return replace(state, replaced_by=event.replacement_card_unit_id)
        case _:
            raise TypeError(f"a card unit does not take {event.event_type}")


def _completed(state: CardUnitState, operation_id: str) -> CardUnitState:
    return replace(state, active=None, completed_operations=(*state.completed_operations, operation_id))
