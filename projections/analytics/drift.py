"""Drift: change detection on a station's QA failure rate (CUSUM) and on its speed (a ramp GLR), with onsets.

A CUSUM adds up evidence that the process moved away from its normal, forgets evidence for normal (it never
goes below zero), and alarms when the sum crosses a threshold. The onset is where the sum last left zero
before the alarm: the first observation of the run of evidence that raised it. An alarm opens an *episode*
that lasts until the sum falls back to zero, so one failing die is one alarm, not one per card.

- Failure rate: a risk-adjusted Bernoulli CUSUM (Steiner et al., 2000) over the QA inspections of the cards
  that went through the station, in inspection order. Each inspection's expected failure rate comes from a
  model of position, hour, product and operators (`expected_failure_rates`), so a hard position or a strict
  inspector is not a drift; the alternative is the odds multiplied by `odds_ratio`.
- Speed: a drift is gradual, so its detector looks for a ramp rather than a step: a generalized likelihood
  ratio of "slowing linearly since hour s", maximized over s (which dates the onset), over each working
  hour's deviations of the station's operations from their norm (`operation_anomalies`), the norm learned
  on a reference period before the watch starts.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder

from projections.analytics.operation_anomalies import (
    STATION_GROUP,
    learn_norms,
    score_operations,
    with_operation_context,
)

# The log-likelihood ratio a slowing ramp must reach before a speed alarm (see `speed_alarms`).
SPEED_ALARM_THRESHOLD: Final = 10.0
# Clip single observations so one very long operation (an anomaly of its own) cannot make a drift.
_CLIP_Z: Final = 4.0
# A station leads a finding when passing through it multiplies the odds of failing e times more than the next.
_CLEAR_LEAD: Final = 1.0
_ALARM_SCHEMA: Final = pl.Schema(
    {
        "station_id": pl.String(),
        "signal": pl.String(),
        "onset_at": pl.Datetime("us", "UTC"),
        "alarm_at": pl.Datetime("us", "UTC"),
        "ended_at": pl.Datetime("us", "UTC"),
        "baseline": pl.Float64(),
        "observed": pl.Float64(),
        "observations": pl.Int64(),
        "explanation": pl.String(),
    }
)


@dataclass(frozen=True, kw_only=True, slots=True)
class CusumEpisode:
    """Indices into the observations: where the evidence began, where it crossed, where it fell back."""

    onset: int
    alarm: int
    end: int  # last index of the episode (the sum back at zero after it, or the last observation)


def cusum_episodes(increments: np.ndarray, threshold: float, *, ceiling: float = 1.5) -> list[CusumEpisode]:
    """Upper CUSUM S_t = max(0, S_{t-1} + increment_t); an episode per crossing of `threshold`.

    The sum is held below `ceiling` x threshold: past the alarm more evidence adds nothing, and a bounded sum
    falls back to zero soon after the change ends, so the episode's end dates the recovery.
    """
    episodes: list[CusumEpisode] = []
    cap = ceiling * threshold
    total = 0.0
    onset = 0
    alarm: int | None = None
    for index, increment in enumerate(increments.tolist()):
        if total == 0.0:
            onset = index
        total = min(cap, max(0.0, total + increment))
        if alarm is None and total > threshold:
            alarm = index
        if total == 0.0 and alarm is not None:
            episodes.append(CusumEpisode(onset=onset, alarm=alarm, end=index))
            alarm = None
    if alarm is not None:
        episodes.append(CusumEpisode(onset=onset, alarm=alarm, end=len(increments) - 1))
    return episodes


def bernoulli_increments(failed: np.ndarray, expected_rate: np.ndarray, odds_ratio: float) -> np.ndarray:
    """Log-likelihood ratio of each inspection: its odds multiplied by `odds_ratio` against its expected rate."""
    rate = np.clip(expected_rate, 1e-6, 1 - 1e-6)
    increments: np.ndarray = failed.astype(np.float64) * np.log(odds_ratio) - np.log1p((odds_ratio - 1.0) * rate)
    return increments


# What makes a card likelier to fail whatever a station's health: its own facts and every operator who worked
# on it (`<operation>_operator_id`). Stations are left out: a station's own level is what is being watched.
OWN_RISK_FACTORS: Final = ("product_id", "position", "hour", "operator_id")


def risk_factors(inspections: pl.DataFrame) -> list[str]:
    upstream_operators = [c for c in inspections.columns if c.endswith("_operator_id") and c != "operator_id"]
    return [c for c in (*OWN_RISK_FACTORS, *upstream_operators) if c in inspections.columns]


def expected_failure_rates(
    inspections: pl.DataFrame, *, fit_on: pl.Expr | None = None, factors: list[str] | None = None
) -> pl.DataFrame:
    """Add `expected_rate`: each inspection's failure probability from its risk factors.

    A logistic regression over one-hot factors (position and hour as categories), fitted on the inspections
    `fit_on` selects (default: all), so the CUSUM asks "more failures than cards like these usually have",
    not "more than the plant's average card".
    """
    present = risk_factors(inspections) if factors is None else [f for f in factors if f in inspections.columns]
    reference = inspections if fit_on is None else inspections.filter(fit_on)
    if not present or reference["failed"].n_unique() < 2:
        rate = _median_or_zero(reference["failed"].cast(pl.Float64), mean=True)
        return inspections.with_columns(expected_rate=pl.lit(rate))
    encoder = OneHotEncoder(handle_unknown="ignore")
    design = encoder.fit_transform(_factor_matrix(reference, present))
    # Strong shrinkage: a factor level seen a few hundred times must not pass its noise for a risk.
    model = LogisticRegression(C=0.1, max_iter=500)
    model.fit(design, reference["failed"].to_numpy())
    expected = model.predict_proba(encoder.transform(_factor_matrix(inspections, present)))[:, 1]
    return inspections.with_columns(expected_rate=pl.Series(expected))


def _factor_matrix(frame: pl.DataFrame, factors: list[str]) -> np.ndarray:
    return np.column_stack([frame[f].cast(pl.String).fill_null("none").to_numpy() for f in factors])


@dataclass(frozen=True, kw_only=True, slots=True)
class _Watch:
    """One way of grouping inspections by station: the column naming it and when a card was there."""

    station_column: str
    onset_column: str
    signal: str


def failure_rate_alarms(
    inspections: pl.DataFrame,
    *,
    station_column: str = "station_id",
    known_column: str = "inspected_at",
    onset_column: str | None = None,
    odds_ratio: float = 3.0,
    threshold: float = 16.0,
) -> pl.DataFrame:
    """Alarm episodes of a rising failure rate per station named in `station_column`.

    Inspections are taken in the order of `known_column`: `inspected_at` by default; `known_at` (when the
    result reached the log) dates an alarm by what the plant could have known, a scanner uploading late
    delaying it as it would on the floor. `onset_column` names when the card was at the station (the foil
    time for `foil_station_id`), so the onset is dated at the station, not at the bench. Each inspection's
    expected rate is its `expected_rate` column (see `expected_failure_rates`); without one, the station's
    median daily rate, which a failing period shorter than half the days cannot drag.

    Odds tripling is the change watched for; the threshold of 16 nats keeps a false alarm to about one in
    e^16 (9 million) inspections per station under the expected rates, while a die failing a third of its
    cards crosses it within a few dozen.
    """
    watch = _Watch(station_column=station_column, onset_column=onset_column or known_column, signal="failure rate")
    alarms, _ = _failure_rate_episodes(inspections, watch, known_column, odds_ratio, threshold)
    return alarms.drop("watched_column", "episode_start")


def _failure_rate_episodes(
    inspections: pl.DataFrame, watch: _Watch, known_column: str, odds_ratio: float, threshold: float
) -> tuple[pl.DataFrame, list[int]]:
    """The alarms of one watch, and the row numbers (`inspection` column, when present) inside any episode."""
    watched = inspections.filter(pl.col(watch.station_column).is_not_null()).sort(known_column)
    if "expected_rate" not in watched.columns:
        daily = (
            watched.group_by(watch.station_column, pl.col(known_column).dt.date().alias("day"))
            .agg(daily_rate=pl.col("failed").mean())
            .group_by(watch.station_column)
            .agg(expected_rate=pl.col("daily_rate").median())
        )
        watched = watched.join(daily, on=watch.station_column)
    alarms: list[dict[str, object]] = []
    members: list[int] = []
    for (station,), rows in watched.group_by([watch.station_column], maintain_order=True):
        failed = rows["failed"].to_numpy()
        expected = rows["expected_rate"].to_numpy()
        for episode in cusum_episodes(bernoulli_increments(failed, expected, odds_ratio), threshold):
            window = slice(episode.onset, episode.alarm + 1)
            observed, baseline = float(failed[window].mean()), float(expected[window].mean())
            onset_time = rows[watch.onset_column][episode.onset]
            alarm_time = rows[known_column][episode.alarm]
            if "inspection" in rows.columns:
                members += rows["inspection"][episode.onset : episode.end + 1].to_list()
            count = episode.alarm - episode.onset + 1
            alarms.append(
                {
                    "station_id": str(station),
                    "signal": watch.signal,
                    "onset_at": onset_time,
                    "alarm_at": alarm_time,
                    "ended_at": rows[known_column][episode.end],
                    "baseline": baseline,
                    "observed": observed,
                    "observations": count,
                    "watched_column": watch.station_column,
                    "episode_start": rows[known_column][episode.onset],
                    "explanation": (
                        f"{station}: QA failures rose to {100 * observed:.1f}% of {count} inspections against an "
                        f"expected {100 * baseline:.1f}%, starting with cards seen there at "
                        f"{onset_time:%a %d %b %H:%M}; alarm raised at {alarm_time:%a %d %b %H:%M}."
                        f"{_top_failure_reason(rows[window])}"
                    ),
                }
            )
    schema = pl.Schema({**_ALARM_SCHEMA, "watched_column": pl.String(), "episode_start": pl.Datetime("us", "UTC")})
    return pl.DataFrame(alarms, schema=schema), members


def _top_failure_reason(rows: pl.DataFrame) -> str:
    """The commonest failure reason in an episode, which usually names the culprit ("foil flaking")."""
    if "failure_reason" not in rows.columns:
        return ""
    reasons = rows.filter(pl.col("failed"))["failure_reason"].drop_nulls()
    if reasons.len() == 0:
        return ""
    top, count = reasons.value_counts(sort=True).row(0)
    return f" Commonest failure: {top} ({100 * count / reasons.len():.0f}% of the failures)."


def station_alarms(
    inspections: pl.DataFrame,
    operations: pl.DataFrame,
    *,
    reference_until: datetime | None = None,
    passes: int = 2,
) -> pl.DataFrame:
    """Every drift alarm on the floor: failure rate per QA bench and per upstream station, and speed.

    Failure rates are watched for each station a card passed through (`station_id`, the bench, and every
    `<operation>_station_id`, dated by `<operation>_completed_at`), against risk-adjusted expectations. The
    risk model learns on the reference period (default: the first quarter of the span, as the speed norm
    does), then again without the inspections inside the first pass's episodes: a failing period must not
    teach it that the operators who happened to work then are risky.

    Stations in series share cards: a failing foil die also raises the press and the cutter its sheets went
    through. Alarms whose episodes overlap form one `finding`; where the data can tell which station's cards
    explain it, the others name that station in `explained_by` (see `_lead_stations`).
    """
    if inspections.height == 0 or operations.height == 0:
        return pl.DataFrame(schema={**_ALARM_SCHEMA, "finding": pl.Int64(), "explained_by": pl.String()})
    indexed = inspections.with_row_index("inspection")
    watches = [_Watch(station_column="station_id", onset_column="inspected_at", signal="failure rate at QA")]
    for column in indexed.columns:
        if column.endswith("_station_id") and column != "station_id":
            operation = column.removesuffix("_station_id")
            watches.append(
                _Watch(
                    station_column=column,
                    onset_column=f"{operation}_completed_at",
                    signal=f"failure rate after {operation}",
                )
            )
    reference_until = reference_until or first_quarter_end(indexed["inspected_at"])
    excluded: set[int] = set()
    frames: list[pl.DataFrame] = []
    for _ in range(passes):
        fit_on = (pl.col("inspected_at") < reference_until) & ~pl.col("inspection").is_in(sorted(excluded))
        adjusted = expected_failure_rates(indexed, fit_on=fit_on)
        frames, members = [], set()
        for watch in watches:
            alarms, inside = _failure_rate_episodes(adjusted, watch, "inspected_at", odds_ratio=3.0, threshold=16.0)
            frames.append(alarms)
            members.update(inside)
        if members == excluded:
            break
        excluded = members
    failure = _lead_stations(pl.concat(frames).sort("alarm_at"), adjusted)
    speed = speed_alarms(operations, reference_until=reference_until)
    return pl.concat([failure, speed], how="diagonal").sort("alarm_at")


def _lead_stations(alarms: pl.DataFrame, inspections: pl.DataFrame) -> pl.DataFrame:
    """Number the findings (alarms whose episodes overlap) and, where the data can tell, name the station
    whose cards explain each finding in the others' `explained_by`.

    Over the inspections of the finding's active period (first alarm to last recovery), one logistic
    regression of failure on "went through this station" for every alarmed station at once: a failing foil
    die's indicator takes the weight, the benches that inspected its cards are left with little, and a cutter
    every card passes through has no contrast at all. When every failing card went through two of them (the
    die's sheets all came off one press), no station leads by a clear margin and none is named.
    """
    if alarms.height == 0:
        return alarms.drop("watched_column", "episode_start").with_columns(
            finding=pl.lit(None, pl.Int64), explained_by=pl.lit(None, pl.String)
        )
    group = (pl.col("alarm_at") > pl.col("ended_at").cum_max().shift(1)).fill_null(True).cum_sum()
    grouped = alarms.sort("alarm_at").with_columns(finding=group.cast(pl.Int64))
    weights = []
    for (_,), finding in grouped.group_by(["finding"], maintain_order=True):
        start, end = finding["alarm_at"].min(), finding["ended_at"].max()
        window = inspections.filter(pl.col("inspected_at").is_between(start, end))
        weights += _station_weights(window, finding["watched_column"].to_list(), finding["station_id"].to_list())
    grouped = grouped.with_columns(weight=pl.Series(weights, dtype=pl.Float64))
    ranked = pl.col("weight").sort(descending=True)
    clear = (ranked.first() - ranked.get(1, null_on_oob=True).fill_null(-np.inf)).over("finding") > _CLEAR_LEAD
    lead = pl.col("station_id").sort_by("weight", descending=True).first().over("finding")
    together = pl.col("station_id").unique(maintain_order=True).implode().over("finding")
    others = together.list.set_difference(pl.concat_list("station_id")).list.join(", ")
    return (
        grouped.with_columns(
            explained_by=pl.when(clear & (lead != pl.col("station_id"))).then(lead),
            together=others,
        )
        .with_columns(
            explanation=pl.when(pl.col("explained_by").is_not_null())
            .then(
                pl.concat_str(
                    "explanation",
                    pl.lit(" Likely "),
                    "explained_by",
                    pl.lit("'s finding: going through it explains these failures far better."),
                )
            )
            .when(pl.col("together") != "")
            .then(pl.concat_str("explanation", pl.lit(" Raised together with "), "together", pl.lit(".")))
            .otherwise(pl.col("explanation"))
        )
        .drop("weight", "together", "watched_column", "episode_start")
    )


def _station_weights(window: pl.DataFrame, columns: list[str], stations: list[str]) -> list[float]:
    """Each (column, station)'s coefficient in a joint logistic regression of failure on passing through it."""
    if window.height == 0 or window["failed"].n_unique() < 2:
        return [0.0] * len(columns)
    design = np.column_stack(
        [
            (window[column] == station).fill_null(False).to_numpy()
            for column, station in zip(columns, stations, strict=True)
        ]
    ).astype(np.float64)
    model = LogisticRegression(C=1.0, max_iter=500)
    model.fit(design, window["failed"].to_numpy())
    return [float(weight) for weight in model.coef_[0]]


def hourly_pace(durations: pl.DataFrame, *, reference_until: datetime, min_group_size: int = 20) -> pl.DataFrame:
    """Per station and clock hour: the summed robust deviation of its operations from their reference norm.

    `deviation_sum` adds each operation's `robust_z` (clipped, so one very long operation weighs no more than
    a few ordinary ones) against the norm learned before `reference_until`, with its operator's offset taken
    out; `operations` counts them; `pace` is the hour's median actual/standard.
    """
    context = with_operation_context(durations)
    reference = context.filter(pl.col("started_at") < reference_until)
    norms = learn_norms(reference, min_group_size=min_group_size)
    scored = score_operations(context, norms=norms, fixed_level=True).filter(
        pl.col("robust_z").is_not_null() & ~pl.col("after_setup")
    )
    # Medians of second-rounded times sit a little off each operator's mean; centring each operator's
    # deviations on their own reference mean keeps a change in who works the station from reading as a drift.
    clipped = pl.col("robust_z").clip(-_CLIP_Z, _CLIP_Z)
    operator = [*STATION_GROUP, "operator_id"]
    centres = scored.filter(pl.col("started_at") < reference_until).group_by(operator).agg(centre=clipped.mean())
    return (
        scored.join(centres, on=operator, how="left", nulls_equal=True)
        .with_columns(deviation=clipped - pl.col("centre").fill_null(0.0))
        .group_by("station_id", pl.col("started_at").dt.truncate("1h").alias("hour_start"))
        .agg(
            deviation_sum=pl.col("deviation").sum(),
            operations=pl.len(),
            pace=pl.col("duration_ratio").median(),
            spread=pl.col("norm_spread").mean(),
            last_started_at=pl.col("started_at").max(),
        )
        .sort("station_id", "hour_start")
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class RampFit:
    """Per hour t: the best ramp's log-likelihood ratio, its first hour, and the deviation it reached at t."""

    statistic: np.ndarray
    onset: np.ndarray
    level: np.ndarray  # fitted mean deviation per operation at hour t, in the deviations' units


def ramp_statistics(deviations: np.ndarray, operations: np.ndarray, *, window: int, min_hours: int = 4) -> RampFit:
    """For each hour t, the generalized likelihood ratio of "slowing linearly since some hour" and that hour.

    `deviations` are hourly sums of unit-variance deviations over `operations` operations. A ramp starting at
    hour s has mean b * (i - s + 1) per operation in hour i; its best slope is b = num / den with num =
    sum((i-s+1) d_i) and den = sum((i-s+1)^2 n_i) over s..t, and its log-likelihood ratio num^2 / (2 den).
    The statistic is the largest over onsets from `window` hours before t to `min_hours` before it (a drift
    is gradual: one slow hour is not a ramp), slowing only (a negative num scores 0). Prefix sums make every
    onset a few array operations.
    """
    hours = len(deviations)
    index = np.arange(1, hours + 1, dtype=np.float64)
    prefix = {
        name: np.concatenate([[0.0], np.cumsum(values)])
        for name, values in (
            ("d", deviations),
            ("id", index * deviations),
            ("n", operations),
            ("in", index * operations),
            ("iin", index * index * operations),
        )
    }
    statistic = np.zeros(hours)
    onset = np.zeros(hours, dtype=np.int64)
    level = np.zeros(hours)
    for t in range(min_hours - 1, hours):
        starts = np.arange(max(0, t - window), t - min_hours + 2)
        shift = starts.astype(np.float64)  # weight of hour i from start s is i - s + 1 = index_i - s
        span = {name: values[t + 1] - values[starts] for name, values in prefix.items()}
        num = span["id"] - shift * span["d"]
        den = span["iin"] - 2 * shift * span["in"] + shift * shift * span["n"]
        scores = np.where((num > 0) & (den > 0), num * num / (2 * np.maximum(den, 1e-12)), 0.0)
        best = int(np.argmax(scores))
        statistic[t], onset[t] = scores[best], starts[best]
        if den[best] > 0:
            level[t] = num[best] / den[best] * (t - starts[best] + 1)
    return RampFit(statistic=statistic, onset=onset, level=level)


def speed_alarms(
    durations: pl.DataFrame,
    *,
    reference_until: datetime | None = None,
    threshold: float = SPEED_ALARM_THRESHOLD,
    min_slowdown: float = 0.05,
    window_hours: int = 160,
) -> pl.DataFrame:
    """Alarm episodes of a station getting slower, hour by hour after the reference period.

    A station that drifts slower does so gradually, so the change looked for is a ramp, not a step: the
    generalized likelihood ratio of a linear slowdown starting at any of the last `window_hours` (about ten
    working days) hours, which also dates the onset. Each hour's deviations (see `hourly_pace`) are centred
    and scaled by the reference period's own hour-to-hour spread, so a station whose operations are not
    independent (an operator's slow morning) does not read as a drift. An episode opens when the statistic
    crosses `threshold` with the fitted ramp already `min_slowdown` (5%) slower than normal, so a busy
    station's statistically certain but immaterial 1% does not alarm; it closes when the statistic falls
    below half the threshold.
    """
    if durations.height == 0:
        return pl.DataFrame(schema=_ALARM_SCHEMA)
    reference_until = reference_until or first_quarter_end(durations["started_at"])
    pace = hourly_pace(durations, reference_until=reference_until)
    alarms = []
    for (station,), hours in pace.group_by(["station_id"], maintain_order=True):
        reference = hours.filter(pl.col("hour_start") < reference_until)
        watched = hours.filter(pl.col("hour_start") >= reference_until)
        if reference.height < 8 or watched.height == 0:
            continue  # too little history to know this station's normal hour
        scale = hourly_scale(reference)
        operations = watched["operations"].to_numpy().astype(np.float64)
        deviations = watched["deviation_sum"].to_numpy() / scale
        fit = ramp_statistics(deviations, operations, window=window_hours)
        # The ramp's level in log duration: deviations are robust z-scores (times `scale`) of log ratios.
        slowdown = np.exp(fit.level * scale * watched["spread"].to_numpy()) - 1.0
        evidence = np.where(slowdown >= min_slowdown, fit.statistic, np.minimum(fit.statistic, threshold))
        reference_pace = _median_or_zero(reference["pace"])
        for alarm, end in _episodes_above(evidence, threshold):
            onset = int(fit.onset[alarm])
            onset_time = watched["hour_start"][onset]
            alarm_time = watched["last_started_at"][alarm]
            observed = _median_or_zero(watched["pace"][max(onset, alarm - 8) : alarm + 1])
            alarms.append(
                {
                    "station_id": str(station),
                    "signal": "speed",
                    "onset_at": onset_time,
                    "alarm_at": alarm_time,
                    "ended_at": watched["last_started_at"][end],
                    "baseline": reference_pace,
                    "observed": observed,
                    "observations": int(operations[onset : alarm + 1].sum()),
                    "explanation": (
                        f"{station}: slowing steadily since about {onset_time:%a %d %b %H:%M}, now about "
                        f"{100 * slowdown[alarm]:.0f}% slower than normal (median {reference_pace:.2f}x standard "
                        f"before, {observed:.2f}x in its latest hours; {int(operations[onset : alarm + 1].sum())} "
                        f"operations); alarm raised at {alarm_time:%a %d %b %H:%M}."
                    ),
                }
            )
    return pl.DataFrame(alarms, schema=_ALARM_SCHEMA).sort("alarm_at")


def hourly_scale(reference_hours: pl.DataFrame) -> float:
    """The hour-to-hour spread of a station's summed deviations (`hourly_pace` rows of its reference period),
    per operation: what `speed_alarms` divides each hour's deviations by, so that operations that are not
    independent (an operator's slow morning) do not read as a drift."""
    per_hour = reference_hours["deviation_sum"].to_numpy() / np.sqrt(reference_hours["operations"].to_numpy())
    return max(float(per_hour.std()), 0.5)  # never trust a reference calmer than half the model's spread


def _episodes_above(statistic: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """(alarm, end) index pairs: above `threshold` opens an episode, below half of it closes it."""
    episodes: list[tuple[int, int]] = []
    alarm: int | None = None
    for index, value in enumerate(statistic.tolist()):
        if alarm is None and value > threshold:
            alarm = index
        elif alarm is not None and value < threshold / 2:
            episodes.append((alarm, index))
            alarm = None
    if alarm is not None:
        episodes.append((alarm, len(statistic) - 1))
    return episodes


def _median_or_zero(values: pl.Series, *, mean: bool = False) -> float:
    summary = values.mean() if mean else values.median()
    return float(summary) if isinstance(summary, (int, float)) else 0.0


def first_quarter_end(moments: pl.Series) -> datetime:
    """The end of the first quarter of the span: the default reference period, normal by assumption."""
    first, last = moments.min(), moments.max()
    if not isinstance(first, datetime) or not isinstance(last, datetime):
        raise ValueError("no moments to take a reference period from")
    return first + (last - first) / 4
