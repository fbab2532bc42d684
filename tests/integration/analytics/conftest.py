"""Plants shared by the detector tests: synthetic floors (fast) and simulated plants (slow), with and without
injected anomalies."""

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from projections.data_dir import DataDir, resolve_data_dir
from tests.integration.analytics.synthetic_floor import SyntheticFloor, build_floor


@pytest.fixture(scope="package")
def floor() -> SyntheticFloor:
    return build_floor(days=8, seed=11, anomalies=True)


@pytest.fixture(scope="package")
def quiet_floor() -> SyntheticFloor:
    return build_floor(days=8, seed=11, anomalies=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class SimulatedPlant:
    data: DataDir
    truth: pl.DataFrame
    failure_probabilities: pl.DataFrame  # card_unit_id, attempt, true_probability: the simulator's own


def _simulate(root: Path, *, seed: int, anomalies: bool) -> SimulatedPlant:
    from apps.simulate.runner import simulate
    from apps.simulate.scenario import Scenario
    from benchmarks.analytics_eval import recorded_failure_probabilities

    data = resolve_data_dir(root)
    with recorded_failure_probabilities() as recorded:
        simulate(data, days=3, seed=seed, progress=False, scenario=Scenario(inject_anomalies=anomalies))
    return SimulatedPlant(
        data=data,
        truth=pl.read_parquet(data.simulation_dir / "truth.parquet"),
        failure_probabilities=pl.DataFrame(
            recorded, schema=["card_unit_id", "attempt", "true_probability"], orient="row"
        ),
    )


@pytest.fixture(scope="session")
def simulated_plant(tmp_path_factory: pytest.TempPathFactory) -> SimulatedPlant:
    """Three working days of the demo plant with every kind of injected anomaly (seed 7)."""
    return _simulate(tmp_path_factory.mktemp("anomalous"), seed=7, anomalies=True)


@pytest.fixture(scope="session")
def quiet_plant(tmp_path_factory: pytest.TempPathFactory) -> SimulatedPlant:
    """Three working days of the demo plant with nothing injected (seed 8)."""
    return _simulate(tmp_path_factory.mktemp("quiet"), seed=8, anomalies=False)
