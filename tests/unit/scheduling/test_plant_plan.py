"""The plant's remaining work as a schedule: completion, risk, capacity and commit dates on hand-built cases."""

from datetime import UTC, date, datetime, timedelta

import pytest

from scheduling.plant import JobWork, SheetWork, capacity_forecast, commit_date, fresh_job, job_estimates, plan
from tests.unit.core.floor import default_factory

FACTORY = default_factory()
MONDAY_6AM = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def _job(job_id: str, sets: int = 1, due: date | None = None) -> JobWork:
    return fresh_job(job_id, FACTORY.product("base-18up"), sets, due)


def test_a_fresh_job_on_an_idle_plant_finishes_after_its_critical_path_and_setups() -> None:
    # press: 30 min setup + 2; foil 2 (its setup overlaps the press); cut 1; QA 18 x 0.25 -> 5;
    # assembly 18 x 0.08 -> 2; pack 2: done 44 minutes after 06:00.
    result = plan(FACTORY, [_job("J1001", due=date(2026, 11, 2))], MONDAY_6AM, time_limit=5)
    assert result.completion_of("J1001") == MONDAY_6AM + timedelta(minutes=44)
    (estimate,) = job_estimates(result)
    assert not estimate.at_risk


def test_work_already_done_is_not_planned_again() -> None:
    product = FACTORY.product("base-18up")
    remaining = {"qa": 3, "assembly": 18, "pack": 1}  # printed and cut; 15 cards passed QA already
    job = JobWork(
        job_id="J1001",
        product_id=product.product_id,
        due_date=None,
        sheets=(SheetWork(sheet_id="J1001-S001", remaining=remaining),),
    )
    result = plan(FACTORY, [job], MONDAY_6AM, time_limit=5)
    assert sorted(op.operation_id for op in result.operations) == ["assembly", "pack", "qa"]
    # QA 3 x 0.25 -> 1, assembly 2, pack 2
    assert result.completion_of("J1001") == MONDAY_6AM + timedelta(minutes=5)


def test_a_job_due_before_it_can_finish_is_at_risk() -> None:
    result = plan(FACTORY, [_job("J1001", sets=4, due=date(2026, 11, 1))], MONDAY_6AM, time_limit=5)
    (estimate,) = job_estimates(result)
    assert estimate.at_risk
    assert estimate.late_by_hours > 6
    assert estimate.driving_station_id is not None


def test_work_never_spans_the_plants_closed_hours() -> None:
    friday_evening = datetime(2026, 11, 6, 21, 50, tzinfo=UTC)
    result = plan(FACTORY, [_job("J1001")], friday_evening, time_limit=5)
    for op in result.operations:
        occupied_from = op.start - timedelta(minutes=op.setup_minutes)
        opens = occupied_from.replace(hour=6, minute=0)
        closes = occupied_from.replace(hour=22, minute=0)
        assert occupied_from.weekday() < 5
        assert opens <= occupied_from < op.end <= closes, op
    assert result.completion_of("J1001").date() == date(2026, 11, 9)  # type: ignore[union-attr]


def test_the_capacity_forecast_counts_setup_and_processing_against_open_hours() -> None:
    result = plan(FACTORY, [_job("J1001")], MONDAY_6AM, time_limit=5)
    forecast = capacity_forecast(result, FACTORY, days=7)
    monday_presses = [d for d in forecast.days if d.day == date(2026, 11, 2) and d.station_id.startswith("PRESS")]
    assert sum(d.scheduled_hours for d in monday_presses) == pytest.approx(32 / 60, abs=0.02)
    assert all(d.available_hours == 16 for d in monday_presses)
    saturday = [d for d in forecast.days if d.day == date(2026, 11, 7)]
    assert all(d.available_hours == 0 for d in saturday)
    assert forecast.bottleneck_station_id is not None


def test_a_commit_date_holds_when_the_plant_has_room_and_fails_when_it_does_not() -> None:
    loaded = [_job("J1001", sets=2, due=date(2026, 11, 20))]
    roomy = commit_date(FACTORY, loaded, MONDAY_6AM, product_id="numbered-9up", sets=3, requested=date(2026, 11, 30))
    assert roomy.feasible
    assert roomy.margin_hours > 0
    tight = commit_date(FACTORY, loaded, MONDAY_6AM, product_id="numbered-9up", sets=3, requested=date(2026, 11, 1))
    assert not tight.feasible
    assert tight.earliest_completion == roomy.earliest_completion
