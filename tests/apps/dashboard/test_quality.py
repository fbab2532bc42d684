"""Quality: operations over twice their standard, QA failure rates with intervals, anomalies, and the cards behind."""

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from tests.apps.dashboard.conftest import FixturePlant, open_page


def captions(app: AppTest) -> str:
    return "\n".join(caption.value for caption in app.main.caption)


@pytest.fixture
def quality(plant: FixturePlant) -> AppTest:
    return open_page(plant.analyst_token, "quality")


def test_the_two_operations_over_twice_their_standard_are_listed_slowest_first(quality: AppTest) -> None:
    slow = quality.dataframe[0].value

    assert slow[["entity_id", "operation_id", "station_id", "operator_id"]].values.tolist() == [
        ["J1001-S002", "press", "PRESS-2", "OP-7"],
        ["J1001-S001", "foil", "FOIL-1", "OP-7"],
    ]
    foil = slow.set_index("operation_id").loc["foil"]
    assert foil["actual_minutes"] == pytest.approx(10 + 20 / 60)
    assert foil["standard_minutes"] == 2.0
    assert foil["ratio"] == pytest.approx((10 + 20 / 60) / 2.0)


def test_failure_rates_by_bench_carry_wilson_intervals(quality: AppTest) -> None:
    assert "24 inspections, 12.5% failed plant-wide (dashed line)." in captions(quality)
    rates = quality.dataframe[1].value.set_index("level")

    assert rates[["inspections", "failures"]].to_dict("index") == {
        "QA-BENCH-3": {"inspections": 3, "failures": 3},
        "QA-BENCH-2": {"inspections": 4, "failures": 0},
        "QA-BENCH-1": {"inspections": 17, "failures": 0},
    }
    assert rates.loc["QA-BENCH-3", "failure_rate"] == 1.0
    assert rates.loc["QA-BENCH-3", "rate_low"] == pytest.approx(0.4385, abs=1e-4)  # Wilson, 3 of 3
    assert rates.loc["QA-BENCH-1", "rate_high"] == pytest.approx(0.1843, abs=1e-4)  # Wilson, 0 of 17


@pytest.mark.parametrize(
    ("factor", "level", "inspections", "failures"),
    [
        ("operator_id", "OP-13", 3, 3),
        ("product_id", "numbered-9up", 3, 0),
        ("position", "5", 3, 2),
        ("hour", "6", 24, 3),
    ],
)
def test_failure_rates_by_operator_product_position_and_hour(
    quality: AppTest, factor: str, level: str, inspections: int, failures: int
) -> None:
    quality.radio(key="qa_factor").set_value(factor).run()

    rates = quality.dataframe[1].value.set_index("level")
    assert (rates.loc[level, "inspections"], rates.loc[level, "failures"]) == (inspections, failures)


def test_a_failure_rate_drills_down_to_the_inspected_cards(quality: AppTest) -> None:
    quality.selectbox(key="rate_drill").select("QA-BENCH-3").run()

    behind = quality.dataframe[2].value
    assert behind["card_unit_id"].tolist() == ["J1001-S001-07", "J1001-S001-05", "J1001-S001-05"]
    assert set(behind["result"]) == {"FAIL"}
    assert quality.main.caption[-1].value == "3 inspection(s) behind QA bench QA-BENCH-3, 3 failed"


def test_a_slow_sheet_operation_drills_down_to_the_sheets_cards(quality: AppTest) -> None:
    quality.selectbox(key="slow_drill").select("J1001-S001").run()

    cards = quality.dataframe[1].value
    assert len(cards) == 19  # 18 cut from the sheet and the replacement that stands in for 05
    links = [(link.label, link.page) for link in quality.get("page_link")]
    assert ("Open J1001-S001 in Traceability", "traceability") in links


def test_nothing_is_flagged_as_anomalous_on_so_little_history(quality: AppTest) -> None:
    assert quality.success[-1].value.startswith("The detectors flag nothing")


def test_travelling_back_to_the_first_failure_shows_only_what_had_happened(plant: FixturePlant) -> None:
    app = open_page(plant.analyst_token, "quality", as_of=plant.cut_at + timedelta(minutes=2))

    assert "5 inspections, 20.0% failed plant-wide (dashed line)." in captions(app)
    slow = app.dataframe[0].value
    assert slow["entity_id"].tolist() == ["J1001-S001"]
