"""The dispatch rules of the greedy list schedule, on cases small enough to work out by hand."""

from __future__ import annotations

from scheduling import greedy_schedule, parse_problem, verify

# One press, both jobs ready at 0: J-LONG has no slack left, J-RUSH is short, heavy and due soon after.
TWO_JOBS_ONE_PRESS = parse_problem(
    {
        "stations": [{"id": "PRESS"}],
        "jobs": [
            {"id": "J-LONG", "due": 10, "weight": 1, "operations": [{"id": "run", "station": "PRESS", "duration": 10}]},
            {"id": "J-RUSH", "due": 4, "weight": 5, "operations": [{"id": "run", "station": "PRESS", "duration": 2}]},
        ],
    }
)


def _order(rule: str) -> list[str]:
    schedule = greedy_schedule(TWO_JOBS_ONE_PRESS, objective="tardiness", rule=rule)  # type: ignore[arg-type]
    assert verify(TWO_JOBS_ONE_PRESS, schedule) == []
    return [operation.job for operation in sorted(schedule.operations, key=lambda operation: operation.start)]


def test_the_baseline_rule_runs_the_job_with_least_slack_first() -> None:
    assert _order("earliest") == ["J-LONG", "J-RUSH"]


def test_atc_runs_the_short_heavy_job_first_and_is_less_tardy() -> None:
    assert _order("atc") == ["J-RUSH", "J-LONG"]
    baseline = greedy_schedule(TWO_JOBS_ONE_PRESS, objective="tardiness")
    atc = greedy_schedule(TWO_JOBS_ONE_PRESS, objective="tardiness", rule="atc")
    assert (baseline.weighted_tardiness, atc.weighted_tardiness) == (5 * 8, 1 * 2)


def test_the_rule_does_not_touch_a_makespan_schedule() -> None:
    assert greedy_schedule(TWO_JOBS_ONE_PRESS, rule="atc").operations == greedy_schedule(TWO_JOBS_ONE_PRESS).operations


def test_a_cost_weight_keeps_work_off_the_slow_press_unless_it_finishes_clearly_earlier_there() -> None:
    # FAST is busy until 5 (J-BUSY has more work behind it, so it goes first); the print takes 10 there and
    # 14 on SLOW: SLOW finishes at 14, FAST at 15.
    problem = parse_problem(
        {
            "stations": [{"id": "FAST"}, {"id": "SLOW"}, {"id": "PACK"}],
            "jobs": [
                {
                    "id": "J-BUSY",
                    "operations": [
                        {"id": "run", "station": "FAST", "duration": 5},
                        {"id": "pack", "station": "PACK", "duration": 20, "predecessors": ["run"]},
                    ],
                },
                {"id": "J-PRINT", "operations": [{"id": "run", "durations": {"FAST": 10, "SLOW": 14}}]},
            ],
        }
    )

    def station_of_print(cost_weight: float) -> str:
        schedule = greedy_schedule(problem, cost_weight=cost_weight)
        assert verify(problem, schedule) == []
        return next(operation.station for operation in schedule.operations if operation.job == "J-PRINT")

    assert station_of_print(0.0) == "SLOW"  # the baseline: the earliest finish
    assert station_of_print(1.0) == "FAST"  # 4 minutes dearer on SLOW outweigh finishing 1 minute earlier
