from __future__ import annotations

import json

import pytest

from scheduling import ProblemError, jobshop_mapping, load_jobshop, solve, verify

from .conftest import EMBEDDED_FT06, REPO, SHARED_FT06


@pytest.mark.skipif(not SHARED_FT06.exists(), reason="shared/examples is not beside the repository")
def test_the_embedded_ft06_text_converts_to_the_shared_example_exactly() -> None:
    converted = jobshop_mapping(EMBEDDED_FT06.read_text(encoding="utf-8"))

    assert converted == json.loads(SHARED_FT06.read_text(encoding="utf-8"))


def test_every_embedded_instance_converts_to_a_valid_problem() -> None:
    instances = sorted((REPO / "benchmarks" / "instances").iterdir())

    assert [path.name for path in instances][:3] == ["ft06", "ft10", "ft20"]
    for path in instances:
        problem = load_jobshop(path)
        assert problem.jobs, path.name


def test_a_converted_instance_is_solvable_like_any_problem() -> None:
    problem = load_jobshop(EMBEDDED_FT06)

    schedule = solve(problem, time_limit=20)

    assert schedule.makespan == 55
    assert verify(problem, schedule) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "missing the 'jobs machines' header"),
        ("2 2\n0 1 1 1\n", "needs 8 numbers, got 4"),
        ("1 1\n0 x\n", "line 2: 'x' is not an integer"),
    ],
)
def test_malformed_job_shop_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(ProblemError, match=message):
        jobshop_mapping(text)


def test_the_plain_job_shop_model_also_finds_ft06_optimal() -> None:
    from ortools.sat.python import cp_model

    from scheduling import plain_jobshop_model

    model, makespan = plain_jobshop_model(load_jobshop(EMBEDDED_FT06))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = 20

    assert solver.solve(model) == cp_model.OPTIMAL
    assert solver.value(makespan) == 55
