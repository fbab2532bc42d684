"""Before anything was recorded every page shows an empty plant plainly, never an exception."""

from datetime import timedelta

from tests.apps.dashboard.conftest import FixturePlant, open_page


def test_capacity_has_nothing_to_schedule(plant: FixturePlant) -> None:
    app = open_page(plant.planner_token, "capacity", known_at=plant.built_before - timedelta(minutes=1))

    assert app.info[0].value == "Nothing left to schedule: every job is packed."
    assert {metric.label: metric.value for metric in app.metric}["Jobs at risk"] == "0 of 0"


def test_the_station_floor_is_idle(plant: FixturePlant) -> None:
    app = open_page(plant.planner_token, "station_floor", known_at=plant.built_before - timedelta(minutes=1))

    assert app.dataframe[0].value["waiting_units"].sum() == 0
    assert app.success[0].value == "No open set has a card absent past its timeout."


def test_quality_has_nothing_to_say(plant: FixturePlant) -> None:
    app = open_page(plant.analyst_token, "quality", known_at=plant.built_before - timedelta(minutes=1))

    assert app.success[0].value == "No operation took more than twice its standard time."
    assert app.info[0].value == "No QA inspection yet."


def test_traceability_knows_no_job_yet(plant: FixturePlant) -> None:
    app = open_page(plant.analyst_token, "traceability", known_at=plant.built_before - timedelta(minutes=1))

    app.text_input(key="trace_query").input("J1001").run()

    assert app.warning[0].value == "No job J1001 in this plant at that moment."
