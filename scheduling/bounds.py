"""Lower bounds no schedule can beat, from the problem alone: how far a schedule may still be from optimal.

The makespan bound is the longest of three relaxations, each keeping the stations' calendars (an operation, its
setup included, runs in one open stretch) and dropping capacity where it can:

- a job alone: its operations as early as precedence, releases and open hours allow;
- a station group (stations linked by alternatives) as a fluid: from the earliest any of its operations can
  start, the first time the group's open capacity holds all its work, each operation split freely over the
  stations that can run it at that station's own cost (a linear program: a slow press is worth only what the
  work it is best at costs there);
- what must follow the group's last operation: the rest of that operation's job, so work finishing on Friday
  night waits for Monday's shift, as it would.

>>> from scheduling.problem import parse_problem
>>> problem = parse_problem({"stations": [{"id": "M0", "closed": [[10, 20]]}], "jobs": [
...     {"id": "J0", "operations": [{"id": "a", "station": "M0", "duration": 8},
...                                 {"id": "b", "station": "M0", "duration": 4, "predecessors": ["a"]}]}]})
>>> makespan_lower_bound(problem)  # b cannot fit before the closure at 10
24
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

from ortools.linear_solver import pywraplp

from scheduling.problem import (
    Operation,
    Problem,
    SchedulingJob,
    Station,
    earliest_starts,
    station_groups,
    topological_order,
    work_remaining,
)


def makespan_lower_bound(problem: Problem) -> int:
    """The longest of the job, station-group and group-tail relaxations (see the module's docstring)."""
    stations = problem.stations_by_id()
    calendars = {station.id: _Calendar(station) for station in problem.stations}
    group_of = {station_id: index for index, group in enumerate(station_groups(problem)) for station_id in group}
    bound = 0
    members: dict[int, list[tuple[SchedulingJob, Operation]]] = {}
    opens: dict[int, int] = {}
    for job in problem.jobs:
        ends = _earliest_ends(job, job.release, {}, stations, calendars)
        bound = max(bound, max(ends.values(), default=job.release))
        for operation in job.operations:
            group = group_of[operation.alternatives[0].station]
            members.setdefault(group, []).append((job, operation))
            ready = max([job.release, *(ends[name] for name in operation.predecessors)])
            for alternative in operation.alternatives:
                station = stations[alternative.station]
                end = calendars[station.id].earliest_end(ready, station.setup, alternative.duration)
                occupied_from = end - alternative.duration - station.setup
                opens[group] = min(opens.get(group, occupied_from), occupied_from)
    followers = {job.id: _descendants(job) for job in problem.jobs}
    for group, operations in members.items():
        finish = _fluid_finish([operation for _, operation in operations], stations, calendars, opens[group])
        # Some operation of the group ends at `finish` or later; whichever it is, its job must still finish.
        completions = (
            max(
                _earliest_ends(
                    job, finish, {operation.id: finish}, stations, calendars, followers[job.id][operation.id]
                ).values()
            )
            for job, operation in operations
        )
        bound = max(bound, min(completions))
    return bound


def tardiness_lower_bound(problem: Problem) -> int:
    """Weighted tardiness each job incurs even if it ran alone along its longest chain."""
    total = 0
    for job in problem.jobs:
        if job.due is None:
            continue
        tails = work_remaining(job)
        heads = earliest_starts(job)
        completion = max(heads[operation.id] + tails[operation.id] for operation in job.operations)
        total += job.weight * max(0, completion - job.due)
    return total


# --- one job alone, in open hours ---------------------------------------------------------------------


def _earliest_ends(
    job: SchedulingJob,
    ready_from: int,
    fixed: dict[str, int],
    stations: dict[str, Station],
    calendars: dict[str, _Calendar],
    operations: Sequence[Operation] | None = None,
) -> dict[str, int]:
    """Each operation's earliest end (`operations`, default all, in topological order) with every predecessor
    done and none before `ready_from`, at its fastest-finishing station's open hours; `fixed` ends are given."""
    ends = dict(fixed)
    for operation in topological_order(job) if operations is None else operations:
        ready = max([ready_from, *(ends[name] for name in operation.predecessors if name in ends)])
        ends[operation.id] = min(
            calendars[alternative.station].earliest_end(
                ready, stations[alternative.station].setup, alternative.duration
            )
            for alternative in operation.alternatives
        )
    return ends


def _descendants(job: SchedulingJob) -> dict[str, tuple[Operation, ...]]:
    """Each operation's successors, direct and indirect, in topological order."""
    order = topological_order(job)
    after: dict[str, set[str]] = {operation.id: set() for operation in order}
    for operation in reversed(order):
        for predecessor in operation.predecessors:
            after[predecessor] |= {operation.id, *after[operation.id]}
    return {
        operation_id: tuple(operation for operation in order if operation.id in names)
        for operation_id, names in after.items()
    }


# --- a station group as a fluid -----------------------------------------------------------------------


def _fluid_finish(
    operations: Sequence[Operation], stations: dict[str, Station], calendars: dict[str, _Calendar], opens: int
) -> int:
    """The first time by which the stations' open capacity since `opens` holds every operation's work (setup
    included), each operation split over its alternatives as a linear program chooses."""
    members = sorted({alternative.station for operation in operations for alternative in operation.alternatives})
    # Operations with the same costs are one class of the program: a plant's hundreds of prints are a few dozen.
    classes: dict[tuple[tuple[str, int], ...], int] = {}
    for operation in operations:
        costs = tuple(
            sorted(
                (alternative.station, alternative.duration + stations[alternative.station].setup)
                for alternative in operation.alternatives
            )
        )
        classes[costs] = classes.get(costs, 0) + 1
    if all(cost == 0 for costs in classes for _, cost in costs):
        return opens

    def capacity(until: int) -> dict[str, int]:
        return {s: stations[s].capacity * calendars[s].open_minutes(opens, until) for s in members}

    if len(members) == 1:
        work = sum(count * costs[0][1] for costs, count in classes.items())
        return _first_time(opens, lambda until: capacity(until)[members[0]] >= work)
    split = _SplitProgram(classes, members)
    return _first_time(opens, lambda until: split.fits(capacity(until)))


class _SplitProgram:
    """Whether classes of operations can be split over stations within each station's capacity: a linear
    program (GLOP) built once; only the capacities change between questions."""

    def __init__(self, classes: dict[tuple[tuple[str, int], ...], int], members: Sequence[str]) -> None:
        self._solver = pywraplp.Solver.CreateSolver("GLOP")
        self._capacity = {station_id: self._solver.Constraint(0.0, 0.0, f"{station_id} open") for station_id in members}
        for index, (costs, count) in enumerate(classes.items()):
            whole = self._solver.Constraint(count, count, f"class {index}")
            for station_id, cost in costs:
                share = self._solver.NumVar(0.0, count, f"class {index} on {station_id}")
                whole.SetCoefficient(share, 1.0)
                self._capacity[station_id].SetCoefficient(share, cost)

    def fits(self, capacity: dict[str, int]) -> bool:
        for station_id, constraint in self._capacity.items():
            constraint.SetBounds(0.0, capacity[station_id])
        # The solver's tolerance only ever errs towards "fits", which lowers the bound: it stays a bound.
        return bool(self._solver.Solve() == pywraplp.Solver.OPTIMAL)


def _first_time(opens: int, fits: Callable[[int], bool]) -> int:
    """The least time >= `opens` at which `fits` holds, given that it holds from then on: doubling, then halving."""
    low, step = opens, 1
    while not fits(low + step):
        low += step
        step *= 2
        if step > 1 << 40:
            raise ValueError("the stations never open long enough for their work")
    # fits(low) fails and fits(low + step) holds: the least time in between that fits.
    return low + 1 + bisect_left(range(low + 1, low + step + 1), True, key=fits)


class _Calendar:
    """A station's closed periods, for open-time arithmetic."""

    __slots__ = ("_ends", "_periods")

    def __init__(self, station: Station) -> None:
        self._periods = station.closed  # sorted and disjoint: the parser merges them
        self._ends = [period.end for period in station.closed]

    def open_minutes(self, start: int, end: int) -> int:
        closed = sum(max(0, min(end, period.end) - max(start, period.start)) for period in self._periods)
        return max(0, end - start - closed)

    def earliest_end(self, ready: int, setup: int, duration: int) -> int:
        """The earliest end of an operation ready at `ready`: its setup (not before time 0, possibly ahead of
        `ready`) and its run share one open stretch."""
        start = max(ready, setup)
        if setup + duration == 0:
            return start  # takes no time, so fits anywhere, closed periods included (as `verify` has it)
        index = bisect_right(self._ends, start - setup)
        while index < len(self._periods) and self._periods[index].start < start + duration:
            start = max(start, self._periods[index].end + setup)
            index += 1
        return start + duration
