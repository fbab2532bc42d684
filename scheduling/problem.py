"""The scheduling problem of CONTRACTS section 6, parsed once at the edge into frozen values.

Times are integer minutes from the start of the horizon (``0`` is "now"). An operation names its
alternatives in one of three forms::

    {"id": "J0-1", "station": "M0", "duration": 3}                 # one station
    {"id": "J0-2", "stations": ["M1", "M2"], "duration": 5}        # a choice, same duration
    {"id": "J0-3", "durations": {"M1": 4, "M2": 7}}                # a choice, each its own duration

Extensions beyond the contract, both optional per station:

``closed: [[start, end], ...]``
    Periods in which the station does not run (nights, weekends, maintenance), half-open
    ``[start, end)``; overlapping or touching periods are merged. An operation, setup included,
    may not overlap a closed period: it runs in one open stretch and is never paused across a
    closure. Pausing would let a half-printed sheet sit overnight, which the plant avoids, and
    keeps every operation one contiguous interval.

``setup: minutes``
    The station needs this long to be set up for a job before each of that job's operations on it.
    It is charged per operation, not per change of job: the schedule does not track which job a
    station ran last, so two operations of one job placed back to back on a station both pay it.
    That over-estimates only in that case and keeps the model exact and small (no sequence
    variables). Setup occupies the station immediately before the operation's ``start`` and may
    overlap the job's preceding operation elsewhere (preparing a press does not need the sheets);
    it may not overlap a closed period nor begin before time 0.

Weights and dates are integers; ``weight`` defaults to 1, ``release`` to 0, and a job without a
``due`` never counts as tardy. Operation ids are unique within their job; predecessors name
operations of the same job and must form a DAG.

>>> problem = parse_problem({
...     "stations": [{"id": "M0"}],
...     "jobs": [{"id": "J0", "operations": [{"id": "J0-1", "station": "M0", "duration": 3}]}],
... })
>>> problem.jobs[0].operations[0].alternatives
(Alternative(station='M0', duration=3),)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class ProblemError(ValueError):
    """A scheduling problem that cannot be scheduled as written; the message names the culprit."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ClosedPeriod:
    start: int
    end: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Station:
    id: str
    capacity: int = 1
    closed: tuple[ClosedPeriod, ...] = ()
    setup: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Alternative:
    station: str
    duration: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Operation:
    id: str
    alternatives: tuple[Alternative, ...]
    predecessors: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class SchedulingJob:
    id: str
    operations: tuple[Operation, ...]
    release: int = 0
    due: int | None = None
    weight: int = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class Problem:
    stations: tuple[Station, ...]
    jobs: tuple[SchedulingJob, ...]

    def stations_by_id(self) -> dict[str, Station]:
        return {station.id: station for station in self.stations}


def parse_problem(document: object) -> Problem:
    """Validate a decoded JSON document and return the problem, or raise ProblemError."""
    root = _mapping(document, "problem")
    stations = tuple(
        _parse_station(raw, f"stations[{index}]")
        for index, raw in enumerate(_list(_required(root, "stations", "problem"), "problem: 'stations'"))
    )
    station_ids = _unique_ids([station.id for station in stations], "problem", "station")
    jobs = tuple(
        _parse_job(raw, f"jobs[{index}]", station_ids)
        for index, raw in enumerate(_list(_required(root, "jobs", "problem"), "problem: 'jobs'"))
    )
    _unique_ids([job.id for job in jobs], "problem", "job")
    return Problem(stations=stations, jobs=jobs)


def _parse_station(raw: object, where: str) -> Station:
    fields = _mapping(raw, where)
    station_id = _identifier(_required(fields, "id", where), f"{where}: 'id'")
    where = f"station {station_id}"
    capacity = _integer(fields.get("capacity", 1), f"{where}: 'capacity'", minimum=1)
    setup = _integer(fields.get("setup", 0), f"{where}: 'setup'", minimum=0)
    closed: list[ClosedPeriod] = []
    for index, period in enumerate(_list(fields.get("closed", []), f"{where}: 'closed'")):
        period_where = f"{where}: closed period {index}"
        bounds = _list(period, period_where)
        if len(bounds) != 2:
            raise ProblemError(f"{period_where}: expected [start, end], got {period!r}")
        start = _integer(bounds[0], f"{period_where} start", minimum=0)
        end = _integer(bounds[1], f"{period_where} end", minimum=0)
        if end <= start:
            raise ProblemError(f"{period_where}: end {end} is not after start {start}")
        closed.append(ClosedPeriod(start=start, end=end))
    return Station(id=station_id, capacity=capacity, closed=_merged(closed), setup=setup)


def _merged(periods: list[ClosedPeriod]) -> tuple[ClosedPeriod, ...]:
    # Overlapping closures would each claim the whole station at once, which no model could satisfy.
    merged: list[ClosedPeriod] = []
    for period in sorted(periods, key=lambda period: period.start):
        if merged and period.start <= merged[-1].end:
            merged[-1] = ClosedPeriod(start=merged[-1].start, end=max(merged[-1].end, period.end))
        else:
            merged.append(period)
    return tuple(merged)


def _parse_job(raw: object, where: str, station_ids: set[str]) -> SchedulingJob:
    fields = _mapping(raw, where)
    job_id = _identifier(_required(fields, "id", where), f"{where}: 'id'")
    where = f"job {job_id}"
    release = _integer(fields.get("release", 0), f"{where}: 'release'", minimum=0)
    raw_due = fields.get("due")
    due = None if raw_due is None else _integer(raw_due, f"{where}: 'due'", minimum=0)
    weight = _integer(fields.get("weight", 1), f"{where}: 'weight'", minimum=0)
    raw_operations = _list(_required(fields, "operations", where), f"{where}: 'operations'")
    if not raw_operations:
        raise ProblemError(f"{where}: has no operations")
    operations = tuple(
        _parse_operation(raw_operation, f"{where} operations[{index}]", where, station_ids)
        for index, raw_operation in enumerate(raw_operations)
    )
    _unique_ids([operation.id for operation in operations], where, "operation")
    _check_precedence_dag(operations, where)
    return SchedulingJob(id=job_id, operations=operations, release=release, due=due, weight=weight)


def _parse_operation(raw: object, where: str, job_where: str, station_ids: set[str]) -> Operation:
    fields = _mapping(raw, where)
    operation_id = _identifier(_required(fields, "id", where), f"{where}: 'id'")
    where = f"{job_where} operation {operation_id}"
    forms = [form for form in ("station", "stations", "durations") if form in fields]
    if len(forms) != 1:
        found = ", ".join(repr(form) for form in forms) or "none"
        raise ProblemError(f"{where}: needs exactly one of 'station', 'stations', 'durations' (found {found})")
    alternatives: list[Alternative]
    match forms[0]:
        case "station":
            station = _identifier(fields["station"], f"{where}: 'station'")
            duration = _integer(_required(fields, "duration", where), f"{where}: 'duration'", minimum=0)
            alternatives = [Alternative(station=station, duration=duration)]
        case "stations":
            names = _list(fields["stations"], f"{where}: 'stations'")
            duration = _integer(_required(fields, "duration", where), f"{where}: 'duration'", minimum=0)
            alternatives = [
                Alternative(station=_identifier(name, f"{where}: 'stations'"), duration=duration) for name in names
            ]
        case _:
            durations = _mapping(fields["durations"], f"{where}: 'durations'")
            alternatives = [
                Alternative(
                    station=_identifier(name, f"{where}: 'durations'"),
                    duration=_integer(value, f"{where}: duration on {name!r}", minimum=0),
                )
                for name, value in durations.items()
            ]
    if not alternatives:
        raise ProblemError(f"{where}: has no station to run on")
    _unique_ids([alternative.station for alternative in alternatives], where, "alternative station")
    for alternative in alternatives:
        if alternative.station not in station_ids:
            raise ProblemError(f"{where}: unknown station {alternative.station!r}")
    predecessors = tuple(
        _identifier(name, f"{where}: 'predecessors'")
        for name in _list(fields.get("predecessors", []), f"{where}: 'predecessors'")
    )
    _unique_ids(list(predecessors), where, "predecessor")
    return Operation(id=operation_id, alternatives=tuple(alternatives), predecessors=predecessors)


def _check_precedence_dag(operations: Sequence[Operation], where: str) -> None:
    known = {operation.id for operation in operations}
    for operation in operations:
        for predecessor in operation.predecessors:
            if predecessor not in known:
                raise ProblemError(f"{where} operation {operation.id}: unknown predecessor {predecessor!r}")
    predecessors = {operation.id: operation.predecessors for operation in operations}
    # Depth-first search with colours; the grey path at a back edge is the cycle to name.
    state: dict[str, int] = {}
    for root, earliest in predecessors.items():
        if root in state:
            continue
        path: list[str] = [root]
        pending: list[list[str]] = [list(earliest)]
        state[root] = 1
        while path:
            if not pending[-1]:
                state[path.pop()] = 2
                pending.pop()
                continue
            earlier = pending[-1].pop()
            if state.get(earlier) == 1:
                cycle = [*path[path.index(earlier) :], earlier]
                # The path runs from later to earlier operations; name it in precedence order.
                raise ProblemError(f"{where}: predecessors form a cycle: {' -> '.join(reversed(cycle))}")
            if earlier not in state:
                state[earlier] = 1
                path.append(earlier)
                pending.append(list(predecessors[earlier]))


def _unique_ids(ids: Sequence[str], where: str, kind: str) -> set[str]:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise ProblemError(f"{where}: duplicate {kind} id {value!r}")
        seen.add(value)
    return seen


def _required(fields: Mapping[str, object], key: str, where: str) -> object:
    if key not in fields:
        raise ProblemError(f"{where}: missing {key!r}")
    return fields[key]


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ProblemError(f"{where}: expected an object, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise ProblemError(f"{where}: keys must be strings, got {key!r}")
    return value


def _list(value: object, where: str) -> Sequence[object]:
    if not isinstance(value, list | tuple):
        raise ProblemError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _identifier(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ProblemError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _integer(value: object, where: str, *, minimum: int) -> int:
    # bool is an int in Python; `true` for a duration is a mistake in the file, not a 1.
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ProblemError(f"{where}: expected an integer, got {value!r}")
    if value < minimum:
        qualifier = "negative" if value < 0 else f"below {minimum}"
        raise ProblemError(f"{where}: {qualifier} value {value}")
    return value


def topological_order(job: SchedulingJob) -> tuple[Operation, ...]:
    """The job's operations with every predecessor before its successors (input order otherwise)."""
    waiting = {operation.id: len(operation.predecessors) for operation in job.operations}
    successors: dict[str, list[Operation]] = {operation.id: [] for operation in job.operations}
    for operation in job.operations:
        for predecessor in operation.predecessors:
            successors[predecessor].append(operation)
    ready = deque(operation for operation in job.operations if not operation.predecessors)
    order: list[Operation] = []
    while ready:
        operation = ready.popleft()
        order.append(operation)
        for successor in successors[operation.id]:
            waiting[successor.id] -= 1
            if waiting[successor.id] == 0:
                ready.append(successor)
    return tuple(order)


def shortest_duration(operation: Operation) -> int:
    return min(alternative.duration for alternative in operation.alternatives)


def earliest_starts(job: SchedulingJob) -> dict[str, int]:
    """Each operation's earliest start from the job's release along its predecessors (shortest durations)."""
    heads: dict[str, int] = {}
    finishes: dict[str, int] = {}
    for operation in topological_order(job):
        heads[operation.id] = max([job.release, *(finishes[predecessor] for predecessor in operation.predecessors)])
        finishes[operation.id] = heads[operation.id] + shortest_duration(operation)
    return heads


def work_remaining(job: SchedulingJob) -> dict[str, int]:
    """Each operation's longest chain to the end of the job, itself included (shortest durations)."""
    tails: dict[str, int] = {}
    successors: dict[str, list[str]] = {operation.id: [] for operation in job.operations}
    for operation in job.operations:
        for predecessor in operation.predecessors:
            successors[predecessor].append(operation.id)
    for operation in reversed(topological_order(job)):
        tails[operation.id] = shortest_duration(operation) + max(
            (tails[successor] for successor in successors[operation.id]), default=0
        )
    return tails


def station_groups(problem: Problem) -> list[tuple[str, ...]]:
    """Stations linked by operations that may run on either, as connected groups (singletons included)."""
    parent = {station.id: station.id for station in problem.stations}

    def root(station_id: str) -> str:
        while parent[station_id] != station_id:
            parent[station_id] = parent[parent[station_id]]
            station_id = parent[station_id]
        return station_id

    for job in problem.jobs:
        for operation in job.operations:
            first = root(operation.alternatives[0].station)
            for alternative in operation.alternatives[1:]:
                parent[root(alternative.station)] = first
    groups: dict[str, list[str]] = {}
    for station in problem.stations:
        groups.setdefault(root(station.id), []).append(station.id)
    return [tuple(members) for members in groups.values()]
