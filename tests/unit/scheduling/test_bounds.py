"""The makespan lower bound on cases small enough to work out by hand; `test_random_problems` holds it below
every schedule found on random problems."""

from __future__ import annotations

from scheduling import parse_problem, solve
from scheduling.bounds import makespan_lower_bound


def test_work_that_cannot_finish_before_a_closure_waits_for_the_reopening() -> None:
    problem = parse_problem(
        {
            "stations": [{"id": "CUT"}, {"id": "PACK", "closed": [[10, 100]]}],
            "jobs": [
                {
                    "id": "J1",
                    "operations": [
                        {"id": "cut", "station": "CUT", "duration": 8},
                        {"id": "pack", "station": "PACK", "duration": 4, "predecessors": ["cut"]},
                    ],
                }
            ],
        }
    )

    assert makespan_lower_bound(problem) == 104  # pack cannot fit in [8, 10): it runs at 100


def test_a_station_starts_no_earlier_than_the_work_feeding_it_can_reach_it() -> None:
    # Prepress opens at 06:00 (minute 360); each plate takes 25 minutes, each print 100.
    problem = parse_problem(
        {
            "stations": [{"id": "PREPRESS", "closed": [[0, 360]]}, {"id": "PRESS"}],
            "jobs": [
                {
                    "id": f"J{index}",
                    "operations": [
                        {"id": "plate", "station": "PREPRESS", "duration": 25},
                        {"id": "print", "station": "PRESS", "duration": 100, "predecessors": ["plate"]},
                    ],
                }
                for index in range(2)
            ],
        }
    )

    assert makespan_lower_bound(problem) == 385 + 2 * 100 == solve(problem, time_limit=5).makespan


def test_a_slow_station_is_worth_only_what_the_work_it_is_best_at_costs_there() -> None:
    # Three prints cost 30 on the slow press, three cost 12: the fluid puts 2.75 of the cheap ones there.
    jobs = [
        {"id": f"J{index}", "operations": [{"id": "print", "durations": {"FAST": 10, "SLOW": slow}}]}
        for index, slow in enumerate([30, 30, 30, 12, 12, 12])
    ]
    problem = parse_problem({"stations": [{"id": "FAST"}, {"id": "SLOW"}], "jobs": jobs})

    assert makespan_lower_bound(problem) == 33  # 12 x 2.75 = 33 on SLOW, 60 - 27.5 = 32.5 on FAST
    schedule = solve(problem, time_limit=5)
    assert (schedule.status, schedule.makespan) == ("OPTIMAL", 36)  # whole prints: three cheap ones on SLOW


def test_an_operation_that_takes_no_time_fits_even_inside_a_closure() -> None:
    problem = parse_problem(
        {
            "stations": [{"id": "QC", "closed": [[0, 2]]}],
            "jobs": [{"id": "J1", "release": 1, "operations": [{"id": "sign", "station": "QC", "duration": 0}]}],
        }
    )

    assert makespan_lower_bound(problem) == 1 == solve(problem, time_limit=5).makespan
