"""Working time: minutes a station is open between two instants, from its operating hours.

Delays and durations that cross a night or a weekend are measured on the clock the plant works by, so an
operation started at 21:55 and completed at 06:05 the next morning took ten working minutes, not eight hours.
"""

from datetime import datetime

import polars as pl

from core.factory import OperatingHours

# A Monday: working time is counted from here in whole weeks, so weekday arithmetic stays integer.
_EPOCH_MONDAY = datetime(1970, 1, 5)
_MINUTES_PER_DAY = 24 * 60


def working_minutes_since_epoch(instant: pl.Expr, hours: OperatingHours) -> pl.Expr:
    """Open minutes from a fixed Monday up to `instant` (a UTC datetime expression): a monotone working clock."""
    naive = instant.dt.replace_time_zone(None)
    elapsed_minutes = (naive - pl.lit(_EPOCH_MONDAY)).dt.total_seconds() / 60.0
    day_index = (elapsed_minutes // _MINUTES_PER_DAY).cast(pl.Int64)
    week_index = day_index // 7
    weekday = day_index - week_index * 7
    minute_of_day = elapsed_minutes - day_index * _MINUTES_PER_DAY
    open_days = sorted(hours.weekdays)
    open_per_day = float(hours.minutes_per_day)
    # Open days strictly before this weekday within the week.
    days_before = pl.lit(0, dtype=pl.Int64)
    for open_day in open_days:
        days_before = days_before + (weekday > open_day).cast(pl.Int64)
    is_open_day = weekday.is_in(open_days)
    open_today = pl.when(is_open_day).then((minute_of_day - hours.start_minute).clip(0.0, open_per_day)).otherwise(0.0)
    return week_index * len(open_days) * open_per_day + days_before * open_per_day + open_today


def working_minutes_between(start: pl.Expr, end: pl.Expr, hours: OperatingHours) -> pl.Expr:
    """Open minutes in [start, end]; negative when end precedes start."""
    return working_minutes_since_epoch(end, hours) - working_minutes_since_epoch(start, hours)


def working_hours_between(start: datetime, end: datetime, hours: OperatingHours) -> float:
    """The same for two plain datetimes (a detection delay, say), in hours."""
    frame = pl.DataFrame({"start": [start], "end": [end]})
    minutes = frame.select(working_minutes_between(pl.col("start"), pl.col("end"), hours)).item()
    return float(minutes) / 60.0
