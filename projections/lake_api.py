"""The analyst's and the service's way into the lake (CONTRACTS section 7): `open_lake(data_dir)` -> `Lake`.

Every read sees every acknowledged event: the lake's sealed files plus the journal's unsealed tail, taken
fresh at each call. Every read takes `as_of` (occurred time: what was true then, as known now), `known_at`
(recorded time: what the system knew then), both, and `up_to_sequence`. A `Lake` never writes anything.

Tables come back as Polars DataFrames, one entity as a plain dict (None when it does not exist at the cut),
the same columns either way. How each read is computed:

- `sql()` and the table methods run DuckDB over the registered views (`events`, `card_units`, `sheets`,
  `assemblies`, `jobs`, `job_progress`, `station_queue`, `genealogy`, `operation_durations`,
  `station_operations`), each a vectorized fold of the events within the cut. Without a cut, views start from
  the materialized read models (`projections.materialize`) when there are any and fold only newer events.
- One card, sheet or set (and its history and genealogy) folds only its sheet's family: lineage-bearing ids
  name the sheet, every event of the family carries it in `sheet_id`, and the lake's sort order (aggregate id
  within a day) clusters it, so Parquet row-group statistics prune the read to a few hundred events. At that
  size DuckDB's planning (tens of milliseconds per fold) would dominate, so the family is folded by
  `core.reference` itself — the specification every vectorized view is tested against. The last few families
  folded are kept while the log does not move: a card's state, history and genealogy read one fold.
- Station queues (one station's or the table) and job progress as the log stands (no cut) come from the live floor
  (`projections.live_floor`): the open families folded by the reference, kept up to date from the journal
  before each answer. With a cut, a job's progress folds the job's events (`job_id`) with the SQL views.

>>> import tempfile
>>> lake = open_lake(tempfile.mkdtemp())
>>> lake.last_sequence(), lake.card_unit("J1044-S003-07")
(0, None)
>>> lake.sql("SELECT count(*) AS cards FROM card_units").item()
0
>>> lake.station_queue("QA-BENCH-3")["waiting"]
[]
>>> lake.close()
"""

import contextlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from core.envelope import AggregateType, RecordedEvent
from core.events import SetPacked
from core.ids import parse_assembly_id, parse_card_unit_id, parse_entity_id, parse_pack_id, parse_sheet_id
from core.reference import AssemblyView, Cut, ReferenceViews, project
from core.upcasting import upcast
from projections import materialize
from projections.data_dir import DataDir, resolve_data_dir
from projections.engine import (
    EVENTS_SELECT,
    LAKE_COLUMN_NAMES,
    FoldedBase,
    admits_everything,
    connect,
    cut_predicate,
    define_views,
    reference_time,
    views_for,
)
from projections.live_floor import FloorBaseline, LiveFloor
from projections.snapshot import IdRange, Snapshot, SnapshotReader
from projections.views import genealogy as genealogy_view
from projections.views.sql import quote

Row = dict[str, Any]
FOLDED_LINEAGES_KEPT = 32
_Kept = TypeVar("_Kept")


@dataclass(frozen=True, kw_only=True, slots=True)
class _Scope:
    """The events of one lineage: aggregate-id ranges, and the envelope column every one of them carries.

    The ranges are exact; the envelope equality is what DuckDB prunes row groups with (the lake is sorted by
    aggregate id within a day, which clusters a sheet's or a job's rows; an OR of ranges would not prune).
    """

    ranges: tuple[IdRange, ...]
    column: str
    value: str

    @classmethod
    def family(cls, sheet_id: str) -> "_Scope":
        """A sheet, its cards and their replacements ('J1044-S003', 'J1044-S003-07-R1') and its set."""
        return cls(
            ranges=(IdRange.with_descendants(sheet_id), IdRange.exactly(f"A-{sheet_id}")),
            column="sheet_id",
            value=sheet_id,
        )

    @classmethod
    def card(cls, card_unit_id: str, sheet_id: str) -> "_Scope":
        """What a card's state and history are made of: its own events and its set's (its gathering, its
        removal, the packing that reaches it). Nothing else in its family changes it: a third of the rows."""
        return cls(
            ranges=(IdRange.exactly(card_unit_id), IdRange.exactly(f"A-{sheet_id}")),
            column="sheet_id",
            value=sheet_id,
        )

    @classmethod
    def sheet(cls, sheet_id: str) -> "_Scope":
        """A sheet's own events: its state depends on nothing else."""
        return cls(ranges=(IdRange.exactly(sheet_id),), column="sheet_id", value=sheet_id)

    @classmethod
    def assembly(cls, sheet_id: str) -> "_Scope":
        """A set's own events ('A-J1044-S003'): its state depends on nothing else."""
        return cls(ranges=(IdRange.exactly(f"A-{sheet_id}"),), column="sheet_id", value=sheet_id)

    @classmethod
    def job(cls, job_id: str) -> "_Scope":
        """A job, its packs, sheets and cards, and its sets ('A-J1044-S003')."""
        return cls(
            ranges=(IdRange.with_descendants(job_id), IdRange.with_descendants(f"A-{job_id}")),
            column="job_id",
            value=job_id,
        )

    @classmethod
    def aggregate(cls, aggregate_id: str) -> "_Scope":
        return cls(ranges=(IdRange.exactly(aggregate_id),), column="aggregate_id", value=aggregate_id)

    @property
    def predicate(self) -> str:
        """What DuckDB filters on: the envelope equality alone (adding the ranges' OR defeats the pruning)."""
        return f"{self.column} = {quote(self.value)}"

    def exact(self, table: pa.Table) -> pa.Table:
        """The rows within the ranges: drops the station's and memorabilia item's events of the lineage."""
        ids = table.column("aggregate_id")
        keep = pa.array([False] * table.num_rows, type=pa.bool_())
        for r in self.ranges:
            keep = pc.or_(keep, pc.and_(pc.greater_equal(ids, r.low), pc.less(ids, r.high)))
        return table.filter(keep)


def _keep(kept: dict[tuple[object, ...], _Kept], key: tuple[object, ...], value: _Kept) -> None:
    """Keep `value` among the last FOLDED_LINEAGES_KEPT (oldest out first). Call under the lake's lock."""
    kept[key] = value
    while len(kept) > FOLDED_LINEAGES_KEPT:
        kept.pop(next(iter(kept)))


@dataclass(frozen=True, kw_only=True, slots=True)
class _Folded:
    views: ReferenceViews
    events: list[RecordedEvent]  # the lineage's events as core's values, in sequence order
    table: Callable[[], pa.Table]  # the same events with the lake's columns, built when asked


class Lake:
    """Reads of one data directory's event log and read models, as of any cut. Thread-safe; never writes."""

    def __init__(
        self,
        data_dir: DataDir,
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        use_materialized: bool = True,
    ) -> None:
        self.data_dir = data_dir
        self.factory = data_dir.load_factory()
        self._reader = SnapshotReader(data_dir)
        self._connection = connect(memory_limit=memory_limit, threads=threads)
        self._use_materialized = use_materialized
        self._lock = threading.Lock()
        self._folded_lineages: dict[tuple[object, ...], _Folded] = {}
        self._scoped_reads: dict[tuple[object, ...], pa.Table] = {}
        self._live: LiveFloor | None = None

    def close(self) -> None:
        with self._lock:
            self._reader.close()
            self._connection.close()

    def __enter__(self) -> "Lake":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- SQL over the views ------------------------------------------------------------------------------

    def sql(
        self,
        query: str,
        as_of: datetime | None = None,
        known_at: datetime | None = None,
        *,
        up_to_sequence: int | None = None,
    ) -> pl.DataFrame:
        """Run DuckDB `query` over the registered views, every one of them as of the cut.

        >>> import tempfile
        >>> with open_lake(tempfile.mkdtemp()) as lake:
        ...     lake.sql("SELECT station_id, waiting_units FROM station_queue WHERE station_id = 'PACK-1'").rows()
        [('PACK-1', 0)]
        """
        cut = Cut(as_of=as_of, known_at=known_at, up_to_sequence=up_to_sequence)
        with self._views(cut, only=views_for(query)) as cursor:
            frame: pl.DataFrame = cursor.sql(query).pl()
        return frame

    def sql_many(
        self, queries: Mapping[str, str], as_of: datetime | None = None, known_at: datetime | None = None
    ) -> dict[str, pl.DataFrame]:
        """Several queries over one snapshot of the log: consistent with each other, and the views are defined once.

        >>> import tempfile
        >>> with open_lake(tempfile.mkdtemp()) as lake:
        ...     answers = lake.sql_many({"jobs": "SELECT * FROM jobs", "cards": "SELECT * FROM card_units"})
        >>> {name: frame.height for name, frame in answers.items()}
        {'jobs': 0, 'cards': 0}
        """
        needed = set().union(*(views_for(query) for query in queries.values()))
        with self._views(Cut(as_of=as_of, known_at=known_at), only=needed) as cursor:
            return {name: cursor.sql(query).pl() for name, query in queries.items()}

    def events(
        self,
        as_of: datetime | None = None,
        known_at: datetime | None = None,
        *,
        after: int = 0,
        limit: int | None = None,
        up_to_sequence: int | None = None,
    ) -> pl.DataFrame:
        """Events in sequence order (the lake columns, `event_date` and payload fields), after a sequence number.

        >>> import tempfile
        >>> with open_lake(tempfile.mkdtemp()) as lake:
        ...     lake.events(after=0, limit=10).height
        0
        """
        cut = Cut(as_of=as_of, known_at=known_at, up_to_sequence=up_to_sequence)
        bound = f"LIMIT {int(limit)}" if limit is not None else ""
        with self._views(cut, after_sequence=after, only={"admitted_events", "events"}) as cursor:
            frame: pl.DataFrame = cursor.sql(
                f"SELECT * FROM events WHERE sequence_num > {int(after)} ORDER BY sequence_num {bound}"
            ).pl()
        return frame

    # --- whole read models --------------------------------------------------------------------------------

    def card_units(self, as_of: datetime | None = None, known_at: datetime | None = None) -> pl.DataFrame:
        """Every card unit: where it is, its status, QA, serial, memorabilia, lineage, set and pack."""
        return self.sql("SELECT * FROM card_units ORDER BY card_unit_id", as_of, known_at)

    def sheets(self, as_of: datetime | None = None, known_at: datetime | None = None) -> pl.DataFrame:
        return self.sql("SELECT * FROM sheets ORDER BY sheet_id", as_of, known_at)

    def assemblies(self, as_of: datetime | None = None, known_at: datetime | None = None) -> pl.DataFrame:
        """Every set: present and missing positions, replacements, status, and `absent_past_timeout`."""
        return self.sql("SELECT * FROM assemblies ORDER BY assembly_id", as_of, known_at)

    def jobs(self, as_of: datetime | None = None, known_at: datetime | None = None) -> pl.DataFrame:
        """Every job with its progress (cards per status, sheets cut, sets complete and packed, percent)."""
        return self.sql(
            """
            SELECT j.*, p.cards_by_status, p.sheets_cut, p.sets_complete, p.sets_packed, p.percent_complete
            FROM jobs AS j JOIN job_progress AS p USING (job_id) ORDER BY job_id
            """,
            as_of,
            known_at,
        )

    def station_queues(self, as_of: datetime | None = None, known_at: datetime | None = None) -> pl.DataFrame:
        """Waiting and in-progress work at every station, in units and standard minutes."""
        if (live := self._live_floor(as_of, known_at)) is not None:
            with contextlib.suppress(LookupError):  # the journal went away: SQL over the lake below
                return pl.DataFrame(live.station_queues(), schema=STATION_QUEUE_SCHEMA)
        return self.sql("SELECT * FROM station_queue", as_of, known_at)

    def operation_durations(self, as_of: datetime | None = None, known_at: datetime | None = None) -> pl.DataFrame:
        """Each operation run: start, completion, operators, station, actual against standard minutes."""
        return self.sql("SELECT * FROM operation_durations ORDER BY first_sequence_num", as_of, known_at)

    # --- one entity ---------------------------------------------------------------------------------------

    def card_unit(
        self, card_unit_id: str, as_of: datetime | None = None, known_at: datetime | None = None
    ) -> Row | None:
        """One card unit's state (the `card_units` columns), or None if it does not exist at the cut.

        >>> import tempfile
        >>> with open_lake(tempfile.mkdtemp()) as lake:
        ...     lake.card_unit("J1044-S003-07-R1") is None
        True
        """
        card = parse_card_unit_id(card_unit_id)
        scope = _Scope.card(card.card_unit_id, card.sheet_id)
        view = self._folded(scope, Cut(as_of=as_of, known_at=known_at)).views.card_units.get(card.card_unit_id)
        return None if view is None else _plain(view)

    def card_unit_history(
        self, card_unit_id: str, as_of: datetime | None = None, known_at: datetime | None = None
    ) -> pl.DataFrame:
        """The events that made a card unit what it is, oldest first (its own, its gathering and its packing)."""
        lineage, mine = self._card_history(card_unit_id, Cut(as_of=as_of, known_at=known_at))
        return _frame(lineage.table().filter(pa.array(mine, type=pa.bool_())))

    def card_unit_events(
        self, card_unit_id: str, as_of: datetime | None = None, known_at: datetime | None = None
    ) -> list[RecordedEvent]:
        """The same events as `card_unit_history`, as core's values: what a service renders without a frame."""
        lineage, mine = self._card_history(card_unit_id, Cut(as_of=as_of, known_at=known_at))
        return [event for event, keep in zip(lineage.events, mine, strict=True) if keep]

    def sheet(self, sheet_id: str, as_of: datetime | None = None, known_at: datetime | None = None) -> Row | None:
        sheet = parse_sheet_id(sheet_id)
        views = self._folded(_Scope.sheet(sheet), Cut(as_of=as_of, known_at=known_at)).views
        view = views.sheets.get(sheet)
        return None if view is None else _plain(view)

    def assembly(self, assembly_id: str, as_of: datetime | None = None, known_at: datetime | None = None) -> Row | None:
        """One set: expected, present and missing positions, replacements, status, and the absence alert."""
        assembly = parse_assembly_id(assembly_id)
        cut = Cut(as_of=as_of, known_at=known_at)
        views = self._folded(_Scope.assembly(assembly[2:]), cut).views
        view = views.assemblies.get(assembly)
        return None if view is None else self._assembly_row(view, cut)

    def job_progress(self, job_id: str, as_of: datetime | None = None, known_at: datetime | None = None) -> Row | None:
        """A job's progress: totals, cards per status, sheets cut, sets complete and packed, percent complete."""
        job = parse_entity_id(job_id).entity_id
        if (live := self._live_floor(as_of, known_at)) is not None:
            with contextlib.suppress(LookupError):  # the journal went away: SQL over the lake below
                return live.job_progress(job)
        rows = self._scoped_sql(
            f"SELECT * FROM job_progress WHERE job_id = {quote(job)}",
            _Scope.job(job),
            Cut(as_of=as_of, known_at=known_at),
        )
        return rows[0] if rows else None

    def station_queue(
        self, station_id: str, as_of: datetime | None = None, known_at: datetime | None = None
    ) -> Row | None:
        """What waits at a station (shared with its type) and what is in progress there; None for no such station."""
        if (live := self._live_floor(as_of, known_at)) is not None:
            with contextlib.suppress(LookupError):  # the journal went away: SQL over the lake below
                return live.station_queue(station_id)
        frame = self.sql(f"SELECT * FROM station_queue WHERE station_id = {quote(station_id)}", as_of, known_at)
        return frame.row(0, named=True) if frame.height else None

    def genealogy(
        self, entity_id: str, as_of: datetime | None = None, known_at: datetime | None = None
    ) -> pl.DataFrame:
        """Lineage edges from any job, sheet, card unit, set or pack: down to what it became, up to its origins.

        >>> import tempfile
        >>> with open_lake(tempfile.mkdtemp()) as lake:
        ...     lake.genealogy("J1044-P0001").columns[:3]
        ['direction', 'parent_type', 'parent_id']
        """
        cut = Cut(as_of=as_of, known_at=known_at)
        entity = parse_entity_id(entity_id)
        if entity.kind == "job":
            rows = self._scoped_sql(genealogy_view.lineage_sql(entity.entity_id), _Scope.job(entity.entity_id), cut)
            return _lineage_frame(rows)
        if entity.kind == "pack":
            sheet = self._sheet_of_pack(parse_pack_id(entity.entity_id), cut)
            if sheet is None:
                return _lineage_frame([])
        elif entity.kind == "card_unit":
            sheet = parse_card_unit_id(entity.entity_id).sheet_id
        elif entity.kind == "assembly":
            sheet = entity.entity_id[2:]
        elif entity.kind == "sheet":
            sheet = entity.entity_id
        else:
            raise ValueError(
                f"{entity.entity_id} is a {entity.kind}; genealogy starts at a job, sheet, card, set or pack"
            )
        views = self._folded(_Scope.family(sheet), cut).views
        return _lineage_frame(genealogy_view.lineage(genealogy_view.reference_edges(views), entity.entity_id))

    def last_sequence(self) -> int:
        """The last acknowledged sequence number (sealed or not)."""
        with self._lock:
            return self._reader.take().last_sequence

    def keep_floor_live(self) -> bool:
        """Start keeping station queues and job progress live (`projections.live_floor`) now rather than at the
        first read that wants them: the service calls it at start. False when there is no journal to follow."""
        live = self._live_floor(None, None)
        if live is None:
            return False
        try:
            live.catch_up()
        except LookupError:
            return False
        return True

    # --- internals ----------------------------------------------------------------------------------------

    def _live_floor(self, as_of: datetime | None, known_at: datetime | None) -> LiveFloor | None:
        """The live floor, made at the first read of the log as it stands; None for a cut (SQL answers those),
        without a journal (a copied lake) or when reads must not be layered on the materialized read models."""
        if as_of is not None or known_at is not None:
            return None
        with self._lock:
            if self._live is None and self._use_materialized and self._reader.journal_last_sequence() is not None:
                self._live = LiveFloor(LakeFloorSource(self), self.factory)
            return self._live

    def _snapshot_and_cursor(self) -> tuple[Snapshot, duckdb.DuckDBPyConnection]:
        with self._lock:
            return self._reader.take(), self._connection.cursor()

    @contextlib.contextmanager
    def _views_at(
        self, cut: Cut, *, after_sequence: int | None = None, only: set[str] | None = None
    ) -> Iterator[tuple[Snapshot, duckdb.DuckDBPyConnection]]:
        snapshot, cursor = self._snapshot_and_cursor()
        try:
            files = snapshot.select(known_at=cut.known_at, after_sequence=after_sequence)
            snapshot.register(cursor, "lake_events", files)
            folds = only is None or bool(only & {"card_units", "sheets", "assembly_states", "jobs"})
            base = self._materialized_base(cursor, snapshot, cut) if folds else None
            define_views(cursor, "lake_events", self.factory, cut, base=base, only=only)
            yield snapshot, cursor
        finally:
            cursor.close()

    @contextlib.contextmanager
    def _views(
        self, cut: Cut, *, after_sequence: int | None = None, only: set[str] | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._views_at(cut, after_sequence=after_sequence, only=only) as (_, cursor):
            yield cursor

    def _materialized_base(self, cursor: duckdb.DuckDBPyConnection, snapshot: Snapshot, cut: Cut) -> FoldedBase | None:
        if not self._use_materialized or not admits_everything(cut):
            return None
        stored = materialize.load(self.data_dir)
        if stored is None or not stored.applies_to(snapshot):
            return None
        base = stored.register(cursor)
        newer = snapshot.register(cursor, "newer_events", snapshot.select(after_sequence=stored.last_sequence))
        return FoldedBase(
            last_sequence=base.last_sequence,
            card_units=base.card_units,
            sheets=base.sheets,
            assemblies=base.assemblies,
            jobs=base.jobs,
            newer_source=newer,
        )

    def _scoped_sql(self, query: str, scope: _Scope, cut: Cut) -> list[Row]:
        snapshot, cursor = self._snapshot_and_cursor()
        try:
            files = snapshot.select(ranges=scope.ranges, known_at=cut.known_at, equal=(scope.column, scope.value))
            snapshot.register(cursor, "lake_events", files)
            scoped = f"(SELECT * FROM lake_events WHERE {scope.predicate})"
            define_views(cursor, scoped, self.factory, cut, only=views_for(query))
            relation = cursor.sql(query)
            return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
        finally:
            cursor.close()

    def _scoped_table(self, scope: _Scope, cut: Cut, snapshot: Snapshot | None = None) -> pa.Table:
        if snapshot is None:
            snapshot, cursor = self._snapshot_and_cursor()
        else:
            with self._lock:
                cursor = self._connection.cursor()
        try:
            files = snapshot.select(ranges=scope.ranges, known_at=cut.known_at, equal=(scope.column, scope.value))
            # A card's lineage and its family's are the same sheet's rows, filtered after the read: one read.
            key = (scope.predicate, cut, tuple(f.path for f in files), snapshot.lake_id, snapshot.last_sequence)
            with self._lock:
                table = self._scoped_reads.get(key)
            if table is None:
                source = snapshot.source(cursor, "lake_events", files)
                table = cursor.sql(
                    f"SELECT {EVENTS_SELECT} FROM ({source}) WHERE {scope.predicate} AND {cut_predicate(cut)} "
                    "ORDER BY sequence_num"
                ).to_arrow_table()
                with self._lock:
                    _keep(self._scoped_reads, key, table)
            return scope.exact(table)
        finally:
            cursor.close()

    def _folded(self, scope: _Scope, cut: Cut) -> _Folded:
        """A lineage's events (a sheet's family, or the part of it one view depends on) folded by the reference.
        The last few are kept (for the log as it stands): one read of a card — its state and history — asks for
        the same lineage twice."""
        with self._lock:
            # The log as it stands comes from the journal's index when it can (a few ms, not a lake scan).
            current = self._reader.journal_last_sequence() if admits_everything(cut) else None
            snapshot = self._reader.take() if current is None else None
            key = (
                (scope, cut, current)
                if snapshot is None
                else (scope, cut, snapshot.lake_id, snapshot.sealed_through, snapshot.last_sequence)
            )
            cached = self._folded_lineages.get(key)
        if cached is not None:
            return cached
        if current is not None:
            # Each thread reads the journal through its own connection: no lock needed. The ranges are exact.
            lineage = self._reader.lineage(scope.ranges, current)
            events = lineage.events

            def table() -> pa.Table:
                return lineage.table().select(list(LAKE_COLUMN_NAMES))
        else:
            scoped = self._scoped_table(scope, cut, snapshot)
            events = recorded_events(scoped)

            def table() -> pa.Table:
                return scoped

        folded = _Folded(views=project(events, cut), events=events, table=table)
        with self._lock:
            _keep(self._folded_lineages, key, folded)
        return folded

    def _card_history(self, card_unit_id: str, cut: Cut) -> tuple[_Folded, list[bool]]:
        """A card's folded lineage, and which of its events are the card's history."""
        card = parse_card_unit_id(card_unit_id)
        lineage = self._folded(_Scope.card(card.card_unit_id, card.sheet_id), cut)
        view = lineage.views.card_units.get(card.card_unit_id)
        pack_id = view.pack_id if view is not None else None
        mine = [
            e.card_unit_id == card.card_unit_id
            or (pack_id is not None and isinstance(e.event, SetPacked) and e.event.pack_id == pack_id)
            for e in lineage.events
        ]
        return lineage, mine

    def _sheet_of_pack(self, pack_id: str, cut: Cut) -> str | None:
        table = self._scoped_table(_Scope.aggregate(pack_id), cut)
        sheets = [s for s in table.column("sheet_id").to_pylist() if s is not None]
        return str(sheets[0]) if sheets else None

    def _assembly_row(self, view: AssemblyView, cut: Cut) -> Row:
        at = reference_time(cut)
        overdue = view.status in ("pending", "in_progress") and (
            view.opened_at + timedelta(minutes=self.factory.assembly_timeout_minutes) <= at
        )
        return {
            "assembly_id": view.assembly_id,
            "sheet_id": view.sheet_id,
            "job_id": view.job_id,
            "expected_count": view.expected_count,
            "station_id": view.station_id,
            "opened_at": view.opened_at,
            "present": [{"position": p, "card_unit_id": c} for p, c in view.present],
            "status": view.status,
            "pack_id": view.pack_id,
            "present_positions": list(view.present_positions),
            "missing_positions": list(view.missing_positions),
            "replacement_card_unit_ids": list(view.replacement_card_unit_ids),
            "absent_alert_at": view.opened_at + timedelta(minutes=self.factory.assembly_timeout_minutes),
            "absent_past_timeout": list(view.missing_positions) if overdue else [],
        }


class LakeFloorSource:
    """The live floor's reads: the read models once (one snapshot), then the journal."""

    _OPEN_SHEETS = """
        SELECT sheet_id FROM sheets WHERE status <> 'cut'
        UNION SELECT sheet_id FROM card_units WHERE status NOT IN ('voided', 'assembled', 'packed')
        UNION SELECT sheet_id FROM assemblies WHERE status = 'complete'
    """

    def __init__(self, lake: Lake) -> None:
        self._lake = lake

    def journal_last_sequence(self) -> int | None:
        with self._lake._lock:  # the reader's snapshot state is the lake's to guard
            return self._lake._reader.journal_last_sequence()

    def journal_events(self, after: int, upto: int) -> list[RecordedEvent]:
        return self._lake._reader.journal_events(after, upto)

    def family_events(self, sheet_ids: Sequence[str], upto: int) -> list[RecordedEvent]:
        ranges = [id_range for sheet in sheet_ids for id_range in _Scope.family(sheet).ranges]
        return self._lake._reader.lineage(ranges, upto).events if ranges else []

    def floor_baseline(self) -> FloorBaseline:
        needed = views_for(self._OPEN_SHEETS) | views_for("SELECT * FROM job_progress")
        with self._lake._views_at(Cut(), only=needed) as (snapshot, cursor):
            open_sheets = [str(row[0]) for row in cursor.sql(self._OPEN_SHEETS).fetchall()]
            progress = cursor.sql("SELECT * FROM job_progress")
            rows = [dict(zip(progress.columns, row, strict=True)) for row in progress.fetchall()]
        return FloorBaseline(last_sequence=snapshot.last_sequence, open_sheet_ids=open_sheets, job_progress=rows)


def recorded_events(table: pa.Table) -> list[RecordedEvent]:
    """Lake rows as core's recorded events (payloads upcast to the current schema), for the reference fold."""
    recorded = []
    for row in table.to_pylist():
        recorded.append(
            RecordedEvent(
                sequence_num=row["sequence_num"],
                aggregate_type=_aggregate_type(row["aggregate_type"]),
                aggregate_id=row["aggregate_id"],
                aggregate_version=row["aggregate_version"],
                event=upcast(row["event_type"], row["schema_version"], json.loads(row["payload"])),
                occurred_at=row["occurred_at"],
                recorded_at=row["recorded_at"],
                job_id=row["job_id"],
                sheet_id=row["sheet_id"],
                card_unit_id=row["card_unit_id"],
                station_id=row["station_id"],
                operator_id=row["operator_id"],
                scan_id=row["scan_id"],
            )
        )
    return recorded


def _aggregate_type(value: str) -> AggregateType:
    match value:
        case "job" | "sheet" | "card_unit" | "assembly" | "pack" | "station" | "memorabilia":
            return value
    raise ValueError(f"unknown aggregate type {value!r} in the lake")


def _plain(view: object) -> Row:
    return {f.name: _unwrap(getattr(view, f.name)) for f in fields(view)}  # type: ignore[arg-type]


def _unwrap(value: object) -> object:
    return [_unwrap(v) for v in value] if isinstance(value, tuple) else value


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    # One zone name whichever path read the rows (DuckDB calls UTC 'Etc/UTC', the journal's Arrow 'UTC').
    return frame.with_columns(
        pl.col("occurred_at", "recorded_at").dt.convert_time_zone("UTC"),
        pl.col("recorded_at").dt.date().alias("event_date"),
    )


STATION_QUEUE_SCHEMA = pl.Schema(
    {
        "station_id": pl.String(),
        "station_type": pl.String(),
        "waiting": pl.List(pl.String()),
        "in_progress": pl.List(pl.String()),
        "waiting_units": pl.Int64(),
        "in_progress_units": pl.Int64(),
        "waiting_minutes": pl.Float64(),
        "in_progress_minutes": pl.Float64(),
    }
)

LINEAGE_SCHEMA = {
    "direction": pl.String,
    "parent_type": pl.String,
    "parent_id": pl.String,
    "relation": pl.String,
    "child_type": pl.String,
    "child_id": pl.String,
    "depth": pl.Int64,
}


def _lineage_frame(rows: Sequence[Row]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=LINEAGE_SCHEMA)


def open_lake(data_dir: DataDir | str | Path | None = None, **options: Any) -> Lake:
    """The lake of a data directory (`--data`, else `$CARDTRACE_DATA`, else `./data`); works before any event.

    Options: `memory_limit` (DuckDB's, e.g. "8GiB"), `threads`, `use_materialized` (default True).
    """
    data = data_dir if isinstance(data_dir, DataDir) else resolve_data_dir(data_dir)
    return Lake(data, **options)
