"""Copies of the journal: taken while the service runs, put back while it is stopped.

`backup_journal` copies the journal with SQLite's online backup in a single step, so the copy is one
consistent moment of the log even while a store appends (a copy made in steps starts over whenever another
connection writes, and beside a busy floor it would never end). The copy is written next to its destination,
checked, fsynced and linked into place, never over an existing file: a destination holds a whole copy or
nothing. It is one plain SQLite file, no WAL beside it.

`restore_journal` puts a copy back, only while no store holds the journal (its writer lock). Everything that
can fail comes first: the copy is read through SQLite into a new file beside the journal (so a copy with its
WAL beside it comes whole) and checked, and the lake's mark is read; only then is the current journal moved
aside (never deleted) and the new file renamed into place. It refuses to replace a journal that holds
acknowledged events neither the copy nor the lake has (they would be lost for good) unless forced. A copy is
older than the lake, so a store would refuse it (JournalBehindLake) until `recover_journal` has copied the
events sealed since the copy was taken; `cardtrace restore-journal` runs both.
"""

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from projections.data_dir import DataDir
from projections.lake.table import FileLock, LakeTable
from projections.store import journal
from projections.store.errors import JournalCopyError, JournalInUse

# The files SQLite keeps for one journal in WAL mode: they are moved aside together or not at all.
_JOURNAL_SUFFIXES = ("", "-wal", "-shm")


@dataclass(frozen=True, kw_only=True, slots=True)
class JournalCopy:
    path: Path
    last_sequence: int  # the copy holds events 1..last_sequence
    size_bytes: int


def backup_journal(data_dir: DataDir, destination: Path) -> JournalCopy:
    """Copy the journal, as it stands at one moment, to `destination` (a new file)."""
    source_path = data_dir.journal_path
    if not source_path.exists():
        raise JournalCopyError(f"{source_path}: there is no journal to back up")
    if destination.exists():
        raise JournalCopyError(f"{destination}: already exists; a backup never overwrites a file")
    if not destination.parent.is_dir():
        raise JournalCopyError(f"{destination.parent}: no such directory to write the backup in")
    partial = destination.with_name(f".{destination.name}.partial")
    try:
        source = journal.connect(source_path, writer=False)
        try:
            last = _copy_through_sqlite(source, partial)  # one step: one consistent moment of the log
        finally:
            source.close()
        _place_new(partial, destination)
    except (OSError, sqlite3.Error) as error:
        raise JournalCopyError(f"{destination}: the backup failed, nothing was written there: {error}") from error
    finally:
        partial.unlink(missing_ok=True)
    return JournalCopy(path=destination, last_sequence=last, size_bytes=destination.stat().st_size)


def restore_journal(data_dir: DataDir, copy: Path, *, force: bool = False) -> Path | None:
    """Make the journal a copy of `copy`; returns the directory the replaced journal was moved to (None: there
    was none). Raises JournalInUse while a store holds the journal, and JournalCopyError, with nothing moved,
    for a copy that is not a whole cardtrace journal, a lake that cannot be read, or (unless `force`) a
    journal holding acknowledged events that neither the copy nor the lake holds."""
    path = data_dir.journal_path
    if not copy.is_file():
        raise JournalCopyError(f"{copy}: no such file to restore the journal from")
    if path.exists() and copy.resolve() in {path.with_name(path.name + s).resolve() for s in _JOURNAL_SUFFIXES}:
        raise JournalCopyError(f"{copy}: that is the journal itself, not a copy of it")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer_lock = FileLock(path.parent / "writer.lock")
    if not writer_lock.acquire():
        raise JournalInUse(str(path))
    incoming = path.with_name(f".{path.name}.restoring")
    try:
        try:
            with contextlib.closing(sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro", uri=True)) as source:
                _checked_last_sequence(source, copy)
                copy_last = _copy_through_sqlite(source, incoming)
        except sqlite3.Error as error:
            raise JournalCopyError(f"{copy}: not a cardtrace journal, or not readable: {error}") from error
        if not force:
            _refuse_losing_events(data_dir, copy_last)
        present = [file for file in (path.with_name(path.name + s) for s in _JOURNAL_SUFFIXES) if file.exists()]
        aside = None
        if present:
            aside = path.parent / f"replaced-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
            aside.mkdir()
            for file in present:
                os.replace(file, aside / file.name)
        os.replace(incoming, path)
        _fsync(path.parent)
        return aside
    except OSError as error:
        raise JournalCopyError(f"{path}: the restore failed: {error}") from error
    finally:
        incoming.unlink(missing_ok=True)
        writer_lock.release()


def _refuse_losing_events(data_dir: DataDir, copy_last: int) -> None:
    """JournalCopyError when the current journal holds events past both the copy and the lake's mark."""
    lake = LakeTable.for_data_dir(data_dir)
    try:
        lake_last = lake.read_high_water_mark() if lake.exists() else 0
    except Exception as error:  # unreadable or unreachable: nobody can tell what a restore would lose
        raise JournalCopyError(
            f"{lake.uri}: the lake cannot be read ({error}), so it cannot be told which acknowledged events a"
            " restore would lose; mend or reach the lake first (or force it)"
        ) from error
    if not data_dir.journal_path.exists():
        return
    try:
        with contextlib.closing(journal.connect(data_dir.journal_path, writer=False)) as current:
            current_last = journal.last_sequence(current)
    except (OSError, sqlite3.Error):
        return  # a journal that cannot be read is what a restore is for
    if current_last > max(copy_last, lake_last):
        raise JournalCopyError(
            f"{data_dir.journal_path}: the journal holds events up to {current_last}, the lake up to {lake_last} and"
            f" the copy up to {copy_last}: events {max(copy_last, lake_last) + 1}..{current_last} were acknowledged"
            " and would be lost. Start the service once so that it seals them, then restore (or force it)"
        )


def _copy_through_sqlite(source: sqlite3.Connection, target_path: Path) -> int:
    """A whole, checked, fsynced, self-contained copy of `source` at `target_path`; its last sequence_num."""
    target_path.unlink(missing_ok=True)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no WAL beside it
        last = _checked_last_sequence(target, target_path)
    finally:
        target.close()
    _fsync(target_path)
    return last


def _place_new(partial: Path, destination: Path) -> None:
    """Give `partial` the name `destination`, never over a file that appeared there meanwhile."""
    try:
        os.link(partial, destination)  # fails if the name is taken, unlike a rename
    except FileExistsError:
        raise JournalCopyError(f"{destination}: already exists; a backup never overwrites a file") from None
    _fsync(destination.parent)


def _checked_last_sequence(connection: sqlite3.Connection, path: Path) -> int:
    """The last sequence_num of a whole journal of a format this code reads; JournalCopyError otherwise."""
    check = connection.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        raise JournalCopyError(f"{path}: the copy is damaged ({check})")
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not 1 <= version <= journal.JOURNAL_FORMAT or not {"events", "scans"} <= tables:
        raise JournalCopyError(f"{path}: not a cardtrace journal (format {version}, tables {sorted(tables)})")
    return journal.last_sequence(connection)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
