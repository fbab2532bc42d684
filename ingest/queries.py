"""The read side as plain queries: the lake's read models (read-your-writes, time travel), the journal's event
feed, the store's health, and the scheduling package's plan of the plant, shaped as the API answers them.

Each query returns a JSON-ready mapping or raises: UnknownEntity (404) when nothing has the id at the cut,
InvalidId (422) for a malformed id. Plans are expensive (a CP-SAT solve), so the latest ones are kept for a
short while per cut.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from core.envelope import RecordedEvent
from core.errors import UnknownEntity
from core.events import to_payload
from core.factory import Factory
from core.ids import parse_assembly_id, parse_card_unit_id, parse_job_id, parse_sheet_id, parse_station_id
from projections import Lake
from projections.store import EventStore
from projections.store.journal import FeedRow
from scheduling.from_plant import work_from_lake
from scheduling.plant import PlantPlan, capacity_forecast, job_estimates, plan

PLAN_SECONDS: Final = 3.0  # solver time for a plan asked over HTTP; a reader waits for it once per PLAN_TTL
PLAN_TTL: Final = 60.0
PLANS_KEPT: Final = 8
MAX_FORECAST_DAYS: Final = 60

Body = dict[str, Any]

# What /health says of a store problem instead of the store's text, which names the lake's URI and files.
PUBLIC_PROBLEMS: Final = {
    "lake_problem": (
        "sealing is stopped: the lake cannot be read, does not hold this journal's history, or another process"
        " is writing it; scans are still acknowledged (the server's log says which, and the fix)"
    ),
    "sealer_error": "sealing failed and is retried; scans are still acknowledged (the server's log says why)",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class TimeTravel:
    """A read's cut: `as_of` an occurred time (what was true then), `known_at` a recorded time (what was known)."""

    as_of: datetime | None = None
    known_at: datetime | None = None

    @property
    def moment(self) -> datetime | None:
        """The plant's 'now' at this cut, for a plan of the remaining work."""
        moments = [m for m in (self.as_of, self.known_at) if m is not None]
        return min(moments) if moments else None


@dataclass(frozen=True, kw_only=True, slots=True)
class FeedPage:
    """A page of the event feed: each event's lake columns and its payload's JSON text, and where to go on."""

    events: list[FeedRow]
    next_after: int


class PlantReads:
    """Everything the read endpoints answer, one method per endpoint."""

    def __init__(
        self,
        lake: Lake,
        store: EventStore,
        factory: Factory,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        plan_seconds: float = PLAN_SECONDS,
    ) -> None:
        self._lake = lake
        self._store = store
        self._factory = factory
        self._clock = clock
        self._plan_seconds = plan_seconds
        self._plans: OrderedDict[TimeTravel, tuple[float, PlantPlan]] = OrderedDict()
        self._plan_lock = threading.Lock()

    # --- entities ---------------------------------------------------------------------------------------

    def card_unit(self, card_unit_id: str, when: TimeTravel) -> Body:
        ref = parse_card_unit_id(card_unit_id)
        row = self._lake.card_unit(ref.card_unit_id, when.as_of, when.known_at)
        if row is None:
            raise UnknownEntity(f"card unit {ref.card_unit_id} does not exist{_at(when)}")
        history = self._lake.card_unit_events(ref.card_unit_id, when.as_of, when.known_at)
        return {
            **row,
            "lineage": {
                "job_id": row["job_id"],
                "sheet_id": row["sheet_id"],
                "original_id": ref.original_id,
                "replaces": row["replaces"],
                "replaced_by": row["replaced_by"],
                "printed_on_sheet_id": row["printed_on_sheet_id"],
                "assembly_id": row["assembly_id"],
                "pack_id": row["pack_id"],
            },
            "history": [_history_event(event) for event in history],
        }

    def sheet(self, sheet_id: str, when: TimeTravel) -> Body:
        sheet = parse_sheet_id(sheet_id)
        row = self._lake.sheet(sheet, when.as_of, when.known_at)
        if row is None:
            raise UnknownEntity(f"sheet {sheet} does not exist{_at(when)}")
        return row

    def assembly(self, assembly_id: str, when: TimeTravel) -> Body:
        assembly = parse_assembly_id(assembly_id)
        row = self._lake.assembly(assembly, when.as_of, when.known_at)
        if row is None:
            raise UnknownEntity(f"set {assembly} has no card gathered{_at(when)}")
        return {**row, "card_unit_ids": [member["card_unit_id"] for member in row["present"]]}

    def station_queue(self, station_id: str, when: TimeTravel) -> Body:
        station = parse_station_id(station_id)
        row = self._lake.station_queue(station, when.as_of, when.known_at)
        if row is None:
            raise UnknownEntity(f"station {station} is not in the factory configuration")
        return row

    # --- jobs -------------------------------------------------------------------------------------------

    def jobs(self, when: TimeTravel) -> Body:
        return {"jobs": self._lake.jobs(when.as_of, when.known_at).to_dicts()}

    def job_progress(self, job_id: str, when: TimeTravel) -> Body:
        job = parse_job_id(job_id)
        row = self._lake.job_progress(job, when.as_of, when.known_at)
        if row is None:
            raise UnknownEntity(f"job {job} does not exist{_at(when)}")
        return row

    def estimated_completion(self, job_id: str, when: TimeTravel) -> Body:
        progress = self.job_progress(job_id, when)
        estimate = next((e for e in job_estimates(self._plan(when)) if e.job_id == progress["job_id"]), None)
        if estimate is None:  # nothing left to schedule: every set is packed
            return {
                "job_id": progress["job_id"],
                "due_date": progress["due_date"],
                "complete": True,
                "estimated_completion": None,
                "on_time": None,
                "late_by_hours": 0.0,
                "driving_operation_id": None,
                "driving_station_id": None,
            }
        return {
            "job_id": estimate.job_id,
            "due_date": progress["due_date"],
            "complete": False,
            "estimated_completion": estimate.estimated_completion,
            "on_time": not estimate.at_risk,
            "late_by_hours": estimate.late_by_hours,
            "driving_operation_id": estimate.driving_operation_id,
            "driving_station_id": estimate.driving_station_id,
        }

    # --- capacity ---------------------------------------------------------------------------------------

    def capacity(self, when: TimeTravel) -> Body:
        """Queued work per station now (from the station queues) against one day of its capacity."""
        queues = {row["station_id"]: row for row in self._lake.station_queues(when.as_of, when.known_at).to_dicts()}
        stations: list[Body] = []
        for spec in self._factory.stations:
            queue = queues.get(spec.station_id, {})
            available = spec.operating_hours.minutes_per_day * spec.parallel_units
            queued = float(queue.get("waiting_minutes") or 0.0) + float(queue.get("in_progress_minutes") or 0.0)
            stations.append(
                {
                    "station_id": spec.station_id,
                    "station_type": spec.station_type,
                    "parallel_units": spec.parallel_units,
                    "rated_capacity": spec.rated_capacity,
                    "capacity_unit": spec.capacity_unit,
                    "available_minutes_per_day": float(available),
                    "waiting_units": int(queue.get("waiting_units") or 0),
                    "in_progress_units": int(queue.get("in_progress_units") or 0),
                    "queued_minutes": round(queued, 3),
                    "load_days": round(queued / available, 4) if available else 0.0,
                }
            )
        busiest = max(stations, key=lambda station: float(station["load_days"]), default=None)
        return {
            "stations": stations,
            "bottleneck_station_id": busiest["station_id"] if busiest and busiest["load_days"] > 0 else None,
        }

    def forecast(self, days: int, when: TimeTravel) -> Body:
        plant_plan = self._plan(when)
        forecast = capacity_forecast(plant_plan, self._factory, days)
        return {
            "days": days,
            "start": plant_plan.now,
            "solver_status": plant_plan.schedule.status,
            "bottleneck_station_id": forecast.bottleneck_station_id,
            "bottleneck_utilization": forecast.bottleneck_utilization,
            "stations": [
                {
                    "station_id": day.station_id,
                    "day": day.day,
                    "scheduled_hours": day.scheduled_hours,
                    "available_hours": day.available_hours,
                    "utilization": round(day.utilization, 4),
                }
                for day in forecast.days
            ],
            "jobs_at_risk": [
                {
                    "job_id": estimate.job_id,
                    "due_date": estimate.due_date,
                    "estimated_completion": estimate.estimated_completion,
                    "late_by_hours": estimate.late_by_hours,
                    "driving_operation_id": estimate.driving_operation_id,
                    "driving_station_id": estimate.driving_station_id,
                }
                for estimate in job_estimates(plant_plan)
                if estimate.at_risk
            ],
        }

    def _plan(self, when: TimeTravel) -> PlantPlan:
        """The plan of the plant's remaining work at this cut; one solve per cut and PLAN_TTL seconds."""
        with self._plan_lock:
            cached = self._plans.get(when)
            if cached is not None and time.monotonic() - cached[0] < PLAN_TTL:
                self._plans.move_to_end(when)
                return cached[1]
            now = when.moment or self._clock()
            work = work_from_lake(self._lake, self._factory, when.as_of, when.known_at)
            fresh = plan(
                self._factory, work, now, time_limit=self._plan_seconds, previous=cached[1] if cached else None
            )
            self._plans[when] = (time.monotonic(), fresh)
            while len(self._plans) > PLANS_KEPT:
                self._plans.popitem(last=False)
            return fresh

    # --- the log ----------------------------------------------------------------------------------------

    def events(self, after: int, limit: int, when: TimeTravel) -> FeedPage:
        """The ordered feed from the journal (sealed or not): `limit` events after `after`, filtered by the cut.

        `next_after` is the last sequence number looked at, so a consumer following the feed never skips one.
        """
        rows, next_after = self._store.read_feed(
            after, limit, occurred_through=when.as_of, recorded_through=when.known_at
        )
        return FeedPage(events=rows, next_after=next_after)

    def health(self) -> Body:
        """The store's state for anyone who asks (no token): what is wrong, in words that name no path or URI.

        The store's own texts name the lake's URI and the offending file; they stay in the server's log.
        """
        state: Mapping[str, Any] = self._store.health()
        problems = {name: text for name, text in PUBLIC_PROBLEMS.items() if state.get(name)}
        return {
            "status": "degraded" if problems else "ok",
            "journal": {"last_sequence": int(state["last_sequence"]), "details": {**state, **problems}},
            "lake": {
                "sealed_through": int(state["sealed_sequence"]),
                "seal_lag_events": int(state["seal_lag_events"]),
                "seal_lag_seconds": float(state["seal_lag_seconds"]),
            },
        }


def _at(when: TimeTravel) -> str:
    parts = [
        f"as of {when.as_of.isoformat()}" if when.as_of else "",
        f"known at {when.known_at.isoformat()}" if when.known_at else "",
    ]
    text = " and ".join(part for part in parts if part)
    return f" {text}" if text else ""


def _history_event(event: RecordedEvent) -> Body:
    return {
        "event_type": event.event_type,
        "sequence_num": event.sequence_num,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "aggregate_version": event.aggregate_version,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "station_id": event.station_id,
        "operator_id": event.operator_id,
        "scan_id": event.scan_id,
        "payload": to_payload(event.event),
    }
