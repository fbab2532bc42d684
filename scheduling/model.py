"""The CP-SAT model of a scheduling problem.

Per operation a start and an end variable; per alternative station an optional interval covering
setup plus processing, exactly one of them present. A station of capacity 1 is a NoOverlap over its
intervals, a larger one a Cumulative with demand 1 each. Closed periods are fixed intervals in the
same constraint that take the whole station (demand = capacity). Precedences are ``end <= start``,
releases the lower bound of a start's domain.

Objectives: ``makespan``; or ``tardiness``, the weighted sum over jobs with a due date of how late
their last operation ends, with makespan as a tie-breaker through ``tardiness * scale + makespan``
(``scale`` exceeds any makespan, so the order is lexicographic and tardiness stays exact).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from scheduling.problem import Problem, Station
from scheduling.schedule import Objective, ScheduledOperation

OperationKey = tuple[str, str]


@dataclass(frozen=True, kw_only=True, slots=True)
class SchedulingModel:
    model: cp_model.CpModel
    horizon: int
    objective: Objective
    # Tardiness is scaled by this in the objective so the makespan tie-breaker never outweighs it.
    tardiness_scale: int
    starts: dict[OperationKey, cp_model.IntVar]
    ends: dict[OperationKey, cp_model.IntVar]
    # Presence literals by station, only for operations with more than one alternative.
    choices: dict[OperationKey, dict[str, cp_model.IntVar]]
    makespan: cp_model.IntVar
    tardiness: dict[str, cp_model.IntVar]


def safe_horizon(problem: Problem) -> int:
    """A time by which every operation can be finished: run them one after another once all closures end."""
    open_from = max(
        [
            *(job.release for job in problem.jobs),
            *(period.end for station in problem.stations for period in station.closed),
        ],
        default=0,
    )
    stations = problem.stations_by_id()
    return open_from + sum(
        max(alternative.duration + stations[alternative.station].setup for alternative in operation.alternatives)
        for job in problem.jobs
        for operation in job.operations
    )


def build_model(problem: Problem, *, objective: Objective, horizon: int) -> SchedulingModel:
    model = cp_model.CpModel()
    stations = problem.stations_by_id()
    intervals: dict[str, list[cp_model.IntervalVar]] = {station_id: [] for station_id in stations}
    starts: dict[OperationKey, cp_model.IntVar] = {}
    ends: dict[OperationKey, cp_model.IntVar] = {}
    choices: dict[OperationKey, dict[str, cp_model.IntVar]] = {}
    makespan = model.new_int_var(0, horizon, "makespan")
    tardiness: dict[str, cp_model.IntVar] = {}

    for job in problem.jobs:
        has_successor = {predecessor for operation in job.operations for predecessor in operation.predecessors}
        for operation in job.operations:
            key = (job.id, operation.id)
            name = f"{job.id}/{operation.id}"
            start = model.new_int_var(job.release, horizon, f"start {name}")
            end = model.new_int_var(job.release, horizon, f"end {name}")
            starts[key] = start
            ends[key] = end
            if len(operation.alternatives) == 1:
                alternative = operation.alternatives[0]
                setup = stations[alternative.station].setup
                interval = model.new_interval_var(
                    start - setup, setup + alternative.duration, end, f"{name} on {alternative.station}"
                )
                _occupy(intervals[alternative.station], interval, setup + alternative.duration)
                if setup:
                    model.add(start >= setup)
            else:
                literals: dict[str, cp_model.IntVar] = {}
                for alternative in operation.alternatives:
                    setup = stations[alternative.station].setup
                    present = model.new_bool_var(f"{name} on {alternative.station}?")
                    literals[alternative.station] = present
                    interval = model.new_optional_interval_var(
                        start - setup, setup + alternative.duration, end, present, f"{name} on {alternative.station}"
                    )
                    _occupy(intervals[alternative.station], interval, setup + alternative.duration)
                    if setup:
                        model.add(start >= setup).only_enforce_if(present)
                model.add_exactly_one(literals.values())
                choices[key] = literals
            for predecessor in operation.predecessors:
                model.add(ends[job.id, predecessor] <= start)
            if operation.id not in has_successor:
                model.add(makespan >= end)
        if objective == "tardiness" and job.due is not None and job.weight > 0:
            late = model.new_int_var(0, max(0, horizon - job.due), f"tardiness {job.id}")
            tardiness[job.id] = late
            for operation in job.operations:
                if operation.id not in has_successor:
                    model.add(late >= ends[job.id, operation.id] - job.due)

    for station_id, station_intervals in intervals.items():
        _add_station_capacity(model, stations[station_id], station_intervals)

    tardiness_scale = horizon + 1
    if objective == "makespan":
        model.minimize(makespan)
    else:
        weights = {job.id: job.weight for job in problem.jobs}
        model.minimize(tardiness_scale * sum(weights[job_id] * late for job_id, late in tardiness.items()) + makespan)
    return SchedulingModel(
        model=model,
        horizon=horizon,
        objective=objective,
        tardiness_scale=tardiness_scale,
        starts=starts,
        ends=ends,
        choices=choices,
        makespan=makespan,
        tardiness=tardiness,
    )


def _occupy(station_intervals: list[cp_model.IntervalVar], interval: cp_model.IntervalVar, size: int) -> None:
    """An interval that takes time takes the station; one of no time occupies nothing (as `verify` has it) and
    stays out of the station's constraint: CP-SAT's strong disjunctive propagation (which ft10's proof needs)
    wrongly found a model with zero-size intervals infeasible (OR-Tools 9.15)."""
    if size > 0:
        station_intervals.append(interval)


def _add_station_capacity(model: cp_model.CpModel, station: Station, intervals: list[cp_model.IntervalVar]) -> None:
    if not intervals:
        return
    closures = [
        model.new_fixed_size_interval_var(period.start, period.end - period.start, f"{station.id} closed {index}")
        for index, period in enumerate(station.closed)
    ]
    if station.capacity == 1:
        model.add_no_overlap([*intervals, *closures])
    else:
        model.add_cumulative(
            [*intervals, *closures],
            [1] * len(intervals) + [station.capacity] * len(closures),
            station.capacity,
        )


def add_hint(scheduling: SchedulingModel, problem: Problem, operations: Iterable[ScheduledOperation]) -> None:
    """Hint a full solution; operations missing from ``operations`` simply go unhinted."""
    model = scheduling.model
    placed = {(operation.job, operation.id): operation for operation in operations}
    completions: dict[str, int] = {}
    for key, scheduled in placed.items():
        if key not in scheduling.starts:
            continue
        model.add_hint(scheduling.starts[key], scheduled.start)
        model.add_hint(scheduling.ends[key], scheduled.end)
        for station_id, present in scheduling.choices.get(key, {}).items():
            model.add_hint(present, station_id == scheduled.station)
        completions[key[0]] = max(completions.get(key[0], 0), scheduled.end)
    model.add_hint(scheduling.makespan, max(completions.values(), default=0))
    dues = {job.id: job.due for job in problem.jobs}
    for job_id, late in scheduling.tardiness.items():
        due = dues[job_id]
        if job_id in completions and due is not None:
            model.add_hint(late, max(0, completions[job_id] - due))


def plain_jobshop_model(problem: Problem) -> tuple[cp_model.CpModel, cp_model.IntVar]:
    """The textbook job-shop model (intervals, no-overlap, precedence, makespan) for comparison.

    Takes each operation's first alternative and ignores capacities, closures, setups and releases,
    so it is only meaningful for pure job-shop instances.
    """
    model = cp_model.CpModel()
    horizon = sum(operation.alternatives[0].duration for job in problem.jobs for operation in job.operations)
    by_station: dict[str, list[cp_model.IntervalVar]] = {}
    makespan = model.new_int_var(0, horizon, "makespan")
    job_ends: list[cp_model.IntVar] = []
    for job in problem.jobs:
        ends: dict[str, cp_model.IntVar] = {}
        starts: dict[str, cp_model.IntVar] = {}
        for operation in job.operations:
            alternative = operation.alternatives[0]
            start = model.new_int_var(0, horizon, f"start {job.id}/{operation.id}")
            end = model.new_int_var(0, horizon, f"end {job.id}/{operation.id}")
            by_station.setdefault(alternative.station, []).append(
                model.new_interval_var(start, alternative.duration, end, f"{job.id}/{operation.id}")
            )
            starts[operation.id] = start
            ends[operation.id] = end
        for operation in job.operations:
            for predecessor in operation.predecessors:
                model.add(ends[predecessor] <= starts[operation.id])
        job_ends.extend(ends.values())
    model.add_max_equality(makespan, job_ends)
    for station_intervals in by_station.values():
        model.add_no_overlap(station_intervals)
    model.minimize(makespan)
    return model, makespan
