"""Capacity: the plan of the remaining work, the bottleneck, jobs at risk and "can we commit?" without writing."""

from datetime import UTC, date, datetime, timedelta

from streamlit.testing.v1 import AppTest

from tests.apps.dashboard.conftest import FixturePlant, open_page

MONDAY_AFTERNOON = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def ask(app: AppTest, product: str, sets: int, wanted_by: date) -> AppTest:
    app.selectbox(key="commit_product").select(product)
    app.number_input(key="commit_sets").set_value(sets)
    app.date_input(key="commit_date").set_value(wanted_by)
    app.get("form_submit_button")[0].click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_today_both_jobs_are_late_and_the_table_names_what_delays_them(plant: FixturePlant) -> None:
    app = open_page(plant.planner_token, "capacity")

    assert metrics(app)["Jobs at risk"] == "2 of 2"
    at_risk = app.dataframe[0].value
    assert at_risk["job_id"].tolist() == ["J1001", "J1002"]
    assert (at_risk["late_by_hours"] > 0).all()
    assert set(at_risk["driving_station_id"]) <= {"FOIL-1", "CUT-1", "MEMO-1", "QA-BENCH-1", "ASSEMBLY-1", "PACK-1"}
    assert metrics(app)["Bottleneck"] in {"FOIL-1", "CUT-1", "MEMO-1", "QA-BENCH-1", "ASSEMBLY-1", "PACK-1"}
    assert metrics(app)["Schedule"] in {"OPTIMAL", "FEASIBLE"}


def test_planned_from_that_monday_afternoon_every_job_is_on_time(plant: FixturePlant) -> None:
    app = open_page(plant.planner_token, "capacity", as_of=MONDAY_AFTERNOON)

    assert metrics(app)["Planned at (UTC)"] == "02 Nov 14:00"
    assert metrics(app)["Jobs at risk"] == "0 of 2"
    assert app.success[0].value == "Every open job is estimated to finish by its due date."
    estimates = app.dataframe[-1].value
    assert estimates["job_id"].tolist() == ["J1001", "J1002"]
    assert (estimates["estimated_completion"].dt.date == date(2026, 11, 2)).all()


def test_the_horizon_control_sets_the_days_the_load_is_reported_over(plant: FixturePlant) -> None:
    app = open_page(plant.planner_token, "capacity", as_of=MONDAY_AFTERNOON)

    app.slider(key="capacity_days").set_value(7).run()

    bottleneck = next(metric for metric in app.metric if metric.label == "Bottleneck")
    assert bottleneck.delta.endswith("loaded over 7 days")


def test_a_small_job_wanted_the_same_day_can_be_committed(plant: FixturePlant) -> None:
    app = open_page(plant.planner_token, "capacity", as_of=MONDAY_AFTERNOON)

    ask(app, "base-18up", 10, date(2026, 11, 2))

    assert app.success[-1].value.startswith("Yes: 10 sets of base-18up can be done by Mon 02 Nov")


def test_a_job_wanted_before_the_plan_starts_cannot_be_committed(plant: FixturePlant) -> None:
    app = open_page(plant.planner_token, "capacity")

    ask(app, "numbered-9up", 20, datetime.now(UTC).date() - timedelta(days=1))

    assert app.error[0].value.startswith("No: the earliest completion is")


def test_asking_writes_nothing(plant: FixturePlant) -> None:
    app = open_page(plant.planner_token, "capacity", as_of=MONDAY_AFTERNOON)
    before = files_and_times(plant)

    ask(app, "base-18up", 40, date(2026, 11, 30))

    assert app.success or app.error
    assert files_and_times(plant) == before


def files_and_times(plant: FixturePlant) -> list[tuple[str, int]]:
    return sorted((str(path), path.stat().st_mtime_ns) for path in plant.data_dir.root.rglob("*") if path.is_file())
