"""Solve a problem with CP-SAT, warm-started and backed up by the greedy baseline."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable

from ortools.sat.python import cp_model

from scheduling.bounds import makespan_lower_bound, tardiness_lower_bound
from scheduling.greedy import greedy_schedule
from scheduling.model import SchedulingModel, add_hint, build_model, safe_horizon
from scheduling.problem import Problem
from scheduling.schedule import (
    Objective,
    Schedule,
    ScheduledOperation,
    ScheduleStatus,
    makespan_of,
    weighted_tardiness_of,
)

# Operations above which presolve is kept light so that the hinted first solution comes quickly.
_LARGE = 1000
# ATC's look-ahead for a tardiness warm start, in mean operations: about a job's worth, since slack is counted
# against the job's due date over all its remaining work. One run each: the first solution must come quickly.
_ATC_LOOKAHEAD = 10.0
# The cost weight of a makespan warm start's routing.
_COST_WEIGHT = 5.0


class _Progress(cp_model.CpSolverSolutionCallback):
    """Notes when the first solution arrives; stops once the tardiness part is proven optimal."""

    def __init__(self, began: float, tardiness_scale: int | None) -> None:
        super().__init__()
        self._began = began
        self._tardiness_scale = tardiness_scale
        self._lock = threading.Lock()
        self.first_solution_seconds: float | None = None

    def on_solution_callback(self) -> None:
        with self._lock:
            if self.first_solution_seconds is None:
                self.first_solution_seconds = time.perf_counter() - self._began
        if self._tardiness_scale is not None:
            found = round(self.objective_value) // self._tardiness_scale
            proven = math.ceil(self.best_objective_bound - 1e-6) // self._tardiness_scale
            # The makespan tie-breaker is a nicety; proving it optimal is not worth the time.
            if found <= proven:
                self.stop_search()


def solve(
    problem: Problem,
    *,
    objective: Objective = "makespan",
    time_limit: float = 10.0,
    num_workers: int = 2,
    previous_plan: Iterable[ScheduledOperation] | None = None,
    random_seed: int = 0,
) -> Schedule:
    """The best schedule CP-SAT finds within ``time_limit`` seconds (wall clock, greedy included).

    The best greedy schedule is the warm start (the baseline or a dispatch variant, see
    ``_best_dispatch``); where a previous plan places an operation, its placement is
    hinted instead, so a re-plan stays close to what the floor already expects. If the solver has no
    solution when time runs out, or only one worse than that greedy schedule, the greedy schedule is
    returned with ``source="greedy"``; the solver's lower bound is kept either way.

    >>> from scheduling.problem import parse_problem
    >>> problem = parse_problem({"stations": [{"id": "M0"}], "jobs": [
    ...     {"id": "J0", "operations": [{"id": "J0-1", "station": "M0", "duration": 3}]},
    ...     {"id": "J1", "operations": [{"id": "J1-1", "station": "M0", "duration": 2}]}]})
    >>> schedule = solve(problem, time_limit=5)
    >>> (schedule.status, schedule.makespan, schedule.lower_bound)
    ('OPTIMAL', 5, 5)
    """
    began = time.perf_counter()
    greedy = _best_dispatch(problem, objective)
    # No optimal makespan exceeds the greedy one, so it bounds the makespan model; a tardiness
    # optimum may finish later than greedy, so that model needs a horizon every schedule fits.
    horizon = greedy.makespan if objective == "makespan" else max(greedy.makespan, safe_horizon(problem))
    scheduling = build_model(problem, objective=objective, horizon=horizon)
    hint = {(operation.job, operation.id): operation for operation in greedy.operations}
    choices = {
        (job.id, operation.id): {alternative.station for alternative in operation.alternatives}
        for job in problem.jobs
        for operation in job.operations
    }
    for operation in previous_plan or ():
        key = (operation.job, operation.id)
        # Operations since finished or re-routed away from their planned station keep the greedy hint.
        if operation.station in choices.get(key, ()):
            hint[key] = operation
    add_hint(scheduling, problem, hint.values())

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = num_workers
    solver.parameters.random_seed = random_seed
    # Stronger no-overlap reasoning (and, on small stations, a literal per pair of operations) is
    # what proves job-shop makespans: ft10 proven in ~5 s on 2 workers with it, unproven in 30 s without.
    solver.parameters.use_strong_propagation_in_disjunctive = True
    # Presolve's symmetry breaking picks one of two interchangeable presses for an operation and so
    # invalidates the greedy hint; without the hint a plant-sized model found no solution in 20 s.
    solver.parameters.symmetry_level = 0
    # Stations with parallel units and closures need energy reasoning to prove anything: a 14-operation
    # problem on one 2-unit station stayed unproven for 10 s without these, proven in 0.1 s with them.
    solver.parameters.use_timetable_edge_finding_in_cumulative = True
    solver.parameters.use_overload_checker_in_cumulative = True
    if sum(len(job.operations) for job in problem.jobs) > _LARGE:
        # Probing took 2 of the first 3.4 s on 2,000 operations, delaying the first solution.
        solver.parameters.cp_model_probing_level = 0
    solver.parameters.max_time_in_seconds = max(0.001, time_limit - (time.perf_counter() - began))
    progress = _Progress(began, scheduling.tardiness_scale if objective == "tardiness" else None)
    status = solver.solve(scheduling.model, progress)
    seconds = time.perf_counter() - began
    if status == cp_model.MODEL_INVALID:
        raise RuntimeError(f"scheduling model invalid: {scheduling.model.validate()}")

    makespan_bound = makespan_lower_bound(problem)
    tardiness_bound = tardiness_lower_bound(problem)
    # The solver's bound holds even when it stopped without a solution (not when it found none exists).
    if status != cp_model.INFEASIBLE:
        bound = solver.best_objective_bound
        if math.isfinite(bound):
            solver_bound = math.ceil(bound - 1e-6)
            if objective == "makespan":
                makespan_bound = max(makespan_bound, solver_bound)
            else:
                tardiness_bound = max(tardiness_bound, solver_bound // scheduling.tardiness_scale)

    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _fallback(greedy, makespan_bound, tardiness_bound, seconds)
    operations = _extract(problem, scheduling, solver)
    makespan = makespan_of(operations)
    tardiness = weighted_tardiness_of(problem, operations)
    value = makespan if objective == "makespan" else tardiness
    if value > greedy.objective:
        return _fallback(greedy, makespan_bound, tardiness_bound, seconds)
    lower_bound = makespan_bound if objective == "makespan" else tardiness_bound
    # The callback stops a tardiness search once tardiness is proven, before the tie-breaker is.
    proven = status == cp_model.OPTIMAL or value <= lower_bound
    solved_status: ScheduleStatus = "OPTIMAL" if proven else "FEASIBLE"
    return Schedule(
        status=solved_status,
        objective_name=objective,
        objective=value,
        makespan=makespan,
        lower_bound=value if proven else lower_bound,
        makespan_lower_bound=makespan if objective == "makespan" and proven else makespan_bound,
        weighted_tardiness=tardiness,
        operations=operations,
        source="cp-sat",
        solve_seconds=seconds,
        first_solution_seconds=progress.first_solution_seconds,
    )


def _best_dispatch(problem: Problem, objective: Objective) -> Schedule:
    """The best of the greedy baseline and the dispatch variants that serve the objective: ATC for tardiness,
    cost-aware routing for makespan (a plant with a slow press: see `greedy_schedule`'s `cost_weight`)."""
    best = greedy_schedule(problem, objective=objective)
    if objective == "tardiness":
        variants = [greedy_schedule(problem, objective=objective, rule="atc", lookahead=_ATC_LOOKAHEAD)]
    elif any(len(operation.alternatives) > 1 for job in problem.jobs for operation in job.operations):
        variants = [greedy_schedule(problem, cost_weight=_COST_WEIGHT)]
    else:
        variants = []
    return min([best, *variants], key=lambda schedule: schedule.objective)


def _extract(
    problem: Problem, scheduling: SchedulingModel, solver: cp_model.CpSolver
) -> tuple[ScheduledOperation, ...]:
    stations = problem.stations_by_id()
    operations: list[ScheduledOperation] = []
    for job in problem.jobs:
        for operation in job.operations:
            key = (job.id, operation.id)
            choices = scheduling.choices.get(key)
            if choices is None:
                station = operation.alternatives[0].station
            else:
                station = next(station_id for station_id, present in choices.items() if solver.boolean_value(present))
            operations.append(
                ScheduledOperation(
                    job=job.id,
                    id=operation.id,
                    station=station,
                    start=solver.value(scheduling.starts[key]),
                    end=solver.value(scheduling.ends[key]),
                    setup=stations[station].setup,
                )
            )
    return tuple(operations)


def _fallback(greedy: Schedule, makespan_bound: int, tardiness_bound: int, seconds: float) -> Schedule:
    lower_bound = makespan_bound if greedy.objective_name == "makespan" else tardiness_bound
    # The greedy schedule may meet the bound: then it is optimal, whether or not the solver said so.
    status: ScheduleStatus = "OPTIMAL" if greedy.objective <= lower_bound else "FEASIBLE"
    return Schedule(
        status=status,
        objective_name=greedy.objective_name,
        objective=greedy.objective,
        makespan=greedy.makespan,
        lower_bound=lower_bound,
        makespan_lower_bound=makespan_bound,
        weighted_tardiness=greedy.weighted_tardiness,
        operations=greedy.operations,
        source="greedy",
        solve_seconds=seconds,
        first_solution_seconds=greedy.solve_seconds,
    )
