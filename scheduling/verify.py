"""An independent check of a schedule against its problem; shares no code with the solvers."""

from __future__ import annotations

from collections import defaultdict

from scheduling.problem import Problem
from scheduling.schedule import Schedule, ScheduledOperation


def verify(problem: Problem, schedule: Schedule) -> list[str]:
    """Every way the schedule breaks the problem, as sentences; an empty list means it is valid."""
    violations: list[str] = []
    stations = {station.id: station for station in problem.stations}
    placed: dict[tuple[str, str], ScheduledOperation] = {}
    for scheduled in schedule.operations:
        key = (scheduled.job, scheduled.id)
        if key in placed:
            violations.append(f"job {scheduled.job} operation {scheduled.id}: scheduled more than once")
        placed[key] = scheduled

    expected: set[tuple[str, str]] = set()
    for job in problem.jobs:
        for operation in job.operations:
            key = (job.id, operation.id)
            expected.add(key)
            where = f"job {job.id} operation {operation.id}"
            scheduled_operation = placed.get(key)
            if scheduled_operation is None:
                violations.append(f"{where}: not scheduled")
                continue
            durations = {alternative.station: alternative.duration for alternative in operation.alternatives}
            station = scheduled_operation.station
            if station not in durations:
                violations.append(f"{where}: station {station!r} is not one of its alternatives")
                continue
            if scheduled_operation.end - scheduled_operation.start != durations[station]:
                violations.append(
                    f"{where}: runs {scheduled_operation.end - scheduled_operation.start} minutes "
                    f"on {station}, needs {durations[station]}"
                )
            if scheduled_operation.setup != stations[station].setup:
                violations.append(
                    f"{where}: setup {scheduled_operation.setup} on {station}, needs {stations[station].setup}"
                )
            if scheduled_operation.start - scheduled_operation.setup < 0:
                violations.append(f"{where}: occupies {station} before time 0")
            if scheduled_operation.start < job.release:
                violations.append(f"{where}: starts at {scheduled_operation.start} before release {job.release}")
            for predecessor in operation.predecessors:
                before = placed.get((job.id, predecessor))
                if before is not None and before.end > scheduled_operation.start:
                    violations.append(
                        f"{where}: starts at {scheduled_operation.start} before predecessor {predecessor} "
                        f"ends at {before.end}"
                    )
    for key in placed.keys() - expected:
        violations.append(f"job {key[0]} operation {key[1]}: not in the problem")

    occupancy: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for (job_id, operation_id), scheduled_operation in placed.items():
        if scheduled_operation.station in stations and (job_id, operation_id) in expected:
            occupancy[scheduled_operation.station].append(
                (
                    scheduled_operation.start - scheduled_operation.setup,
                    scheduled_operation.end,
                    f"{job_id}/{operation_id}",
                )
            )
    for station_id, periods in occupancy.items():
        capacity = stations[station_id].capacity
        for start, end, name in periods:
            for closed in stations[station_id].closed:
                if max(start, closed.start) < min(end, closed.end):
                    violations.append(
                        f"{name} on {station_id}: [{start}, {end}) overlaps closed period "
                        f"[{closed.start}, {closed.end})"
                    )
        violations.extend(_capacity_violations(station_id, capacity, periods))

    if schedule.operations and schedule.makespan != max(operation.end for operation in schedule.operations):
        violations.append(f"makespan {schedule.makespan} is not the latest end of an operation")
    return violations


def _capacity_violations(station_id: str, capacity: int, periods: list[tuple[int, int, str]]) -> list[str]:
    # Sweep over start and end events; at equal times ends come first, as intervals are half-open.
    events = sorted(
        [(end, 0, name) for start, end, name in periods if end > start]
        + [(start, 1, name) for start, end, name in periods if end > start]
    )
    running: set[str] = set()
    for time, kind, name in events:
        if kind == 0:
            running.discard(name)
            continue
        running.add(name)
        if len(running) > capacity:
            return [f"station {station_id}: {len(running)} operations at time {time}, capacity {capacity}"]
    return []
