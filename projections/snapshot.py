"""What the read side reads: the lake's sealed files at one Delta version plus the journal's unsealed tail.

A `Snapshot` is taken in that order — the lake first, then every journal event after the lake's high-water
mark — so an event acknowledged by the store is in one of the two (read-your-writes), and none is in both.
The journal keeps sealed events, so sealing between the two reads loses nothing. A lake that holds another
history than the journal beside it (another plant's, at a mistaken URI) is not read at all: the journal alone is.

The Delta log's per-file statistics let a read skip whole files before DuckDB opens them: a family's
aggregate-id ranges, a sequence range (incremental folds) or a recorded-time bound (`known_at`). A local lake is
read by DuckDB's own Parquet reader (row-group pruning, metadata cache); a remote one (`s3://`) through a
pyarrow dataset over the same object store delta-rs writes through.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pa_fs
from deltalake.fs import DeltaStorageHandler

from core.envelope import RecordedEvent
from projections.data_dir import DataDir
from projections.engine import LAKE_COLUMN_NAMES, empty_events
from projections.lake.schema import LAKE_SCHEMA
from projections.lake.table import SEALER_APP_ID, LakeTable
from projections.store import EventStore, pairing
from projections.store.journal import JournalLineage
from projections.views.sql import quote

_SEQUENCE_COLUMNS = ("sequence_num", "aggregate_id", "recorded_at")

log = logging.getLogger("cardtrace.snapshot")


@dataclass(frozen=True, kw_only=True, slots=True)
class LakeFile:
    """One data file of the lake and the ranges its statistics promise."""

    path: str  # relative to the table root
    rows: int
    min_sequence: int
    max_sequence: int
    min_aggregate_id: str
    max_aggregate_id: str
    min_recorded_at: datetime
    max_recorded_at: datetime
    event_date: date | None
    # min/max of the lineage columns a lookup filters on (sheet_id, job_id); absent: unbounded
    bounds: tuple[tuple[str, str, str], ...] = ()

    def may_hold(self, column: str, value: str) -> bool:
        for name, low, high in self.bounds:
            if name == column:
                return low <= value <= high
        return True


@dataclass(frozen=True, kw_only=True, slots=True)
class IdRange:
    """Aggregate ids `low <= id < high` (a family of lineage-bearing ids shares a prefix)."""

    low: str
    high: str

    @classmethod
    def exactly(cls, aggregate_id: str) -> "IdRange":
        return cls(low=aggregate_id, high=aggregate_id + "\x00")

    @classmethod
    def with_descendants(cls, aggregate_id: str) -> "IdRange":
        """The id and every id extending it with '-...' ('-' sorts just before '.')."""
        return cls(low=aggregate_id, high=aggregate_id + ".")


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    uri: str
    local: bool
    storage_options: dict[str, str] | None
    files: tuple[LakeFile, ...]
    sealed_through: int  # the lake's high-water mark at this version
    tail: pa.Table  # journal events after sealed_through, lake schema
    last_sequence: int
    lake_id: str | None = None  # the Delta table's identity: read models folded from another table do not apply
    _dataset_cache: dict[tuple[str, ...], ds.Dataset] = field(default_factory=dict, repr=False, compare=False)

    def select(
        self,
        *,
        ranges: Sequence[IdRange] = (),
        after_sequence: int | None = None,
        known_at: datetime | None = None,
        equal: tuple[str, str] | None = None,
    ) -> tuple[LakeFile, ...]:
        """The files that may hold events in `ranges` (any), after a sequence, recorded by `known_at`, with
        `column = value` (`equal`)."""
        chosen = []
        for lake_file in self.files:
            if equal is not None and not lake_file.may_hold(*equal):
                continue
            if after_sequence is not None and lake_file.max_sequence <= after_sequence:
                continue
            if known_at is not None and lake_file.min_recorded_at > known_at:
                continue
            if ranges and not any(
                lake_file.min_aggregate_id < r.high and lake_file.max_aggregate_id >= r.low for r in ranges
            ):
                continue
            chosen.append(lake_file)
        return tuple(chosen)

    def register(
        self,
        connection: duckdb.DuckDBPyConnection,
        name: str,
        files: Sequence[LakeFile] | None = None,
    ) -> str:
        """Create TEMP view `name` over the given lake files (default: all) and the tail; returns `name`."""
        body = self.source(connection, name, files)
        connection.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {body}")
        return name

    def source(
        self,
        connection: duckdb.DuckDBPyConnection,
        name: str,
        files: Sequence[LakeFile] | None = None,
    ) -> str:
        """A query over the given lake files (default: all) and the tail, for one statement of `connection`.

        Only Arrow sources are registered (under names derived from `name`): a one-off read (a lookup) skips
        creating and binding a view, a few milliseconds of its budget."""
        chosen = self.files if files is None else tuple(files)
        # The sources already have the lake's types; a cast here would keep DuckDB from pushing filters down.
        columns = ", ".join(LAKE_COLUMN_NAMES)
        parts: list[str] = []
        if chosen:
            if self.local:
                paths = ", ".join(quote(str(Path(self.uri) / f.path)) for f in chosen)
                parts.append(f"SELECT {columns} FROM read_parquet([{paths}])")
            else:
                dataset_name = f"{name}_dataset"
                connection.register(dataset_name, self._dataset(chosen))
                parts.append(f"SELECT {columns} FROM {dataset_name}")
        if self.tail.num_rows:
            tail_name = f"{name}_tail"
            connection.register(tail_name, self.tail)
            parts.append(f"SELECT {columns} FROM {tail_name}")
        return " UNION ALL ".join(parts) if parts else f"SELECT * FROM {empty_events()}"

    def _dataset(self, files: Sequence[LakeFile]) -> ds.Dataset:
        key = tuple(f.path for f in files)
        cached = self._dataset_cache.get(key)
        if cached is None:
            filesystem = pa_fs.PyFileSystem(DeltaStorageHandler(self.uri, self.storage_options))
            schema = pa.schema([f for f in LAKE_SCHEMA if f.name != "event_date"])
            cached = ds.dataset(list(key), schema=schema, format="parquet", filesystem=filesystem)
            self._dataset_cache[key] = cached
        return cached


def empty_tail() -> pa.Table:
    return LAKE_SCHEMA.empty_table()


class SnapshotReader:
    """Takes snapshots of one data directory's lake and journal; never writes either."""

    def __init__(self, data_dir: DataDir) -> None:
        self._data_dir = data_dir
        self._lake = LakeTable.for_data_dir(data_dir)
        self._journal: EventStore | None = None
        self._files_version: int | None = None
        self._files: tuple[LakeFile, ...] = ()
        self._files_sealed = 0
        self._files_lake_id: str | None = None
        self._sealed_seen: int | None = None  # the lake's high-water mark at the last snapshot
        # (Delta table id, journal file) -> whether they hold different histories (`_holds_another_history`)
        self._other_history: dict[tuple[str, int], bool] = {}

    def take(self) -> Snapshot:
        files, sealed, lake_id = self._lake_files()
        self._sealed_seen = sealed
        tail = self._tail(sealed)
        last = sealed if tail.num_rows == 0 else int(tail.column("sequence_num")[-1].as_py())
        uri = self._lake.uri
        return Snapshot(
            uri=uri,
            local="://" not in uri or uri.startswith("file://"),
            storage_options=self._lake.storage_options,
            files=files,
            sealed_through=sealed,
            tail=tail,
            last_sequence=last,
            lake_id=lake_id,
        )

    def journal_last_sequence(self) -> int | None:
        """The journal's last committed sequence number, when the journal can answer a lineage's current events
        alone: it exists and holds at least what the lake last said it sealed (a lake copied without its
        journal, or beside a younger one, is read from its files)."""
        journal = self._open_journal()
        if journal is None:
            return None
        if self._sealed_seen is None:
            self.take()
        last = journal.last_sequence()
        return last if self._sealed_seen is not None and last >= self._sealed_seen else None

    def lineage(self, ranges: Sequence[IdRange], upto: int) -> JournalLineage:
        """A lineage's events through `upto` from the journal, which keeps every event, sealed or not: its
        (aggregate_id, version) index finds them without opening a lake file. Its table has the lake's columns,
        as a lake read returns them. Call after `journal_last_sequence`."""
        journal = self._open_journal()
        if journal is None:
            raise RuntimeError("no journal to read a lineage from")
        return journal.read_lineage([(id_range.low, id_range.high) for id_range in ranges], upto)

    def journal_events(self, after: int, upto: int) -> list[RecordedEvent]:
        """The journal's events after `after` through `upto`, in sequence order. Call after
        `journal_last_sequence`."""
        journal = self._open_journal()
        if journal is None:
            raise RuntimeError("no journal to read events from")
        return journal.read(after, upto - after)

    def _lake_files(self) -> tuple[tuple[LakeFile, ...], int, str | None]:
        if not self._lake.exists():
            return (), 0, None
        table = self._lake.delta()
        version = int(table.version())
        if version != self._files_version:
            # What a version says never changes: its files, high-water mark and identity are read once.
            self._files = _files_of(pa.table(table.get_add_actions(flatten=True)))
            sealed = table.transaction_version(SEALER_APP_ID)
            high = max((f.max_sequence for f in self._files), default=0)
            self._files_sealed = int(sealed) if sealed is not None else high
            self._files_lake_id = str(table.metadata().id)
            self._files_version = version
        if self._holds_another_history():
            return (), 0, None  # the journal keeps every event: it alone is this plant's log
        return self._files, self._files_sealed, self._files_lake_id

    def _holds_another_history(self) -> bool:
        """Whether the lake at the URI is another log than the journal beside it (another plant's lake, a data
        directory pointing at the wrong URI): their events of one number differ. The store refuses to seal into
        such a lake; reads must not lay this journal's tail over it either. Decided once per Delta table and
        journal file (a journal put back by a restore is read from then on, and decided again)."""
        lake_id = self._files_lake_id
        journal = self._open_journal()
        if lake_id is None or journal is None:
            return False
        pair = (lake_id, journal.journal_replacements)
        verdict = self._other_history.get(pair)
        if verdict is not None:
            return verdict
        overlap = min(self._files_sealed, journal.last_sequence())
        if overlap == 0:
            return False  # nothing to compare yet: decided at a later version
        verdict = pairing.disagreement(self._lake, journal.event_key, overlap) is not None
        self._other_history[pair] = verdict
        if verdict:
            log.error(
                "the lake %s holds another history than the journal %s (their events %d differ): reads come from"
                " the journal alone",
                self._lake.uri,
                self._data_dir.journal_path,
                overlap,
            )
        return verdict

    def _tail(self, after: int) -> pa.Table:
        journal = self._open_journal()
        if journal is None:
            return empty_tail()
        tail = journal.read_arrow(after)
        if tail.num_rows and int(tail.column("sequence_num")[0].as_py()) != after + 1:
            raise RuntimeError(f"the journal's tail after {after} starts at {tail.column('sequence_num')[0]}")
        return tail

    def _open_journal(self) -> EventStore | None:
        if self._journal is None and self._data_dir.journal_path.exists():
            self._journal = EventStore(self._data_dir, read_only=True, start_sealer=False)
        return self._journal

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def _files_of(actions: pa.Table) -> tuple[LakeFile, ...]:
    """The lake's files from the Delta add actions; a statistic the log lacks leaves its range unbounded."""
    if actions.num_rows == 0:
        return ()
    columns: dict[str, list[object]] = {name: actions.column(name).to_pylist() for name in actions.column_names}
    rows = actions.num_rows

    def column(name: str) -> list[object]:
        return columns.get(name, [None] * rows)

    files = []
    for index, path in enumerate(columns["path"]):
        low_id, high_id = column("min.aggregate_id")[index], column("max.aggregate_id")[index]
        low_seq, high_seq = column("min.sequence_num")[index], column("max.sequence_num")[index]
        low_at, high_at = column("min.recorded_at")[index], column("max.recorded_at")[index]
        partition = column("partition.event_date")[index]
        bounds = tuple(
            (name, str(low), str(high) + "\U0010ffff")
            for name in ("sheet_id", "job_id")
            for low, high in [(column(f"min.{name}")[index], column(f"max.{name}")[index])]
            if low is not None and high is not None
        )
        files.append(
            LakeFile(
                path=str(path),
                rows=int(str(column("num_records")[index] or 0)),
                min_sequence=int(str(low_seq)) if low_seq is not None else 0,
                max_sequence=int(str(high_seq)) if high_seq is not None else _UNBOUNDED_SEQUENCE,
                min_aggregate_id=str(low_id) if low_id is not None else "",
                # delta-rs may truncate long string statistics; ids are far shorter, but stay safe.
                max_aggregate_id=str(high_id) + "\U0010ffff" if high_id is not None else "\U0010ffff",
                min_recorded_at=_utc(low_at) if isinstance(low_at, datetime) else _EARLIEST,
                max_recorded_at=_utc(high_at) if isinstance(high_at, datetime) else _LATEST,
                event_date=partition if isinstance(partition, date) else None,
                bounds=bounds,
            )
        )
    return tuple(sorted(files, key=lambda f: f.min_sequence))


_UNBOUNDED_SEQUENCE = 2**62
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
