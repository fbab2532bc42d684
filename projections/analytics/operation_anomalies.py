"""Operation-time anomalies: the plant's rule (actual > 2x standard) checked against a learned baseline.

The rule alone flags every operation of an operator or station whose normal pace is slow; so a flag also
needs the operation to be far from what is normal *for that operator, at that station, on that product, at
that time*. Normal is learned with robust statistics of the log duration ratio (actual / standard), median
and MAD, which a few long operations cannot drag:

- each operator's usual offset from the station's pace (operators with too little history get none, so a
  newcomer is judged by the station's norm);
- the station's level for the operation and product: by default the median of its previous operations
  (a station drifting slower carries its norm along; the drift itself is `projections.analytics.drift`'s
  finding), or the level learned on a reference period.

Input: one row per timed operation with `DURATION_COLUMNS` (`projections.analytics.floor_facts` builds it
from the `operation_durations` view). Output: the same rows with their context, score, verdict and, for the
flagged ones, a plain-language explanation.
"""

import math
from dataclasses import dataclass
from typing import Final

import polars as pl

DURATION_COLUMNS: Final = (
    "entity_id",
    "operation_id",
    "product_id",
    "station_id",
    "operator_id",
    "job_id",
    "started_at",
    "completed_at",
    "actual_minutes",
    "standard_minutes",
)

# The MAD of a normal sample times this is its standard deviation.
_MAD_TO_SIGMA: Final = 1.4826
# A spread below this (in log ratio, ~3%) means a near-deterministic group; flooring it keeps tiny wobbles from
# reading as many deviations.
_MIN_SPREAD: Final = 0.03
# Operations shorter than this carry no timing (a QA scan that starts and completes at once).
_MIN_TIMED_MINUTES: Final = 1.0 / 60.0
# How many robust standard deviations slower than normal an operation over the rule must be to be flagged. On
# simulated plants (hand work spreads ~35% around its pace) 3.75 keeps precision above 0.8; 3.5 drops below.
DEFAULT_Z_THRESHOLD: Final = 3.75
# Operations are compared within one operation of one product at one station.
STATION_GROUP: Final = ("operation_id", "product_id", "station_id")
# Offsets and level shifts smaller than this (20%) are ordinary and go unmentioned in explanations.
_NOTABLE_LOG_RATIO: Final = 0.18


@dataclass(frozen=True, kw_only=True, slots=True)
class OperationNorms:
    """What is normal, learned from a period of operations.

    `operator_offsets`: per operator at a station (for an operation and product), how much slower or
    faster than the station's median they run (log ratio), for operators with enough history; others get 0.
    `levels`: per station, operation and product, the median and robust spread of the log ratio once the
    operator's offset is taken out.
    """

    operator_offsets: pl.DataFrame
    levels: pl.DataFrame


def with_operation_context(durations: pl.DataFrame) -> pl.DataFrame:
    """Add the facts an operation's pace is judged by: ratio to standard, hour, and place in its setup run.

    A setup run is the unbroken sequence of operations of one job on one unit (`unit_id` when the frame has
    it, else the station); a new job means a changeover. `run_index` counts operations since it (0 = the
    first after it), and `after_setup` marks that first one at a station with setup time (`setup_minutes`
    column when present): its duration carries the changeover, whose own spread dwarfs the operation's.
    """
    if "log_ratio" in durations.columns:
        return durations
    missing = [column for column in DURATION_COLUMNS if column not in durations.columns]
    if missing:
        raise ValueError(f"operation durations need the columns {', '.join(missing)}")
    unit = "unit_id" if "unit_id" in durations.columns else "station_id"
    ordered = durations.sort(unit, "started_at", "entity_id")
    job_changed = pl.col("job_id").ne_missing(pl.col("job_id").shift(1)).over(unit)
    has_setup = pl.col("setup_minutes") > 0 if "setup_minutes" in durations.columns else pl.lit(True)
    return (
        ordered.with_columns(
            duration_ratio=pl.col("actual_minutes") / pl.col("standard_minutes"),
            hour=pl.col("started_at").dt.hour(),
            setup_run=job_changed.cast(pl.Int64).cum_sum().over(unit),
        )
        .with_columns(
            log_ratio=pl.when(pl.col("actual_minutes") >= _MIN_TIMED_MINUTES)
            .then(pl.col("duration_ratio").log())
            .otherwise(None),
            run_index=pl.int_range(pl.len()).over(unit, "setup_run"),
            minutes_since_setup=(pl.col("started_at") - pl.col("started_at").first())
            .dt.total_seconds()
            .over(unit, "setup_run")
            / 60.0,
        )
        .with_columns(after_setup=(pl.col("run_index") == 0) & has_setup)
        .drop("setup_run")
    )


def learn_norms(durations: pl.DataFrame, *, min_group_size: int = 30) -> OperationNorms:
    """Operator offsets and station levels from timed operations; the first after a setup is left out."""
    timed = with_operation_context(durations).filter(pl.col("log_ratio").is_not_null() & ~pl.col("after_setup"))
    station_median = pl.col("log_ratio").median().over(STATION_GROUP)
    offsets = (
        timed.with_columns(station_median=station_median)
        .group_by([*STATION_GROUP, "operator_id"])
        .agg(
            operator_offset=(pl.col("log_ratio") - pl.col("station_median")).median(),
            operator_operations=pl.len(),
        )
        .filter(pl.col("operator_operations") >= min_group_size)
        .drop("operator_operations")
    )
    adjusted = _adjust(timed, offsets)
    levels = (
        adjusted.group_by(STATION_GROUP)
        .agg(
            norm_level=pl.col("adjusted").median(),
            norm_deviation=(pl.col("adjusted") - pl.col("adjusted").median()).abs().median(),
            norm_operations=pl.len(),
        )
        .with_columns(norm_spread=(pl.col("norm_deviation") * _MAD_TO_SIGMA).clip(lower_bound=_MIN_SPREAD))
        .drop("norm_deviation")
    )
    return OperationNorms(operator_offsets=offsets, levels=levels)


def _adjust(context: pl.DataFrame, offsets: pl.DataFrame) -> pl.DataFrame:
    """The log ratio with the operator's usual offset taken out: what the station itself contributed."""
    joined = context.join(offsets, on=[*STATION_GROUP, "operator_id"], how="left", nulls_equal=True)
    return joined.with_columns(
        operator_offset=pl.col("operator_offset").fill_null(0.0),
    ).with_columns(adjusted=pl.col("log_ratio") - pl.col("operator_offset"))


def score_operations(
    durations: pl.DataFrame,
    *,
    norms: OperationNorms | None = None,
    fixed_level: bool = False,
    window: int = 50,
    rule_multiple: float = 2.0,
    z_threshold: float = DEFAULT_Z_THRESHOLD,
) -> pl.DataFrame:
    """Every operation with its context, its norm, its robust deviation and the verdict.

    The expected log ratio is the operator's offset plus the station's level. By default the level is
    local: the median of the previous `window` operations of the same station, operation and product (the
    operation itself excluded), so a station drifting slower moves its own norm (the drift detector's job)
    and its long operations still stand out against their neighbours. With `fixed_level` the level is the
    learned one (`norms`), which is what a drift is measured against.

    `over_rule`: actual > rule_multiple x standard. `robust_z`: robust standard deviations slower than the
    norm. `anomalous`: both, and not the first operation after a setup (see `with_operation_context`); a
    slow operator's ordinary day is not an anomaly, and neither is an unusual but still quick operation.
    """
    context = with_operation_context(durations)
    learned = norms if norms is not None else learn_norms(context)
    scored = (
        _adjust(context, learned.operator_offsets)
        .join(learned.levels, on=STATION_GROUP, how="left")
        .with_columns(learned_level=pl.col("norm_level"))
    )
    if not fixed_level:
        # Untimed operations and those carrying a setup (null here) do not count towards the window.
        local = (
            pl.when(~pl.col("after_setup"))
            .then(pl.col("adjusted"))
            .shift(1)
            .rolling_median(window_size=window, min_samples=min(10, window))
            .over(STATION_GROUP, order_by="started_at")
        )
        scored = scored.with_columns(norm_level=local.fill_null(pl.col("learned_level")))
        residual = pl.when(~pl.col("after_setup")).then(pl.col("adjusted") - pl.col("norm_level"))
        scored = scored.with_columns(
            norm_spread=((residual - residual.median()).abs().median().over(STATION_GROUP) * _MAD_TO_SIGMA)
            .clip(lower_bound=_MIN_SPREAD)
            .fill_null(pl.col("norm_spread"))
        )
    expected_log_ratio = pl.col("norm_level") + pl.col("operator_offset")
    scored = scored.with_columns(
        expected_minutes=pl.col("standard_minutes") * expected_log_ratio.exp(),
        robust_z=(pl.col("log_ratio") - expected_log_ratio) / pl.col("norm_spread"),
    ).with_columns(
        over_rule=pl.col("actual_minutes") > rule_multiple * pl.col("standard_minutes"),
        beyond_norm=(pl.col("robust_z") > z_threshold).fill_null(False),
    )
    return scored.with_columns(anomalous=pl.col("over_rule") & pl.col("beyond_norm") & ~pl.col("after_setup"))


def find_operation_anomalies(
    durations: pl.DataFrame,
    *,
    norms: OperationNorms | None = None,
    rule_multiple: float = 2.0,
    z_threshold: float = DEFAULT_Z_THRESHOLD,
) -> pl.DataFrame:
    """The anomalous operations, slowest first relative to their norm, each with an `explanation`."""
    scored = score_operations(
        durations,
        norms=norms,
        rule_multiple=rule_multiple,
        z_threshold=z_threshold,
    )
    flagged = scored.filter(pl.col("anomalous")).sort("robust_z", descending=True)
    return flagged.with_columns(
        explanation=pl.Series([explain(row) for row in flagged.iter_rows(named=True)], dtype=pl.String)
    )


def explain(row: dict[str, object]) -> str:
    """One operation's verdict in the words of the floor: how long, against what, and what it is not."""
    actual = _number(row["actual_minutes"])
    standard = _number(row["standard_minutes"])
    operator = row.get("operator_id")
    who = f" by {operator}" if operator else ""
    parts = [
        f"{row['operation_id']} of {row['entity_id']} at {row['station_id']}{who} took {actual:.1f} min "
        f"against a {standard:.1f} min standard ({actual / standard:.1f}x)."
    ]
    expected = row.get("expected_minutes")
    if expected is not None:
        parts.append(
            f"About {_number(expected):.1f} min was normal there and then (typically within "
            f"±{100 * _number(row['norm_spread']):.0f}%), so it ran {_number(row['robust_z']):.1f} robust "
            "deviations slow."
        )
    drivers = []
    offset = _number(row.get("operator_offset") or 0.0)
    if operator and abs(offset) > _NOTABLE_LOG_RATIO:
        pace = "slower" if offset > 0 else "faster"
        drivers.append(f"{operator} usually works {math.exp(abs(offset)):.1f}x {pace} than the station's pace")
    level, learned = row.get("norm_level"), row.get("learned_level")
    if level is not None and learned is not None and _number(level) - _number(learned) > _NOTABLE_LOG_RATIO:
        drivers.append(
            f"the station was running {math.exp(_number(level) - _number(learned)):.1f}x slower than usual around then"
        )
    if drivers:
        parts.append("Allowed for: " + "; ".join(drivers) + ". The rest is this operation's own.")
    else:
        parts.append("Neither the operator's usual pace, the station's recent pace nor a setup explains it.")
    return " ".join(parts)


def _number(value: object) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    raise TypeError(f"expected a number, got {value!r}")
