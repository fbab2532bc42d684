"""A small synthetic plant floor with known anomalies, shaped like the lake's operation durations and inspections.

Sheets of `base-18up` go press -> foil -> cut, then their 18 card units are inspected. Durations are
long-tailed around each operation's standard, with one habitually slow operator (not an anomaly); QA failure
depends on position, hour and the foil operator. Injected when `anomalies` is set: operations taking 2.5-5x
their normal time, a failing foil die on FOIL-1 for a period, an operator with an elevated failure rate and
CUT-1 drifting slower. Everything is vectorized numpy so a fortnight takes well under a second.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

MONDAY = datetime(2026, 1, 5, tzinfo=UTC)
OPEN_MINUTE = 6 * 60
DAY_MINUTES = 16 * 60
SHEET_OPERATIONS = (("press", 1.5), ("foil", 2.0), ("cut", 1.0))
STATIONS = {"press": ("PRESS-1", "PRESS-2"), "foil": ("FOIL-1",), "cut": ("CUT-1",)}
# Per station, the operator on the early (06-14) and late (14-22) shift.
SHIFTS = {
    "PRESS-1": ("OP-01", "OP-02"),
    "PRESS-2": ("OP-03", "OP-04"),
    "FOIL-1": ("OP-05", "OP-06"),
    "CUT-1": ("OP-07", "OP-08"),
    "QA-BENCH-1": ("OP-09", "OP-10"),
}
SLOW_OPERATOR = "OP-03"  # habitually 1.6x: the rule flags their ordinary day, the baseline must not
ELEVATED_OPERATOR = "OP-06"  # foil operator whose cards fail 3x as often


@dataclass(frozen=True, kw_only=True, slots=True)
class SyntheticFloor:
    durations: pl.DataFrame
    inspections: pl.DataFrame
    injected_operations: pl.DataFrame  # entity_id, operation_id of the injected long operations
    die_onset: datetime | None
    die_end: datetime | None
    drift_onset: datetime | None
    drift_station: str | None


def at_working_minute(minutes: np.ndarray) -> list[datetime]:
    """The instant `minutes` working minutes after Monday 06:00, on a Mon-Fri 06:00-22:00 week."""
    day = (minutes // DAY_MINUTES).astype(np.int64)
    week, weekday = day // 5, day % 5
    offsets = (week * 7 + weekday) * 24 * 60 + OPEN_MINUTE + (minutes - day * DAY_MINUTES)
    return [MONDAY + timedelta(minutes=float(m)) for m in offsets]


def working_minute_of(moment: datetime) -> float:
    elapsed = (moment - MONDAY).total_seconds() / 60
    days = int(elapsed // (24 * 60))
    week, weekday = divmod(days, 7)
    return (week * 5 + weekday) * DAY_MINUTES + (elapsed - days * 24 * 60 - OPEN_MINUTE)


def build_floor(*, days: int = 10, seed: int = 7, anomalies: bool = True) -> SyntheticFloor:
    rng = np.random.default_rng(seed)
    sheet_gap = 2.2  # working minutes between sheets entering the press
    sheets = int(days * DAY_MINUTES / sheet_gap) - 40
    start = np.arange(sheets) * sheet_gap
    sheet_ids = [f"J{1001 + i // 20:04d}-S{i % 20 + 1:03d}" for i in range(sheets)]
    job_ids = [s[:5] for s in sheet_ids]
    horizon = days * DAY_MINUTES
    die_window = (0.55 * horizon, 0.62 * horizon) if anomalies else None
    drift_from = 0.5 * horizon if anomalies else None

    rows: dict[str, list[object]] = {
        k: [] for k in ("entity_id", "operation_id", "station_id", "operator_id", "job_id")
    }
    started: list[np.ndarray] = []
    actual: list[np.ndarray] = []
    standard: list[np.ndarray] = []
    clock = start.copy()
    done_at: dict[str, np.ndarray] = {}
    station_of: dict[str, np.ndarray] = {}
    operator_of: dict[str, list[str]] = {}
    injected_keys: list[tuple[str, str]] = []
    for operation, standard_minutes in SHEET_OPERATIONS:
        choices = STATIONS[operation]
        station_index = np.arange(sheets) % len(choices) if len(choices) > 1 else np.zeros(sheets, dtype=int)
        stations = np.array(choices)[station_index]
        minute_of_day = clock % DAY_MINUTES
        late = minute_of_day >= 8 * 60
        operators = [SHIFTS[s][int(is_late)] for s, is_late in zip(stations, late, strict=True)]
        pace = np.exp(rng.normal(0.05, 0.15, sheets))
        pace *= np.where(np.array(operators) == SLOW_OPERATOR, 1.6, 1.0)
        if drift_from is not None and operation == "cut":
            # CUT-1 gets slower by 25% per working day after the drift starts.
            pace *= 1.0 + 0.25 * np.clip(clock - drift_from, 0, None) / DAY_MINUTES
        if anomalies:
            long_ones = rng.random(sheets) < 0.01
            pace = np.where(long_ones, pace * rng.uniform(2.5, 5.0, sheets), pace)
            injected_keys += [(sheet_ids[i], operation) for i in np.flatnonzero(long_ones)]
        minutes = standard_minutes * pace
        clock = clock + rng.uniform(1.0, 4.0, sheets)  # queueing before the station
        started.append(clock.copy())
        actual.append(minutes)
        standard.append(np.full(sheets, standard_minutes))
        rows["entity_id"] += sheet_ids
        rows["operation_id"] += [operation] * sheets
        rows["station_id"] += list(stations)
        rows["operator_id"] += operators
        rows["job_id"] += job_ids
        clock = clock + minutes
        done_at[operation] = clock.copy()
        station_of[operation] = stations
        operator_of[operation] = operators
    started_minutes = np.concatenate(started)
    actual_minutes = np.concatenate(actual)
    durations = pl.DataFrame(
        {
            **rows,
            "product_id": "base-18up",
            "started_at": at_working_minute(started_minutes),
            "completed_at": at_working_minute(started_minutes + actual_minutes),
            "actual_minutes": actual_minutes,
            "standard_minutes": np.concatenate(standard),
            "setup_minutes": 0.0,  # sheets here overlap at a station (no queue model), so no changeovers either
        }
    ).with_columns(pl.col("started_at", "completed_at").dt.cast_time_unit("us"))

    positions = np.tile(np.arange(1, 19), sheets)
    sheet_of_card = np.repeat(np.arange(sheets), 18)
    foil_done = done_at["foil"][sheet_of_card]
    inspected = done_at["cut"][sheet_of_card] + rng.uniform(20, 90, sheets * 18)
    hour = (OPEN_MINUTE + inspected % DAY_MINUTES) // 60
    foil_operator = np.array(operator_of["foil"])[sheet_of_card]
    probability = np.full(sheets * 18, 0.03)
    probability *= np.where((positions == 1) | (positions == 18), 2.0, 1.0)
    probability *= np.where(hour >= 20, 1.5, 1.0)
    if anomalies:
        assert die_window is not None
        probability *= np.where(foil_operator == ELEVATED_OPERATOR, 3.0, 1.0)
        probability = np.where((foil_done >= die_window[0]) & (foil_done < die_window[1]), 0.35, probability)
    failed = rng.random(sheets * 18) < probability
    inspections = pl.DataFrame(
        {
            "card_unit_id": [f"{sheet_ids[s]}-{p:02d}" for s, p in zip(sheet_of_card, positions, strict=True)],
            "sheet_id": [sheet_ids[s] for s in sheet_of_card],
            "product_id": "base-18up",
            "position": positions,
            "station_id": "QA-BENCH-1",
            "operator_id": [SHIFTS["QA-BENCH-1"][int(h >= 14)] for h in hour],
            "inspected_at": at_working_minute(inspected),
            "hour": hour.astype(np.int32),
            "attempt": 1,
            "failed": failed,
            "true_probability": probability,
            "press_station_id": np.array(station_of["press"])[sheet_of_card],
            "press_operator_id": np.array(operator_of["press"])[sheet_of_card],
            "foil_station_id": np.array(station_of["foil"])[sheet_of_card],
            "foil_operator_id": foil_operator,
            "foil_completed_at": at_working_minute(foil_done),
            "cut_operator_id": np.array(operator_of["cut"])[sheet_of_card],
        }
    ).with_columns(pl.col("inspected_at", "foil_completed_at").dt.cast_time_unit("us"))
    injected = pl.DataFrame(injected_keys, schema=["entity_id", "operation_id"], orient="row")
    return SyntheticFloor(
        durations=durations,
        inspections=inspections,
        injected_operations=injected,
        die_onset=at_working_minute(np.array([die_window[0]]))[0] if die_window else None,
        die_end=at_working_minute(np.array([die_window[1]]))[0] if die_window else None,
        drift_onset=at_working_minute(np.array([drift_from]))[0] if drift_from is not None else None,
        drift_station="CUT-1" if anomalies else None,
    )
