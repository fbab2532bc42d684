"""A journal backed up while a store appends, and put back after the journal's disk is lost."""

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from projections.data_dir import DataDir
from projections.store import Append, EventStore, JournalInUse
from projections.store.backup import backup_journal, restore_journal
from projections.store.errors import JournalCopyError
from projections.store.recovery import recover_journal
from tests.integration.store.conftest import press_scan, sheet_started, wait_for


def _press(store: EventStore, sheets: range) -> None:
    for number in sheets:
        store.append(press_scan(f"J1044-S{number:03d}", f"press-{number}"))


def test_a_backup_taken_while_a_store_appends_is_one_whole_moment_of_the_log(data_dir: DataDir, tmp_path: Path) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        _bulk_press(store, range(1, 20_001))  # a journal big enough that its copy takes a while
        flowing, stop = threading.Event(), threading.Event()

        def keep_appending() -> None:
            number = 20_001
            while not stop.is_set():
                _press(store, range(number, number + 1))
                number += 1
                flowing.set()

        writer = threading.Thread(target=keep_appending)
        writer.start()
        try:
            assert flowing.wait(10)
            copy = backup_journal(data_dir, tmp_path / "journal-copy.sqlite3")
        finally:
            stop.set()
            writer.join()
        everything = store.read_arrow(0)

    assert 20_000 < copy.last_sequence < everything.num_rows  # taken while appends went on
    restored = DataDir(root=tmp_path / "restored")
    assert restore_journal(restored, copy.path) is None  # nothing there to move aside
    with EventStore(restored, read_only=True) as reader:
        held = reader.read_arrow(0)
    assert held.column("sequence_num").to_pylist() == list(range(1, copy.last_sequence + 1))  # no gap, no half
    assert held.equals(everything.slice(0, copy.last_sequence))
    assert _scans_in(copy.path) == copy.last_sequence - 20_000  # every press scan's answer came along


def _bulk_press(store: EventStore, sheets: range) -> None:
    """Sheets pressed without scans, many per group commit."""
    appends = [
        Append(
            events=(sheet_started(f"J{1000 + n // 999}-S{n % 999 + 1:03d}"),),
            expected_versions={f"J{1000 + n // 999}-S{n % 999 + 1:03d}": 0},
        )
        for n in sheets
    ]
    for answer in store.append_many(appends):
        assert not isinstance(answer, Exception), answer


def _scans_in(path: Path) -> int:
    """The scans a journal file holds, read with plain sqlite3."""
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("SELECT count(*) FROM scans").fetchone()[0])
    finally:
        connection.close()


def test_a_journal_put_back_from_its_backup_is_brought_up_to_the_lake(data_dir: DataDir, tmp_path: Path) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        _press(store, range(1, 4))
        store.seal_now()
    copy = backup_journal(data_dir, tmp_path / "last-night.sqlite3")
    with EventStore(data_dir, start_sealer=False) as store:
        _press(store, range(4, 8))
        store.seal_now()
        everything = store.read_arrow(0)
    data_dir.journal_path.write_bytes(b"the disk died")  # and its -wal with it

    replaced = restore_journal(data_dir, copy.path)
    assert replaced is not None
    assert (replaced / data_dir.journal_path.name).read_bytes() == b"the disk died"  # moved aside, never deleted
    assert recover_journal(data_dir).events_copied == 4
    with EventStore(data_dir, start_sealer=False) as store:
        assert store.read_arrow(0).equals(everything)
        assert store.append(press_scan("J1044-S008", "press-8")).events[0].sequence_num == 8
        assert store.append(press_scan("J1044-S001", "press-1")).replayed  # its answer survived the copy


def test_a_backup_never_overwrites_and_needs_a_journal(data_dir: DataDir, tmp_path: Path) -> None:
    with pytest.raises(JournalCopyError, match="there is no journal to back up"):
        backup_journal(data_dir, tmp_path / "copy.sqlite3")
    with EventStore(data_dir, start_sealer=False) as store:
        _press(store, range(1, 2))
    existing = tmp_path / "copy.sqlite3"
    existing.write_text("yesterday's")
    with pytest.raises(JournalCopyError, match="never overwrites"):
        backup_journal(data_dir, existing)
    assert existing.read_text() == "yesterday's"
    with pytest.raises(JournalCopyError, match="no such directory"):
        backup_journal(data_dir, tmp_path / "nowhere" / "copy.sqlite3")


def test_a_restore_refuses_a_running_store_and_a_file_that_is_not_a_journal(data_dir: DataDir, tmp_path: Path) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        _press(store, range(1, 3))
        copy = backup_journal(data_dir, tmp_path / "copy.sqlite3")
        with pytest.raises(JournalInUse):
            restore_journal(data_dir, copy.path)
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, just words " * 40)
    for wrong, problem in (
        (other, "not a cardtrace journal"),
        (text, "not a cardtrace journal"),
        (tmp_path / "x", "no such"),
    ):
        with pytest.raises(JournalCopyError, match=problem):
            restore_journal(data_dir, wrong)
    with EventStore(data_dir, read_only=True) as reader:  # the journal was left as it was
        assert reader.last_sequence() == 2


def test_a_restore_never_loses_events_only_the_journal_holds(data_dir: DataDir, tmp_path: Path) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        _press(store, range(1, 4))
        store.seal_now()
        copy = backup_journal(data_dir, tmp_path / "copy.sqlite3")
        _press(store, range(4, 6))  # acknowledged, not sealed when the service stopped

    with pytest.raises(JournalCopyError, match=r"events 4\.\.5 were acknowledged and would be lost"):
        restore_journal(data_dir, copy.path)
    with pytest.raises(JournalCopyError, match="the journal itself"):
        restore_journal(data_dir, data_dir.journal_path)
    with EventStore(data_dir, read_only=True) as reader:
        assert reader.last_sequence() == 5  # untouched
    assert restore_journal(data_dir, copy.path, force=True) is not None  # the operator's call
    with EventStore(data_dir, read_only=True) as reader:
        assert reader.last_sequence() == 3


def test_a_file_copy_of_a_journal_with_its_wal_beside_it_is_restored_whole(data_dir: DataDir, tmp_path: Path) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        _press(store, range(1, 6))
        (tmp_path / "copied").mkdir()
        for file in data_dir.journal_path.parent.glob("journal.sqlite3*"):  # cp while running: the WAL matters
            shutil.copyfile(file, tmp_path / "copied" / file.name)
        everything = store.read_arrow(0)
    assert (tmp_path / "copied" / "journal.sqlite3-wal").stat().st_size > 0

    restored = DataDir(root=tmp_path / "restored")
    restore_journal(restored, tmp_path / "copied" / "journal.sqlite3")
    assert not restored.journal_path.with_name("journal.sqlite3-wal").exists()
    with EventStore(restored, read_only=True) as reader:
        assert reader.read_arrow(0).equals(everything)


def test_a_reader_open_through_a_restore_reads_the_journal_put_back(data_dir: DataDir, tmp_path: Path) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        _press(store, range(1, 4))
        store.seal_now()
        copy = backup_journal(data_dir, tmp_path / "copy.sqlite3")
        _press(store, range(4, 6))

    with EventStore(data_dir, read_only=True) as dashboard:  # an app left running through the restore
        assert dashboard.last_sequence() == 5
        restore_journal(data_dir, copy.path, force=True)
        wait_for(lambda: dashboard.last_sequence() == 3, 5, dashboard.last_sequence)
        assert [event.sequence_num for event in dashboard.read(0, 100)] == [1, 2, 3]
