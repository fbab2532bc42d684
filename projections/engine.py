"""The events relation every read model folds over, bounded by a cut on both time axes and the log's order.

Read models are SQL over a relation named `events` with the lake columns (CONTRACTS section 7). This module
knows those columns, turns a `core.reference.Cut` into the filter that makes `events` "what was true as of
t, as known at k, up to sequence n", and defines every read-model view, in dependency order, in a DuckDB
connection. It knows nothing about where the events come from: the lake API hands it a source relation.
"""

import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from core.factory import Factory
from core.reference import Cut
from projections.views import (
    assemblies,
    card_units,
    events,
    genealogy,
    job_progress,
    jobs,
    operation_durations,
    sheets,
    station_queue,
)
from projections.views.sql import empty_relation, quote, timestamp_literal

# The lake's columns and their DuckDB types, in the contract's order (event_date is derived, see EVENTS_SELECT).
LAKE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sequence_num", "BIGINT"),
    ("aggregate_type", "VARCHAR"),
    ("aggregate_id", "VARCHAR"),
    ("aggregate_version", "BIGINT"),
    ("event_type", "VARCHAR"),
    ("occurred_at", "TIMESTAMPTZ"),
    ("recorded_at", "TIMESTAMPTZ"),
    ("job_id", "VARCHAR"),
    ("sheet_id", "VARCHAR"),
    ("card_unit_id", "VARCHAR"),
    ("station_id", "VARCHAR"),
    ("operator_id", "VARCHAR"),
    ("scan_id", "VARCHAR"),
    ("payload", "VARCHAR"),
    ("schema_version", "INTEGER"),
)
LAKE_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in LAKE_COLUMNS)
# Casting every source to the same types lets a Parquet file, an Arrow tail and an empty lake union cleanly.
EVENTS_SELECT = ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in LAKE_COLUMNS)

# The read-model views in dependency order; `Lake.sql` sees all of them.
VIEW_NAMES: tuple[str, ...] = (
    "admitted_events",
    "events",
    "card_units",
    "sheets",
    "assembly_states",
    "assemblies",
    "jobs",
    "job_progress",
    "station_operations",
    "station_queue",
    "genealogy",
    "operation_durations",
)


def cut_predicate(cut: Cut) -> str:
    """The SQL condition admitting exactly the events `cut.admits` admits."""
    terms = ["TRUE"]
    if cut.as_of is not None:
        terms.append(f"occurred_at <= {timestamp_literal(cut.as_of)}")
    if cut.known_at is not None:
        terms.append(f"recorded_at <= {timestamp_literal(cut.known_at)}")
    if cut.up_to_sequence is not None:
        terms.append(f"sequence_num <= {int(cut.up_to_sequence)}")
    return " AND ".join(terms)


def empty_events() -> str:
    return empty_relation(LAKE_COLUMNS)


def reference_time(cut: Cut, now: datetime | None = None) -> datetime:
    """The moment a time-dependent alert is judged at: the cut's occurred time, else its recorded time, else now."""
    if cut.as_of is not None:
        return cut.as_of
    if cut.known_at is not None:
        return cut.known_at
    return now if now is not None else datetime.now(UTC)


def connect(memory_limit: str | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection set up for the folds: UTC session, metadata cache for repeated lookups."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute("SET parquet_metadata_cache = true")
    # spill (if ever) to the system's temporary directory, never into whatever directory we were started in
    spill = Path(tempfile.gettempdir()) / "cardtrace-duckdb"
    connection.execute(f"SET temp_directory = {quote(str(spill))}")
    if memory_limit is not None:
        connection.execute(f"SET memory_limit = {quote(memory_limit)}")
    if threads is not None:
        connection.execute(f"SET threads = {int(threads)}")
    return connection


@dataclass(frozen=True, kw_only=True, slots=True)
class FoldedBase:
    """Read models already folded through `last_sequence` (materialized), as relations of the connection.

    With a base, a view folds only the events after it and lays them over the base: the same answer as a fold
    from scratch, at the cost of the newer events only. Only an unbounded cut may use one (a time bound
    would have to drop events the base already folded).
    """

    last_sequence: int
    card_units: str
    sheets: str
    assemblies: str
    jobs: str
    newer_source: str | None = None  # the events after last_sequence, pre-pruned (else taken from `source`)


# What each view reads, so a query defines only the views it needs (binding a view costs milliseconds).
VIEW_DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "admitted_events": (),
    "events": ("admitted_events",),
    "card_units": ("admitted_events",),
    "sheets": ("admitted_events",),
    "assembly_states": ("admitted_events",),
    "assemblies": ("assembly_states",),
    "jobs": ("admitted_events",),
    "job_progress": ("jobs", "card_units", "sheets", "assemblies"),
    "station_operations": (),
    "station_queue": ("card_units", "sheets", "assemblies", "station_operations"),
    "genealogy": ("card_units", "sheets", "assemblies"),
    "operation_durations": ("admitted_events", "jobs", "station_operations"),
}


def views_for(query: str) -> set[str]:
    """The views a query names, with everything they read."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", query.lower()))
    needed: set[str] = set()
    pending = [name for name in VIEW_NAMES if name in words]
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending.extend(VIEW_DEPENDENCIES[name])
    return needed


def admits_everything(cut: Cut) -> bool:
    return cut.as_of is None and cut.known_at is None and cut.up_to_sequence is None


def define_views(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    factory: Factory,
    cut: Cut | None = None,
    *,
    now: datetime | None = None,
    base: FoldedBase | None = None,
    only: set[str] | None = None,
    as_tables: frozenset[str] = frozenset(),
) -> None:
    """Create every read-model view as a TEMP view of `connection`, folding `source` bounded by `cut`.

    `source` is a relation (a name or a parenthesised query) with the lake columns. Views are lazy: a query
    pays only for the read models it names. Use a fresh cursor per cut, since temp views are per connection.
    `admitted_events` (the lake columns within the cut) is what the folds read; `events` adds payload fields.
    `only` limits the views defined (see `views_for`); the ones in `as_tables` are computed at once into TEMP
    tables instead, when several queries of one cut read them (the equivalence suite, materialization).
    """
    cut = cut or Cut()
    if base is not None and not admits_everything(cut):
        raise ValueError("a materialized base holds current state; a time-travel cut folds from scratch")
    admitted = f"SELECT {EVENTS_SELECT} FROM {source} WHERE {cut_predicate(cut)}"
    if base is None:
        folds = {
            "card_units": card_units.card_units_sql("admitted_events"),
            "sheets": sheets.sheets_sql("admitted_events"),
            "assembly_states": assemblies.assemblies_sql("admitted_events"),
            "jobs": jobs.jobs_sql("admitted_events"),
        }
    else:
        after = f"sequence_num > {int(base.last_sequence)}"
        newer = (
            f"(SELECT {EVENTS_SELECT} FROM {base.newer_source} WHERE {after})"
            if base.newer_source is not None
            else f"(SELECT * FROM admitted_events WHERE {after})"
        )
        folds = {
            "card_units": card_units.merge_sql(card_units.partial_sql(newer, base.assemblies), base.card_units),
            "sheets": sheets.merge_sql(sheets.partial_sql(newer), base.sheets),
            "assembly_states": assemblies.merge_sql(assemblies.partial_sql(newer, base.assemblies), base.assemblies),
            "jobs": jobs.merge_sql(jobs.partial_sql(newer), base.jobs),
        }
    definitions = {
        "admitted_events": admitted,
        "events": events.events_sql("admitted_events"),
        **folds,
        "assemblies": assemblies.assemblies_view_sql(
            "assembly_states", factory.assembly_timeout_minutes, reference_time(cut, now)
        ),
        "job_progress": job_progress.job_progress_sql(),
        "station_operations": station_queue.station_operations_sql(factory),
        "station_queue": station_queue.station_queue_sql(factory),
        "genealogy": genealogy.genealogy_sql(),
        "operation_durations": operation_durations.operation_durations_sql("admitted_events"),
    }
    for name in VIEW_NAMES:
        if only is None or name in only:
            kind = "TABLE" if name in as_tables else "VIEW"
            connection.execute(f"CREATE OR REPLACE TEMP {kind} {name} AS {definitions[name]}")
