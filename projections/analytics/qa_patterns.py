"""QA failure patterns: which stations, operators, products, sheet positions or hours fail more than the plant.

For each factor (a column of the inspections frame: the QA bench, an operator, the press, a position...) and
each of its levels: inspections, failures, the failure rate with a Wilson score interval, and an exact
binomial test of the level against the rest of the plant. Many levels are tested at once, so p-values are
adjusted (Benjamini-Hochberg by default, controlling the share of false discoveries; Holm when any false
claim is costly). Rates are marginal: a level that shares cards with a bad one (the cutter after a failing
foil die) looks bad too; `projections.analytics.predictive_qa` weighs the factors together.
"""

import math
from typing import Final, Literal

import numpy as np
import polars as pl
from scipy import stats  # type: ignore[import-untyped]  # scipy ships no stubs; pyproject lists no override

# 95% two-sided.
_Z_95: Final = 1.959963984540054

DEFAULT_FACTORS: Final = ("station_id", "operator_id", "product_id", "position", "hour")
Correction = Literal["benjamini-hochberg", "holm"]


def wilson_interval(failures: pl.Expr, inspections: pl.Expr, z: float = _Z_95) -> tuple[pl.Expr, pl.Expr]:
    """The Wilson score interval of a proportion: honest at small counts and near 0, unlike p +- z*se."""
    n = inspections.cast(pl.Float64)
    p = failures.cast(pl.Float64) / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * (p * (1 - p) / n + z * z / (4 * n * n)).sqrt() / (1 + z * z / n)
    return (centre - half).clip(lower_bound=0.0), (centre + half).clip(upper_bound=1.0)


def failure_rates(inspections: pl.DataFrame, by: str | list[str]) -> pl.DataFrame:
    """Inspections, failures, rate and its 95% Wilson interval per level of `by`, worst first."""
    low, high = wilson_interval(pl.col("failures"), pl.col("inspections"))
    return (
        inspections.group_by(by)
        .agg(inspections=pl.len(), failures=pl.col("failed").sum())
        .with_columns(failure_rate=pl.col("failures") / pl.col("inspections"), rate_low=low, rate_high=high)
        .sort("failure_rate", descending=True)
    )


def adjust_p_values(p_values: np.ndarray, method: Correction = "benjamini-hochberg") -> np.ndarray:
    """Multiple-comparison adjusted p-values, in the input order."""
    m = len(p_values)
    if m == 0:
        return p_values
    order = np.argsort(p_values)
    ranked = p_values[order]
    if method == "holm":
        adjusted = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:
        adjusted = np.minimum.accumulate(m / np.arange(m, 0, -1) * ranked[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.clip(adjusted, 0.0, 1.0)
    return result


def failure_patterns(
    inspections: pl.DataFrame,
    factors: tuple[str, ...] | list[str] = DEFAULT_FACTORS,
    *,
    correction: Correction = "benjamini-hochberg",
    alpha: float = 0.05,
    min_inspections: int = 30,
) -> pl.DataFrame:
    """Every level of every factor against the rest of the plant, with corrected significance and a sentence.

    `inspections` has one row per QA inspection with a boolean `failed` and the factor columns. Levels with
    fewer than `min_inspections` are reported but not tested (too few to say anything). The test is a
    two-sided exact binomial test of the level's failures against the failure rate of all other inspections.
    """
    total_inspections = inspections.height
    total_failures = int(inspections["failed"].sum())
    frames = []
    for factor in factors:
        rates = failure_rates(inspections.filter(pl.col(factor).is_not_null()), factor)
        frames.append(
            rates.select(
                pl.lit(factor).alias("factor"),
                pl.col(factor).cast(pl.String).alias("level"),
                "inspections",
                "failures",
                "failure_rate",
                "rate_low",
                "rate_high",
            )
        )
    if not frames:
        raise ValueError("name at least one factor")
    table = pl.concat(frames)
    rest_failures = total_failures - table["failures"].to_numpy()
    rest_inspections = total_inspections - table["inspections"].to_numpy()
    rest_rate = np.where(rest_inspections > 0, rest_failures / np.maximum(rest_inspections, 1), np.nan)
    p_values = _binomial_two_sided(table["failures"].to_numpy(), table["inspections"].to_numpy(), rest_rate)
    tested = (table["inspections"].to_numpy() >= min_inspections) & np.isfinite(p_values)
    adjusted = np.full(len(p_values), np.nan)
    adjusted[tested] = adjust_p_values(p_values[tested], correction)
    table = table.with_columns(
        rest_rate=pl.Series(rest_rate),
        p_value=pl.Series(np.where(tested, p_values, np.nan)).fill_nan(None),
        p_adjusted=pl.Series(adjusted).fill_nan(None),
    ).with_columns(
        significant=(pl.col("p_adjusted") < alpha).fill_null(False),
        relative_risk=pl.col("failure_rate") / pl.col("rest_rate"),
    )
    table = table.with_columns(
        finding=pl.Series([_finding(row, alpha) for row in table.iter_rows(named=True)], dtype=pl.String)
    )
    return table.sort(["significant", "relative_risk"], descending=[True, True], nulls_last=True)


def significant_patterns(
    patterns: pl.DataFrame, *, direction: Literal["worse", "better", "both"] = "worse"
) -> pl.DataFrame:
    """The levels that differ from the rest of the plant after correction, worse (or better) than it."""
    chosen = patterns.filter(pl.col("significant"))
    if direction == "worse":
        return chosen.filter(pl.col("failure_rate") > pl.col("rest_rate"))
    if direction == "better":
        return chosen.filter(pl.col("failure_rate") < pl.col("rest_rate"))
    return chosen


def _binomial_two_sided(failures: np.ndarray, inspections: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Exact two-sided binomial p-values (doubling the smaller tail), vectorized."""
    with np.errstate(invalid="ignore"):
        lower = stats.binom.cdf(failures, inspections, rate)
        upper = stats.binom.sf(failures - 1, inspections, rate)
    p_values: np.ndarray = np.clip(2 * np.minimum(lower, upper), 0.0, 1.0)
    return p_values


def _finding(row: dict[str, object], alpha: float) -> str:
    factor = str(row["factor"]).removesuffix("_id").replace("_", " ")
    rate = _as_float(row["failure_rate"])
    low, high = _as_float(row["rate_low"]), _as_float(row["rate_high"])
    rest = _as_float(row["rest_rate"])
    text = (
        f"{factor} {row['level']}: {100 * rate:.1f}% of {row['inspections']} inspections failed "
        f"(95% CI {100 * low:.1f}-{100 * high:.1f}%) vs {100 * rest:.1f}% elsewhere"
    )
    adjusted = row["p_adjusted"]
    if adjusted is None:
        return text + "; too few inspections to test."
    if not row["significant"]:
        return text + f"; within chance (adjusted p = {_as_float(adjusted):.2g})."
    times = rate / rest if rest > 0 else math.inf
    verdict = f"fails {times:.1f}x as often" if rate > rest else f"fails {1 / times:.1f}x less often"
    return text + f"; {verdict}, beyond chance (adjusted p = {_as_float(adjusted):.1g} < {alpha})."


def _as_float(value: object) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    return math.nan
