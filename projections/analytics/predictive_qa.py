"""Predictive QA: how likely a card is to fail its first inspection, from what is known before it is inspected.

Features are upstream facts of the card (product, sheet position, the press, foil or UV station and the operator at
each operation, the hour, how long after a changeover it was made), where and by whom it is inspected, and the
recent history the plant already knows (the failure rate of the last cards that went through the same station or
operator, counting only results known before this inspection). A gradient-boosted tree ensemble (scikit-learn's
histogram GBM, native categorical splits) learns them; it is trained on the earlier part of the log and judged on
the later part, as it would be used: ROC AUC (does it rank failing cards first), Brier score and reliability bins
(are its probabilities honest), and permutation importances on the held-out cards (what drives it).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import brier_score_loss, roc_auc_score
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # ships no type information

# Facts of the inspection itself; upstream facts are every `<operation>_station_id`, `<operation>_operator_id`,
# `<operation>_hour` and `<operation>_minutes_since_setup` column (see `projections.analytics.floor_facts`).
OWN_CATEGORICAL: Final = ("product_id", "station_id", "operator_id")
OWN_NUMERIC: Final = ("position", "hour")
UPSTREAM_CATEGORICAL_SUFFIXES: Final = ("_station_id", "_operator_id")
UPSTREAM_NUMERIC_SUFFIXES: Final = ("_hour", "_minutes_since_setup")
# Recent history: the failure rate of the last cards that shared a station or operator, among results known
# strictly before this inspection; it carries what no static fact can (a die that started failing today).
HISTORY_WINDOW: Final = 200
HISTORY_PREFIX: Final = "recent_failure_rate_"


@dataclass(frozen=True, kw_only=True, slots=True)
class PredictiveQAReport:
    """A trained failure model judged on the inspections after `split_at`."""

    features: tuple[str, ...]
    split_at: datetime
    train_inspections: int
    test_inspections: int
    roc_auc: float
    brier: float
    brier_constant: float  # the Brier score of always forecasting the training failure rate
    reliability: pl.DataFrame  # per bin of predicted probability: mean predicted, observed rate, inspections
    importances: pl.DataFrame  # per feature: drop in held-out ROC AUC when it is shuffled
    predictions: pl.DataFrame  # the held-out inspections with `predicted`
    model: HistGradientBoostingClassifier


def categorical_features(inspections: pl.DataFrame) -> list[str]:
    """The inspection's own categorical facts and every upstream station and operator column it carries."""
    upstream = [
        c
        for c in inspections.columns
        if c not in OWN_CATEGORICAL and c.endswith(UPSTREAM_CATEGORICAL_SUFFIXES) and not c.startswith(HISTORY_PREFIX)
    ]
    return [
        c
        for c in (*OWN_CATEGORICAL, *upstream)
        if c in inspections.columns and inspections[c].null_count() < inspections.height
    ]


def numeric_features(inspections: pl.DataFrame) -> list[str]:
    upstream = [c for c in inspections.columns if c not in OWN_NUMERIC and c.endswith(UPSTREAM_NUMERIC_SUFFIXES)]
    history = [c for c in inspections.columns if c.startswith(HISTORY_PREFIX)]
    return [c for c in (*OWN_NUMERIC, *upstream, *history) if c in inspections.columns]


def with_failure_history(inspections: pl.DataFrame, *, window: int = HISTORY_WINDOW) -> pl.DataFrame:
    """Add `recent_failure_rate_<key>` per station and operator column: the share failed among the last
    `window` earlier results sharing that key.

    Results are ordered by when they were known (`known_at`, else `inspected_at`); the inspection's own
    result never counts (shift by one), so the feature is what the plant knew just before it.
    """
    known = "known_at" if "known_at" in inspections.columns else "inspected_at"
    ordered = inspections.sort(known)
    earlier = pl.col("failed").cast(pl.Float64).shift(1)
    return ordered.with_columns(
        earlier.rolling_mean(window_size=window, min_samples=10).over(key).alias(f"{HISTORY_PREFIX}{key}")
        for key in categorical_features(ordered)
        if key != "product_id"
    )


def _codes(levels: pl.Series) -> dict[str, int]:
    return {level: code for code, level in enumerate(sorted(levels.drop_nulls().cast(pl.String).unique()))}


def _design(
    frame: pl.DataFrame, categorical: list[str], numeric: list[str], codes: dict[str, dict[str, int]]
) -> np.ndarray:
    """Categories as integer codes learned on the training part (unseen ones missing), numbers as floats."""
    encoded = [
        frame[c].cast(pl.String).replace_strict(codes[c], default=None, return_dtype=pl.Float64).fill_null(np.nan)
        for c in categorical
    ]
    numbers = [frame[c].cast(pl.Float64).fill_null(np.nan) for c in numeric]
    return np.column_stack([s.to_numpy() for s in (*encoded, *numbers)])


def train_failure_model(
    inspections: pl.DataFrame,
    *,
    split_at: datetime | None = None,
    train_share: float = 0.7,
    first_attempt_only: bool = True,
    importance_repeats: int = 3,
    importance_sample: int = 20_000,
    threads: int = 1,
    seed: int = 0,
) -> PredictiveQAReport:
    """Train on inspections before `split_at` (default: the `train_share` quantile of time), judge on the rest.

    `threads` caps OpenMP inside the tree ensemble: on a shared two-core machine (CI runs two test workers)
    more threads than cores make each prediction many times slower, and permutation importance predicts
    `importance_repeats` times per feature, on at most `importance_sample` held-out inspections.
    """
    chosen = inspections.filter(pl.col("attempt") == 1) if first_attempt_only else inspections
    chosen = with_failure_history(chosen)
    if split_at is None:
        quantile = chosen["inspected_at"].sort()[int(train_share * (chosen.height - 1))]
        if not isinstance(quantile, datetime):
            raise ValueError("no inspections to learn from")
        split_at = quantile
    train = chosen.filter(pl.col("inspected_at") < split_at)
    test = chosen.filter(pl.col("inspected_at") >= split_at)
    if train["failed"].n_unique() < 2 or test["failed"].n_unique() < 2:
        raise ValueError("both parts of the split need passing and failing inspections")
    categorical, numeric = categorical_features(train), numeric_features(train)
    codes = {c: _codes(train[c]) for c in categorical}
    x_train, y_train = _design(train, categorical, numeric, codes), train["failed"].to_numpy()
    x_test, y_test = _design(test, categorical, numeric, codes), test["failed"].to_numpy()
    model = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=300,
        max_leaf_nodes=15,
        min_samples_leaf=200,
        l2_regularization=1.0,
        categorical_features=[i < len(categorical) for i in range(len(categorical) + len(numeric))],
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=20,
        random_state=seed,
    )
    with threadpool_limits(limits=threads, user_api="openmp"):
        model.fit(x_train, y_train)
        predicted = model.predict_proba(x_test)[:, 1]
        sample = np.random.default_rng(seed).permutation(len(y_test))[:importance_sample]
        importance = permutation_importance(
            model,
            x_test[sample],
            y_test[sample],
            scoring="roc_auc",
            n_repeats=importance_repeats,
            random_state=seed,
        )
    importances = pl.DataFrame(
        {
            "feature": [*categorical, *numeric],
            "auc_drop": importance.importances_mean,
            "auc_drop_std": importance.importances_std,
        }
    ).sort("auc_drop", descending=True)
    train_rate = float(y_train.mean())
    return PredictiveQAReport(
        features=(*categorical, *numeric),
        split_at=split_at,
        train_inspections=train.height,
        test_inspections=test.height,
        roc_auc=float(roc_auc_score(y_test, predicted)),
        brier=float(brier_score_loss(y_test, predicted)),
        brier_constant=float(brier_score_loss(y_test, np.full(len(y_test), train_rate))),
        reliability=reliability_bins(y_test, predicted),
        importances=importances,
        predictions=test.with_columns(predicted=pl.Series(predicted)),
        model=model,
    )


def reliability_bins(failed: np.ndarray, predicted: np.ndarray, *, bins: int = 10) -> pl.DataFrame:
    """Held-out inspections in equal-count bins of predicted probability: predicted vs observed failure rate."""
    frame = pl.DataFrame({"failed": failed.astype(np.float64), "predicted": predicted})
    return (
        frame.with_columns(bin=(pl.col("predicted").rank("ordinal") * bins / (frame.height + 1)).floor().cast(pl.Int32))
        .group_by("bin")
        .agg(
            mean_predicted=pl.col("predicted").mean(),
            observed_rate=pl.col("failed").mean(),
            inspections=pl.len(),
        )
        .sort("bin")
    )
