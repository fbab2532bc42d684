from __future__ import annotations

import copy

import pytest

from scheduling import Alternative, ClosedPeriod, ProblemError, parse_problem


def contract_example() -> dict[str, object]:
    return {
        "stations": [{"id": "M0", "capacity": 1}, {"id": "M1", "capacity": 2}, {"id": "M2", "capacity": 1}],
        "jobs": [
            {
                "id": "J0",
                "release": 0,
                "due": 120,
                "weight": 1,
                "operations": [
                    {"id": "J0-1", "station": "M0", "duration": 3, "predecessors": []},
                    {"id": "J0-2", "stations": ["M1", "M2"], "duration": 5, "predecessors": ["J0-1"]},
                    {"id": "J0-3", "durations": {"M1": 4, "M2": 7}, "predecessors": ["J0-2"]},
                ],
            }
        ],
    }


def operations_of(document: dict[str, object]) -> list[dict[str, object]]:
    jobs = document["jobs"]
    assert isinstance(jobs, list)
    operations = jobs[0]["operations"]
    assert isinstance(operations, list)
    return operations


def test_the_three_ways_to_name_stations_become_alternatives() -> None:
    problem = parse_problem(contract_example())

    first, second, third = problem.jobs[0].operations
    assert first.alternatives == (Alternative(station="M0", duration=3),)
    assert second.alternatives == (Alternative(station="M1", duration=5), Alternative(station="M2", duration=5))
    assert third.alternatives == (Alternative(station="M1", duration=4), Alternative(station="M2", duration=7))
    assert third.predecessors == ("J0-2",)


def test_release_due_and_weight_are_optional() -> None:
    problem = parse_problem(
        {
            "stations": [{"id": "M0"}],
            "jobs": [{"id": "J0", "operations": [{"id": "a", "station": "M0", "duration": 1}]}],
        }
    )

    job = problem.jobs[0]
    assert (job.release, job.due, job.weight) == (0, None, 1)
    assert problem.stations[0].capacity == 1


def test_overlapping_closed_periods_are_merged_into_one() -> None:
    document = contract_example()
    document["stations"] = [{"id": "M0", "closed": [[10, 20], [0, 5], [15, 30], [30, 40]]}, {"id": "M1"}, {"id": "M2"}]

    problem = parse_problem(document)

    assert problem.stations[0].closed == (ClosedPeriod(start=0, end=5), ClosedPeriod(start=10, end=40))


def test_an_unknown_station_is_named_with_its_job_and_operation() -> None:
    document = contract_example()
    operations_of(document)[1]["stations"] = ["M1", "M9"]

    with pytest.raises(ProblemError, match=r"^job J0 operation J0-2: unknown station 'M9'$"):
        parse_problem(document)


def test_a_cycle_in_predecessors_is_named_in_order() -> None:
    document = contract_example()
    operations_of(document)[0]["predecessors"] = ["J0-3"]

    with pytest.raises(ProblemError, match=r"^job J0: predecessors form a cycle: J0-1 -> J0-2 -> J0-3 -> J0-1$"):
        parse_problem(document)


def test_an_operation_that_precedes_itself_is_a_cycle() -> None:
    document = contract_example()
    operations_of(document)[0]["predecessors"] = ["J0-1"]

    with pytest.raises(ProblemError, match=r"cycle: J0-1 -> J0-1"):
        parse_problem(document)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: operations_of(d)[0].update(duration=-3), r"job J0 operation J0-1: 'duration': negative value -3"),
        (
            lambda d: operations_of(d)[2].update(durations={"M1": 4, "M2": -1}),
            r"job J0 operation J0-3: duration on 'M2': negative value -1",
        ),
        (lambda d: operations_of(d)[2].update(id="J0-1"), r"job J0: duplicate operation id 'J0-1'"),
        (lambda d: d["stations"].append({"id": "M0"}), r"problem: duplicate station id 'M0'"),
        (lambda d: d["jobs"].append(copy.deepcopy(d["jobs"][0])), r"problem: duplicate job id 'J0'"),
        (lambda d: operations_of(d)[1].pop("duration"), r"job J0 operation J0-2: missing 'duration'"),
        (lambda d: operations_of(d)[1].pop("id"), r"job J0 operations\[1\]: missing 'id'"),
        (lambda d: d["jobs"][0].pop("operations"), r"job J0: missing 'operations'"),
        (lambda d: d.pop("stations"), r"problem: missing 'stations'"),
        (lambda d: operations_of(d)[2].update(predecessors=["J0-7"]), r"operation J0-3: unknown predecessor 'J0-7'"),
        (lambda d: operations_of(d)[0].update(duration="3"), r"'duration': expected an integer, got '3'"),
        (lambda d: operations_of(d)[0].update(duration=True), r"'duration': expected an integer, got True"),
        (
            lambda d: operations_of(d)[0].update(stations=["M1"]),
            r"needs exactly one of .* \(found 'station', 'stations'\)",
        ),
        (lambda d: d["stations"][1].update(capacity=0), r"station M1: 'capacity': below 1 value 0"),
        (
            lambda d: d["stations"][0].update(closed=[[5, 5]]),
            r"station M0: closed period 0: end 5 is not after start 5",
        ),
        (lambda d: d["jobs"][0].update(operations=[]), r"job J0: has no operations"),
    ],
    ids=[
        "negative duration",
        "negative duration among alternatives",
        "duplicate operation id",
        "duplicate station id",
        "duplicate job id",
        "missing duration",
        "missing operation id",
        "missing operations",
        "missing stations",
        "unknown predecessor",
        "duration as text",
        "duration as boolean",
        "two station forms",
        "zero capacity",
        "empty closed period",
        "job without operations",
    ],
)
def test_a_malformed_problem_is_refused_with_a_message_naming_the_problem(change: object, message: str) -> None:
    document = contract_example()
    assert callable(change)
    change(document)

    with pytest.raises(ProblemError, match=message):
        parse_problem(document)


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ProblemError, match="problem: expected an object, got list"):
        parse_problem([])
