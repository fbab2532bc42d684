"""Analytics on the read side: derived views of the event log for analysts, never domain events.

Two frames carry what the detectors read, both queries over a `Lake` (`floor_facts`): `timed_operations`
(every operation run with its station, operator and working minutes against standard) and `qa_inspections`
(every QA result with its card's position, product and upstream facts: press, foil or UV station, operators,
hours, minutes since a changeover). Every function after that takes and returns Polars frames:

- `find_operation_anomalies` / `score_operations`: the plant's rule (actual > 2x standard) checked against
  a learned, robust baseline per station, operator and product, each flag explained in plain words;
- `failure_patterns`: QA failure rates by any factor, Wilson intervals, exact tests against the rest of the
  plant with Benjamini-Hochberg (or Holm) correction, each level summed up in a sentence;
- `station_alarms`: CUSUM drift detection on every station's failure rate and speed, with onset times;
- `train_failure_model`: a classifier of QA failure from upstream facts on a time-based split, with ROC AUC,
  Brier score, reliability bins and permutation importances.

>>> import polars as pl
>>> from projections.analytics import failure_rates
>>> inspections = pl.DataFrame({"station_id": ["QA-BENCH-1"] * 4 + ["QA-BENCH-2"] * 4,
...                             "failed": [True, False, False, False, True, True, False, False]})
>>> failure_rates(inspections, "station_id").select("station_id", "failure_rate").rows()
[('QA-BENCH-2', 0.5), ('QA-BENCH-1', 0.25)]

On a data directory (empty here; a simulated plant in the notebooks):

>>> import tempfile
>>> from projections import open_lake
>>> from projections.analytics import find_operation_anomalies, qa_inspections, timed_operations
>>> with open_lake(tempfile.mkdtemp()) as lake:
...     operations = timed_operations(lake)
...     inspections = qa_inspections(lake, operations=operations)
>>> find_operation_anomalies(operations).height, inspections.height
(0, 0)
"""

from projections.analytics.drift import failure_rate_alarms, speed_alarms, station_alarms
from projections.analytics.floor_facts import qa_inspections, timed_operations
from projections.analytics.operation_anomalies import find_operation_anomalies, score_operations
from projections.analytics.predictive_qa import PredictiveQAReport, train_failure_model
from projections.analytics.qa_patterns import failure_patterns, failure_rates, significant_patterns
from projections.analytics.working_time import working_hours_between

__all__ = [
    "PredictiveQAReport",
    "failure_patterns",
    "failure_rate_alarms",
    "failure_rates",
    "find_operation_anomalies",
    "qa_inspections",
    "score_operations",
    "significant_patterns",
    "speed_alarms",
    "station_alarms",
    "timed_operations",
    "train_failure_model",
    "working_hours_between",
]
