"""Predictive QA: trained on the past, judged on the future, close to the AUC of the true probabilities."""

import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from projections.analytics.predictive_qa import PredictiveQAReport, train_failure_model
from tests.integration.analytics.synthetic_floor import SyntheticFloor


@pytest.fixture(scope="module")
def report(floor: SyntheticFloor) -> PredictiveQAReport:
    return train_failure_model(floor.inspections, importance_repeats=2, importance_sample=8000)


def test_the_model_ranks_failures_almost_as_well_as_the_true_probabilities(report: PredictiveQAReport) -> None:
    held_out = report.predictions
    ceiling = roc_auc_score(held_out["failed"].to_numpy(), held_out["true_probability"].to_numpy())
    print(f"ROC AUC {report.roc_auc:.3f} against a ceiling of {ceiling:.3f}")
    assert report.roc_auc >= ceiling - 0.05


def test_it_is_judged_only_on_inspections_after_everything_it_learned_from(
    report: PredictiveQAReport, floor: SyntheticFloor
) -> None:
    assert report.predictions["inspected_at"].min() >= report.split_at  # type: ignore[operator]
    first_attempts = floor.inspections.filter(pl.col("attempt") == 1).height
    assert report.train_inspections + report.test_inspections == first_attempts


def test_its_probabilities_are_calibrated_better_than_a_constant_rate(report: PredictiveQAReport) -> None:
    assert report.brier < report.brier_constant
    bins = report.reliability
    assert bins.height == 10
    assert (bins["mean_predicted"] - bins["observed_rate"]).abs().max() < 0.05  # type: ignore[operator]


def test_its_importances_name_the_facts_that_drive_failures(report: PredictiveQAReport) -> None:
    top = report.importances.head(5)["feature"].to_list()
    assert "position" in top
    assert any("operator" in feature for feature in top)
