"""Scheduling: problem -> model -> solve -> schedule, with OR-Tools CP-SAT.

A problem (CONTRACTS section 6) is parsed once into frozen values; ``solve`` builds the CP-SAT
model, warm-starts it from the greedy list schedule and falls back to that schedule when the time
limit leaves no solution; ``verify`` checks any schedule independently of both.

>>> from scheduling import parse_problem, solve, verify
>>> problem = parse_problem({
...     "stations": [{"id": "PRESS", "capacity": 1}, {"id": "CUT", "capacity": 2}],
...     "jobs": [
...         {"id": "J1", "due": 30, "operations": [
...             {"id": "print", "station": "PRESS", "duration": 10},
...             {"id": "cut", "stations": ["CUT"], "duration": 5, "predecessors": ["print"]}]},
...         {"id": "J2", "operations": [
...             {"id": "print", "durations": {"PRESS": 8}}]},
...     ],
... })
>>> schedule = solve(problem, objective="makespan", time_limit=5)
>>> schedule.status, schedule.makespan, verify(problem, schedule)
('OPTIMAL', 18, [])
>>> sorted(schedule.to_json_dict())[:4]
['first_solution_seconds', 'lower_bound', 'makespan', 'makespan_lower_bound']
"""

from scheduling.greedy import greedy_schedule
from scheduling.jobshop import jobshop_mapping, load_jobshop
from scheduling.model import plain_jobshop_model
from scheduling.problem import (
    Alternative,
    ClosedPeriod,
    Operation,
    Problem,
    ProblemError,
    SchedulingJob,
    Station,
    parse_problem,
)
from scheduling.schedule import Objective, Schedule, ScheduledOperation, ScheduleStatus
from scheduling.solve import solve
from scheduling.verify import verify

__all__ = [
    "Alternative",
    "ClosedPeriod",
    "Objective",
    "Operation",
    "Problem",
    "ProblemError",
    "Schedule",
    "ScheduleStatus",
    "ScheduledOperation",
    "SchedulingJob",
    "Station",
    "greedy_schedule",
    "jobshop_mapping",
    "load_jobshop",
    "parse_problem",
    "plain_jobshop_model",
    "solve",
    "verify",
]
