"""Reference projections: the read models as plain left folds over the event log.

They are the specification: every vectorized read model in `projections` must equal these, for any
stream and any cut point (as_of an occurred time, known_at a recorded time, up to a sequence number).
Each row is folded by a pure `(row, event) -> row`; `project` drives the fold over a whole stream, in
sequence order, and derives the station queues from the rows at the end.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

from core.copying import replace
from core.envelope import RecordedEvent
from core.events import (
    AssemblyCompleted,
    AssemblyOpened,
    CardUnitCreated,
    CardUnitGathered,
    CardUnitRemovedFromSet,
    CardUnitReplaced,
    CardUnitVoided,
    JobCreated,
    MemorabiliaInserted,
    OperationCompleted,
    OperationStarted,
    QAResultRecorded,
    SerialNumberApplied,
    SetPacked,
    SheetCreated,
    SheetCut,
)
from core.factory import Factory, OperationSpec

CardStatus = Literal["created", "in_progress", "qa_passed", "qa_failed", "voided", "assembled", "packed"]
CARD_STATUSES: tuple[CardStatus, ...] = (
    "created",
    "in_progress",
    "qa_passed",
    "qa_failed",
    "voided",
    "assembled",
    "packed",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class CardUnitView:
    card_unit_id: str
    sheet_id: str
    job_id: str
    position: int
    product_id: str
    status: CardStatus = "created"
    current_station_id: str | None = None
    active_operation_id: str | None = None
    completed_operations: tuple[str, ...] = ()
    qa_result: str | None = None
    qa_failure_reason: str | None = None
    qa_attempts: int = 0
    serial_number: int | None = None
    serial_run_size: int = 0
    memorabilia_id: str | None = None
    replaces: str | None = None
    replaced_by: str | None = None
    printed_on_sheet_id: str | None = None
    assembly_id: str | None = None
    pack_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SheetView:
    sheet_id: str
    job_id: str
    sheet_number: int
    product_id: str
    n_up: int
    status: Literal["created", "in_progress", "cut"] = "created"
    current_station_id: str | None = None
    active_operation_id: str | None = None
    completed_operations: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class AssemblyView:
    assembly_id: str
    sheet_id: str
    job_id: str
    expected_count: int
    station_id: str
    opened_at: datetime
    present: tuple[tuple[int, str], ...] = ()  # (position, card unit id), by position
    status: Literal["pending", "in_progress", "complete", "packed"] = "pending"
    pack_id: str | None = None

    @property
    def present_positions(self) -> tuple[int, ...]:
        return tuple(position for position, _ in self.present)

    @property
    def missing_positions(self) -> tuple[int, ...]:
        present = set(self.present_positions)
        return tuple(p for p in range(1, self.expected_count + 1) if p not in present)

    @property
    def replacement_card_unit_ids(self) -> tuple[str, ...]:
        return tuple(card for _, card in self.present if "-R" in card)


@dataclass(frozen=True, kw_only=True, slots=True)
class JobView:
    job_id: str
    product_id: str
    customer: str
    due_date: str
    total_sheets: int
    total_cards: int
    created_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class JobProgress:
    job_id: str
    total_sheets: int
    total_cards: int
    cards_by_status: tuple[tuple[str, int], ...]  # every status, in CARD_STATUSES order
    sheets_cut: int
    sets_complete: int
    sets_packed: int

    @property
    def percent_complete(self) -> float:
        return 100.0 * self.sets_packed / self.total_sheets if self.total_sheets else 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class StationQueue:
    station_id: str
    station_type: str
    waiting: tuple[str, ...]  # entities whose next operation is at this station's type (shared by its type)
    in_progress: tuple[str, ...]  # entities in an operation at this very station
    waiting_minutes: float
    in_progress_minutes: float


# --- pure row folds --------------------------------------------------------------------------------


def evolve_card_unit_view(row: CardUnitView | None, event: RecordedEvent) -> CardUnitView | None:
    body = event.event
    if isinstance(body, CardUnitCreated):
        return CardUnitView(
            card_unit_id=body.card_unit_id,
            sheet_id=body.sheet_id,
            job_id=body.job_id,
            position=body.position,
            product_id=body.product_id,
            serial_run_size=body.serial_run_size,
            replaces=body.replaces,
            printed_on_sheet_id=body.printed_on_sheet_id,
            created_at=event.occurred_at,
            updated_at=event.occurred_at,
        )
    if row is None:
        return None
    at = event.occurred_at  # every event about a card updates it: set in the same replace as its change
    match body:
        case OperationStarted():
            return _status(
                replace(row, updated_at=at, active_operation_id=body.operation_id, current_station_id=body.station_id)
            )
        case OperationCompleted() | SerialNumberApplied() | MemorabiliaInserted():
            return _status(
                replace(
                    row,
                    updated_at=at,
                    active_operation_id=None,
                    current_station_id=body.station_id,
                    completed_operations=(*row.completed_operations, body.operation_id),
                    serial_number=body.serial_number if isinstance(body, SerialNumberApplied) else row.serial_number,
                    memorabilia_id=(
                        body.memorabilia_id if isinstance(body, MemorabiliaInserted) else row.memorabilia_id
                    ),
                )
            )
        case QAResultRecorded():
            completed = (
                (*row.completed_operations, body.operation_id) if body.result == "PASS" else row.completed_operations
            )
            return _status(
                replace(
                    row,
                    updated_at=at,
                    active_operation_id=None,
                    current_station_id=body.station_id,
                    qa_result=body.result,
                    qa_failure_reason=body.failure_reason,
                    qa_attempts=body.attempt,
                    completed_operations=completed,
                )
            )
        case CardUnitVoided():
            return replace(row, updated_at=at, status="voided", active_operation_id=None, memorabilia_id=None)
        case CardUnitReplaced():
            return replace(row, updated_at=at, replaced_by=body.replacement_card_unit_id)
        case CardUnitGathered():
            return _status(
                replace(row, updated_at=at, assembly_id=body.assembly_id, current_station_id=body.station_id)
            )
        case CardUnitRemovedFromSet():
            return _status(replace(row, updated_at=at, assembly_id=None))
        case SetPacked():
            return _status(replace(row, updated_at=at, pack_id=body.pack_id, current_station_id=body.station_id))
        case _:
            return replace(row, updated_at=at)


def _status(row: CardUnitView) -> CardUnitView:
    """Precedence: voided > packed > assembled > QA outcome > in progress > created."""
    status: CardStatus
    if row.status == "voided":
        return row
    if row.pack_id is not None:
        status = "packed"
    elif row.assembly_id is not None:
        status = "assembled"
    elif row.qa_result == "PASS":
        status = "qa_passed"
    elif row.qa_result == "FAIL":
        status = "qa_failed"
    elif row.active_operation_id is not None or row.completed_operations:
        status = "in_progress"
    else:
        status = "created"
    return row if status == row.status else replace(row, status=status)


def evolve_sheet_view(row: SheetView | None, event: RecordedEvent) -> SheetView | None:
    body = event.event
    if isinstance(body, SheetCreated):
        return SheetView(
            sheet_id=body.sheet_id,
            job_id=body.job_id,
            sheet_number=body.sheet_number,
            product_id=body.product_id,
            n_up=body.n_up,
        )
    if row is None:
        return None
    match body:
        case OperationStarted():
            return replace(
                row, status="in_progress", active_operation_id=body.operation_id, current_station_id=body.station_id
            )
        case OperationCompleted():
            return replace(
                row,
                status="in_progress",
                active_operation_id=None,
                current_station_id=body.station_id,
                completed_operations=(*row.completed_operations, body.operation_id),
            )
        case SheetCut():
            return replace(
                row,
                status="cut",
                active_operation_id=None,
                current_station_id=body.station_id,
                completed_operations=(*row.completed_operations, body.operation_id),
            )
        case _:
            return row


def evolve_assembly_view(row: AssemblyView | None, event: RecordedEvent) -> AssemblyView | None:
    body = event.event
    if isinstance(body, AssemblyOpened):
        return AssemblyView(
            assembly_id=body.assembly_id,
            sheet_id=body.sheet_id,
            job_id=body.job_id,
            expected_count=body.expected_count,
            station_id=body.station_id,
            opened_at=event.occurred_at,
        )
    if row is None:
        return None
    match body:
        case CardUnitGathered():
            present = tuple(sorted((*row.present, (body.position, body.card_unit_id))))
            return replace(row, present=present, status="in_progress")
        case CardUnitRemovedFromSet():
            present = tuple(p for p in row.present if p[1] != body.card_unit_id)
            return replace(row, present=present, status="in_progress" if present else "pending")
        case AssemblyCompleted():
            return replace(row, status="complete")
        case SetPacked():
            return replace(row, status="packed", pack_id=body.pack_id)
        case _:
            return row


def evolve_job_view(row: JobView | None, event: RecordedEvent) -> JobView | None:
    body = event.event
    if isinstance(body, JobCreated):
        return JobView(
            job_id=body.job_id,
            product_id=body.product_id,
            customer=body.customer,
            due_date=body.due_date,
            total_sheets=body.sets,
            total_cards=body.sets * body.n_up,
            created_at=event.occurred_at,
        )
    return row


# --- the fold over a stream ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Cut:
    """A cut point on both time axes and the log's order; None means no bound."""

    as_of: datetime | None = None  # occurred_at <= as_of: what was true then
    known_at: datetime | None = None  # recorded_at <= known_at: what the system knew then
    up_to_sequence: int | None = None

    def admits(self, event: RecordedEvent) -> bool:
        return (
            (self.as_of is None or event.occurred_at <= self.as_of)
            and (self.known_at is None or event.recorded_at <= self.known_at)
            and (self.up_to_sequence is None or event.sequence_num <= self.up_to_sequence)
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class ReferenceViews:
    card_units: dict[str, CardUnitView]
    sheets: dict[str, SheetView]
    assemblies: dict[str, AssemblyView]
    jobs: dict[str, JobView]


def project(events: Iterable[RecordedEvent], cut: Cut = Cut()) -> ReferenceViews:
    views = ReferenceViews(card_units={}, sheets={}, assemblies={}, jobs={})
    for event in sorted((e for e in events if cut.admits(e)), key=lambda e: e.sequence_num):
        fold_into(views, event)
    return views


def fold_into(views: ReferenceViews, event: RecordedEvent) -> None:
    """One step of `project`, in place: the next event (in sequence order) evolves the rows it concerns. Read
    models kept live (`projections.live_floor`) take this step as each event is acknowledged."""
    cards, sheets, assemblies, jobs = views.card_units, views.sheets, views.assemblies, views.jobs
    body = event.event
    if event.aggregate_type == "card_unit" or isinstance(body, (CardUnitGathered, CardUnitRemovedFromSet)):
        target = body.card_unit_id if isinstance(body, CardUnitCreated) else event.card_unit_id
        if target is not None:
            _put(cards, target, evolve_card_unit_view(cards.get(target), event))
    elif isinstance(body, SetPacked):
        assembly = assemblies.get(body.assembly_id)
        for _, member in assembly.present if assembly else ():
            _put(cards, member, evolve_card_unit_view(cards.get(member), event))
    if event.aggregate_type == "sheet":
        _put(sheets, event.aggregate_id, evolve_sheet_view(sheets.get(event.aggregate_id), event))
    elif event.aggregate_type == "assembly":
        _put(assemblies, event.aggregate_id, evolve_assembly_view(assemblies.get(event.aggregate_id), event))
    elif event.aggregate_type == "job":
        _put(jobs, event.aggregate_id, evolve_job_view(jobs.get(event.aggregate_id), event))


R = TypeVar("R")


def _put(rows: dict[str, R], key: str, row: R | None) -> None:
    if row is not None:
        rows[key] = row


def job_progress(views: ReferenceViews) -> dict[str, JobProgress]:
    progress: dict[str, JobProgress] = {}
    for job in views.jobs.values():
        counts = dict.fromkeys(CARD_STATUSES, 0)
        for card in views.card_units.values():
            if card.job_id == job.job_id:
                counts[card.status] += 1
        sets = [a for a in views.assemblies.values() if a.job_id == job.job_id]
        progress[job.job_id] = JobProgress(
            job_id=job.job_id,
            total_sheets=job.total_sheets,
            total_cards=job.total_cards,
            cards_by_status=tuple(counts.items()),
            sheets_cut=sum(1 for s in views.sheets.values() if s.job_id == job.job_id and s.status == "cut"),
            sets_complete=sum(1 for a in sets if a.status in ("complete", "packed")),
            sets_packed=sum(1 for a in sets if a.status == "packed"),
        )
    return progress


def _next_operations(product_ops: tuple[OperationSpec, ...], completed: tuple[str, ...]) -> list[OperationSpec]:
    """Operations whose same-entity predecessors are all done and which are not done themselves."""
    own = {op.operation_id for op in product_ops}
    done = set(completed)
    return [
        op for op in product_ops if op.operation_id not in done and all(p in done for p in op.predecessors if p in own)
    ]


def station_queues(views: ReferenceViews, factory: Factory) -> dict[str, StationQueue]:
    """Waiting work per station type (predecessors done, not started) and in-progress work per station."""
    waiting: dict[str, list[tuple[str, float]]] = {}
    active: dict[str, list[tuple[str, float]]] = {}
    for sheet in views.sheets.values():
        product = factory.product(sheet.product_id)
        ops = product.operations_for("sheet")
        if sheet.status == "cut":
            continue
        if sheet.active_operation_id is not None and sheet.current_station_id is not None:
            minutes = product.operation(sheet.active_operation_id).standard_minutes
            active.setdefault(sheet.current_station_id, []).append((sheet.sheet_id, minutes))
            continue
        for op in _next_operations(ops, sheet.completed_operations):
            waiting.setdefault(op.station_type, []).append((sheet.sheet_id, op.standard_minutes))
    for card in views.card_units.values():
        if card.status in ("voided", "assembled", "packed"):
            continue
        product = factory.product(card.product_id)
        if card.active_operation_id is not None and card.current_station_id is not None:
            minutes = product.operation(card.active_operation_id).standard_minutes
            active.setdefault(card.current_station_id, []).append((card.card_unit_id, minutes))
            continue
        if card.qa_result == "FAIL" and card.qa_attempts >= factory.qa_max_attempts:
            continue  # waits for a manager's void, not for a station
        for op in _next_operations(product.operations_for("card_unit"), card.completed_operations):
            waiting.setdefault(op.station_type, []).append((card.card_unit_id, op.standard_minutes))
    for assembly in views.assemblies.values():
        sheet_row = views.sheets.get(assembly.sheet_id)
        if assembly.status == "complete" and sheet_row is not None:
            packing = factory.product(sheet_row.product_id).operations_for("assembly")[0]
            waiting.setdefault(packing.station_type, []).append((assembly.assembly_id, packing.standard_minutes))
    queues: dict[str, StationQueue] = {}
    for station in factory.stations:
        shared = waiting.get(station.station_type, [])
        mine = active.get(station.station_id, [])
        queues[station.station_id] = StationQueue(
            station_id=station.station_id,
            station_type=station.station_type,
            waiting=tuple(sorted(e for e, _ in shared)),
            in_progress=tuple(sorted(e for e, _ in mine)),
            waiting_minutes=round(sum(m for _, m in shared), 6),
            in_progress_minutes=round(sum(m for _, m in mine), 6),
        )
    return queues
