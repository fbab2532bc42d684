"""One simulated plant for the whole package: a short run through the real service and store.

Under pytest-xdist every worker asks for the plant; the first simulates it into the run's shared temporary
directory (under a file lock) and the others read the same log, so the default suite pays for it once.
"""

import fcntl
import pickle
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import pytest

from apps.simulate.runner import SimulationSummary, simulate
from apps.simulate.scenario import JobMix, Scenario
from apps.simulate.truth import TruthRow, read_truth
from core.envelope import RecordedEvent
from core.reference import ReferenceViews, project
from projections.data_dir import DataDir
from projections.store import EventStore

SEED = 11
DAYS = 2


# A lighter plant for the tests that only compare runs: fewer, smaller jobs.
LIGHT = replace(
    Scenario(),
    jobs_per_day=4.0,
    initial_jobs=2,
    mix={
        "base-18up": JobMix(share=0.6, median_sets=20, max_sets=50),
        "numbered-9up": JobMix(share=0.4, median_sets=10, max_sets=30, base_failure_rate=0.04),
    },
)


@dataclass(frozen=True)
class SimulatedPlant:
    data: DataDir
    summary: SimulationSummary
    log: list[RecordedEvent]
    truth: list[TruthRow]

    @cached_property
    def views(self) -> ReferenceViews:
        """The reference folds over the whole log (the specification every read model must equal)."""
        return project(self.log)


def read_log(data: DataDir) -> list[RecordedEvent]:
    log: list[RecordedEvent] = []
    with EventStore(data, read_only=True) as store:
        while chunk := store.read(len(log), 100_000):
            log.extend(chunk)
    return log


def run(root: Path, days: float, seed: int, scenario: Scenario | None = None) -> SimulatedPlant:
    data = DataDir(root=root)
    summary = simulate(data, days=days, seed=seed, progress=False, scenario=scenario)
    return SimulatedPlant(data=data, summary=summary, log=read_log(data), truth=read_truth(data))


@pytest.fixture(scope="package")
def plant(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> SimulatedPlant:
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    root = shared / f"simulated-plant-{SEED}-{DAYS}"
    root.mkdir(parents=True, exist_ok=True)
    summary_file = root / "summary.pickle"
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not summary_file.exists():
            summary_file.write_bytes(pickle.dumps(run(root / "data", DAYS, SEED).summary))
    data = DataDir(root=root / "data")
    summary: SimulationSummary = pickle.loads(summary_file.read_bytes())
    return SimulatedPlant(data=data, summary=summary, log=read_log(data), truth=read_truth(data))
