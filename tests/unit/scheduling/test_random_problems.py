from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduling import Objective, greedy_schedule, parse_problem, solve, verify
from scheduling.greedy import DispatchRule


@st.composite
def problem_documents(draw: st.DrawFn) -> dict[str, object]:
    """Small problems with every feature: alternatives, capacity 2, closures, setups, releases, DAGs."""
    station_count = draw(st.integers(1, 3))
    stations = [
        {
            "id": f"S{index}",
            "capacity": draw(st.integers(1, 2)),
            "setup": draw(st.sampled_from([0, 0, 3])),
            "closed": [
                [start, start + length]
                for start, length in draw(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 15)), max_size=2))
            ],
        }
        for index in range(station_count)
    ]
    jobs = []
    for job in range(draw(st.integers(2, 5))):
        operations: list[dict[str, object]] = []
        for step in range(draw(st.integers(1, 4))):
            predecessors = draw(st.lists(st.integers(0, step - 1), unique=True, max_size=2)) if step else []
            names = draw(st.lists(st.integers(0, station_count - 1), min_size=1, max_size=2, unique=True))
            form = draw(st.sampled_from(["station", "stations", "durations"]))
            operation: dict[str, object] = {"id": f"op{step}", "predecessors": [f"op{index}" for index in predecessors]}
            if form == "station":
                operation.update(station=f"S{names[0]}", duration=draw(st.integers(0, 12)))
            elif form == "stations":
                operation.update(stations=[f"S{name}" for name in names], duration=draw(st.integers(1, 12)))
            else:
                operation["durations"] = {f"S{name}": draw(st.integers(1, 12)) for name in names}
            operations.append(operation)
        jobs.append(
            {
                "id": f"J{job}",
                "release": draw(st.integers(0, 20)),
                "due": draw(st.none() | st.integers(0, 60)),
                "weight": draw(st.integers(0, 3)),
                "operations": operations,
            }
        )
    return {"stations": stations, "jobs": jobs}


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(document=problem_documents(), objective=st.sampled_from(["makespan", "tardiness"]))
def test_every_solved_schedule_passes_the_independent_check(document: dict[str, object], objective: Objective) -> None:
    problem = parse_problem(document)

    schedule = solve(problem, objective=objective, time_limit=5)

    assert verify(problem, schedule) == []
    assert schedule.status in ("OPTIMAL", "FEASIBLE")
    assert schedule.lower_bound <= schedule.objective
    assert schedule.makespan_lower_bound <= schedule.makespan


@settings(max_examples=150, deadline=None)
@given(
    document=problem_documents(),
    objective=st.sampled_from(["makespan", "tardiness"]),
    rule=st.sampled_from(["earliest", "atc"]),
    cost_weight=st.sampled_from([0.0, 3.0]),
)
def test_every_greedy_schedule_passes_the_independent_check(
    document: dict[str, object], objective: Objective, rule: DispatchRule, cost_weight: float
) -> None:
    problem = parse_problem(document)

    schedule = greedy_schedule(problem, objective=objective, rule=rule, cost_weight=cost_weight)

    assert verify(problem, schedule) == []
    assert schedule.lower_bound <= schedule.objective


@SETTINGS
@given(document=problem_documents())
def test_the_solver_is_never_worse_than_greedy_on_either_objective(document: dict[str, object]) -> None:
    problem = parse_problem(document)

    for objective in ("makespan", "tardiness"):
        solved = solve(problem, objective=objective, time_limit=5)
        assert solved.objective <= greedy_schedule(problem, objective=objective).objective
        # OPTIMAL is claimed exactly when the reported bound meets the objective.
        if solved.status == "OPTIMAL":
            assert solved.lower_bound == solved.objective
        else:
            assert solved.lower_bound < solved.objective
