"""The analytics against the simulator's ground truth: a simulated month with anomalies and one without.

Simulates the demo plant (fixed seeds) into temporary data directories through the real ingest path, reads
them back through `projections.open_lake` only, runs the detectors and scores them against
`<data>/simulation/truth.parquet`:

- operation anomalies: precision and recall against the injected `slow_operation` rows (matched on entity,
  operation and start), next to the plant's plain rule (actual > 2x standard) and to the best any detector
  can do on durations alone (the separability ceiling, see `separability_ceiling`);
- the failing foil die: working hours from its onset to the first failure-rate alarm on its station;
- the slow drift: working days from its onset to the first speed alarm on its station;
- predictive QA: held-out ROC AUC next to its ceiling, the AUC of the simulator's own failure probabilities
  on the same inspections;
- on the plant without anomalies: every flag and alarm is a false positive.

    .venv/bin/python benchmarks/analytics_eval.py               # a simulated month each, ~10 minutes
    .venv/bin/python benchmarks/analytics_eval.py --days 7      # a week each

The simulator does not write its per-inspection failure probabilities (yet): this script records them by
wrapping the model's QA step in this process (`recorded_failure_probabilities`), which only works in-process.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table
from sklearn.metrics import roc_auc_score

from apps.simulate import plant_model
from apps.simulate.runner import simulate
from apps.simulate.scenario import Scenario
from apps.simulate.truth import truth_path
from core.factory import Factory
from projections.analytics.drift import (
    SPEED_ALARM_THRESHOLD,
    first_quarter_end,
    hourly_pace,
    hourly_scale,
    station_alarms,
)
from projections.analytics.floor_facts import qa_inspections, timed_operations
from projections.analytics.operation_anomalies import score_operations
from projections.analytics.predictive_qa import train_failure_model
from projections.analytics.working_time import working_hours_between
from projections.data_dir import DataDir, resolve_data_dir
from projections.lake_api import open_lake

TARGET_PRECISION = 0.8
TARGET_RECALL = 0.9
TARGET_DIE_HOURS = 4.0
TARGET_DRIFT_DAYS = 2.0
TARGET_AUC_GAP = 0.05
WORKING_HOURS_PER_DAY = 16.0  # every station of the demo plant works 06:00-22:00


# --- ground truth the simulator does not write yet ------------------------------------------------------


@contextlib.contextmanager
def recorded_failure_probabilities() -> Iterator[list[tuple[str, int, float]]]:
    """(card unit, attempt, probability of failing) for every inspection the model makes while inside.

    The probability is the simulator's own: `_failure_probability` for the card at that bench, by that
    inspector, at that hour, combined with the die damage the card carries (caught 90% of the time).
    """
    recorded: list[tuple[str, int, float]] = []
    original = plant_model.PlantModel._inspect

    def recording(self: plant_model.PlantModel, unit, card, operation, operator, scan_id) -> None:  # type: ignore[no-untyped-def]
        card.attempts += 1  # the model counts the attempt before it judges it
        probability = self._failure_probability(unit, card, operator)
        card.attempts -= 1
        die = plant_model._DIE_CATCH_RATE if card.die_damaged else 0.0
        recorded.append((card.card_unit_id, card.attempts + 1, 1.0 - (1.0 - die) * (1.0 - probability)))
        original(self, unit, card, operation, operator, scan_id)

    plant_model.PlantModel._inspect = recording  # type: ignore[method-assign]
    try:
        yield recorded
    finally:
        plant_model.PlantModel._inspect = original  # type: ignore[method-assign]


# --- scoring ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class DetectionScore:
    flagged: int
    injected: int
    found: int

    @property
    def precision(self) -> float:
        return self.found / self.flagged if self.flagged else math.nan

    @property
    def recall(self) -> float:
        return self.found / self.injected if self.injected else math.nan


def slow_operation_truth(truth: pl.DataFrame) -> pl.DataFrame:
    return truth.filter(pl.col("anomaly_type") == "slow_operation").select(
        "entity_id", "operation_id", pl.col("start").alias("started_at"), pl.lit(True).alias("injected")
    )


def with_injected(scored: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Mark each scored operation injected or not: same entity and operation, started at the same instant."""
    injected = slow_operation_truth(truth).with_columns(pl.col("started_at").dt.truncate("1s").alias("start_second"))
    return (
        scored.with_columns(start_second=pl.col("started_at").dt.truncate("1s"))
        .join(injected.drop("started_at"), on=["entity_id", "operation_id", "start_second"], how="left")
        .with_columns(injected=pl.col("injected").fill_null(False))
        .drop("start_second")
    )


def detection_score(marked: pl.DataFrame, flag: str) -> DetectionScore:
    return DetectionScore(
        flagged=int(marked[flag].sum()),
        injected=int(marked["injected"].sum()),
        found=int((marked[flag] & marked["injected"]).sum()),
    )


def separability_ceiling(marked: pl.DataFrame, precision: float = TARGET_PRECISION) -> float:
    """The best recall at `precision` of a threshold on the robust deviation, picked with the truth in hand.

    Among operations over the rule and not carrying a setup, ranked by `robust_z`: an upper bound for any
    threshold, and a measure of how much the injected durations overlap the floor's own long tail.
    """
    candidates = pl.col("robust_z").is_not_null() & pl.col("over_rule") & ~pl.col("after_setup")
    ranked = marked.filter(candidates).sort("robust_z", descending=True)
    hits = ranked["injected"].cast(pl.Int64).cum_sum().to_numpy()
    flagged = np.arange(1, len(hits) + 1)
    total = int(ranked["injected"].sum())
    feasible = hits / flagged >= precision
    return float(hits[feasible].max() / total) if total and feasible.any() else 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class AlarmDelay:
    """How long after an injected onset its station's first alarm came, in the station's working hours."""

    from_onset: float | None  # from the truth's start
    from_exposure: float | None  # from the first operation the fault could touch (the die's first sheet)
    explanation: str


def first_alarm_delay(
    alarms: pl.DataFrame, operations: pl.DataFrame, truth_row: dict[str, object], signal: str, factory: Factory
) -> AlarmDelay:
    """The first alarm of `signal` on the truth row's station at or after its start, against two onsets.

    A die that fails while no sheet is foiled damages nothing until the next sheet: `from_exposure` counts
    from the first operation started at the station inside the window, the first moment a card can carry
    the fault (for a drift, the same as the onset but for the time to the station's next operation).
    """
    station = str(truth_row["station_id"])
    start, end = truth_row["start"], truth_row["end"]
    hours = factory.station(station).operating_hours
    touched = operations.filter(pl.col("station_id") == station, pl.col("started_at") >= start)
    if end is not None:
        touched = touched.filter(pl.col("started_at") < end)
    exposure = touched["started_at"].min()
    mine = alarms.filter(pl.col("station_id") == station, pl.col("signal") == signal, pl.col("alarm_at") >= start)
    if mine.height == 0:
        return AlarmDelay(from_onset=None, from_exposure=None, explanation="no alarm")
    first = mine.row(0, named=True)
    return AlarmDelay(
        from_onset=working_hours_between(start, first["alarm_at"], hours),  # type: ignore[arg-type]
        from_exposure=None if exposure is None else working_hours_between(exposure, first["alarm_at"], hours),  # type: ignore[arg-type]
        explanation=str(first["explanation"]),
    )


def known_ramp_days(operations: pl.DataFrame, truth_row: dict[str, object], factory: Factory) -> float | None:
    """Working days from the drift's onset until an observer told its onset and slope is as sure as the
    detector must be: the likelihood ratio of the true ramp, over the same hourly deviations the detector
    reads (`hourly_pace`), reaching the speed alarm's threshold. No detector that must also find the onset
    alarms sooner at that threshold."""
    station, onset, end = str(truth_row["station_id"]), truth_row["start"], truth_row["end"]
    if not isinstance(onset, datetime) or not isinstance(end, datetime):
        return None
    reference_until = first_quarter_end(operations["started_at"])
    pace = hourly_pace(operations, reference_until=reference_until).filter(pl.col("station_id") == station)
    reference = pace.filter(pl.col("hour_start") < reference_until)
    scale = hourly_scale(reference)  # as `speed_alarms` scales them
    after = pace.filter(pl.col("hour_start") >= onset)
    span = (end - onset).total_seconds()
    progress = np.clip([((t - onset).total_seconds() + 1800) / span for t in after["hour_start"]], 0.0, 1.0)
    # Each operation's expected deviation under the true ramp, in the detector's units (see `speed_alarms`).
    shift = np.log1p((Scenario().drift_final_factor - 1.0) * progress) / (after["spread"].to_numpy() * scale)
    evidence = np.cumsum(
        shift * after["deviation_sum"].to_numpy() / scale - after["operations"].to_numpy() * shift * shift / 2
    )
    reached = np.flatnonzero(evidence >= SPEED_ALARM_THRESHOLD)
    if reached.size == 0:
        return None
    hours = factory.station(station).operating_hours
    return working_hours_between(onset, after["last_started_at"][int(reached[0])], hours) / WORKING_HOURS_PER_DAY


@dataclass(frozen=True, kw_only=True, slots=True)
class PlantEvaluation:
    label: str
    operations: int
    inspections: int
    detector: DetectionScore
    rule: DetectionScore
    recall_ceiling: float
    after_setup_injected: int
    die: AlarmDelay | None
    drift: AlarmDelay | None
    drift_known_ramp_days: float | None
    alarms: pl.DataFrame
    false_alarms: int
    auc: float
    auc_ceiling: float | None
    brier: float
    brier_constant: float
    top_features: list[str]
    seconds: float


def evaluate(data: DataDir, probabilities: list[tuple[str, int, float]] | None, label: str) -> PlantEvaluation:
    clock = time.perf_counter()
    truth = pl.read_parquet(truth_path(data)) if truth_path(data).exists() else pl.DataFrame()
    with open_lake(data) as lake:
        operations = timed_operations(lake)
        inspections = qa_inspections(lake, operations=operations)
        factory = lake.factory
    scored = score_operations(operations)
    marked = with_injected(scored, truth) if truth.height else scored.with_columns(injected=pl.lit(False))
    alarms = station_alarms(inspections, operations)
    die: AlarmDelay | None = None
    drift: AlarmDelay | None = None
    drift_known_ramp: float | None = None
    expected_alarms = pl.lit(False)
    for row in truth.filter(pl.col("anomaly_type") == "foil_die_failure").iter_rows(named=True):
        die = first_alarm_delay(alarms, operations, row, "failure rate after foil", factory)
        # Its cards fail for a while after the window too: they were foiled in it and inspected later.
        expected_alarms = expected_alarms | (
            pl.col("signal").str.starts_with("failure rate")
            & pl.col("alarm_at").is_between(row["start"], row["end"] + (row["end"] - row["start"]))
        )
    for row in truth.filter(pl.col("anomaly_type") == "station_drift").iter_rows(named=True):
        drift = first_alarm_delay(alarms, operations, row, "speed", factory)
        drift_known_ramp = known_ramp_days(operations, row, factory)
        expected_alarms = expected_alarms | (
            (pl.col("signal") == "speed") & (pl.col("station_id") == row["station_id"])
        )
    report = train_failure_model(inspections)
    held_out = report.predictions
    auc_ceiling = None
    if probabilities:
        truth_p = pl.DataFrame(probabilities, schema=["card_unit_id", "attempt", "true_probability"], orient="row")
        joined = held_out.join(
            truth_p.with_columns(pl.col("attempt").cast(held_out["attempt"].dtype)), on=["card_unit_id", "attempt"]
        )
        auc_ceiling = float(roc_auc_score(joined["failed"].to_numpy(), joined["true_probability"].to_numpy()))
    return PlantEvaluation(
        label=label,
        operations=operations.height,
        inspections=inspections.height,
        detector=detection_score(marked, "anomalous"),
        rule=detection_score(marked, "over_rule"),
        recall_ceiling=separability_ceiling(marked),
        after_setup_injected=int((marked["injected"] & marked["after_setup"]).sum()),
        die=die,
        drift=drift,
        drift_known_ramp_days=drift_known_ramp,
        alarms=alarms,
        false_alarms=alarms.filter(~expected_alarms).height,
        auc=report.roc_auc,
        auc_ceiling=auc_ceiling,
        brier=report.brier,
        brier_constant=report.brier_constant,
        top_features=report.importances.head(5)["feature"].to_list(),
        seconds=time.perf_counter() - clock,
    )


# --- the run ---------------------------------------------------------------------------------------------


PROBABILITIES_FILE = "failure_probabilities.parquet"  # beside the plant it was recorded on, with --keep


def _simulated(
    root: Path, name: str, days: float, seed: int, scenario: Scenario | None, *, reuse: bool
) -> tuple[DataDir, list[tuple[str, int, float]], float]:
    """Simulate a plant into root/name, recording the simulator's failure probabilities; or read a kept one."""
    data = resolve_data_dir(root / name)
    recorded = root / f"{name}-{PROBABILITIES_FILE}"
    if reuse:
        return data, pl.read_parquet(recorded).rows() if recorded.exists() else [], 0.0
    clock = time.perf_counter()
    with recorded_failure_probabilities() as probabilities:
        simulate(data, days=days, seed=seed, progress=True, scenario=scenario)
    pl.DataFrame(probabilities, schema=["card_unit_id", "attempt", "true_probability"], orient="row").write_parquet(
        recorded
    )
    return data, list(probabilities), time.perf_counter() - clock


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("[green]met[/]" if ok else "[red]missed[/]")


def render(console: Console, anomalous: PlantEvaluation, quiet: PlantEvaluation | None) -> None:
    table = Table(title="Analytics against the simulator's ground truth")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("", justify="left")
    detector, rule = anomalous.detector, anomalous.rule
    table.add_row("operations / inspections", f"{anomalous.operations:,} / {anomalous.inspections:,}", "", "")
    table.add_row("injected slow operations", f"{detector.injected:,}", "", "")
    table.add_row(
        "operation anomalies: precision / recall",
        f"{detector.precision:.3f} / {detector.recall:.3f}",
        f">= {TARGET_PRECISION} / >= {TARGET_RECALL}",
        _verdict(detector.precision >= TARGET_PRECISION and detector.recall >= TARGET_RECALL),
    )
    table.add_row("  the plain rule (> 2x standard)", f"{rule.precision:.3f} / {rule.recall:.3f}", "", "baseline")
    table.add_row(
        f"  best recall at precision {TARGET_PRECISION} on durations alone",
        f"{anomalous.recall_ceiling:.3f}",
        "",
        "ceiling",
    )
    table.add_row(
        "  injected on a first operation after a setup", f"{anomalous.after_setup_injected}", "", "not judged"
    )
    die = anomalous.die
    if die is not None:
        table.add_row(
            "failing foil die: working hours to alarm, from its first sheet",
            "none" if die.from_exposure is None else f"{die.from_exposure:.2f}",
            f"<= {TARGET_DIE_HOURS:g}",
            _verdict(die.from_exposure is not None and die.from_exposure <= TARGET_DIE_HOURS),
        )
        table.add_row(
            "  from the start of its window", "none" if die.from_onset is None else f"{die.from_onset:.2f}", "", ""
        )
    drift = anomalous.drift
    if drift is not None:
        days = None if drift.from_onset is None else drift.from_onset / WORKING_HOURS_PER_DAY
        table.add_row(
            "slow drift: working days to alarm",
            "none" if days is None else f"{days:.2f}",
            f"<= {TARGET_DRIFT_DAYS:g}",
            _verdict(days is not None and days <= TARGET_DRIFT_DAYS),
        )
        known = anomalous.drift_known_ramp_days
        table.add_row(
            "  an observer told its onset and slope, same threshold",
            "never" if known is None else f"{known:.2f}",
            "",
            "information limit",
        )
    table.add_row("other alarms on the anomalous plant", f"{anomalous.false_alarms}", "", "")
    ceiling = anomalous.auc_ceiling
    table.add_row(
        "predictive QA: ROC AUC (ceiling)",
        f"{anomalous.auc:.3f} ({'n/a' if ceiling is None else f'{ceiling:.3f}'})",
        f">= ceiling - {TARGET_AUC_GAP}",
        _verdict(None if ceiling is None else anomalous.auc >= ceiling - TARGET_AUC_GAP),
    )
    table.add_row("  Brier (constant-rate forecast)", f"{anomalous.brier:.4f} ({anomalous.brier_constant:.4f})", "", "")
    table.add_row("  top features", ", ".join(anomalous.top_features), "", "")
    if quiet is not None:
        rate = quiet.detector.flagged / quiet.operations if quiet.operations else math.nan
        table.add_row(
            "plant without anomalies: operation flags",
            f"{quiet.detector.flagged} ({rate:.5f} of operations)",
            "",
            "false-positive rate",
        )
        table.add_row(
            "plant without anomalies: drift alarms", f"{quiet.alarms.height}", "0", _verdict(quiet.alarms.height == 0)
        )
    console.print(table)
    for name, delay in (("die", anomalous.die), ("drift", anomalous.drift)):
        console.print(f"[bold]{name}[/]: {delay.explanation if delay else 'not injected'}", highlight=False)
    for row in anomalous.alarms.iter_rows(named=True):
        console.print(f"  alarm [{row['signal']}] {row['explanation']}", highlight=False)
    if quiet is not None:
        for row in quiet.alarms.iter_rows(named=True):
            console.print(f"  false alarm [{row['signal']}] {row['explanation']}", highlight=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=float, default=30.0, help="simulated days per plant (default: a month)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the plant with anomalies")
    parser.add_argument("--quiet-seed", type=int, default=8, help="seed of the plant without anomalies")
    parser.add_argument("--no-quiet", action="store_true", help="skip the plant without anomalies")
    parser.add_argument("--keep", type=Path, default=None, help="simulate into this directory and keep it")
    parser.add_argument("--reuse", type=Path, default=None, help="evaluate the plants an earlier --keep left here")
    args = parser.parse_args(argv)
    console = Console(width=150)
    with contextlib.ExitStack() as stack:
        temporary = args.reuse or args.keep
        root = temporary or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cardtrace-eval-")))
        reuse = args.reuse is not None
        data, probabilities, seconds = _simulated(root, "anomalous", args.days, args.seed, None, reuse=reuse)
        console.print(f"simulated {args.days:g} days with anomalies in {seconds:.0f} s")
        anomalous = evaluate(data, probabilities, "with anomalies")
        console.print(f"evaluated in {anomalous.seconds:.0f} s")
        quiet = None
        if not args.no_quiet:
            quiet_data, _, seconds = _simulated(
                root, "quiet", args.days, args.quiet_seed, Scenario(inject_anomalies=False), reuse=reuse
            )
            console.print(f"simulated {args.days:g} days without anomalies in {seconds:.0f} s")
            quiet = evaluate(quiet_data, None, "without anomalies")
        render(console, anomalous, quiet)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
