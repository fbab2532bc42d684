from __future__ import annotations

import json
from pathlib import Path

import pytest

from scheduling import Problem, load_jobshop, parse_problem

REPO = Path(__file__).resolve().parents[3]
SHARED_FT06 = REPO.parent / "shared" / "examples" / "ft06.json"
EMBEDDED_FT06 = REPO / "benchmarks" / "instances" / "ft06"


@pytest.fixture
def ft06() -> Problem:
    # The shared example is the contract's reference; the embedded copy keeps the suite runnable without it.
    if SHARED_FT06.exists():
        return parse_problem(json.loads(SHARED_FT06.read_text(encoding="utf-8")))
    return load_jobshop(EMBEDDED_FT06)
