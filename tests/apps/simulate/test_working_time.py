"""Station calendars: work pauses outside operating hours and resumes at the next opening."""

from datetime import UTC, datetime

from apps.simulate.working_time import StationCalendar
from core.factory import OperatingHours

WEEKDAYS_6_TO_22 = OperatingHours(weekdays=(0, 1, 2, 3, 4), start_minute=6 * 60, end_minute=22 * 60)
MONDAY_0600 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def test_work_going_on_at_closing_time_resumes_the_next_morning() -> None:
    calendar = StationCalendar.for_hours(WEEKDAYS_6_TO_22, MONDAY_0600)
    nearly_closing = 16 * 60 - 2.0  # Monday 21:58
    assert calendar.add_work(nearly_closing, 5.0) == 24 * 60 + 3.0  # Tuesday 06:03


def test_friday_evening_work_resumes_on_monday() -> None:
    calendar = StationCalendar.for_hours(WEEKDAYS_6_TO_22, MONDAY_0600)
    friday_2130 = 4 * 24 * 60 + 15.5 * 60
    assert calendar.add_work(friday_2130, 60.0) == 7 * 24 * 60 + 30.0  # Monday 06:30


def test_a_closed_station_opens_at_its_next_shift_and_counts_only_open_minutes() -> None:
    calendar = StationCalendar.for_hours(WEEKDAYS_6_TO_22, MONDAY_0600)
    saturday_noon = 5 * 24 * 60 + 6 * 60
    assert not calendar.is_open(saturday_noon)
    assert calendar.next_open(saturday_noon) == 7 * 24 * 60
    assert calendar.open_minutes_between(0.0, 7 * 24 * 60) == 5 * 16 * 60


def test_a_simulation_starting_midweek_at_night_knows_its_place_in_the_week() -> None:
    wednesday_2300 = datetime(2026, 1, 7, 23, 0, tzinfo=UTC)
    calendar = StationCalendar.for_hours(WEEKDAYS_6_TO_22, wednesday_2300)
    assert calendar.next_open(0.0) == 7 * 60  # Thursday 06:00


def test_the_live_plant_never_closes() -> None:
    calendar = StationCalendar.around_the_clock()
    assert calendar.add_work(123.0, 10_000.0) == 10_123.0
