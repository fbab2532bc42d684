"""Station floor: queues, today's throughput against rated capacity, the oldest waiting work, absence alerts."""

from datetime import UTC, datetime

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.apps.dashboard.conftest import FixturePlant, open_page

MONDAY_AFTERNOON = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def stations(app: AppTest) -> pd.DataFrame:
    table: pd.DataFrame = app.dataframe[0].value.set_index("station_id")
    return table


def test_the_live_floor_shows_queues_and_the_set_missing_cards(plant: FixturePlant) -> None:
    app = open_page(plant.planner_token, "station_floor")

    table = stations(app)
    assert table.loc["FOIL-1", "in_progress_units"] == 1
    assert table.loc["FOIL-1", "in_progress_hours"] == 2.0 / 60
    assert table.loc["MEMO-1", "waiting_units"] == 6
    assert table.loc["MEMO-1", "waiting_hours"] == 0.1
    assert table.loc["MEMO-1", "oldest_waiting_id"] == "J1002-S001-04"
    assert table.loc["ASSEMBLY-1", "waiting_units"] == 1
    assert table.loc["ASSEMBLY-1", "oldest_waiting_id"] == "J1002-S001-03"
    assert table["waiting_units"].sum() == 7
    assert len(app.error) == 1
    assert app.error[0].value.startswith("A-J1002-S001 at ASSEMBLY-1: positions 03, 04, 05, 06, 07, 08, 09 absent")
    links = app.get("page_link")
    assert [(link.label, link.page) for link in links][:1] == [("Open A-J1002-S001", "traceability")]


def test_travelling_to_that_monday_afternoon_shows_what_each_station_did_that_day(plant: FixturePlant) -> None:
    app = open_page(plant.planner_token, "station_floor", as_of=MONDAY_AFTERNOON)

    table = stations(app)
    assert table["done_today"].to_dict() == {
        "PRESS-1": 2,
        "PRESS-2": 1,
        "FOIL-1": 1,
        "UV-1": 1,
        "CUT-1": 2,
        "SERIAL-1": 9,
        "MEMO-1": 3,
        "QA-BENCH-1": 17,
        "QA-BENCH-2": 4,
        "QA-BENCH-3": 3,
        "ASSEMBLY-1": 20,
        "PACK-1": 1,
    }
    assert table.loc["PRESS-1", "rated_so_far"] == 40 * 8  # 40 sheets/hour, open since 06:00
    assert table.loc["PRESS-1", "rated_today"] == 40 * 16
    assert app.caption[0].value.startswith("As at Mon 02 Nov 2026 14:00 UTC")


def test_the_absence_alert_appears_only_once_the_timeout_has_passed(plant: FixturePlant) -> None:
    before = open_page(plant.planner_token, "station_floor", as_of=datetime(2026, 11, 2, 10, 0, tzinfo=UTC))
    assert not before.error
    assert before.success[0].value == "No open set has a card absent past its timeout."

    after = open_page(plant.planner_token, "station_floor", as_of=datetime(2026, 11, 2, 11, 0, tzinfo=UTC))
    assert after.error[0].value.startswith("A-J1002-S001 at ASSEMBLY-1")


def test_as_known_before_the_late_sync_the_set_was_never_opened(plant: FixturePlant) -> None:
    app = open_page(plant.planner_token, "station_floor", as_of=MONDAY_AFTERNOON, known_at=plant.late_sync_at)
    late = open_page(
        plant.planner_token,
        "station_floor",
        as_of=MONDAY_AFTERNOON,
        known_at=datetime(2026, 11, 2, 8, 59, tzinfo=UTC),
    )

    assert app.error
    assert not late.error
    assert stations(late).loc["ASSEMBLY-1", "waiting_units"] == 3
    assert stations(late).loc["PRESS-2", "in_progress_units"] == 1
    assert stations(late).loc["FOIL-1", "in_progress_units"] == 0
    assert stations(app).loc["ASSEMBLY-1", "waiting_units"] == 1


def test_choosing_a_station_shows_its_work_and_links_its_oldest_waiting_card(plant: FixturePlant) -> None:
    app = open_page(plant.planner_token, "station_floor")

    app.selectbox(key="floor_station").select("MEMO-1").run()

    shown = {metric.label: (metric.value, metric.delta) for metric in app.metric}
    assert shown["Waiting"] == ("6 units", "0.1 standard h")
    assert shown["Oldest waiting"][0] == "J1002-S001-04"
    assert ("Open J1002-S001-04", "traceability") in [(link.label, link.page) for link in app.get("page_link")]
