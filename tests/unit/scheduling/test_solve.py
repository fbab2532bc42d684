from __future__ import annotations

import random

from scheduling import Problem, greedy_schedule, parse_problem, solve, verify


def one_station_problem(station: dict[str, object], durations: list[int]) -> Problem:
    return parse_problem(
        {
            "stations": [{"id": "M0", **station}],
            "jobs": [
                {"id": f"J{index}", "operations": [{"id": "run", "station": "M0", "duration": duration}]}
                for index, duration in enumerate(durations)
            ],
        }
    )


def mid_size_problem(seed: int = 7) -> Problem:
    rng = random.Random(seed)
    stations = [{"id": f"S{index}", "capacity": 1 + index % 2, "closed": [[300, 360]]} for index in range(6)]
    jobs = []
    for job in range(40):
        operations: list[dict[str, object]] = []
        for step in range(8):
            first, second = rng.sample(range(6), 2)
            operations.append(
                {
                    "id": f"op{step}",
                    "durations": {f"S{first}": rng.randint(5, 30), f"S{second}": rng.randint(5, 30)},
                    "predecessors": [f"op{step - 1}"] if step else [],
                }
            )
        jobs.append(
            {"id": f"J{job}", "release": rng.randint(0, 50), "due": rng.randint(100, 400), "operations": operations}
        )
    return parse_problem({"stations": stations, "jobs": jobs})


def test_ft06_is_solved_to_the_known_optimum_of_55(ft06: Problem) -> None:
    schedule = solve(ft06, time_limit=20)

    assert (schedule.status, schedule.makespan, schedule.lower_bound, schedule.objective) == ("OPTIMAL", 55, 55, 55)
    assert schedule.source == "cp-sat"
    assert verify(ft06, schedule) == []


def test_ft06_as_json_has_the_contract_fields(ft06: Problem) -> None:
    document = solve(ft06, time_limit=20).to_json_dict()

    assert {"status", "makespan", "lower_bound", "objective", "operations"} <= document.keys()
    operations = document["operations"]
    assert isinstance(operations, list)
    assert len(operations) == 36
    assert {"job", "id", "station", "start", "end"} <= operations[0].keys()


def test_an_operation_never_spans_a_closed_period() -> None:
    problem = one_station_problem({"closed": [[5, 10]]}, [6])

    schedule = solve(problem, time_limit=5)

    assert [(operation.start, operation.end) for operation in schedule.operations] == [(10, 16)]


def test_short_operations_fill_the_gap_before_a_closed_period() -> None:
    problem = one_station_problem({"closed": [[5, 10]]}, [6, 5])

    schedule = solve(problem, time_limit=5)

    assert schedule.makespan == 16
    assert verify(problem, schedule) == []


def test_setup_occupies_the_station_before_each_operation() -> None:
    problem = one_station_problem({"setup": 2}, [3, 3])

    schedule = solve(problem, time_limit=5)

    assert schedule.makespan == 10
    assert sorted(operation.start for operation in schedule.operations) == [2, 7]
    assert all(operation.setup == 2 for operation in schedule.operations)


def test_a_station_with_capacity_two_runs_two_operations_at_once() -> None:
    problem = one_station_problem({"capacity": 2}, [5, 5, 5])

    schedule = solve(problem, time_limit=5)

    assert (schedule.status, schedule.makespan) == ("OPTIMAL", 10)


def test_the_solver_picks_the_faster_alternative_when_it_is_free() -> None:
    problem = parse_problem(
        {
            "stations": [{"id": "FAST"}, {"id": "SLOW"}],
            "jobs": [{"id": "J0", "operations": [{"id": "print", "durations": {"SLOW": 9, "FAST": 4}}]}],
        }
    )

    schedule = solve(problem, time_limit=5)

    assert [operation.station for operation in schedule.operations] == ["FAST"]


def test_the_tardiness_objective_puts_the_urgent_heavy_job_first() -> None:
    problem = parse_problem(
        {
            "stations": [{"id": "M0"}],
            "jobs": [
                {"id": "relaxed", "due": 100, "operations": [{"id": "run", "station": "M0", "duration": 10}]},
                {"id": "urgent", "due": 5, "weight": 3, "operations": [{"id": "run", "station": "M0", "duration": 5}]},
            ],
        }
    )

    schedule = solve(problem, objective="tardiness", time_limit=5)

    assert (schedule.status, schedule.objective, schedule.lower_bound) == ("OPTIMAL", 0, 0)
    assert {operation.job: operation.start for operation in schedule.operations} == {"urgent": 0, "relaxed": 5}


def test_the_tardiness_objective_is_never_worse_than_greedy() -> None:
    problem = mid_size_problem()

    schedule = solve(problem, objective="tardiness", time_limit=3)
    greedy = greedy_schedule(problem, objective="tardiness")

    assert verify(problem, schedule) == []
    assert schedule.objective == schedule.weighted_tardiness
    assert schedule.objective <= greedy.objective
    assert schedule.lower_bound <= schedule.objective


def test_a_time_limit_too_short_for_the_solver_falls_back_to_the_greedy_schedule() -> None:
    problem = mid_size_problem()

    schedule = solve(problem, time_limit=0.001)

    assert verify(problem, schedule) == []
    assert (schedule.status, schedule.source) == ("FEASIBLE", "greedy")
    assert schedule.makespan == greedy_schedule(problem).makespan
    assert schedule.lower_bound <= schedule.makespan


def test_a_previous_plan_as_hint_still_yields_a_valid_schedule_no_worse_than_it(ft06: Problem) -> None:
    previous = solve(ft06, time_limit=20)

    replanned = solve(ft06, time_limit=20, previous_plan=previous.operations)

    assert verify(ft06, replanned) == []
    assert replanned.makespan <= previous.makespan


def test_an_empty_problem_has_an_empty_optimal_schedule() -> None:
    schedule = solve(parse_problem({"stations": [], "jobs": []}), time_limit=1)

    assert (schedule.status, schedule.makespan, schedule.operations) == ("OPTIMAL", 0, ())


def test_an_operation_that_takes_no_time_occupies_no_station_and_is_solved() -> None:
    # Found by the random-problem property: CP-SAT's strong disjunctive propagation called this infeasible.
    problem = parse_problem(
        {
            "stations": [{"id": "S0", "closed": [[12, 13]]}],
            "jobs": [
                {
                    "id": "J0",
                    "release": 1,
                    "operations": [
                        {"id": "check", "station": "S0", "duration": 0},
                        {"id": "sign", "station": "S0", "duration": 0},
                    ],
                },
                {"id": "J1", "operations": [{"id": "run", "station": "S0", "duration": 2}]},
            ],
        }
    )

    schedule = solve(problem, time_limit=5)

    assert verify(problem, schedule) == []
    assert (schedule.status, schedule.source, schedule.makespan) == ("OPTIMAL", "cp-sat", 2)
