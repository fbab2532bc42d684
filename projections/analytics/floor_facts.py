"""The facts the detectors read, built from the lake's views: timed operations and QA inspections.

Analytics is a read-side derivation: these frames are queries over `operation_durations`, `events` and
`card_units`, never stored. Two things are added on the way:

- Durations in *working* minutes of the station (its operating hours): the floor pauses work at closing, so
  an operation started at 21:58 and completed at 06:03 took five working minutes, not eight hours.
- Upstream facts of each inspected card: for every operation before QA in the product's DAG (press, foil
  or UV, cut, serial number, memorabilia), the station, the operator, the hour and the minutes since that
  unit's last changeover, as `<operation>_station_id`, `<operation>_operator_id`, `<operation>_hour`,
  `<operation>_minutes_since_setup` and `<operation>_completed_at`. Sheet operations come from the sheet the
  card was printed on (a replacement's make-up sheet), card operations from the card itself.
"""

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

import polars as pl

from core.factory import Factory
from projections.analytics.operation_anomalies import with_operation_context
from projections.analytics.working_time import working_minutes_between


class LakeReader(Protocol):
    """What the analytics need of `projections.Lake`: SQL over its views at a cut, and its factory."""

    factory: Factory

    def sql(self, query: str, as_of: datetime | None = None, known_at: datetime | None = None) -> pl.DataFrame: ...


_TIMED_OPERATIONS_SQL = """
    SELECT entity_type, entity_id, job_id, sheet_id, card_unit_id, product_id, operation_id,
        CAST(attempt AS INTEGER) AS attempt, station_id,
        coalesce(started_by, completed_by) AS operator_id, started_at, completed_at, qa_result,
        actual_minutes AS elapsed_minutes, standard_minutes
    FROM operation_durations
    WHERE started_at IS NOT NULL AND completed_at IS NOT NULL
"""

_INSPECTIONS_SQL = """
    SELECT e.card_unit_id, c.sheet_id, c.job_id, c.product_id, c.position,
        coalesce(c.printed_on_sheet_id, c.sheet_id) AS printed_sheet_id,
        e.station_id, e.operator_id, e.occurred_at AS inspected_at, e.recorded_at AS known_at, e.attempt,
        e.result, e.failure_reason,
        from_json(e.payload, '{"failure_codes": ["VARCHAR"]}').failure_codes AS failure_codes
    FROM events AS e JOIN card_units AS c ON c.card_unit_id = e.card_unit_id
    WHERE e.event_type = 'QAResultRecorded'
"""


def timed_operations(lake: LakeReader, as_of: datetime | None = None, known_at: datetime | None = None) -> pl.DataFrame:
    """Every completed operation run with a start, in working minutes: the operation anomalies' input."""
    return in_working_minutes(_in_utc(lake.sql(_TIMED_OPERATIONS_SQL, as_of, known_at)), lake.factory)


def _in_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """DuckDB hands times over as `Etc/UTC`; one zone name everywhere lets frames join and compare."""
    return frame.with_columns(pl.col(pl.Datetime).dt.convert_time_zone("UTC"))


def in_working_minutes(operations: pl.DataFrame, factory: Factory) -> pl.DataFrame:
    """Replace `actual_minutes` by the working minutes of the station between start and completion.

    Also adds `setup_minutes` (the station's changeover time) and `unit_id`: the station where it has one
    unit, the station and operator where it has several (each unit has its own operators, and its own
    changeovers), so `with_operation_context` finds each unit's setup runs.
    """
    parts = []
    for station in factory.stations:
        rows = operations.filter(pl.col("station_id") == station.station_id)
        if rows.height == 0:
            continue
        unit = (
            pl.col("station_id")
            if station.parallel_units == 1
            else pl.concat_str("station_id", "operator_id", separator="/")
        )
        parts.append(
            rows.with_columns(
                actual_minutes=working_minutes_between(
                    pl.col("started_at"), pl.col("completed_at"), station.operating_hours
                ),
                setup_minutes=pl.lit(station.setup_minutes),
                unit_id=unit,
            )
        )
    if not parts:
        return operations.with_columns(
            actual_minutes=pl.col("elapsed_minutes"), setup_minutes=pl.lit(0.0), unit_id=pl.col("station_id")
        )
    return pl.concat(parts)


def upstream_operations(factory: Factory) -> set[str]:
    """Operations done before QA: every sheet operation and the card operations QA depends on."""
    upstream: set[str] = set()
    for product in factory.products:
        predecessors = {op.operation_id: set(op.predecessors) for op in product.operations}
        for operation in product.operations:
            if operation.kind != "qa":
                continue
            pending, seen = list(predecessors[operation.operation_id]), set()
            while pending:
                earlier = pending.pop()
                if earlier not in seen:
                    seen.add(earlier)
                    pending.extend(predecessors.get(earlier, ()))
            upstream |= seen
        upstream |= {op.operation_id for op in product.operations_for("sheet")}
    return upstream


def qa_inspections(
    lake: LakeReader,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    *,
    operations: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per QA inspection with `failed`, the card's facts and its upstream facts (see module doc)."""
    results = _in_utc(lake.sql(_INSPECTIONS_SQL, as_of, known_at))
    timed = operations if operations is not None else timed_operations(lake, as_of, known_at)
    return with_upstream_facts(results, timed, upstream_operations(lake.factory))


def with_upstream_facts(results: pl.DataFrame, operations: pl.DataFrame, upstream: Collection[str]) -> pl.DataFrame:
    """Join each inspection with the upstream operations of its printed sheet and of the card itself."""
    context = with_operation_context(operations).filter(pl.col("operation_id").is_in(list(upstream)))
    facts = context.select(
        "entity_type",
        "entity_id",
        "operation_id",
        "station_id",
        "operator_id",
        pl.col("started_at").dt.hour().alias("hour"),
        "minutes_since_setup",
        "completed_at",
    ).sort("completed_at")
    inspections = results.with_columns(failed=pl.col("result") == "FAIL", hour=pl.col("inspected_at").dt.hour())
    for entity_type, key in (("sheet", "printed_sheet_id"), ("card_unit", "card_unit_id")):
        mine = facts.filter(pl.col("entity_type") == entity_type)
        if mine.height == 0:
            continue
        # The last run of each operation is the one the card carries (a sheet operation runs once).
        wide = mine.unique(["entity_id", "operation_id"], keep="last").pivot(
            on="operation_id",
            index="entity_id",
            values=["station_id", "operator_id", "hour", "minutes_since_setup", "completed_at"],
        )
        wide = wide.rename({c: _upstream_name(c) for c in wide.columns if c != "entity_id"})
        inspections = inspections.join(wide, left_on=key, right_on="entity_id", how="left")
    return inspections.sort("inspected_at")


def _upstream_name(pivoted: str) -> str:
    """Polars names pivoted columns `<value>_<operation>`; the analytics read `<operation>_<value>`."""
    for value in ("station_id", "operator_id", "hour", "minutes_since_setup", "completed_at"):
        if pivoted.startswith(value + "_"):
            return f"{pivoted.removeprefix(value + '_')}_{value}"
    return pivoted
