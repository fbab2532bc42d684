"""Operation-time anomalies on synthetic floors: the injected long operations are found, the rest left alone."""

from datetime import UTC, datetime, timedelta

import polars as pl

from projections.analytics.floor_facts import in_working_minutes
from projections.analytics.operation_anomalies import find_operation_anomalies, score_operations
from projections.data_dir import DEFAULT_FACTORY, load_factory
from tests.integration.analytics.synthetic_floor import SLOW_OPERATOR, SyntheticFloor

KEYS = ["entity_id", "operation_id"]


def test_the_injected_long_operations_are_found_with_high_precision_and_recall(floor: SyntheticFloor) -> None:
    flagged = find_operation_anomalies(floor.durations)
    found = flagged.join(floor.injected_operations, on=KEYS).height
    precision, recall = found / flagged.height, found / floor.injected_operations.height
    assert precision >= 0.9
    assert recall >= 0.9


def test_a_floor_without_injected_anomalies_raises_almost_no_flags(quiet_floor: SyntheticFloor) -> None:
    flagged = find_operation_anomalies(quiet_floor.durations)
    false_positive_rate = flagged.height / quiet_floor.durations.height
    print(f"false-positive rate on a quiet floor: {false_positive_rate:.5f} ({flagged.height} operations)")
    assert false_positive_rate < 0.001


def test_a_habitually_slow_operator_breaks_the_rule_but_is_not_an_anomaly(quiet_floor: SyntheticFloor) -> None:
    scored = score_operations(quiet_floor.durations)
    theirs = scored.filter(pl.col("operator_id") == SLOW_OPERATOR)
    assert theirs["over_rule"].mean() > 0.02  # the plain rule would flag a share of their ordinary day
    assert theirs["anomalous"].sum() == 0


def test_every_flag_explains_itself_in_the_words_of_the_floor(floor: SyntheticFloor) -> None:
    flagged = find_operation_anomalies(floor.durations)
    first = flagged.row(0, named=True)
    explanation = first["explanation"]
    assert first["station_id"] in explanation
    assert first["operator_id"] in explanation
    assert "standard" in explanation
    assert "robust deviations slow" in explanation


def test_the_first_operation_after_a_changeover_is_not_flagged_for_carrying_the_setup() -> None:
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    sheets = 61
    durations = pl.DataFrame(
        {
            "entity_id": [f"J1001-S{i + 1:03d}" for i in range(sheets)],
            "operation_id": "press",
            "product_id": "base-18up",
            "station_id": "PRESS-1",
            "operator_id": "OP-101",
            "job_id": "J1001",
            "started_at": [start + timedelta(minutes=3 * i) for i in range(sheets)],
            # the first carries half an hour of setup; the rest wobble around 1.6 minutes
            "actual_minutes": [32.0] + [1.5 + 0.01 * (i % 20) for i in range(sheets - 1)],
            "standard_minutes": 1.5,
            "setup_minutes": 30.0,
        }
    ).with_columns(completed_at=pl.col("started_at") + pl.duration(seconds=pl.col("actual_minutes") * 60))
    first = score_operations(durations).filter(pl.col("run_index") == 0).row(0, named=True)
    assert first["over_rule"]
    assert first["after_setup"]
    assert not first["anomalous"]


def test_an_operation_paused_overnight_is_timed_in_working_minutes() -> None:
    factory = load_factory(DEFAULT_FACTORY)
    operations = pl.DataFrame(
        {
            "station_id": ["PRESS-1", "SERIAL-1"],
            "operator_id": ["OP-101", "OP-111"],
            "started_at": [datetime(2026, 1, 5, 21, 58, tzinfo=UTC), datetime(2026, 1, 9, 21, 59, tzinfo=UTC)],
            "completed_at": [datetime(2026, 1, 6, 6, 3, tzinfo=UTC), datetime(2026, 1, 12, 6, 1, tzinfo=UTC)],
            "elapsed_minutes": [485.0, 3482.0],
        }
    )
    timed = in_working_minutes(operations, factory).sort("station_id")
    assert timed["actual_minutes"].round(6).to_list() == [5.0, 2.0]
    assert timed["unit_id"].to_list() == ["PRESS-1", "SERIAL-1/OP-111"]  # SERIAL-1 has two units
