"""Recovering the journal from the lake, when the journal was lost or put back from a copy older than the lake.

The lake keeps every sealed event with the envelope and payload the journal had, so the journal's events are
copied back exactly, in sequence order, one day partition per transaction (a crash leaves a journal that a
rerun continues). What the lake does not keep is a scan's fingerprint and answer: each scan_id among the copied
events gets a row without them, and a retry under that scan_id is the same scan when its station, operator and
moment are its events' (`ingest.service` answers it with them; other content is scan_id_reused). A scan the
plant rejected (no events) is not in the lake at all, so a retry of it is decided afresh. Events acknowledged
after the lake's last seal and lost with the journal cannot be recovered by anyone: that window is the seal
interval (about a second).

>>> import tempfile
>>> from pathlib import Path
>>> from projections.data_dir import DataDir
>>> recover_journal(DataDir(root=Path(tempfile.mkdtemp())))
Traceback (most recent call last):
...
projections.store.recovery.RecoveryRefused: ... there is no lake to recover the journal from
"""

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from projections.data_dir import DataDir
from projections.lake.schema import PARTITION_COLUMN
from projections.lake.table import FileLock, LakeTable
from projections.store import journal, pairing
from projections.store.errors import EventStoreError, JournalInUse

# Rows bound per INSERT batch while copying: bounds the Python objects alive at once, not the transaction.
_SLICE_ROWS: Final = 20_000
_TIMES: Final = frozenset({"recorded_at", "occurred_at"})


class RecoveryRefused(EventStoreError):
    """The journal cannot be recovered from this lake (or no further); the message says why and what was kept."""


@dataclass(frozen=True, kw_only=True, slots=True)
class JournalRecovery:
    journal_last_before: int  # the journal's last sequence_num before recovery (0: it was lost)
    lake_last: int  # the lake's high-water mark, which the journal now reaches
    events_copied: int
    scans_recovered: int


def recover_journal(data_dir: DataDir, *, on_day: Callable[[date, int], None] | None = None) -> JournalRecovery:
    """Copy the lake's events after the journal's last one into the journal, so a store can open again.

    Refused before anything is written: RecoveryRefused when there is no lake or when journal and lake disagree
    about the journal's last event (a journal of another plant); the lake's own LakeCorrupted when it fails its
    check (a gap, a duplicate, a damaged file); JournalInUse while a store has the journal open. A refusal met
    while copying (RecoveryRefused) leaves the days copied before it, a journal a rerun continues from.
    `on_day(day, events)` follows progress.
    """
    path = data_dir.journal_path
    writer_lock = FileLock(path.parent / "writer.lock")
    if not writer_lock.acquire():
        raise JournalInUse(str(path))
    try:
        lake = LakeTable.for_data_dir(data_dir)
        if not lake.exists():
            raise RecoveryRefused(f"{lake.uri}: there is no lake to recover the journal from")
        lake.verify()  # a gap, a duplicate or a damaged file is a LakeCorrupted naming it
        lake_last = lake.read_high_water_mark()
        connection = journal.connect(path, writer=True)
        try:
            journal.create_tables(connection)
            before = journal.last_sequence(connection)
            dataset = lake.delta().to_pyarrow_dataset()
            overlap = min(before, lake_last)  # the last event both should hold
            if overlap > 0:
                _check_agreement(connection, dataset, lake, overlap)
            if lake_last <= before:
                return JournalRecovery(
                    journal_last_before=before, lake_last=lake_last, events_copied=0, scans_recovered=0
                )
            copied = scans = 0
            for day in _days_holding(lake, after=before):
                rows = dataset.to_table(
                    filter=(ds.field(PARTITION_COLUMN) == day) & (ds.field("sequence_num") > before + copied)
                ).sort_by("sequence_num")
                scans += _copy_day(connection, rows, first=before + copied + 1)
                copied += rows.num_rows
                if on_day is not None:
                    on_day(day, rows.num_rows)
            if before + copied != lake_last:
                raise RecoveryRefused(
                    f"{lake.uri}: copied events up to {before + copied}, but the lake's mark is {lake_last}; the"
                    " journal keeps what was copied"
                )
            return JournalRecovery(
                journal_last_before=before, lake_last=lake_last, events_copied=copied, scans_recovered=scans
            )
        finally:
            connection.close()
    finally:
        writer_lock.release()


def check_journal_reaches_lake(data_dir: DataDir) -> None:
    """Raise JournalBehindLake where a store would refuse to open for writing (see `projections.store.pairing`),
    checked before a service starts so that it fails with that message and nothing else. A lake problem is left
    to the store, which opens, reports it and acknowledges."""
    path = data_dir.journal_path
    writer_lock = FileLock(path.parent / "writer.lock")
    if not writer_lock.acquire():
        return  # a store has it open and appends: opening a second one will say so (JournalInUse)
    connection = journal.connect(path, writer=False) if path.exists() else None
    try:
        last = journal.last_sequence(connection) if connection is not None else 0

        def key(sequence_num: int) -> journal.EventKey | None:
            return journal.event_key(connection, sequence_num) if connection is not None else None

        pairing.pair(LakeTable.for_data_dir(data_dir), last, key, path)
    finally:
        if connection is not None:
            connection.close()
        writer_lock.release()


def _days_holding(lake: LakeTable, *, after: int) -> list[date]:
    """The day partitions holding events after `after`, oldest first (days follow sequence: `recorded_at`)."""
    actions = pa.table(lake.delta().get_add_actions(flatten=True))
    newer = actions.filter(pc.greater(actions.column("max.sequence_num"), after))
    return sorted(set(newer.column(f"partition.{PARTITION_COLUMN}").to_pylist()))


def _check_agreement(connection: sqlite3.Connection, dataset: ds.Dataset, lake: LakeTable, last: int) -> None:
    """The journal's last event must be the lake's event of that number, or they are not the same log."""
    differs = pairing.disagreement(lake, lambda number: journal.event_key(connection, number), last, dataset)
    if differs is not None:
        mine, theirs = differs
        raise RecoveryRefused(
            f"{lake.uri}: the journal and the lake disagree about event {last} (the journal's is"
            f" {pairing.describe(mine)}, the lake's {pairing.describe(theirs)}): they are not the same plant's log,"
            " nothing was copied"
        )


def _copy_day(connection: sqlite3.Connection, rows: pa.Table, *, first: int) -> int:
    """One day's events (sequence order, starting at `first`) and their scans, in one transaction; the journal's
    cached seal mark moves with them (all it holds is sealed)."""
    expected = pa.array(range(first, first + rows.num_rows), pa.int64())
    if not rows.column("sequence_num").combine_chunks().equals(expected):
        raise RecoveryRefused(
            f"the lake's events from {first} on are not a gapless run: nothing of that day was copied, the days"
            " before it were"
        )
    columns = [
        pc.cast(rows.column(name), pa.int64()) if name in _TIMES else rows.column(name)
        for name in journal.EVENT_INSERT_ORDER
    ]
    ordered = pa.table(columns, names=list(journal.EVENT_INSERT_ORDER))
    scan_ids = ordered.column("scan_id")
    scanned = ordered.filter(pc.and_(pc.is_valid(scan_ids), pc.not_equal(scan_ids, "")))
    grouped = scanned.group_by("scan_id", use_threads=False).aggregate(
        [("sequence_num", "min"), ("sequence_num", "max"), ("recorded_at", "min")]
    )
    scans = [
        (scan_id, None, low, high, None, at)
        for scan_id, low, high, at in zip(
            grouped.column("scan_id").to_pylist(),
            grouped.column("sequence_num_min").to_pylist(),
            grouped.column("sequence_num_max").to_pylist(),
            grouped.column("recorded_at_min").to_pylist(),
            strict=True,
        )
    ]
    slices = (_flat(ordered.slice(start, _SLICE_ROWS)) for start in range(0, ordered.num_rows, _SLICE_ROWS))
    try:
        journal.restore(
            connection,
            event_slices=slices,
            scans=scans,
            seal_mark=(first + rows.num_rows - 1, journal.to_microseconds(datetime.now(UTC))),
        )
    except sqlite3.IntegrityError as clash:  # an aggregate version the journal already holds: another history
        raise RecoveryRefused(
            f"the lake's events from {first} on clash with the journal's ({clash}): not the same plant's log;"
            " nothing of that day was copied"
        ) from clash
    return len(scans)


def _flat(rows: pa.Table) -> list[object]:
    """The rows' values, row after row, as the journal's multi-row INSERT binds them."""
    return [value for row in zip(*(column.to_pylist() for column in rows.columns), strict=True) for value in row]
