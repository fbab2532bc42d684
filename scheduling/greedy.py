"""Greedy list scheduling: the baseline, the solver's warm start and its fallback.

A serial schedule-generation scheme. Among the operations whose predecessors are all placed, it
places the one that can start earliest (on the alternative where it would finish first). Ties, which
are many where a shift opens on a queue, go by the dispatch rule:

- ``earliest`` (the baseline): the most work remaining behind it (makespan) or the least slack to its
  job's due date (tardiness);
- ``atc``, apparent tardiness cost (Vepsalainen & Morton, 1987): the highest ``w/p * exp(-slack / (k * p_mean))``,
  weight per minute of work, discounted the more slack the job still has; ``k`` is the look-ahead.
  It favours short, heavy, nearly late work, and cuts weighted tardiness well below slack-first.

A station of capacity ``c`` is ``c`` unit timelines; an operation takes the unit where it fits first,
so gaps left earlier are filled when a later operation fits them.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Literal

from scheduling.bounds import makespan_lower_bound, tardiness_lower_bound
from scheduling.problem import (
    Operation,
    Problem,
    SchedulingJob,
    Station,
    shortest_duration,
    work_remaining,
)
from scheduling.schedule import (
    Objective,
    Schedule,
    ScheduledOperation,
    makespan_of,
    weighted_tardiness_of,
)


class _UnitTimeline:
    """One unit of a station: sorted, non-overlapping busy periods (closed periods included)."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, station: Station) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for period in station.closed:
            self.reserve(period.start, period.end)

    def earliest_fit(self, earliest: int, length: int) -> int:
        start = earliest
        index = bisect_right(self._ends, start)
        while index < len(self._starts) and self._starts[index] < start + length:
            start = max(start, self._ends[index])
            index += 1
        return start

    def reserve(self, start: int, end: int) -> None:
        if end <= start:
            return
        index = bisect_left(self._ends, start)
        # Touching or overlapping periods (closed periods may be given so) merge to keep it disjoint.
        while index < len(self._starts) and self._starts[index] <= end:
            start = min(start, self._starts[index])
            end = max(end, self._ends[index])
            del self._starts[index], self._ends[index]
        self._starts.insert(index, start)
        self._ends.insert(index, end)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Placement:
    start: int
    end: int
    station: str
    unit: int
    setup: int


DispatchRule = Literal["earliest", "atc"]


def greedy_schedule(
    problem: Problem,
    *,
    objective: Objective = "makespan",
    rule: DispatchRule = "earliest",
    lookahead: float = 5.0,
    cost_weight: float = 0.0,
) -> Schedule:
    """A feasible schedule for every valid problem, built in time roughly linear in its size.

    ``rule`` breaks ties among operations that can start at the same time (see the module's docstring);
    ``lookahead`` is ATC's ``k``, in mean operation durations. ``cost_weight`` routes by cost as well as by
    finish: each minute an alternative costs beyond the operation's cheapest counts as that many minutes of
    finishing later (0, the baseline: the earliest finish wins). A slow press that is free now is then taken
    only when it finishes clearly earlier, not whenever the fast ones are busy for a moment.
    """
    began = time.perf_counter()
    stations = problem.stations_by_id()
    units = {station.id: [_UnitTimeline(station) for _ in range(station.capacity)] for station in stations.values()}
    jobs_by_operation: dict[tuple[str, str], SchedulingJob] = {}
    tails: dict[tuple[str, str], int] = {}
    waiting: dict[tuple[str, str], int] = {}
    successors: dict[tuple[str, str], list[Operation]] = {}
    operations: dict[tuple[str, str], Operation] = {}
    cheapest: dict[tuple[str, str], int] = {}  # each operation's least cost, setup included, over its alternatives
    for job in problem.jobs:
        for operation_id, tail in work_remaining(job).items():
            tails[job.id, operation_id] = tail
        for operation in job.operations:
            key = (job.id, operation.id)
            jobs_by_operation[key] = job
            operations[key] = operation
            cheapest[key] = min(
                alternative.duration + stations[alternative.station].setup for alternative in operation.alternatives
            )
            waiting[key] = len(operation.predecessors)
            successors.setdefault(key, [])
            for predecessor in operation.predecessors:
                successors.setdefault((job.id, predecessor), []).append(operation)

    finished: dict[tuple[str, str], int] = {}
    placements: dict[tuple[str, str], _Placement] = {}
    ready: dict[tuple[str, str], _Placement] = {}

    def place_candidate(key: tuple[str, str]) -> _Placement:
        job = jobs_by_operation[key]
        operation = operations[key]
        earliest = max([job.release, *(finished[job.id, name] for name in operation.predecessors)])
        best: _Placement | None = None
        best_score = (0.0, 0)
        for alternative in operation.alternatives:
            setup = stations[alternative.station].setup
            occupied = setup + alternative.duration
            detour = cost_weight * (occupied - cheapest[key])
            for unit_index, unit in enumerate(units[alternative.station]):
                # Setup may run ahead of the operation's earliest start, never before time 0.
                start = unit.earliest_fit(max(0, earliest - setup), occupied) + setup
                candidate = _Placement(
                    start=start,
                    end=start + alternative.duration,
                    station=alternative.station,
                    unit=unit_index,
                    setup=setup,
                )
                score = (candidate.end + detour, candidate.start)
                if best is None or score < best_score:
                    best, best_score = candidate, score
        assert best is not None, "the parser guarantees every operation an alternative"
        return best

    durations = [shortest_duration(operation) for operation in operations.values()]
    slack_scale = max(1.0, lookahead * sum(durations) / max(1, len(durations)))

    def priority(key: tuple[str, str], placement: _Placement) -> tuple[int, float, int, str, str]:
        job = jobs_by_operation[key]
        if objective == "makespan":
            return (placement.start, -tails[key], 0, key[0], key[1])
        latest_start = float("inf") if job.due is None or job.weight == 0 else job.due - tails[key]
        if rule == "earliest":
            return (placement.start, latest_start, -job.weight, key[0], key[1])
        slack = max(0.0, latest_start - placement.start)
        cost = job.weight / max(1, placement.end - placement.start) * math.exp(-slack / slack_scale)
        return (placement.start, -cost, -job.weight, key[0], key[1])

    for key, count in waiting.items():
        if count == 0:
            ready[key] = place_candidate(key)

    while ready:
        key = min(ready, key=lambda candidate: priority(candidate, ready[candidate]))
        placement = ready.pop(key)
        units[placement.station][placement.unit].reserve(placement.start - placement.setup, placement.end)
        placements[key] = placement
        finished[key] = placement.end
        for other, other_placement in ready.items():
            # Booking only takes free time away from one unit: an operation placed elsewhere, or clear of
            # the booked period, keeps a placement that is still its best.
            if (
                other_placement.unit == placement.unit
                and other_placement.station == placement.station
                and other_placement.start - other_placement.setup < placement.end
                and placement.start - placement.setup < other_placement.end
            ):
                ready[other] = place_candidate(other)
        for successor in successors[key]:
            successor_key = (key[0], successor.id)
            waiting[successor_key] -= 1
            if waiting[successor_key] == 0:
                ready[successor_key] = place_candidate(successor_key)

    scheduled = tuple(
        ScheduledOperation(
            job=job.id,
            id=operation.id,
            station=placements[job.id, operation.id].station,
            start=placements[job.id, operation.id].start,
            end=placements[job.id, operation.id].end,
            setup=placements[job.id, operation.id].setup,
        )
        for job in problem.jobs
        for operation in job.operations
    )
    makespan = makespan_of(scheduled)
    tardiness = weighted_tardiness_of(problem, scheduled)
    makespan_bound = makespan_lower_bound(problem)
    return Schedule(
        status="FEASIBLE",
        objective_name=objective,
        objective=makespan if objective == "makespan" else tardiness,
        makespan=makespan,
        lower_bound=makespan_bound if objective == "makespan" else tardiness_lower_bound(problem),
        makespan_lower_bound=makespan_bound,
        weighted_tardiness=tardiness,
        operations=scheduled,
        source="greedy",
        solve_seconds=time.perf_counter() - began,
    )
