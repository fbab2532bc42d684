"""Copies of the journal: taken while the service runs, put back while it is stopped.

`backup_journal` copies the journal with SQLite's online backup in a single step, so the copy is one
consistent moment of the log even while a store appends (a copy made in steps starts over whenever another
connection writes, and beside a busy floor it would never end). The copy is written next to its destination,
checked, fsynced and renamed into place: a destination holds a whole copy or nothing. It is one plain SQLite
file, no WAL beside it.

`restore_journal` puts a copy back, only while no store holds the journal (its writer lock), only a file that
is a whole cardtrace journal, and never over the current journal: that one is moved aside, not deleted. A copy
is older than the lake, so a store would refuse it (JournalBehindLake) until `recover_journal` has copied the
events sealed since the copy was taken; `cardtrace restore-journal` runs both.
"""

import contextlib
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from projections.data_dir import DataDir
from projections.lake.table import FileLock
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
    partial.unlink(missing_ok=True)
    try:
        source = journal.connect(source_path, writer=False)
        try:
            target = sqlite3.connect(partial)
            try:
                source.backup(target)  # one step: one consistent moment of the log
                target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
                last = _checked_last_sequence(target, partial)
            finally:
                target.close()
        finally:
            source.close()
        _fsync(partial)
        os.replace(partial, destination)
        _fsync(destination.parent)
    except (OSError, sqlite3.Error) as error:
        raise JournalCopyError(f"{destination}: the backup failed, nothing was written there: {error}") from error
    finally:
        partial.unlink(missing_ok=True)
    return JournalCopy(path=destination, last_sequence=last, size_bytes=destination.stat().st_size)


def restore_journal(data_dir: DataDir, copy: Path) -> Path | None:
    """Make the journal a copy of `copy`; returns the directory the replaced journal was moved to (None: there
    was none). Raises JournalInUse while a store holds the journal, JournalCopyError for a copy that is not a
    whole cardtrace journal (nothing is moved then)."""
    path = data_dir.journal_path
    path.parent.mkdir(parents=True, exist_ok=True)
    writer_lock = FileLock(path.parent / "writer.lock")
    if not writer_lock.acquire():
        raise JournalInUse(str(path))
    try:
        if not copy.is_file():
            raise JournalCopyError(f"{copy}: no such file to restore the journal from")
        try:
            with contextlib.closing(sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro", uri=True)) as connection:
                _checked_last_sequence(connection, copy)
        except sqlite3.Error as error:
            raise JournalCopyError(f"{copy}: not a cardtrace journal: {error}") from error
        present = [path.with_name(path.name + suffix) for suffix in _JOURNAL_SUFFIXES]
        present = [file for file in present if file.exists()]
        aside = None
        if present:
            aside = path.parent / f"replaced-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
            aside.mkdir()
            for file in present:
                os.replace(file, aside / file.name)
        incoming = path.with_name(f".{path.name}.restoring")
        shutil.copyfile(copy, incoming)
        _fsync(incoming)
        os.replace(incoming, path)
        _fsync(path.parent)
        return aside
    finally:
        writer_lock.release()


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
