"""Incremental materialization: the read models persisted as Parquet, with the last sequence they folded.

`refresh(data_dir)` brings them up to date by folding only the events after that sequence — sealed in the lake
or still in the journal's tail — over the stored rows of the entities those events touch, and stores just
those rows as a small delta file. `rebuild(data_dir)` (what `cardtrace rebuild` runs) folds the whole log
from scratch into fresh base files. Both yield the same tables; the test suite holds them to it.

Layout under `DataDir.read_models_dir` (only this module writes there):

    manifest.json                   which files make each table, and the last sequence folded
    base-<seq>/<table>.parquet      a table folded through <seq>, sorted by its id
    delta-<seq>/<table>.parquet     the rows a refresh through <seq> changed

A table's current rows are its newest delta row per id, else its base row. Files are written before the
manifest that names them is swapped in atomically, and a generation is deleted only once neither the current
nor the previous manifest names it, so a reader that opened the previous manifest can finish. Once a table has
`MAX_DELTAS` deltas a refresh folds them into a new base. Writers serialize on a lock file.
"""

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb

from projections.data_dir import DataDir, resolve_data_dir
from projections.engine import FoldedBase, connect
from projections.snapshot import Snapshot, SnapshotReader
from projections.views import assemblies, card_units, jobs, sheets
from projections.views.sql import empty_relation, quote

FORMAT: Final = 1
MAX_DELTAS: Final = 8
ROW_GROUP_SIZE: Final = 100_000  # small enough that a lookup by id reads one row group of a sorted file

# name -> (id column, columns)
TABLES: Final[Mapping[str, tuple[str, tuple[tuple[str, str], ...]]]] = {
    "card_units": ("card_unit_id", card_units.CARD_UNIT_COLUMNS),
    "sheets": ("sheet_id", sheets.SHEET_COLUMNS),
    "assemblies": ("assembly_id", assemblies.ASSEMBLY_COLUMNS),
    "jobs": ("job_id", jobs.JOB_COLUMNS),
}
PREFIX: Final = "materialized_"


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredTable:
    base: str | None  # relative to the read-models directory; None: no rows yet
    deltas: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredReadModels:
    """One manifest: the files that make each read model, folded through `last_sequence`."""

    directory: Path
    last_sequence: int
    tables: Mapping[str, StoredTable]
    lake_id: str | None = None  # the Delta table they were folded from (None: no lake yet, all from the journal)

    def applies_to(self, snapshot: Snapshot) -> bool:
        """Whether these read models were folded from this lake's log, no further than it reaches."""
        same_lake = self.lake_id is None or self.lake_id == snapshot.lake_id
        return same_lake and self.last_sequence <= snapshot.last_sequence

    def relation_sql(self, name: str) -> str:
        """The current rows of a stored table: the newest delta row per id, else the base row."""
        key, columns = TABLES[name]
        table = self.tables[name]
        names = ", ".join(column for column, _ in columns)
        base = (
            f"SELECT {names} FROM read_parquet({self._path(table.base)})"
            if table.base
            else f"SELECT * FROM {empty_relation(columns)}"
        )
        if not table.deltas:
            return f"({base})"
        deltas = " UNION ALL ".join(
            f"SELECT {names}, {rank} AS delta_rank FROM read_parquet({self._path(path)})"
            for rank, path in enumerate(table.deltas)
        )
        return f"""(
            WITH newest AS (
                SELECT {names} FROM ({deltas})
                QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY delta_rank DESC) = 1
            )
            SELECT {names} FROM newest
            UNION ALL
            SELECT b.* FROM ({base}) AS b ANTI JOIN newest ON newest.{key} = b.{key}
        )"""

    def register(self, connection: duckdb.DuckDBPyConnection) -> FoldedBase:
        """TEMP views `materialized_<table>` of the stored rows; the base the engine folds newer events over."""
        for name in TABLES:
            connection.execute(f"CREATE OR REPLACE TEMP VIEW {PREFIX}{name} AS SELECT * FROM {self.relation_sql(name)}")
        return FoldedBase(
            last_sequence=self.last_sequence,
            card_units=f"{PREFIX}card_units",
            sheets=f"{PREFIX}sheets",
            assemblies=f"{PREFIX}assemblies",
            jobs=f"{PREFIX}jobs",
        )

    def _path(self, relative: str | None) -> str:
        assert relative is not None
        return quote(str(self.directory / relative))

    def generations(self) -> set[str]:
        named = set()
        for table in self.tables.values():
            for path in (table.base, *table.deltas):
                if path is not None:
                    named.add(path.split("/", 1)[0])
        return named


def load(data_dir: DataDir | str | Path | None = None) -> StoredReadModels | None:
    """The stored read models of a data directory, or None when none were materialized yet."""
    directory = _data_dir(data_dir).read_models_dir
    try:
        document = json.loads((directory / "manifest.json").read_text())
    except FileNotFoundError:
        return None
    if document.get("format") != FORMAT:
        return None  # written by another version: a refresh rebuilds
    return StoredReadModels(
        directory=directory,
        last_sequence=int(document["last_sequence"]),
        lake_id=document.get("lake_id"),
        tables={
            name: StoredTable(base=entry["base"], deltas=tuple(entry["deltas"]))
            for name, entry in document["tables"].items()
        },
    )


def rebuild(data_dir: DataDir | str | Path | None = None, *, memory_limit: str | None = None) -> StoredReadModels:
    """Fold the whole log (lake and journal tail) from scratch into fresh base files; `cardtrace rebuild`.

    >>> import tempfile
    >>> rebuild(tempfile.mkdtemp()).last_sequence
    0
    """
    data = _data_dir(data_dir)
    with _writer_lock(data), contextlib.closing(SnapshotReader(data)) as reader:
        return _rebuild(data, reader.take(), load(data), memory_limit)


def refresh(data_dir: DataDir | str | Path | None = None, *, memory_limit: str | None = None) -> StoredReadModels:
    """Bring the stored read models up to date with every acknowledged event, folding only the newer ones."""
    data = _data_dir(data_dir)
    with _writer_lock(data), contextlib.closing(SnapshotReader(data)) as reader:
        snapshot = reader.take()
        stored = load(data)
        if stored is None or not stored.applies_to(snapshot):
            return _rebuild(data, snapshot, stored, memory_limit)
        if stored.last_sequence == snapshot.last_sequence:
            return stored
        return _refresh(data, snapshot, stored, memory_limit)


def _rebuild(
    data: DataDir, snapshot: Snapshot, previous: StoredReadModels | None, memory_limit: str | None
) -> StoredReadModels:
    directory = data.read_models_dir
    generation = _generation("base", snapshot.last_sequence)
    target = directory / generation
    target.mkdir(parents=True)
    folds = {
        "card_units": card_units.card_units_sql("lake_events"),
        "sheets": sheets.sheets_sql("lake_events"),
        "assemblies": assemblies.assemblies_sql("lake_events"),
        "jobs": jobs.jobs_sql("lake_events"),
    }
    with connect(memory_limit=memory_limit) as connection:
        snapshot.register(connection, "lake_events")
        for name, fold in folds.items():
            _write(connection, fold, name, target / f"{name}.parquet")
    stored = StoredReadModels(
        directory=directory,
        last_sequence=snapshot.last_sequence,
        lake_id=snapshot.lake_id,
        tables={name: StoredTable(base=f"{generation}/{name}.parquet") for name in TABLES},
    )
    _publish(stored, previous)
    return stored


def _refresh(data: DataDir, snapshot: Snapshot, stored: StoredReadModels, memory_limit: str | None) -> StoredReadModels:
    directory = data.read_models_dir
    generation = _generation("delta", snapshot.last_sequence)
    target = directory / generation
    target.mkdir(parents=True)
    last = stored.last_sequence
    tables = dict(stored.tables)
    with connect(memory_limit=memory_limit) as connection:
        base = stored.register(connection)
        snapshot.register(connection, "newer_source", snapshot.select(after_sequence=last))
        connection.execute(f"CREATE TEMP TABLE newer AS SELECT * FROM newer_source WHERE sequence_num > {last}")
        prior = _prior_rows(connection, base)
        touched = {
            "card_units": card_units.merge_sql(
                card_units.partial_sql("newer", prior.assemblies), prior.card_units, touched_only=True
            ),
            "sheets": sheets.merge_sql(sheets.partial_sql("newer"), prior.sheets, touched_only=True),
            "assemblies": assemblies.merge_sql(
                assemblies.partial_sql("newer", prior.assemblies), prior.assemblies, touched_only=True
            ),
            "jobs": jobs.merge_sql(jobs.partial_sql("newer"), prior.jobs, touched_only=True),
        }
        # Every delta is computed against the stored state before any is written: card units read the sets
        # as they were before this range.
        for name, rows in touched.items():
            connection.execute(f"CREATE TEMP TABLE touched_{name} AS {rows}")
        for name in TABLES:
            entry = tables[name]
            count = connection.execute(f"SELECT count(*) FROM touched_{name}").fetchone()
            if count is not None and count[0] > 0:
                _write(connection, f"SELECT * FROM touched_{name}", name, target / f"{name}.parquet")
                entry = StoredTable(base=entry.base, deltas=(*entry.deltas, f"{generation}/{name}.parquet"))
            if len(entry.deltas) >= MAX_DELTAS:
                # fold the deltas into a new base (the merged rows, read before anything is replaced)
                compacted = _generation("base", snapshot.last_sequence)
                (directory / compacted).mkdir()
                merged = StoredReadModels(directory=directory, last_sequence=last, tables={name: entry})
                _write(
                    connection,
                    f"SELECT * FROM {merged.relation_sql(name)}",
                    name,
                    directory / compacted / f"{name}.parquet",
                )
                entry = StoredTable(base=f"{compacted}/{name}.parquet")
            tables[name] = entry
    fresh = StoredReadModels(
        directory=directory, last_sequence=snapshot.last_sequence, lake_id=snapshot.lake_id, tables=tables
    )
    _publish(fresh, stored)
    return fresh


# The sheets whose families the newer events touch. Lineage-bearing ids name the sheet of every card, sheet and
# set, and every event about one carries it in `sheet_id` (the family reads rely on the same); the ids
# themselves are read too, so an event that left the envelope column empty still names its family.
_TOUCHED_FAMILIES: Final = """
    SELECT sheet_id FROM newer WHERE sheet_id IS NOT NULL
    UNION SELECT split_part(card_unit_id, '-', 1) || '-' || split_part(card_unit_id, '-', 2)
        FROM newer WHERE card_unit_id IS NOT NULL
    UNION SELECT split_part(aggregate_id, '-', 1) || '-' || split_part(aggregate_id, '-', 2)
        FROM newer WHERE aggregate_type IN ('sheet', 'card_unit')
    UNION SELECT split_part(aggregate_id, '-', 2) || '-' || split_part(aggregate_id, '-', 3)
        FROM newer WHERE aggregate_type = 'assembly'
"""
_TOUCHED_JOBS: Final = """
    SELECT job_id FROM newer WHERE job_id IS NOT NULL
    UNION SELECT aggregate_id FROM newer WHERE aggregate_type = 'job'
"""


def _prior_rows(connection: duckdb.DuckDBPyConnection, stored: FoldedBase) -> FoldedBase:
    """The stored rows of the families and jobs the newer events touch, as TEMP tables: the only prior rows a
    refresh merges with, and a small fraction of the stored ones (reading every set's members at 10M events
    was most of a refresh)."""
    connection.execute(f"CREATE TEMP TABLE refreshed_families AS {_TOUCHED_FAMILIES}")
    connection.execute(f"CREATE TEMP TABLE refreshed_jobs AS {_TOUCHED_JOBS}")
    in_families = "sheet_id IN (SELECT sheet_id FROM refreshed_families)"
    for name, relation, within in (
        ("card_units", stored.card_units, in_families),
        ("sheets", stored.sheets, in_families),
        ("assemblies", stored.assemblies, in_families),
        ("jobs", stored.jobs, "job_id IN (SELECT job_id FROM refreshed_jobs)"),
    ):
        connection.execute(f"CREATE TEMP TABLE prior_{name} AS SELECT * FROM {relation} WHERE {within}")
    return FoldedBase(
        last_sequence=stored.last_sequence,
        card_units="prior_card_units",
        sheets="prior_sheets",
        assemblies="prior_assemblies",
        jobs="prior_jobs",
    )


def _generation(kind: str, last_sequence: int) -> str:
    # unique even when two writes fold through the same sequence, so no published file is ever overwritten
    return f"{kind}-{last_sequence:012d}-{time.time_ns():x}"


def _write(connection: duckdb.DuckDBPyConnection, query: str, name: str, path: Path) -> None:
    key, columns = TABLES[name]
    names = ", ".join(column for column, _ in columns)
    connection.execute(
        f"COPY (SELECT {names} FROM ({query}) ORDER BY {key}) TO {quote(str(path))} "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
    )


def _publish(stored: StoredReadModels, previous: StoredReadModels | None) -> None:
    """Swap the manifest in atomically, then drop generations neither it nor the previous one names."""
    document = {
        "format": FORMAT,
        "last_sequence": stored.last_sequence,
        "lake_id": stored.lake_id,
        "tables": {name: {"base": t.base, "deltas": list(t.deltas)} for name, t in stored.tables.items()},
    }
    directory = stored.directory
    temporary = directory / "manifest.json.tmp"
    with temporary.open("w") as handle:
        json.dump(document, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, directory / "manifest.json")
    keep = stored.generations() | (previous.generations() if previous else set())
    for entry in directory.iterdir():
        if entry.is_dir() and entry.name.startswith(("base-", "delta-")) and entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def _writer_lock(data: DataDir) -> Iterator[None]:
    directory = data.read_models_dir
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _data_dir(data_dir: DataDir | str | Path | None) -> DataDir:
    return data_dir if isinstance(data_dir, DataDir) else resolve_data_dir(data_dir)
