"""Every request and response body of the HTTP API (CONTRACTS section 5), with examples for the OpenAPI document.

Requests are strict: unknown fields are rejected, timestamps must be ISO 8601 text carrying a timezone, ids
are validated by core's parsers (so the error names the wrong part). Responses list at least the fields the
contract names; more are welcome.
"""

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from core.errors import InvalidId
from core.ids import (
    parse_assembly_id,
    parse_entity_id,
    parse_job_id,
    parse_memorabilia_id,
    parse_operator_id,
    parse_pack_id,
    parse_sheet_id,
    parse_station_id,
)
from ingest import examples
from ingest.service import plausible_time

MAX_BATCH_SCANS = 10_000


def _core_id(parse: Callable[[str], object]) -> AfterValidator:
    """Validate with core's parser and keep the text; core's message names the part that is wrong."""

    def check(text: str) -> str:
        try:
            parse(text)
        except InvalidId as error:
            raise ValueError(error.message) from None
        return text

    return AfterValidator(check)


def _text_timestamp(value: object) -> object:
    # A bare number would be read as UTC seconds; the contract wants the zone written out.
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 timestamp with a timezone, e.g. 2025-03-04T14:05:00+00:00")
    return value


def _plausible(moment: datetime) -> datetime:
    if not plausible_time(moment):
        raise ValueError("must lie between 1970-01-01 and 9999-12-30 (UTC)")
    return moment


Timestamp = Annotated[AwareDatetime, BeforeValidator(_text_timestamp), AfterValidator(_plausible)]
StationId = Annotated[str, Field(max_length=64, examples=["QA-BENCH-3"]), _core_id(parse_station_id)]
OperatorId = Annotated[str, Field(max_length=32, examples=["OP-42"]), _core_id(parse_operator_id)]
JobId = Annotated[str, Field(max_length=32, examples=["J1044"]), _core_id(parse_job_id)]
SheetId = Annotated[str, Field(max_length=32, examples=["J1044-S003"]), _core_id(parse_sheet_id)]
AssemblyId = Annotated[str, Field(max_length=40, examples=["A-J1044-S003"]), _core_id(parse_assembly_id)]
PackId = Annotated[str, Field(max_length=32, examples=["J1044-P0003"]), _core_id(parse_pack_id)]
MemorabiliaId = Annotated[str, Field(max_length=16, examples=["M-000123"]), _core_id(parse_memorabilia_id)]
Barcode = Annotated[
    str,
    Field(min_length=1, max_length=128, examples=["J1044-S003-07"], description="Any cardtrace id, GS1 prefix ok"),
    _core_id(parse_entity_id),
]
ShortText = Annotated[str, Field(min_length=1, max_length=500)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


# --- requests -----------------------------------------------------------------------------------------


class ScanIn(Strict):
    """One barcode scan at a station (CONTRACTS section 3)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "scan_id": "QA-BENCH-3:2025-03-04T14:05:00Z:0001",
                    "barcode": "J1044-S003-07",
                    "station_id": "QA-BENCH-3",
                    "operator_id": "OP-42",
                    "occurred_at": "2025-03-04T14:05:00+00:00",
                    "result": "FAIL",
                    "failure_reason": "foil misregistration",
                    "failure_codes": ["FOIL-REG"],
                }
            ]
        },
    )

    scan_id: Annotated[
        str,
        Field(
            min_length=1,
            max_length=128,
            pattern=r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$",
            description="The idempotency key: printable text, unique per physical scan",
        ),
    ]
    barcode: Barcode
    station_id: StationId
    operator_id: OperatorId
    occurred_at: Annotated[Timestamp, Field(description="When the scan happened, by the scanner's clock")]
    result: Literal["PASS", "FAIL"] | None = Field(default=None, description="QA benches only")
    failure_reason: ShortText | None = None
    failure_codes: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=32)] = []
    memorabilia_id: MemorabiliaId | None = None
    assembly_id: AssemblyId | None = Field(default=None, description="The tray label of the set a card joins")
    pack_id: PackId | None = None
    override_reason: ShortText | None = Field(default=None, description="A manager's token only")


class ScansIn(Strict):
    """A batch of scans, e.g. an offline scanner's buffer; each is validated and answered on its own."""

    scans: Annotated[list[ScanIn], Field(min_length=1, max_length=MAX_BATCH_SCANS)]


class JobIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"product": "base-18up", "sets": 4, "customer": "Northwind Cards", "due_date": "2025-03-21"}]
        },
    )

    product: Annotated[str, Field(min_length=1, max_length=64, description="A product of data/factory.toml")]
    sets: Annotated[int, Field(ge=1, le=999, description="Sets to print: one sheet each")]
    customer: Annotated[str, Field(min_length=1, max_length=200)]
    due_date: date
    job_id: JobId | None = Field(default=None, description="Defaults to the next free J number from J1001")


class VoidIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "failed QA three times"}]})

    reason: ShortText


class ReplacementIn(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{}, {"printed_on_sheet_id": "J1044-S004"}]}
    )

    printed_on_sheet_id: SheetId | None = Field(default=None, description="The make-up sheet it is printed on")


# --- responses ----------------------------------------------------------------------------------------


def _example(body: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [body]})


class Out(BaseModel):
    """Responses may carry more fields than documented (the contract welcomes them), so no extra=forbid."""


class ErrorOut(Out):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"error": "conflict", "detail": "duplicate: card unit ... is already in set"}]},
    )

    error: str = Field(description="A stable code: validation_error, conflict, not_found, forbidden, ...")
    detail: str = Field(description="What is wrong, naming the field or the rule")


class EventOut(Out):
    event_type: str = Field(examples=["QAResultRecorded"])
    sequence_num: int
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int
    occurred_at: datetime
    recorded_at: datetime
    payload: dict[str, Any]


class ScanOut(Out):
    model_config = _example(examples.SCAN)

    scan_id: str
    entity_id: str
    state: str = Field(description="The entity's status after the scan, in the read models' vocabulary")
    command: str = Field(description="What the scan meant, e.g. StartOperation, CutSheet, RecordQAResult")
    replayed: bool = Field(description="True when this scan_id was already recorded: the original answer")
    events: list[EventOut]


class ScanResultOut(Out):
    scan_id: str
    status: int = Field(description="What POST /scan would have answered for this scan alone")
    outcome: ScanOut | None = None
    error: str | None = None
    detail: str | None = None


class ScansOut(Out):
    model_config = _example(examples.SCANS)

    results: list[ScanResultOut] = Field(description="One per scan, in the order sent")


class JobOut(Out):
    model_config = _example(examples.JOB)

    job_id: str
    product_id: str
    customer: str
    due_date: str
    sets: int
    sheets: list[str]
    events: list[EventOut]


class VoidOut(Out):
    model_config = _example(examples.VOID)

    card_unit_id: str
    status: Literal["voided"]
    events: list[EventOut]


class ReplacementOut(Out):
    model_config = _example(examples.REPLACEMENT)

    card_unit_id: str = Field(description="The voided card unit replaced")
    replacement_id: str
    events: list[EventOut]


class ProgressOut(Out):
    model_config = _example(examples.PROGRESS)

    job_id: str
    product_id: str
    customer: str
    due_date: str
    total_sheets: int
    total_cards: int
    cards_by_status: dict[str, int] = Field(description="Every card status with its count")
    sheets_cut: int
    sets_complete: int
    sets_packed: int
    percent_complete: float


class JobSummaryOut(ProgressOut):
    model_config = _example(examples.JOBS["jobs"][0])

    created_at: datetime | None


class JobsOut(Out):
    model_config = _example(examples.JOBS)

    jobs: list[JobSummaryOut]


class SheetOut(Out):
    model_config = _example(examples.SHEET)

    sheet_id: str
    job_id: str
    sheet_number: int
    product_id: str
    n_up: int
    status: Literal["created", "in_progress", "cut"]
    current_station_id: str | None
    active_operation_id: str | None
    completed_operations: list[str]


class LineageOut(Out):
    job_id: str
    sheet_id: str
    original_id: str = Field(description="The card printed at this sheet position first")
    replaces: str | None
    replaced_by: str | None
    printed_on_sheet_id: str | None
    assembly_id: str | None
    pack_id: str | None


class HistoryEventOut(EventOut):
    station_id: str | None
    operator_id: str | None
    scan_id: str | None


class CardUnitOut(Out):
    model_config = _example(examples.CARD_UNIT)

    card_unit_id: str
    sheet_id: str
    job_id: str
    position: int
    product_id: str
    status: Literal["created", "in_progress", "qa_passed", "qa_failed", "voided", "assembled", "packed"]
    current_station_id: str | None
    active_operation_id: str | None
    completed_operations: list[str]
    qa_result: str | None
    qa_failure_reason: str | None
    qa_attempts: int
    serial_number: int | None
    serial_run_size: int
    memorabilia_id: str | None
    replaces: str | None
    replaced_by: str | None
    printed_on_sheet_id: str | None
    assembly_id: str | None
    pack_id: str | None
    created_at: datetime | None
    updated_at: datetime | None
    lineage: LineageOut
    history: list[HistoryEventOut] = Field(description="Every event of this card unit, oldest first")


class SetMemberOut(Out):
    position: int
    card_unit_id: str


class AssemblyOut(Out):
    model_config = _example(examples.ASSEMBLY)

    assembly_id: str
    sheet_id: str
    job_id: str
    expected_count: int
    station_id: str
    opened_at: datetime
    present: list[SetMemberOut]
    present_positions: list[int]
    missing_positions: list[int]
    card_unit_ids: list[str]
    replacement_card_unit_ids: list[str]
    status: Literal["pending", "in_progress", "complete", "packed"]
    pack_id: str | None
    absent_alert_at: datetime = Field(description="When a card still absent raises the alert")
    absent_past_timeout: list[int] = Field(description="Positions still absent past the timeout")


class StationQueueOut(Out):
    model_config = _example(examples.STATION_QUEUE)

    station_id: str
    station_type: str
    waiting: list[str] = Field(description="Entities whose next operation is at this station's type")
    in_progress: list[str] = Field(description="Entities in an operation at this station")
    waiting_units: int
    in_progress_units: int
    waiting_minutes: float
    in_progress_minutes: float


class FeedEventOut(Out):
    """An event as the lake holds it (CONTRACTS section 7); the payload decoded from its JSON text."""

    sequence_num: int
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int
    event_type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    event_date: date
    job_id: str | None
    sheet_id: str | None
    card_unit_id: str | None
    station_id: str | None
    operator_id: str | None
    scan_id: str | None
    payload: dict[str, Any]


class EventsOut(Out):
    model_config = _example(examples.EVENTS)

    events: list[FeedEventOut]
    next_after: int = Field(description="The last sequence_num looked at: pass it as `after` to continue")


class StationCapacityOut(Out):
    station_id: str
    station_type: str
    parallel_units: int
    rated_capacity: float
    capacity_unit: str
    available_minutes_per_day: float
    waiting_units: int
    in_progress_units: int
    queued_minutes: float = Field(description="Standard minutes of the work waiting and in progress")
    load_days: float = Field(description="Queued minutes / one day's available minutes")


class CapacityOut(Out):
    model_config = _example(examples.CAPACITY)

    stations: list[StationCapacityOut]
    bottleneck_station_id: str | None


class ForecastDayOut(Out):
    station_id: str
    day: date
    scheduled_hours: float
    available_hours: float
    utilization: float


class JobAtRiskOut(Out):
    job_id: str
    due_date: date | None
    estimated_completion: datetime | None
    late_by_hours: float
    driving_operation_id: str | None = Field(description="The operation that queued longest on the job's path")
    driving_station_id: str | None


class ForecastOut(Out):
    model_config = _example(examples.FORECAST)

    days: int
    start: datetime
    solver_status: str
    bottleneck_station_id: str | None
    bottleneck_utilization: float
    stations: list[ForecastDayOut]
    jobs_at_risk: list[JobAtRiskOut]


class EstimatedCompletionOut(Out):
    model_config = _example(examples.ESTIMATED_COMPLETION)

    job_id: str
    due_date: str
    complete: bool = Field(description="Every set is packed: nothing left to schedule")
    estimated_completion: datetime | None
    on_time: bool | None
    late_by_hours: float
    driving_operation_id: str | None
    driving_station_id: str | None


class JournalHealthOut(Out):
    last_sequence: int
    details: dict[str, Any]


class LakeHealthOut(Out):
    sealed_through: int = Field(description="The sealed high-water mark: last sequence_num in the lake")
    seal_lag_events: int
    seal_lag_seconds: float


class HealthOut(Out):
    model_config = _example(examples.HEALTH)

    status: Literal["ok", "degraded"]
    journal: JournalHealthOut
    lake: LakeHealthOut


_REFUSAL_TEXT: dict[int, str] = {
    400: "Malformed JSON",
    401: "No bearer token, or one this plant did not issue",
    403: "The token's role may not do this (or a station-bound token scans elsewhere)",
    404: "No entity with that id",
    409: "Conflicts with the current state, or a concurrent write (safe to retry)",
    413: "The body is too large",
    422: "Invalid input: the detail names the field and the problem",
    503: "Not durable or not available yet; nothing was acknowledged",
}


def refusals(*statuses: int, authenticated: bool = True) -> dict[int | str, dict[str, Any]]:
    """The error responses a route documents, each with the `{error, detail}` body."""
    documented = {400, 413, 422, 503, *statuses} | ({401, 403} if authenticated else set())
    return {status: {"model": ErrorOut, "description": _REFUSAL_TEXT[status]} for status in sorted(documented)}
