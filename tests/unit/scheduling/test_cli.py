from __future__ import annotations

import json
from pathlib import Path

import pytest

from scheduling.cli import run_schedule_command

from .conftest import SHARED_FT06


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_valid_problem_prints_the_schedule_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path,
        {
            "stations": [{"id": "M0"}],
            "jobs": [{"id": "J0", "operations": [{"id": "a", "station": "M0", "duration": 4}]}],
        },
    )

    code = run_schedule_command(path, 5.0, "makespan")

    output = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (output["status"], output["makespan"], output["lower_bound"]) == ("OPTIMAL", 4, 4)
    assert output["operations"] == [{"job": "J0", "id": "a", "station": "M0", "start": 0, "end": 4, "setup": 0}]


@pytest.mark.skipif(not SHARED_FT06.exists(), reason="shared/examples is not beside the repository")
def test_the_shared_ft06_example_gives_55_and_optimal(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_schedule_command(SHARED_FT06, 20.0, "makespan")

    output = json.loads(capsys.readouterr().out)
    assert (code, output["status"], output["makespan"]) == (0, "OPTIMAL", 55)


def test_an_unknown_station_exits_2_with_the_message_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        {
            "stations": [{"id": "M0"}],
            "jobs": [{"id": "J0", "operations": [{"id": "a", "station": "M9", "duration": 4}]}],
        },
    )

    code = run_schedule_command(path, 5.0, "makespan")

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err == "cardtrace schedule: job J0 operation a: unknown station 'M9'\n"


def test_a_file_that_is_not_json_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "problem.json"
    path.write_text("{not json", encoding="utf-8")

    code = run_schedule_command(path, 5.0, "makespan")

    assert code == 2
    assert capsys.readouterr().err.startswith(f"cardtrace schedule: {path}: not a JSON document")


def test_a_missing_file_and_an_unknown_objective_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_schedule_command(tmp_path / "absent.json", 5.0, "makespan") == 2
    assert run_schedule_command(tmp_path / "absent.json", 5.0, "profit") == 2

    errors = capsys.readouterr().err.splitlines()
    assert "No such file" in errors[0]
    assert errors[1] == "cardtrace schedule: unknown objective 'profit', expected one of makespan, tardiness"
