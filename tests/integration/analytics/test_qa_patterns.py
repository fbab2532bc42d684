"""QA failure patterns: rates with Wilson intervals, tested against the rest of the plant with corrections."""

import numpy as np
import polars as pl
import pytest

from projections.analytics.qa_patterns import adjust_p_values, failure_patterns, significant_patterns, wilson_interval
from tests.integration.analytics.synthetic_floor import ELEVATED_OPERATOR, SyntheticFloor

FACTORS = ["foil_operator_id", "press_station_id", "cut_operator_id", "operator_id", "position", "hour"]


def test_the_wilson_interval_matches_the_textbook_values() -> None:
    frame = pl.DataFrame({"failures": [0, 5, 50], "inspections": [10, 100, 100]})
    low, high = wilson_interval(pl.col("failures"), pl.col("inspections"))
    bounds = frame.select(low.alias("low"), high.alias("high"))
    # Wilson 95% intervals: 0/10 -> [0, 0.2775], 5/100 -> [0.0215, 0.1118], 50/100 -> [0.4038, 0.5962]
    assert bounds["low"].round(4).to_list() == [0.0, 0.0215, 0.4038]
    assert bounds["high"].round(4).to_list() == [0.2775, 0.1118, 0.5962]


def test_benjamini_hochberg_and_holm_adjust_as_their_definitions_say() -> None:
    p_values = np.array([0.01, 0.04, 0.03, 0.005])
    assert adjust_p_values(p_values, "benjamini-hochberg") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert adjust_p_values(p_values, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_the_operator_with_an_elevated_failure_rate_and_the_edge_positions_stand_out(floor: SyntheticFloor) -> None:
    worse = significant_patterns(failure_patterns(floor.inspections, FACTORS))
    found = set(zip(worse["factor"], worse["level"], strict=True))
    assert ("foil_operator_id", ELEVATED_OPERATOR) in found
    assert {("position", "1"), ("position", "18")} <= found
    assert "fails" in worse.filter(pl.col("level") == ELEVATED_OPERATOR)["finding"].item()


def test_on_a_floor_without_them_no_operator_or_station_stands_out(quiet_floor: SyntheticFloor) -> None:
    patterns = failure_patterns(quiet_floor.inspections, FACTORS)
    people_and_places = patterns.filter(pl.col("factor") != "position", pl.col("factor") != "hour")
    false_discoveries = significant_patterns(people_and_places, direction="both")
    print(f"false discoveries among {people_and_places.height} operators and stations: {false_discoveries.height}")
    # The late shift's operators work the late hours, which do fail more: that is a real pattern, not a false one.
    assert set(false_discoveries["factor"]) <= {"foil_operator_id", "cut_operator_id", "operator_id"}
    assert patterns.filter(pl.col("factor") == "press_station_id")["significant"].sum() == 0


def test_levels_with_too_few_inspections_are_reported_but_not_tested(floor: SyntheticFloor) -> None:
    few = floor.inspections.head(40)
    patterns = failure_patterns(few, ["position"], min_inspections=30)
    assert patterns["p_adjusted"].null_count() == patterns.height
    assert all(finding.endswith("too few inspections to test.") for finding in patterns["finding"])
