"""The plant as a scheduling problem: what every open job still needs, on the stations of factory.toml.

Granularity (DECISIONS.md, ADR "scheduling granularity"): one interval per (lot, operation), a lot being a
run of consecutive sheets of one job (one sheet per lot while the plant is small enough). A sheet operation of a
lot lasts its standard minutes per sheet times the sheets still needing it; a card operation, per card times the
cards still needing it; the pack, per set. Alternatives are the stations of the operation's type, each at its own
speed (standard minutes are the fastest station's; slower stations take proportionally longer by rated capacity).
Operating hours become closed periods no operation may span; setup minutes are charged per operation.

Times are whole minutes from `now`; every answer converts them back to UTC datetimes.
"""

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from core.factory import Factory, OperationSpec, ProductSpec, StationSpec
from scheduling.problem import Alternative, ClosedPeriod, Operation, Problem, SchedulingJob, Station
from scheduling.schedule import Objective, Schedule, ScheduledOperation
from scheduling.solve import solve

MAX_LOTS = 240  # keeps the model solvable in seconds on 2 cores; beyond it sheets are grouped into lots
HORIZON_DAYS = 120
NEW_JOB_ID = "NEW-JOB"


@dataclass(frozen=True, kw_only=True, slots=True)
class SheetWork:
    """What one sheet (and its set) still needs: units remaining per operation id."""

    sheet_id: str
    remaining: dict[str, int]  # operation id -> sheets, cards or sets still to do


@dataclass(frozen=True, kw_only=True, slots=True)
class JobWork:
    job_id: str
    product_id: str
    due_date: date | None
    sheets: tuple[SheetWork, ...]
    weight: int = 1


def fresh_job(job_id: str, product: ProductSpec, sets: int, due_date: date | None) -> JobWork:
    """A job not yet started: every sheet needs every operation."""
    return JobWork(
        job_id=job_id,
        product_id=product.product_id,
        due_date=due_date,
        sheets=tuple(
            SheetWork(sheet_id=f"{job_id}-S{number:03d}", remaining=untouched_sheet(product))
            for number in range(1, sets + 1)
        ),
    )


def untouched_sheet(product: ProductSpec) -> dict[str, int]:
    return {op.operation_id: units_per_sheet(product, op) for op in product.operations}


def units_per_sheet(product: ProductSpec, operation: OperationSpec) -> int:
    return product.n_up if operation.entity == "card_unit" else 1


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannedOperation:
    job_id: str
    lot: str  # the first sheet of the lot
    operation_id: str
    station_id: str
    start: datetime
    end: datetime
    ready: datetime  # when its predecessors were done: start - ready is time spent queueing
    setup_minutes: int = 0  # the station is occupied from start - setup


@dataclass(frozen=True, kw_only=True, slots=True)
class PlantPlan:
    now: datetime
    schedule: Schedule
    operations: tuple[PlannedOperation, ...]
    jobs: tuple[JobWork, ...]
    lot_size: int

    def completion_of(self, job_id: str) -> datetime | None:
        ends = [op.end for op in self.operations if op.job_id == job_id]
        return max(ends) if ends else None


@dataclass(frozen=True, kw_only=True, slots=True)
class StationDay:
    station_id: str
    day: date
    scheduled_hours: float
    available_hours: float

    @property
    def utilization(self) -> float:
        return self.scheduled_hours / self.available_hours if self.available_hours else 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class CapacityForecast:
    days: tuple[StationDay, ...]
    bottleneck_station_id: str | None
    bottleneck_utilization: float


@dataclass(frozen=True, kw_only=True, slots=True)
class JobEstimate:
    job_id: str
    due_date: date | None
    estimated_completion: datetime | None
    late_by_hours: float  # 0 when on time
    driving_operation_id: str | None  # the operation that queued longest on the job's path
    driving_station_id: str | None

    @property
    def at_risk(self) -> bool:
        return self.late_by_hours > 0


@dataclass(frozen=True, kw_only=True, slots=True)
class CommitAnswer:
    product_id: str
    sets: int
    requested_date: date
    earliest_completion: datetime
    feasible: bool
    margin_hours: float  # positive: slack before the requested date; negative: how late


def _minutes(now: datetime, moment: datetime) -> int:
    return math.floor((moment - now).total_seconds() / 60)


def closed_periods(station: StationSpec, now: datetime, days: int) -> tuple[ClosedPeriod, ...]:
    """Every moment outside the station's operating hours over the horizon, in minutes from now."""
    hours = station.operating_hours
    periods: list[ClosedPeriod] = []
    day = now.date()
    for offset in range(days + 1):
        current = day + timedelta(days=offset)
        midnight = datetime.combine(current, time(0), tzinfo=UTC)
        start, end = _minutes(now, midnight), _minutes(now, midnight + timedelta(days=1))
        if current.weekday() in hours.weekdays:
            periods.append(ClosedPeriod(start=start, end=start + hours.start_minute))
            periods.append(ClosedPeriod(start=start + hours.end_minute, end=end))
        else:
            periods.append(ClosedPeriod(start=start, end=end))
    return tuple(ClosedPeriod(start=max(p.start, 0), end=p.end) for p in periods if p.end > 0 and p.end > p.start)


def _stations(factory: Factory, now: datetime, days: int) -> tuple[Station, ...]:
    return tuple(
        Station(
            id=s.station_id,
            capacity=s.parallel_units,
            closed=closed_periods(s, now, days),
            setup=round(s.setup_minutes),
        )
        for s in factory.stations
    )


def _alternatives(factory: Factory, operation: OperationSpec, units: int) -> tuple[Alternative, ...]:
    stations = factory.stations_of_type(operation.station_type)
    fastest = max(s.rated_capacity for s in stations)
    return tuple(
        Alternative(
            station=s.station_id,
            duration=max(1, math.ceil(operation.standard_minutes * units * fastest / s.rated_capacity)),
        )
        for s in stations
    )


def _lot_size(jobs: Sequence[JobWork]) -> int:
    sheets = sum(len(job.sheets) for job in jobs)
    return max(1, math.ceil(sheets / MAX_LOTS))


def build_problem(
    factory: Factory, jobs: Sequence[JobWork], now: datetime, horizon_days: int = HORIZON_DAYS
) -> tuple[Problem, int]:
    """The scheduling problem of the remaining work, and the lot size it used."""
    lot_size = _lot_size(jobs)
    scheduling_jobs = []
    for job in jobs:
        product = factory.product(job.product_id)
        operations: list[Operation] = []
        for first in range(0, len(job.sheets), lot_size):
            lot = job.sheets[first : first + lot_size]
            lot_id = lot[0].sheet_id
            present: set[str] = set()
            for op in product.operations:
                units = sum(sheet.remaining.get(op.operation_id, 0) for sheet in lot)
                if units <= 0:
                    continue
                present.add(op.operation_id)
                operations.append(
                    Operation(
                        id=f"{lot_id}:{op.operation_id}",
                        alternatives=_alternatives(factory, op, units),
                        predecessors=tuple(f"{lot_id}:{p}" for p in _open_predecessors(product, op, present)),
                    )
                )
        if not operations:
            continue
        due = None
        if job.due_date is not None:
            due = max(0, _minutes(now, datetime.combine(job.due_date, time(23, 59), tzinfo=UTC)))
        scheduling_jobs.append(SchedulingJob(id=job.job_id, operations=tuple(operations), due=due, weight=job.weight))
    return Problem(stations=_stations(factory, now, horizon_days), jobs=tuple(scheduling_jobs)), lot_size


def _open_predecessors(product: ProductSpec, operation: OperationSpec, present: set[str]) -> list[str]:
    """Predecessors still to do; a finished predecessor is skipped through to its own open predecessors."""
    open_ones: list[str] = []
    stack = list(operation.predecessors)
    seen: set[str] = set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in present:
            open_ones.append(name)
        else:
            stack.extend(product.operation(name).predecessors)
    return sorted(open_ones)


def plan(
    factory: Factory,
    jobs: Sequence[JobWork],
    now: datetime,
    *,
    objective: Objective = "tardiness",
    time_limit: float = 10.0,
    previous: PlantPlan | None = None,
) -> PlantPlan:
    problem, lot_size = build_problem(factory, jobs, now)
    hint: list[ScheduledOperation] | None = list(previous.schedule.operations) if previous else None
    schedule = solve(problem, objective=objective, time_limit=time_limit, previous_plan=hint)
    by_job = {job.id: job for job in problem.jobs}
    ends = {(op.job, op.id): op.end for op in schedule.operations}
    planned = []
    for op in schedule.operations:
        spec = next(o for o in by_job[op.job].operations if o.id == op.id)
        ready = max([ends[(op.job, p)] for p in spec.predecessors], default=0)
        lot, operation_id = op.id.split(":")
        planned.append(
            PlannedOperation(
                job_id=op.job,
                lot=lot,
                operation_id=operation_id,
                station_id=op.station,
                start=now + timedelta(minutes=op.start),
                end=now + timedelta(minutes=op.end),
                ready=now + timedelta(minutes=ready),
                setup_minutes=op.setup,
            )
        )
    return PlantPlan(now=now, schedule=schedule, operations=tuple(planned), jobs=tuple(jobs), lot_size=lot_size)


def capacity_forecast(plan_: PlantPlan, factory: Factory, days: int) -> CapacityForecast:
    """Scheduled vs available hours per station and day for the next `days` days; the busiest station."""
    scheduled: dict[tuple[str, date], float] = defaultdict(float)
    for op in plan_.operations:
        cursor = op.start - timedelta(minutes=op.setup_minutes)
        while cursor < op.end:
            day_end = datetime.combine(cursor.date() + timedelta(days=1), time(0), tzinfo=UTC)
            piece_end = min(op.end, day_end)
            scheduled[(op.station_id, cursor.date())] += (piece_end - cursor).total_seconds() / 3600
            cursor = piece_end
    rows = []
    first = plan_.now.date()
    for station in factory.stations:
        hours = station.operating_hours
        for offset in range(days):
            day = first + timedelta(days=offset)
            available = hours.minutes_per_day / 60 * station.parallel_units if day.weekday() in hours.weekdays else 0.0
            rows.append(
                StationDay(
                    station_id=station.station_id,
                    day=day,
                    scheduled_hours=round(scheduled.get((station.station_id, day), 0.0), 3),
                    available_hours=available,
                )
            )
    load: dict[str, tuple[float, float]] = {}
    for row in rows:
        used, open_hours = load.get(row.station_id, (0.0, 0.0))
        load[row.station_id] = (used + row.scheduled_hours, open_hours + row.available_hours)
    ranked = sorted(((u / a if a else 0.0), s) for s, (u, a) in load.items())
    bottleneck = ranked[-1] if ranked and ranked[-1][0] > 0 else None
    return CapacityForecast(
        days=tuple(rows),
        bottleneck_station_id=bottleneck[1] if bottleneck else None,
        bottleneck_utilization=round(bottleneck[0], 4) if bottleneck else 0.0,
    )


def job_estimates(plan_: PlantPlan) -> tuple[JobEstimate, ...]:
    """Estimated completion per open job; late ones name the operation that queued longest on their path."""
    estimates = []
    for job in plan_.jobs:
        operations = [op for op in plan_.operations if op.job_id == job.job_id]
        completion = max((op.end for op in operations), default=None)
        late_by = 0.0
        if completion is not None and job.due_date is not None:
            due = datetime.combine(job.due_date, time(23, 59), tzinfo=UTC)
            late_by = max(0.0, (completion - due).total_seconds() / 3600)
        driver = max(operations, key=lambda op: (op.start - op.ready, op.end), default=None)
        estimates.append(
            JobEstimate(
                job_id=job.job_id,
                due_date=job.due_date,
                estimated_completion=completion,
                late_by_hours=round(late_by, 2),
                driving_operation_id=driver.operation_id if driver else None,
                driving_station_id=driver.station_id if driver else None,
            )
        )
    return tuple(estimates)


def commit_date(
    factory: Factory,
    jobs: Sequence[JobWork],
    now: datetime,
    *,
    product_id: str,
    sets: int,
    requested: date,
    time_limit: float = 10.0,
) -> CommitAnswer:
    """Can a new job of `sets` sets of `product_id` be done by `requested`, given the current load?

    The new job is scheduled with the others, weighted so that its own completion dominates the objective:
    the answer is its earliest feasible completion, not a promise that reshuffles nobody. Nothing is written.
    """
    product = factory.product(product_id)
    weight = 1000 * max(1, sum(job.weight for job in jobs))
    newcomer = JobWork(
        job_id=NEW_JOB_ID,
        product_id=product.product_id,
        due_date=now.date() - timedelta(days=1),
        sheets=fresh_job(NEW_JOB_ID, product, sets, None).sheets,
        weight=weight,
    )
    result = plan(factory, [*jobs, newcomer], now, objective="tardiness", time_limit=time_limit)
    completion = result.completion_of(NEW_JOB_ID) or now
    deadline = datetime.combine(requested, time(23, 59), tzinfo=UTC)
    margin = (deadline - completion).total_seconds() / 3600
    return CommitAnswer(
        product_id=product.product_id,
        sets=sets,
        requested_date=requested,
        earliest_completion=completion,
        feasible=margin >= 0,
        margin_hours=round(margin, 2),
    )
