"""Domain events: immutable facts, named in the past tense, carrying enough context to be read alone.

An event is its payload only; the envelope (ids, version, times, station, operator, scan) lives in
`core.envelope`. Payload fields are JSON-plain (str, int, bool, None, tuples of those) so every event
round-trips through `to_payload`/`from_payload`, upcast from older schema versions by `core.upcasting`.
"""

from dataclasses import dataclass, fields
from typing import ClassVar, TypeAlias

from core.errors import InvalidCommand

PayloadValue: TypeAlias = str | int | float | bool | list[str] | list[int] | None


@dataclass(frozen=True, kw_only=True, slots=True)
class DomainEvent:
    schema_version: ClassVar[int] = 1

    @property
    def event_type(self) -> str:
        return type(self).__name__


# --- job -------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class JobCreated(DomainEvent):
    job_id: str
    product_id: str
    customer: str
    due_date: str  # ISO date
    sets: int
    n_up: int
    serialized: bool
    sheet_ids: tuple[str, ...]


# --- sheet -----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class SheetCreated(DomainEvent):
    sheet_id: str
    job_id: str
    sheet_number: int
    product_id: str
    n_up: int
    run_size: int


@dataclass(frozen=True, kw_only=True, slots=True)
class SheetCut(DomainEvent):
    """Completes the cut operation: the sheet ends as a tracked entity and its card units are born."""

    sheet_id: str
    operation_id: str
    station_id: str
    card_unit_ids: tuple[str, ...]


# --- operations on a sheet or a card unit ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class OperationStarted(DomainEvent):
    operation_id: str
    station_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class OperationCompleted(DomainEvent):
    operation_id: str
    station_id: str


# --- card unit -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class CardUnitCreated(DomainEvent):
    card_unit_id: str
    sheet_id: str
    job_id: str
    position: int
    product_id: str
    embellishments: tuple[str, ...]
    serial_run_size: int  # 0 when the product is not serialized
    replaces: str | None = None
    printed_on_sheet_id: str | None = None  # the make-up sheet a replacement was physically printed on


@dataclass(frozen=True, kw_only=True, slots=True)
class QAResultRecorded(DomainEvent):
    operation_id: str
    station_id: str
    result: str  # PASS | FAIL
    attempt: int
    failure_reason: str | None = None
    failure_codes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class SerialNumberApplied(DomainEvent):
    operation_id: str
    station_id: str
    serial_number: int
    run_size: int

    @property
    def label(self) -> str:
        return f"{self.serial_number:02d}/{self.run_size}"


@dataclass(frozen=True, kw_only=True, slots=True)
class MemorabiliaInserted(DomainEvent):
    operation_id: str
    station_id: str
    memorabilia_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CardUnitVoided(DomainEvent):
    reason: str
    authorized_by: str
    released_memorabilia_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CardUnitReplaced(DomainEvent):
    replacement_card_unit_id: str


# --- memorabilia item ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class MemorabiliaItemAllocated(DomainEvent):
    memorabilia_id: str
    card_unit_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class MemorabiliaItemReleased(DomainEvent):
    memorabilia_id: str
    card_unit_id: str
    reason: str


# --- assembly (a sheet's set) ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class AssemblyOpened(DomainEvent):
    assembly_id: str
    sheet_id: str
    job_id: str
    expected_count: int
    station_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CardUnitGathered(DomainEvent):
    assembly_id: str
    card_unit_id: str
    position: int
    station_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CardUnitRemovedFromSet(DomainEvent):
    assembly_id: str
    card_unit_id: str
    position: int
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class AssemblyCompleted(DomainEvent):
    assembly_id: str
    card_unit_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class SetPacked(DomainEvent):
    assembly_id: str
    pack_id: str
    station_id: str
    missing_positions: tuple[int, ...] = ()
    replacement_card_unit_ids: tuple[str, ...] = ()
    override_reason: str | None = None
    authorized_by: str | None = None


# --- pack ------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class PackSealed(DomainEvent):
    pack_id: str
    assembly_id: str
    sheet_id: str
    job_id: str
    card_unit_ids: tuple[str, ...]
    override_reason: str | None = None


# --- station ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class SetOpenedAtStation(DomainEvent):
    station_id: str
    assembly_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SetClosedAtStation(DomainEvent):
    station_id: str
    assembly_id: str


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.__name__: cls
    for cls in (
        JobCreated,
        SheetCreated,
        SheetCut,
        OperationStarted,
        OperationCompleted,
        CardUnitCreated,
        QAResultRecorded,
        SerialNumberApplied,
        MemorabiliaInserted,
        CardUnitVoided,
        CardUnitReplaced,
        MemorabiliaItemAllocated,
        MemorabiliaItemReleased,
        AssemblyOpened,
        CardUnitGathered,
        CardUnitRemovedFromSet,
        AssemblyCompleted,
        SetPacked,
        PackSealed,
        SetOpenedAtStation,
        SetClosedAtStation,
    )
}

# Events that complete an operation, and so close its duration; each carries `operation_id`.
COMPLETING_EVENT_TYPES = (
    "OperationCompleted",
    "SheetCut",
    "QAResultRecorded",
    "SerialNumberApplied",
    "MemorabiliaInserted",
)


# Each event class's field names, looked up once: events are converted by the thousand on every read and write.
_FIELD_NAMES: dict[type[DomainEvent], tuple[str, ...]] = {}


def payload_fields(kind: type[DomainEvent]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES.setdefault(kind, tuple(field.name for field in fields(kind)))
    return names


def to_payload(event: DomainEvent) -> dict[str, PayloadValue]:
    payload: dict[str, PayloadValue] = {}
    for name in payload_fields(type(event)):
        value = getattr(event, name)
        payload[name] = list(value) if isinstance(value, tuple) else value
    return payload


def from_payload(event_type: str, payload: dict[str, PayloadValue]) -> DomainEvent:
    """Rebuild an event of the current schema version from its JSON payload."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise InvalidCommand(f"unknown event type {event_type!r}")
    known = payload_fields(cls)
    arguments = {
        name: tuple(value) if isinstance(value, list) else value for name, value in payload.items() if name in known
    }
    return cls(**arguments)
