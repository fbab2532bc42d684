"""The classic job-shop text format (OR-Library, Taillard order) as a CONTRACTS section 6 problem.

The text is ``n m`` followed by one line per job of ``m`` pairs ``machine duration`` in the order the
job visits the machines; machines count from 0. Lines starting with ``#`` are comments. Machine
``k`` becomes station ``M{k}``, job ``j`` becomes ``J{j}`` and its ``i``-th operation ``J{j}-{i}``
(from 1), each depending on the one before, the naming of ``examples/ft06.json``.

>>> mapping = jobshop_mapping("2 1\\n0 3\\n0 2\\n")
>>> [operation["id"] for job in mapping["jobs"] for operation in job["operations"]]
['J0-1', 'J1-1']
"""

from __future__ import annotations

from pathlib import Path

from scheduling.problem import Problem, ProblemError, parse_problem


def jobshop_mapping(text: str) -> dict[str, list[dict[str, object]]]:
    numbers: list[int] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        for word in line.split():
            try:
                numbers.append(int(word))
            except ValueError:
                raise ProblemError(f"job-shop text line {line_number}: {word!r} is not an integer") from None
    if len(numbers) < 2:
        raise ProblemError("job-shop text: missing the 'jobs machines' header")
    jobs, machines = numbers[0], numbers[1]
    body = numbers[2:]
    if len(body) != 2 * jobs * machines:
        raise ProblemError(
            f"job-shop text: {jobs} jobs x {machines} machines needs {2 * jobs * machines} numbers, got {len(body)}"
        )
    return {
        "stations": [{"id": f"M{machine}", "capacity": 1} for machine in range(machines)],
        "jobs": [
            {
                "id": f"J{job}",
                "operations": [
                    {
                        "id": f"J{job}-{step + 1}",
                        "station": f"M{body[2 * (job * machines + step)]}",
                        "duration": body[2 * (job * machines + step) + 1],
                        "predecessors": [f"J{job}-{step}"] if step else [],
                    }
                    for step in range(machines)
                ],
            }
            for job in range(jobs)
        ],
    }


def load_jobshop(path: Path) -> Problem:
    return parse_problem(jobshop_mapping(path.read_text(encoding="utf-8")))
