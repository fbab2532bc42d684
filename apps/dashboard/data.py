"""The dashboard's one door to the plant: who is looking, which moment they look at, and every answer they see.

Pages call these functions and render what comes back; only this module calls `projections` and `scheduling`.
The lake is opened once per server (`st.cache_resource`); every answer is cached (`st.cache_data`) under the
log's last sequence number and the time cut, so an answer is recomputed exactly when the log moved or the
viewer travelled in time, and a page re-rendered for an unchanged plant reads from memory. Two answers take
seconds over the whole history, the plan and the quality analyses: live, they follow a refresh clock
(`LIVE_REFRESH_MINUTES`, or a button) instead of every scan, so a busy floor does not make each view a cold one.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final, Literal

import polars as pl
import streamlit as st

from core.errors import InvalidId
from core.events import COMPLETING_EVENT_TYPES
from core.factory import OperatingHours
from core.ids import parse_entity_id
from core.reference import CARD_STATUSES, Cut
from ingest.tokens import TokenBook, token_digest
from projections import Lake, open_lake
from projections.data_dir import DataDir, resolve_data_dir
from projections.engine import reference_time
from projections.views.sql import event_types, quote, timestamp_literal

# The planner and the detectors are built alongside the dashboard; a page says so plainly when one is missing.
try:
    from scheduling.from_plant import work_from_lake
    from scheduling.plant import PlantPlan, capacity_forecast, commit_date, job_estimates, plan

    SCHEDULING_MISSING: str | None = None
except ImportError as missing:
    SCHEDULING_MISSING = f"Scheduling is not available in this installation ({missing})."
try:
    from projections.analytics.drift import failure_rate_alarms, speed_alarms
    from projections.analytics.floor_facts import qa_inspections, timed_operations
    from projections.analytics.operation_anomalies import explain, score_operations
    from projections.analytics.qa_patterns import failure_patterns, significant_patterns

    ANALYTICS_MISSING: str | None = None
except ImportError as missing:
    ANALYTICS_MISSING = f"Analytics are not available in this installation ({missing})."

# --- who is looking ---------------------------------------------------------------------------------------

DASHBOARD_ROLES: Final = ("planner", "analyst", "manager", "admin")
VIEWER_KEY: Final = "cardtrace_viewer"
ENDED_KEY: Final = "cardtrace_session_ended"


@dataclass(frozen=True, kw_only=True, slots=True)
class Viewer:
    subject: str
    role: str
    via: Literal["token", "oidc"]
    token_digest: str | None = None  # the hash of the token signed in with, checked again at every run


class AccessRefused(Exception):
    """The dashboard will not open for this token or login; the message says why and what to do."""


def data_dir() -> DataDir:
    return resolve_data_dir()


@st.cache_resource(show_spinner=False)
def _token_book(root: str) -> TokenBook:
    return TokenBook(DataDir(root=Path(root)))


def signed_in_viewer() -> Viewer | None:
    """The viewer this session signed in as, while their token is still live: a token revoked with
    `cardtrace token revoke` ends the sessions it opened at their next run (see `session_ended`)."""
    viewer = st.session_state.get(VIEWER_KEY)
    if not isinstance(viewer, Viewer):
        return None
    if viewer.token_digest is not None:
        live = _token_book(str(data_dir().root)).credential_of_digest(viewer.token_digest)
        if live is None:
            sign_out()
            st.session_state[ENDED_KEY] = f"The token {viewer.subject} signed in with was revoked. Sign in again."
            return None
    return viewer


def session_ended() -> str | None:
    """Why the last session ended without the viewer signing out (once), if it did."""
    reason = st.session_state.pop(ENDED_KEY, None)
    return reason if isinstance(reason, str) else None


def sign_in_with_token(token: str) -> Viewer:
    presented = token.strip()
    if not presented:
        raise AccessRefused("Enter the token printed by `cardtrace token issue --role planner` (or analyst, ...).")
    book = _token_book(str(data_dir().root))
    credential = book.credential(presented)
    if credential is None and book.problem is not None:
        # The sign-in page is open to anyone: the file's path and what is wrong with it stay with the administrator.
        raise AccessRefused(
            "The plant's token file cannot be read, so this token cannot be checked. An administrator can see why"
            " with `cardtrace token list`."
        )
    if credential is None:
        raise AccessRefused("This token was not issued by this plant. Issue one with `cardtrace token issue`.")
    return _admit(credential.subject, credential.role, "token", digest=token_digest(presented))


def oidc_configured() -> bool:
    """True when Streamlit's secrets hold an `[auth]` section: the dashboard then delegates to `st.login`."""
    return st.secrets.load_if_toml_exists() and "auth" in st.secrets


def sign_in_with_oidc(claims: Mapping[str, object]) -> Viewer:
    """An OIDC user's role is their `cardtrace_role` claim, else `[cardtrace] oidc_role` from the secrets."""
    settings = st.secrets.get("cardtrace", {})
    default_role = settings.get("oidc_role", "analyst") if isinstance(settings, Mapping) else "analyst"
    role = str(claims.get("cardtrace_role") or default_role)
    subject = str(claims.get("email") or claims.get("name") or claims.get("sub") or "unknown")
    return _admit(subject, role, "oidc")


def _admit(subject: str, role: str, via: Literal["token", "oidc"], *, digest: str | None = None) -> Viewer:
    if role not in DASHBOARD_ROLES:
        raise AccessRefused(
            f"{subject} holds role {role}; the dashboard is for the roles {', '.join(DASHBOARD_ROLES)}."
        )
    viewer = Viewer(subject=subject, role=role, via=via, token_digest=digest)
    st.session_state[VIEWER_KEY] = viewer
    return viewer


def sign_out() -> None:
    st.session_state.pop(VIEWER_KEY, None)


# --- the moment looked at ---------------------------------------------------------------------------------

TIME_TRAVEL_KEY: Final = "time_travel"
AS_OF_KEY: Final = "as_of"
KNOWN_AT_KEY: Final = "known_at"


@dataclass(frozen=True, kw_only=True, slots=True)
class TimeCut:
    """As of an occurred time and as known at a recorded time; None is the live plant on that axis."""

    as_of: datetime | None = None
    known_at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.as_of is None and self.known_at is None


def time_cut() -> TimeCut:
    """The cut the sidebar's time-travel control chose (the live plant when it is off)."""
    state = st.session_state
    if not state.get(TIME_TRAVEL_KEY):
        return TimeCut()
    return TimeCut(as_of=_utc(state.get(AS_OF_KEY)), known_at=_utc(state.get(KNOWN_AT_KEY)))


def utc_now_shown() -> datetime:
    """Now as the time-travel control shows it: UTC, without a zone, to the minute."""
    return datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)


def describe_cut(cut: TimeCut) -> str:
    if cut.live:
        return "Showing the live plant."
    parts = []
    if cut.as_of is not None:
        parts.append(f"as of {cut.as_of:%Y-%m-%d %H:%M} UTC")
    if cut.known_at is not None:
        parts.append(f"as known at {cut.known_at:%Y-%m-%d %H:%M} UTC")
    return "Showing the plant " + ", ".join(parts) + "."


def _utc(moment: object) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- the lake -------------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _lake(root: str, lake_uri: str | None) -> Lake:
    return open_lake(DataDir(root=Path(root), lake_uri_override=lake_uri))


@dataclass(frozen=True, kw_only=True, slots=True)
class LogPosition:
    """Which lake and how far its log goes: every cached answer is keyed by it, so a new event invalidates."""

    root: str
    lake_uri: str | None
    last_sequence: int

    @property
    def lake(self) -> Lake:
        return _lake(self.root, self.lake_uri)


def log_position() -> LogPosition:
    where = data_dir()
    return LogPosition(
        root=str(where.root),
        lake_uri=where.lake_uri_override,
        last_sequence=_last_sequence(str(where.root), where.lake_uri_override),
    )


@st.cache_data(ttl=1, show_spinner=False)
def _last_sequence(root: str, lake_uri: str | None) -> int:
    # Taking a snapshot reads the Delta log and the journal's tail; a page asks several times per run.
    return _lake(root, lake_uri).last_sequence()


def judged_at(cut: TimeCut) -> datetime:
    """The moment time-dependent facts (today, overdue) are judged at: the cut's time, else now."""
    return reference_time(Cut(as_of=cut.as_of, known_at=cut.known_at), datetime.now(UTC))


# --- traceability -------------------------------------------------------------------------------------------

Row = dict[str, Any]


class SearchRefused(Exception):
    """A search that names nothing this plant knows (at the chosen moment); the message says what was wrong."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CardTrace:
    card: Row  # the card_units columns
    serial_label: str | None  # "07/99" on a serialized product once numbered
    timeline: pl.DataFrame  # occurred_at, recorded_at, event_type, station_id, operator_id, outcome
    qa_attempts: pl.DataFrame  # attempt, occurred_at, station_id, operator_id, result, failure_reason, failure_codes


@dataclass(frozen=True, kw_only=True, slots=True)
class SheetTrace:
    sheet: Row  # the sheets columns
    cards: pl.DataFrame  # position, card_unit_id, status, current_station_id, replaced_by (originals, by position)


@dataclass(frozen=True, kw_only=True, slots=True)
class SetTrace:
    assembly: Row  # the assemblies columns (present, missing, absent past timeout)
    positions: pl.DataFrame  # position, card_unit_id, state: present | replacement | missing | absent past timeout


@dataclass(frozen=True, kw_only=True, slots=True)
class PackTrace:
    pack_id: str
    assembly: Row
    packing: Row  # occurred_at, station_id, operator_id, override_reason, authorized_by, missing_positions
    cards: pl.DataFrame  # position, card_unit_id, serial label, memorabilia


@dataclass(frozen=True, kw_only=True, slots=True)
class JobTrace:
    job: Row  # the job_progress columns
    cards_by_status: pl.DataFrame  # status, cards
    genealogy: pl.DataFrame  # edges from the job down: sheets, cards, replacements, sets, packs


Trace = CardTrace | SheetTrace | SetTrace | PackTrace | JobTrace

_KIND_NAMES: Final = {
    "job": "job",
    "sheet": "sheet",
    "card_unit": "card unit",
    "assembly": "set",
    "pack": "pack",
    "memorabilia": "memorabilia item",
}


def trace(query: str, cut: TimeCut) -> Trace:
    """What a search box query or a scanned barcode names, as it was at the cut; SearchRefused otherwise."""
    try:
        entity = parse_entity_id(query)
    except InvalidId as problem:
        raise SearchRefused(problem.message) from None
    if entity.kind in ("station", "operator"):
        raise SearchRefused(
            f"{entity.entity_id} is {'a station' if entity.kind == 'station' else 'an operator'}: "
            "search for a job, sheet, card unit, set (A-...), pack or memorabilia item; stations are on Station floor."
        )
    found = _trace(log_position(), cut, entity.kind, entity.entity_id)
    if found is None:
        when = "" if cut.live else " at that moment"
        raise SearchRefused(f"No {_KIND_NAMES[entity.kind]} {entity.entity_id} in this plant{when}.")
    return found


@st.cache_data(show_spinner=False, max_entries=512)
def _trace(position: LogPosition, cut: TimeCut, kind: str, entity_id: str) -> Trace | None:
    lake = position.lake
    match kind:
        case "card_unit":
            return _card_trace(lake, cut, entity_id)
        case "memorabilia":
            holder = lake.sql(
                "SELECT card_unit_id FROM card_units WHERE memorabilia_id = "
                f"{quote(entity_id)} ORDER BY updated_at DESC LIMIT 1",
                cut.as_of,
                cut.known_at,
            )
            return _card_trace(lake, cut, holder.item()) if holder.height else None
        case "sheet":
            return _sheet_trace(lake, cut, entity_id)
        case "assembly":
            return _set_trace(lake, cut, entity_id)
        case "pack":
            return _pack_trace(lake, cut, entity_id)
        case _:
            return _job_trace(lake, cut, entity_id)


def _card_trace(lake: Lake, cut: TimeCut, card_unit_id: str) -> CardTrace | None:
    card = lake.card_unit(card_unit_id, cut.as_of, cut.known_at)
    if card is None:
        return None
    history = lake.card_unit_history(card_unit_id, cut.as_of, cut.known_at)
    payloads = [json.loads(text) for text in history["payload"]]
    timeline = history.select("occurred_at", "recorded_at", "event_type", "station_id", "operator_id").with_columns(
        outcome=pl.Series(
            [_outcome(kind, body) for kind, body in zip(history["event_type"], payloads, strict=True)],
            dtype=pl.String,
        )
    )
    qa = [
        {
            "attempt": body.get("attempt"),
            "occurred_at": moment,
            "station_id": body.get("station_id"),
            "operator_id": operator,
            "result": body.get("result"),
            "failure_reason": body.get("failure_reason"),
            "failure_codes": ", ".join(body.get("failure_codes") or []),
        }
        for kind, body, moment, operator in zip(
            history["event_type"], payloads, history["occurred_at"], history["operator_id"], strict=True
        )
        if kind == "QAResultRecorded"
    ]
    serial = card.get("serial_number")
    return CardTrace(
        card=card,
        serial_label=f"{serial:02d}/{card['serial_run_size']}" if serial is not None else None,
        timeline=timeline,
        qa_attempts=pl.DataFrame(qa, schema=_QA_ATTEMPT_SCHEMA),
    )


_QA_ATTEMPT_SCHEMA: Final = pl.Schema(
    {
        "attempt": pl.Int64(),
        "occurred_at": pl.Datetime("us", "UTC"),
        "station_id": pl.String(),
        "operator_id": pl.String(),
        "result": pl.String(),
        "failure_reason": pl.String(),
        "failure_codes": pl.String(),
    }
)


def _outcome(event_type: str, body: Mapping[str, Any]) -> str:
    """One line of a card's timeline in the floor's words."""
    match event_type:
        case "CardUnitCreated":
            if body.get("replaces"):
                made = f" printed on {body['printed_on_sheet_id']}" if body.get("printed_on_sheet_id") else ""
                return f"created as the replacement of {body['replaces']}{made}"
            return f"cut from {body.get('sheet_id')} at position {body.get('position')}"
        case "OperationStarted":
            return f"{body.get('operation_id')} started"
        case "OperationCompleted":
            return f"{body.get('operation_id')} completed"
        case "QAResultRecorded":
            verdict = f"QA attempt {body.get('attempt')}: {body.get('result')}"
            reason = body.get("failure_reason") or ", ".join(body.get("failure_codes") or [])
            return f"{verdict} ({reason})" if reason else verdict
        case "SerialNumberApplied":
            return f"numbered {int(body.get('serial_number', 0)):02d}/{body.get('run_size')}"
        case "MemorabiliaInserted":
            return f"memorabilia {body.get('memorabilia_id')} inserted"
        case "CardUnitVoided":
            return f"voided by {body.get('authorized_by')}: {body.get('reason')}"
        case "CardUnitReplaced":
            return f"replaced by {body.get('replacement_card_unit_id')}"
        case "CardUnitGathered":
            return f"gathered into {body.get('assembly_id')}"
        case "CardUnitRemovedFromSet":
            return f"removed from {body.get('assembly_id')}: {body.get('reason')}"
        case "SetPacked":
            override = f" (override: {body['override_reason']})" if body.get("override_reason") else ""
            return f"packed into {body.get('pack_id')}{override}"
        case _:
            return event_type


def _sheet_trace(lake: Lake, cut: TimeCut, sheet_id: str) -> SheetTrace | None:
    sheet = lake.sheet(sheet_id, cut.as_of, cut.known_at)
    if sheet is None:
        return None
    cards = lake.sql(
        "SELECT position, card_unit_id, status, current_station_id, replaced_by FROM card_units "
        f"WHERE sheet_id = {quote(sheet_id)} AND replaces IS NULL ORDER BY position",
        cut.as_of,
        cut.known_at,
    )
    return SheetTrace(sheet=sheet, cards=cards)


def _set_trace(lake: Lake, cut: TimeCut, assembly_id: str) -> SetTrace | None:
    assembly = lake.assembly(assembly_id, cut.as_of, cut.known_at)
    if assembly is None:
        return None
    return SetTrace(assembly=assembly, positions=_set_positions(assembly))


def _set_positions(assembly: Row) -> pl.DataFrame:
    present = {member["position"]: member["card_unit_id"] for member in assembly["present"]}
    replacements = set(assembly["replacement_card_unit_ids"])
    overdue = set(assembly["absent_past_timeout"])
    rows = []
    for position in range(1, int(assembly["expected_count"]) + 1):
        card = present.get(position)
        if card is not None:
            state = "replacement" if card in replacements else "present"
        else:
            state = "absent past timeout" if position in overdue else "missing"
        rows.append({"position": position, "card_unit_id": card, "state": state})
    return pl.DataFrame(rows, schema={"position": pl.Int64, "card_unit_id": pl.String, "state": pl.String})


def _pack_trace(lake: Lake, cut: TimeCut, pack_id: str) -> PackTrace | None:
    # One query over the card units (materialized when live) rather than one fold per card of the set.
    cards = lake.sql(
        "SELECT position, card_unit_id, serial_number, serial_run_size, memorabilia_id, replaces, assembly_id "
        f"FROM card_units WHERE pack_id = {quote(pack_id)} ORDER BY position, card_unit_id",
        cut.as_of,
        cut.known_at,
    )
    if cards.height == 0:
        return None
    assembly_id = str(cards["assembly_id"][0])
    assembly = lake.assembly(assembly_id, cut.as_of, cut.known_at)
    if assembly is None:
        return None
    packed = lake.sql(
        "SELECT occurred_at, station_id, operator_id, payload FROM events "
        f"WHERE aggregate_id = {quote(assembly_id)} AND event_type = 'SetPacked' ORDER BY sequence_num DESC LIMIT 1",
        cut.as_of,
        cut.known_at,
    )
    packing: Row = {}
    if packed.height:
        event = packed.row(0, named=True)
        body = json.loads(event["payload"])
        packing = {
            "occurred_at": event["occurred_at"],
            "station_id": event["station_id"],
            "operator_id": event["operator_id"],
            "override_reason": body.get("override_reason"),
            "authorized_by": body.get("authorized_by"),
            "missing_positions": body.get("missing_positions") or [],
        }
    return PackTrace(
        pack_id=pack_id,
        assembly=assembly,
        packing=packing,
        cards=cards.select(
            "position",
            "card_unit_id",
            pl.when(pl.col("serial_number").is_not_null())
            .then(pl.format("{}/{}", pl.col("serial_number").cast(pl.String).str.zfill(2), pl.col("serial_run_size")))
            .alias("serial_number"),
            "memorabilia_id",
            "replaces",
        ),
    )


def _job_trace(lake: Lake, cut: TimeCut, job_id: str) -> JobTrace | None:
    # SQL over the views: live, they start from the materialized read models, which beats folding the job again.
    progress = lake.sql(f"SELECT * FROM job_progress WHERE job_id = {quote(job_id)}", cut.as_of, cut.known_at)
    if progress.height == 0:
        return None
    job = progress.row(0, named=True)
    genealogy = lake.sql(
        f"SELECT * FROM genealogy WHERE {_of_job('parent_id', job_id)} OR {_of_job('child_id', job_id)} "
        "ORDER BY parent_id, child_id",
        cut.as_of,
        cut.known_at,
    )
    counts = job["cards_by_status"]
    return JobTrace(
        job=job,
        cards_by_status=pl.DataFrame(
            {"status": list(CARD_STATUSES), "cards": [int(counts.get(status, 0)) for status in CARD_STATUSES]}
        ),
        genealogy=genealogy,
    )


def _of_job(column: str, job_id: str) -> str:
    """The job or an id of its lineage: sheets, cards, replacements, packs (J1044-...), sets (A-J1044-...)."""
    descendants, sets = quote(job_id + "-%"), quote(f"A-{job_id}-%")
    return f"({column} = {quote(job_id)} OR {column} LIKE {descendants} OR {column} LIKE {sets})"


# --- station floor ------------------------------------------------------------------------------------------

# What counts as a unit done at a station: an operation completed (an inspection, pass or fail), a card gathered
# into its set, a set packed.
_DONE_EVENT_TYPES: Final = (*COMPLETING_EVENT_TYPES, "CardUnitGathered", "SetPacked")


@dataclass(frozen=True, kw_only=True, slots=True)
class StationFloor:
    judged_at: datetime
    # station_id, station_type, waiting_units, waiting_hours, in_progress_units, in_progress_hours, in_progress,
    # done_today, rated_so_far, rated_today, capacity_unit, throughput_ratio (done / rated so far),
    # oldest_waiting_id, oldest_waiting_since, oldest_waiting_hours
    stations: pl.DataFrame
    # assembly_id, sheet_id, job_id, station_id, opened_at, absent_alert_at, absent_past_timeout, present_positions
    absent_alerts: pl.DataFrame


def station_floor(cut: TimeCut) -> StationFloor:
    at = judged_at(cut)
    # Live, the alerts and "today" move with the clock even when the log does not: judged per minute.
    minute = at.replace(second=0, microsecond=0) if cut.live else at
    return _station_floor(log_position(), cut, minute)


@st.cache_data(show_spinner=False, max_entries=64)
def _station_floor(position: LogPosition, cut: TimeCut, at: datetime) -> StationFloor:
    lake = position.lake
    day_start = datetime.combine(at.date(), time(0), tzinfo=UTC)
    as_of, known_at = cut.as_of, cut.known_at
    queues = lake.sql(
        f"""
        WITH waiting AS (
            SELECT station_id, unnest(waiting) AS entity_id FROM station_queue
        ),
        touched AS (
            SELECT aggregate_id AS entity_id, max(occurred_at) AS since FROM events
            WHERE aggregate_id IN (SELECT entity_id FROM waiting) GROUP BY aggregate_id
        ),
        oldest AS (
            SELECT station_id, arg_min(entity_id, since) AS oldest_waiting_id, min(since) AS oldest_waiting_since
            FROM waiting JOIN touched USING (entity_id) GROUP BY station_id
        ),
        done AS (
            SELECT station_id, count(*) AS done_today FROM events
            WHERE event_type IN {event_types(_DONE_EVENT_TYPES)} AND occurred_at >= {timestamp_literal(day_start)}
            GROUP BY station_id
        )
        SELECT q.station_id, q.station_type, q.waiting_units, q.waiting_minutes / 60.0 AS waiting_hours,
            q.in_progress_units, q.in_progress_minutes / 60.0 AS in_progress_hours, q.in_progress,
            coalesce(d.done_today, 0) AS done_today, o.oldest_waiting_id, o.oldest_waiting_since,
            epoch({timestamp_literal(at)} - o.oldest_waiting_since) / 3600.0 AS oldest_waiting_hours
        FROM station_queue AS q LEFT JOIN oldest AS o USING (station_id) LEFT JOIN done AS d USING (station_id)
        """,
        as_of,
        known_at,
    )
    factory = lake.factory
    rated = pl.DataFrame(
        [
            {
                "station_id": station.station_id,
                "rated_so_far": station.rated_capacity * _open_hours(station.operating_hours, day_start, at),
                "rated_today": station.rated_capacity
                * _open_hours(station.operating_hours, day_start, day_start + timedelta(days=1)),
                "capacity_unit": station.capacity_unit,
                "station_order": order,
            }
            for order, station in enumerate(factory.stations)
        ]
    )
    stations = (
        queues.join(rated, on="station_id", how="left")
        .sort("station_order")
        .drop("station_order")
        .with_columns(
            throughput_ratio=pl.when(pl.col("rated_so_far") > 0).then(pl.col("done_today") / pl.col("rated_so_far")),
        )
    )
    alerts = lake.sql(
        """
        SELECT assembly_id, sheet_id, job_id, station_id, opened_at, absent_alert_at, absent_past_timeout,
            present_positions
        FROM assemblies WHERE len(absent_past_timeout) > 0 ORDER BY opened_at, assembly_id
        """,
        as_of,
        known_at,
    )
    return StationFloor(judged_at=at, stations=stations, absent_alerts=alerts)


def _open_hours(hours: OperatingHours, start: datetime, end: datetime) -> float:
    """Hours a station is open within [start, end) of one day (start is that day's midnight)."""
    if start.weekday() not in hours.weekdays:
        return 0.0
    elapsed = (end - start).total_seconds() / 60
    return max(0.0, min(elapsed, hours.end_minute) - hours.start_minute) / 60


# --- capacity -----------------------------------------------------------------------------------------------

# The solver's budget per plan: it starts from the greedy schedule, and a cold page (the fold of the open work, then
# the plan) must render in <= 4 s (issue 8).
PLAN_TIME_LIMIT_SECONDS: Final = 1.5
# Live, the plan and the analytics (seconds of work over the whole history) are redone on this clock or on demand,
# not on every scan: a moving log would otherwise make every view of them a cold one.
LIVE_REFRESH_MINUTES: Final = 5


@dataclass(frozen=True, kw_only=True, slots=True)
class SchedulingUnavailable:
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CapacityOutlook:
    planned_at: datetime
    status: str  # the solver's: OPTIMAL, FEASIBLE, ...
    lot_size: int  # sheets per scheduled lot
    heatmap: pl.DataFrame  # station_id, day, scheduled_hours, available_hours, utilization
    bottleneck_station_id: str | None
    bottleneck_utilization: float
    gantt: pl.DataFrame  # job_id, lot, operation_id, station_id, start, end, due
    finishes_at: datetime | None  # when the last planned operation ends
    estimates: pl.DataFrame  # job_id, due_date, estimated_completion, late_by_hours, at_risk, driving op / station


@dataclass(frozen=True, kw_only=True, slots=True)
class CommitVerdict:
    product_id: str
    sets: int
    requested_date: date
    earliest_completion: datetime
    feasible: bool
    margin_hours: float  # positive: slack before the requested date; negative: how late


def refresh_moment(cut: TimeCut) -> datetime:
    """When a plan or an analysis is made from: the cut's time; live, the last tick of the refresh clock."""
    at = judged_at(cut)
    if not cut.live:
        return at
    return at.replace(minute=at.minute - at.minute % LIVE_REFRESH_MINUTES, second=0, microsecond=0)


def _refresh_key(cut: TimeCut) -> int | None:
    # A past cut's answer changes only if late events arrive (the log moves); the live one follows the clock.
    return None if cut.live else log_position().last_sequence


def capacity_outlook(cut: TimeCut, days: int) -> CapacityOutlook | SchedulingUnavailable:
    if SCHEDULING_MISSING is not None:
        return SchedulingUnavailable(reason=SCHEDULING_MISSING)
    where = log_position()
    return _capacity_outlook(where.root, where.lake_uri, _refresh_key(cut), cut, refresh_moment(cut), days)


def replan() -> None:
    """Forget every cached plan (the planner asked for a fresh one)."""
    _plant_plan.clear()
    _capacity_outlook.clear()
    _commit_verdict.clear()


@st.cache_data(show_spinner="Planning the remaining work...", max_entries=8)
def _plant_plan(root: str, lake_uri: str | None, log_key: int | None, cut: TimeCut, now: datetime) -> "PlantPlan":
    lake = _lake(root, lake_uri)
    work = work_from_lake(lake, lake.factory, cut.as_of, cut.known_at)
    return plan(lake.factory, work, now, time_limit=PLAN_TIME_LIMIT_SECONDS)


@st.cache_data(show_spinner=False, max_entries=32)
def _capacity_outlook(
    root: str, lake_uri: str | None, log_key: int | None, cut: TimeCut, now: datetime, days: int
) -> CapacityOutlook:
    factory = _lake(root, lake_uri).factory
    planned = _plant_plan(root, lake_uri, log_key, cut, now)  # the horizon only changes the forecast's window
    forecast = capacity_forecast(planned, factory, days)
    estimates = job_estimates(planned)
    due = {estimate.job_id: estimate.due_date for estimate in estimates}
    return CapacityOutlook(
        planned_at=now,
        status=planned.schedule.status,
        lot_size=planned.lot_size,
        heatmap=pl.DataFrame(
            [
                {
                    "station_id": day.station_id,
                    "day": day.day,
                    "scheduled_hours": day.scheduled_hours,
                    "available_hours": day.available_hours,
                    "utilization": day.utilization,
                }
                for day in forecast.days
            ],
            schema={
                "station_id": pl.String,
                "day": pl.Date,
                "scheduled_hours": pl.Float64,
                "available_hours": pl.Float64,
                "utilization": pl.Float64,
            },
        ),
        bottleneck_station_id=forecast.bottleneck_station_id,
        bottleneck_utilization=forecast.bottleneck_utilization,
        finishes_at=max((op.end for op in planned.operations), default=None),
        gantt=pl.DataFrame(
            [
                {
                    "job_id": op.job_id,
                    "lot": op.lot,
                    "operation_id": op.operation_id,
                    "station_id": op.station_id,
                    "start": op.start,
                    "end": op.end,
                    "due": _end_of(due.get(op.job_id)),
                }
                for op in planned.operations
            ],
            schema={
                "job_id": pl.String,
                "lot": pl.String,
                "operation_id": pl.String,
                "station_id": pl.String,
                "start": pl.Datetime("us", "UTC"),
                "end": pl.Datetime("us", "UTC"),
                "due": pl.Datetime("us", "UTC"),
            },
        ),
        estimates=pl.DataFrame(
            [
                {
                    "job_id": estimate.job_id,
                    "due_date": estimate.due_date,
                    "estimated_completion": estimate.estimated_completion,
                    "late_by_hours": estimate.late_by_hours,
                    "at_risk": estimate.at_risk,
                    "driving_operation_id": estimate.driving_operation_id,
                    "driving_station_id": estimate.driving_station_id,
                }
                for estimate in estimates
            ],
            schema={
                "job_id": pl.String,
                "due_date": pl.Date,
                "estimated_completion": pl.Datetime("us", "UTC"),
                "late_by_hours": pl.Float64,
                "at_risk": pl.Boolean,
                "driving_operation_id": pl.String,
                "driving_station_id": pl.String,
            },
        ),
    )


def _end_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(23, 59), tzinfo=UTC)


def products() -> tuple[str, ...]:
    return tuple(product.product_id for product in data_dir().load_factory().products)


def commit_verdict(cut: TimeCut, product_id: str, sets: int, requested: date) -> CommitVerdict | SchedulingUnavailable:
    """Could a new job be done by `requested` on top of the current load? Computed, never written."""
    if SCHEDULING_MISSING is not None:
        return SchedulingUnavailable(reason=SCHEDULING_MISSING)
    where = log_position()
    return _commit_verdict(
        where.root, where.lake_uri, _refresh_key(cut), cut, refresh_moment(cut), product_id, sets, requested
    )


@st.cache_data(show_spinner="Fitting the new job into the plan...", max_entries=64)
def _commit_verdict(
    root: str,
    lake_uri: str | None,
    log_key: int | None,
    cut: TimeCut,
    now: datetime,
    product_id: str,
    sets: int,
    requested: date,
) -> CommitVerdict:
    lake = _lake(root, lake_uri)
    work = work_from_lake(lake, lake.factory, cut.as_of, cut.known_at)
    answer = commit_date(
        lake.factory,
        work,
        now,
        product_id=product_id,
        sets=sets,
        requested=requested,
        time_limit=PLAN_TIME_LIMIT_SECONDS,
    )
    return CommitVerdict(
        product_id=answer.product_id,
        sets=answer.sets,
        requested_date=answer.requested_date,
        earliest_completion=answer.earliest_completion,
        feasible=answer.feasible,
        margin_hours=answer.margin_hours,
    )


# --- quality and anomalies ----------------------------------------------------------------------------------

QA_FACTORS: Final = {
    "station_id": "QA bench",
    "operator_id": "operator",
    "product_id": "product",
    "position": "sheet position",
    "hour": "hour of day",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class AnalyticsUnavailable:
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class QualityReport:
    analysed_at: datetime
    # entity_type, entity_id, job_id, sheet_id, card_unit_id, operation_id, station_id, operator_id, started_at,
    # completed_at, actual_minutes (working minutes), standard_minutes, ratio, anomalous
    slow_operations: pl.DataFrame
    # factor, level, inspections, failures, failure_rate, rate_low, rate_high, rest_rate, p_adjusted, significant,
    # finding
    failure_rates: pl.DataFrame
    # signal, subject, station_id, flagged_at, explanation, and what drills down: entity_id | factor+level |
    # station_id+window
    anomalies: pl.DataFrame
    # one row per QA inspection: card_unit_id, sheet_id, job_id, product_id, position, station_id, operator_id,
    # inspected_at, hour, attempt, result, failure_reason
    inspections: pl.DataFrame

    @property
    def plant_failure_rate(self) -> float | None:
        if self.inspections.height == 0:
            return None
        failures: int = self.inspections.filter(pl.col("result") == "FAIL").height
        return failures / self.inspections.height


def quality_report(cut: TimeCut) -> QualityReport | AnalyticsUnavailable:
    if ANALYTICS_MISSING is not None:
        return AnalyticsUnavailable(reason=ANALYTICS_MISSING)
    where = log_position()
    return _quality_report(where.root, where.lake_uri, _refresh_key(cut), cut, refresh_moment(cut))


def reanalyse() -> None:
    """Forget the cached analyses (the analyst asked for fresh ones)."""
    _quality_report.clear()


@st.cache_data(show_spinner="Reading the quality record...", max_entries=16)
def _quality_report(root: str, lake_uri: str | None, log_key: int | None, cut: TimeCut, now: datetime) -> QualityReport:
    lake = _lake(root, lake_uri)
    timed = timed_operations(lake, cut.as_of, cut.known_at)
    inspections = qa_inspections(lake, cut.as_of, cut.known_at, operations=timed)
    scored = _scored(timed)
    speed = speed_alarms(timed) if timed.height else None
    slow = (
        scored.filter(pl.col("over_rule"))
        .with_columns(ratio=pl.col("actual_minutes") / pl.col("standard_minutes"))
        .select(
            "entity_type",
            "entity_id",
            "job_id",
            "sheet_id",
            "card_unit_id",
            "operation_id",
            "station_id",
            "operator_id",
            "started_at",
            "completed_at",
            "actual_minutes",
            "standard_minutes",
            "ratio",
            "anomalous",
        )
        .sort("ratio", descending=True)
    )
    rates = (
        failure_patterns(inspections, tuple(QA_FACTORS))
        if inspections.height
        else pl.DataFrame(schema=_FAILURE_RATE_SCHEMA)
    )
    return QualityReport(
        analysed_at=now,
        slow_operations=slow,
        failure_rates=rates,
        anomalies=_anomalies(scored, rates, inspections, speed),
        inspections=inspections.select(
            "card_unit_id",
            "sheet_id",
            "job_id",
            "product_id",
            "position",
            "station_id",
            "operator_id",
            "inspected_at",
            "hour",
            "attempt",
            "result",
            "failure_reason",
        ),
    )


_FAILURE_RATE_SCHEMA: Final = pl.Schema(
    {
        "factor": pl.String,
        "level": pl.String,
        "inspections": pl.UInt32,
        "failures": pl.UInt32,
        "failure_rate": pl.Float64,
        "rate_low": pl.Float64,
        "rate_high": pl.Float64,
        "rest_rate": pl.Float64,
        "p_adjusted": pl.Float64,
        "significant": pl.Boolean,
        "finding": pl.String,
    }
)

_ANOMALY_SCHEMA: Final = pl.Schema(
    {
        "signal": pl.String(),
        "subject": pl.String(),
        "station_id": pl.String(),
        "flagged_at": pl.Datetime("us", "UTC"),
        "explanation": pl.String(),
        "entity_id": pl.String(),
        "factor": pl.String(),
        "level": pl.String(),
        "window_start": pl.Datetime("us", "UTC"),
        "window_end": pl.Datetime("us", "UTC"),
    }
)


def _scored(timed: pl.DataFrame) -> pl.DataFrame:
    if timed.height:
        return score_operations(timed)
    return timed.with_columns(
        over_rule=pl.lit(value=False), anomalous=pl.lit(value=False), robust_z=pl.lit(None, dtype=pl.Float64)
    )


def _anomalies(
    scored: pl.DataFrame, rates: pl.DataFrame, inspections: pl.DataFrame, speed: pl.DataFrame | None
) -> pl.DataFrame:
    """Everything the detectors flag, one row each, with what its drill-down needs."""
    rows: list[Row] = [
        {
            "signal": "slow operation",
            "subject": f"{flagged['operation_id']} of {flagged['entity_id']}",
            "station_id": flagged["station_id"],
            "flagged_at": flagged["completed_at"],
            "explanation": explain(flagged),
            "entity_id": flagged["entity_id"],
        }
        for flagged in scored.filter(pl.col("anomalous")).sort("robust_z", descending=True).iter_rows(named=True)
    ]
    rows += [
        {
            "signal": "QA failure pattern",
            "subject": f"{QA_FACTORS.get(pattern['factor'], pattern['factor'])} {pattern['level']}",
            "station_id": pattern["level"] if pattern["factor"] == "station_id" else None,
            "explanation": pattern["finding"],
            "factor": pattern["factor"],
            "level": pattern["level"],
        }
        for pattern in significant_patterns(rates).iter_rows(named=True)
    ]
    if inspections.height:
        drifts = [failure_rate_alarms(inspections)] + ([speed] if speed is not None else [])
        for alarm in pl.concat(drifts).iter_rows(named=True):
            rows.append(
                {
                    "signal": "failure-rate drift" if alarm["signal"] == "failure_rate" else "speed drift",
                    "subject": alarm["station_id"],
                    "station_id": alarm["station_id"],
                    "flagged_at": alarm["alarm_at"],
                    "explanation": alarm["explanation"],
                    "window_start": alarm["onset_at"],
                    "window_end": alarm["alarm_at"],
                }
            )
    return pl.DataFrame(rows, schema=_ANOMALY_SCHEMA)


def inspections_behind(report: QualityReport, factor: str, level: str) -> pl.DataFrame:
    """The QA inspections (and so the cards) behind one failure-rate row, failures first."""
    return report.inspections.filter(pl.col(factor).cast(pl.String) == level).sort(
        ["result", "inspected_at"], descending=[False, True]
    )


def inspections_in_window(report: QualityReport, station_id: str, start: datetime, end: datetime) -> pl.DataFrame:
    """The inspections at a station within a drift alarm's window."""
    return report.inspections.filter(
        (pl.col("station_id") == station_id) & pl.col("inspected_at").is_between(start, end)
    ).sort("inspected_at")


def cards_of(entity_id: str, cut: TimeCut) -> pl.DataFrame:
    """The card units behind an operation: the card itself, or every card cut from the sheet."""
    return _cards_of(log_position(), cut, entity_id)


@st.cache_data(show_spinner=False, max_entries=256)
def _cards_of(position: LogPosition, cut: TimeCut, entity_id: str) -> pl.DataFrame:
    column = "sheet_id" if parse_entity_id(entity_id).kind == "sheet" else "card_unit_id"
    return position.lake.sql(
        "SELECT card_unit_id, position, status, qa_result, qa_attempts, current_station_id FROM card_units "
        f"WHERE {column} = {quote(entity_id)} ORDER BY card_unit_id",
        cut.as_of,
        cut.known_at,
    )
