from __future__ import annotations

from dataclasses import replace

from scheduling import Problem, Schedule, ScheduledOperation, parse_problem, verify


def problem() -> Problem:
    return parse_problem(
        {
            "stations": [{"id": "M0", "closed": [[20, 30]]}, {"id": "M1", "setup": 2}],
            "jobs": [
                {
                    "id": "J0",
                    "release": 1,
                    "operations": [
                        {"id": "a", "station": "M0", "duration": 4},
                        {"id": "b", "durations": {"M0": 3, "M1": 5}, "predecessors": ["a"]},
                    ],
                },
                {"id": "J1", "operations": [{"id": "a", "station": "M0", "duration": 2}]},
            ],
        }
    )


def schedule(*operations: ScheduledOperation) -> Schedule:
    return Schedule(
        status="FEASIBLE",
        objective_name="makespan",
        objective=max(operation.end for operation in operations),
        makespan=max(operation.end for operation in operations),
        lower_bound=0,
        makespan_lower_bound=0,
        weighted_tardiness=0,
        operations=operations,
        source="greedy",
    )


VALID = (
    ScheduledOperation(job="J1", id="a", station="M0", start=0, end=2),
    ScheduledOperation(job="J0", id="a", station="M0", start=2, end=6),
    ScheduledOperation(job="J0", id="b", station="M1", start=6, end=11, setup=2),
)


def with_change(index: int, **changes: object) -> Schedule:
    operations = list(VALID)
    operations[index] = replace(operations[index], **changes)  # type: ignore[arg-type]
    return schedule(*operations)


def test_a_valid_schedule_has_no_violations() -> None:
    assert verify(problem(), schedule(*VALID)) == []


def test_overlapping_operations_on_a_unit_station_are_reported() -> None:
    violations = verify(problem(), with_change(1, start=1, end=5))

    assert "station M0: 2 operations at time 1, capacity 1" in violations


def test_starting_before_a_predecessor_ends_is_reported() -> None:
    violations = verify(problem(), with_change(2, start=5, end=10))

    assert "job J0 operation b: starts at 5 before predecessor a ends at 6" in violations


def test_starting_before_release_is_reported() -> None:
    violations = verify(problem(), with_change(1, start=0, end=4))

    assert any("before release 1" in violation for violation in violations)


def test_overlapping_a_closed_period_is_reported() -> None:
    violations = verify(problem(), with_change(1, start=18, end=22))

    assert any("overlaps closed period [20, 30)" in violation for violation in violations)


def test_a_station_that_is_not_an_alternative_is_reported() -> None:
    violations = verify(problem(), with_change(0, station="M1"))

    assert "job J1 operation a: station 'M1' is not one of its alternatives" in violations


def test_the_wrong_duration_for_the_chosen_alternative_is_reported() -> None:
    violations = verify(problem(), with_change(2, end=9))

    assert "job J0 operation b: runs 3 minutes on M1, needs 5" in violations


def test_a_missing_setup_is_reported() -> None:
    violations = verify(problem(), with_change(2, setup=0))

    assert "job J0 operation b: setup 0 on M1, needs 2" in violations


def test_missing_and_unknown_operations_are_reported() -> None:
    operations = (*VALID[:2], ScheduledOperation(job="J9", id="x", station="M0", start=40, end=41))

    violations = verify(problem(), schedule(*operations))

    assert "job J0 operation b: not scheduled" in violations
    assert "job J9 operation x: not in the problem" in violations
