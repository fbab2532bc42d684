"""`cardtrace schedule --problem FILE`: the command body, for the CLI's composition root to call."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from scheduling.problem import ProblemError, parse_problem
from scheduling.schedule import OBJECTIVES, Objective
from scheduling.solve import solve


def run_schedule_command(problem_path: Path, time_limit: float, objective: str) -> int:
    """Solve the problem in ``problem_path``, print the schedule as JSON; 0 on success, 2 on bad input."""
    try:
        if objective not in OBJECTIVES:
            raise ProblemError(f"unknown objective {objective!r}, expected one of {', '.join(OBJECTIVES)}")
        if time_limit <= 0:
            raise ProblemError(f"time limit must be positive, got {time_limit}")
        document = json.loads(problem_path.read_text(encoding="utf-8"))
        problem = parse_problem(document)
    except (ProblemError, OSError) as error:
        print(f"cardtrace schedule: {error}", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        print(f"cardtrace schedule: {problem_path}: not a JSON document: {error}", file=sys.stderr)
        return 2
    chosen: Objective = "makespan" if objective == "makespan" else "tardiness"
    schedule = solve(problem, objective=chosen, time_limit=time_limit)
    json.dump(schedule.to_json_dict(), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0
