"""Drift: the failing foil die and the slowing cutter are found soon after onset; a healthy floor stays quiet."""

import numpy as np
import polars as pl

from core.factory import OperatingHours
from projections.analytics.drift import (
    cusum_episodes,
    expected_failure_rates,
    failure_rate_alarms,
    ramp_statistics,
    speed_alarms,
    station_alarms,
)
from projections.analytics.working_time import working_hours_between
from tests.integration.analytics.synthetic_floor import SyntheticFloor

WORKING_WEEK = OperatingHours(weekdays=(0, 1, 2, 3, 4), start_minute=6 * 60, end_minute=22 * 60)
UPSTREAM_STATIONS = ("foil_station_id", "press_station_id", "station_id")


def _failure_alarms(floor: SyntheticFloor) -> pl.DataFrame:
    inspections = expected_failure_rates(floor.inspections)
    return pl.concat(
        failure_rate_alarms(inspections, station_column=column, onset_column="foil_completed_at")
        for column in UPSTREAM_STATIONS
    )


def test_a_cusum_dates_the_onset_where_the_evidence_began_and_ends_when_it_fades() -> None:
    increments = np.array([-1.0] * 10 + [2.0] * 5 + [-1.0] * 30)
    (episode,) = cusum_episodes(increments, threshold=5.0)
    assert (episode.onset, episode.alarm) == (10, 12)
    assert episode.end < 30  # the capped sum falls back to zero soon after the change ends


def test_the_ramp_statistic_dates_a_linear_slowdown_where_it_began() -> None:
    rng = np.random.default_rng(5)
    operations = np.full(120, 20.0)
    slope = np.where(np.arange(120) >= 60, (np.arange(120) - 59) * 0.02, 0.0)  # per-operation mean deviation
    deviations = rng.normal(slope * operations, np.sqrt(operations))
    fit = ramp_statistics(deviations, operations, window=100)
    assert fit.statistic[:55].max() < 10
    assert fit.statistic[-1] > 50
    assert abs(int(fit.onset[-1]) - 60) <= 6
    assert fit.level[-1] > 0.5  # about 60 hours x 0.02


def test_an_empty_plant_raises_no_alarm() -> None:
    empty = pl.DataFrame(schema={"inspected_at": pl.Datetime("us", "UTC"), "failed": pl.Boolean})
    assert station_alarms(empty, pl.DataFrame()).height == 0


def test_the_failing_foil_die_is_flagged_within_four_working_hours_of_its_onset(floor: SyntheticFloor) -> None:
    assert floor.die_onset is not None
    foil = _failure_alarms(floor).filter(pl.col("station_id") == "FOIL-1", pl.col("alarm_at") >= floor.die_onset)
    first = foil.row(0, named=True)
    delay = working_hours_between(floor.die_onset, first["alarm_at"], WORKING_WEEK)
    print(f"foil die flagged after {delay:.2f} working hours; {first['explanation']}")
    assert delay <= 4.0
    assert abs(working_hours_between(floor.die_onset, first["onset_at"], WORKING_WEEK)) < 1.0


def test_the_slowing_cutter_is_flagged_within_two_working_days(floor: SyntheticFloor) -> None:
    assert floor.drift_onset is not None
    alarms = speed_alarms(floor.durations)
    assert set(alarms["station_id"]) == {"CUT-1"}
    first = alarms.row(0, named=True)
    delay = working_hours_between(floor.drift_onset, first["alarm_at"], WORKING_WEEK)
    print(f"drift flagged after {delay:.1f} working hours; {first['explanation']}")
    assert 0 <= delay <= 32.0


def test_a_healthy_floor_raises_no_drift_alarm(quiet_floor: SyntheticFloor) -> None:
    assert _failure_alarms(quiet_floor).height == 0
    assert speed_alarms(quiet_floor.durations).height == 0
