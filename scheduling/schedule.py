"""A schedule as the solver or the greedy baseline returns it, and its CONTRACTS section 6 JSON."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from scheduling.problem import Problem

ScheduleStatus = Literal["OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN"]
Objective = Literal["makespan", "tardiness"]
ScheduleSource = Literal["cp-sat", "greedy"]
OBJECTIVES: tuple[Objective, ...] = ("makespan", "tardiness")


@dataclass(frozen=True, kw_only=True, slots=True)
class ScheduledOperation:
    """Processing runs over ``[start, end)``; the station is occupied from ``start - setup``."""

    job: str
    id: str
    station: str
    start: int
    end: int
    setup: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Schedule:
    """``lower_bound`` bounds the objective that was minimised, so ``objective == lower_bound`` proves it.

    For the makespan objective that is a makespan bound; for tardiness it is a bound on the weighted
    tardiness, and ``makespan_lower_bound`` carries a makespan bound alongside.
    """

    status: ScheduleStatus
    objective_name: Objective
    objective: int
    makespan: int
    lower_bound: int
    makespan_lower_bound: int
    weighted_tardiness: int
    operations: tuple[ScheduledOperation, ...]
    source: ScheduleSource
    solve_seconds: float = 0.0
    first_solution_seconds: float | None = None

    def to_json_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "makespan": self.makespan,
            "lower_bound": self.lower_bound,
            "objective": self.objective,
            "objective_name": self.objective_name,
            "makespan_lower_bound": self.makespan_lower_bound,
            "weighted_tardiness": self.weighted_tardiness,
            "source": self.source,
            "solve_seconds": round(self.solve_seconds, 3),
            "first_solution_seconds": (
                None if self.first_solution_seconds is None else round(self.first_solution_seconds, 3)
            ),
            "operations": [
                {
                    "job": operation.job,
                    "id": operation.id,
                    "station": operation.station,
                    "start": operation.start,
                    "end": operation.end,
                    "setup": operation.setup,
                }
                for operation in self.operations
            ],
        }


def makespan_of(operations: Iterable[ScheduledOperation]) -> int:
    return max((operation.end for operation in operations), default=0)


def weighted_tardiness_of(problem: Problem, operations: Iterable[ScheduledOperation]) -> int:
    completions: dict[str, int] = {}
    for operation in operations:
        completions[operation.job] = max(completions.get(operation.job, 0), operation.end)
    return sum(job.weight * max(0, completions.get(job.id, 0) - job.due) for job in problem.jobs if job.due is not None)
