"""A journal lost, or put back from an older copy, is refused for writing and recovered from the lake."""

import shutil
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.service import ScanService
from projections import open_lake
from projections.data_dir import DataDir
from projections.lake.table import FileLock, LakeTable, sealer_lock_path
from projections.store import (
    Append,
    EventStore,
    JournalBehindLake,
    JournalInUse,
    LakeCorrupted,
    ScanIdReused,
    event_store,
    pairing,
)
from projections.store.recovery import RecoveryRefused, check_journal_reaches_lake, recover_journal
from tests.integration.ingest.conftest import OPERATOR, ScanDesk
from tests.integration.store.conftest import job_created, press_scan, sheet_completed, wait_for


def _press_sheets(store: EventStore, job: str, sheets: range) -> None:
    for number in sheets:
        sheet = f"{job}-S{number:03d}"
        store.append(press_scan(sheet, f"{job}-press-{number}"))
        store.append(Append(events=(sheet_completed(sheet),), expected_versions={sheet: 1}))


def _lake_rows(data_dir: DataDir) -> object:
    return LakeTable.for_data_dir(data_dir).delta().to_pyarrow_table().sort_by("sequence_num")


def _copy_journal(data_dir: DataDir, to: Path) -> None:
    shutil.copytree(data_dir.journal_path.parent, to, ignore=shutil.ignore_patterns("*.lock"))


def test_a_store_will_not_append_over_a_lake_its_journal_has_lost(data_dir: DataDir) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        store.append(Append(events=(job_created("J1044", 4),), expected_versions={"J1044": 0}))
        _press_sheets(store, "J1044", range(1, 5))
        store.seal_now()
    shutil.rmtree(data_dir.journal_path.parent)

    with pytest.raises(
        JournalBehindLake, match=r"ends at sequence_num 0 but the lake .* holds events up to 9"
    ) as refused:
        EventStore(data_dir, start_sealer=False)
    assert "cardtrace recover-journal" in str(refused.value)
    with EventStore(data_dir, read_only=True) as reader:  # nothing was appended, and readers still open
        assert reader.last_sequence() == 0
    assert LakeTable.for_data_dir(data_dir).read_high_water_mark() == 9


def test_a_lost_journal_is_recovered_exactly_and_the_plant_carries_on(data_dir: DataDir) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        store.append(Append(events=(job_created("J1044", 6),), expected_versions={"J1044": 0}))
        _press_sheets(store, "J1044", range(1, 4))
        store.seal_now()
        before = store.read_arrow(0)
        versions_before = store.versions(["J1044-S001", "J1044-S003"])
    shutil.rmtree(data_dir.journal_path.parent)

    recovery = recover_journal(data_dir)

    assert (recovery.journal_last_before, recovery.lake_last, recovery.events_copied) == (0, 7, 7)
    assert recovery.scans_recovered == 3  # the three press scans; the job and the completions had no scan_id
    with EventStore(data_dir, start_sealer=False) as store:
        assert store.read_arrow(0).equals(before)  # column for column, times and payloads included
        assert store.versions(["J1044-S001", "J1044-S003"]) == versions_before
        assert store.health()["lake_problem"] is None
        again = store.append(press_scan("J1044-S002", "J1044-press-2", fingerprint="not the original"))
        assert again.replayed  # the lake keeps no fingerprint: a retry of a recovered scan replays its events
        assert [event.sequence_num for event in again.events] == [4]
        _press_sheets(store, "J1044", range(4, 5))
        assert store.last_sequence() == 9
        assert store.seal_now() == 9
    assert recover_journal(data_dir).events_copied == 0  # nothing more to do


def test_a_journal_put_back_from_an_older_copy_gets_only_what_it_missed(data_dir: DataDir, tmp_path: Path) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        store.append(Append(events=(job_created("J1044", 8),), expected_versions={"J1044": 0}))
        _press_sheets(store, "J1044", range(1, 3))
        store.seal_now()
    _copy_journal(data_dir, tmp_path / "backup")
    with EventStore(data_dir, start_sealer=False) as store:
        _press_sheets(store, "J1044", range(3, 8))
        store.seal_now()
        everything = store.read_arrow(0)
    shutil.rmtree(data_dir.journal_path.parent)
    shutil.copytree(tmp_path / "backup", data_dir.journal_path.parent)

    copied_days: list[int] = []
    recovery = recover_journal(data_dir, on_day=lambda _day, events: copied_days.append(events))

    assert (recovery.journal_last_before, recovery.lake_last, recovery.events_copied) == (5, 15, 10)
    assert sum(copied_days) == 10
    with EventStore(data_dir, start_sealer=False) as store:
        assert store.read_arrow(0).equals(everything)
        _press_sheets(store, "J1044", range(8, 9))
        assert store.last_sequence() == 17


def test_a_journal_of_another_plant_is_not_recovered_from_this_lake(data_dir: DataDir, tmp_path: Path) -> None:
    other = DataDir(root=tmp_path / "other")
    with EventStore(other, start_sealer=False) as store:
        store.append(Append(events=(job_created("J2001", 2),), expected_versions={"J2001": 0}))
    with EventStore(data_dir, start_sealer=False) as store:
        store.append(Append(events=(job_created("J1044", 4),), expected_versions={"J1044": 0}))
        _press_sheets(store, "J1044", range(1, 3))
        store.seal_now()
    shutil.rmtree(data_dir.journal_path.parent)
    _copy_journal(other, data_dir.journal_path.parent)
    journal_before = data_dir.journal_path.read_bytes()

    with pytest.raises(RecoveryRefused, match=r"disagree about event 1 .* JobCreated of J2001 v1"):
        recover_journal(data_dir)
    assert data_dir.journal_path.read_bytes() == journal_before


def test_recovery_needs_a_lake_and_a_journal_nobody_holds(data_dir: DataDir) -> None:
    with pytest.raises(RecoveryRefused, match="no lake to recover the journal from"):
        recover_journal(data_dir)
    with EventStore(data_dir, start_sealer=False) as store:
        store.append(Append(events=(job_created("J1044", 2),), expected_versions={"J1044": 0}))
        store.seal_now()
        with pytest.raises(JournalInUse):
            recover_journal(data_dir)


def test_a_retry_of_a_recovered_scan_is_answered_with_its_events_and_the_entity_it_named(data_dir: DataDir) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        desk = ScanDesk(service=ScanService(store, data_dir.load_factory()))
        sheet = f"{desk.new_job()}-S001"
        desk.cut(sheet)
        card = f"{sheet}-01"
        desk.pass_qa(card)
        gathered = desk.scan(card, "ASSEMBLY-1")  # its first event is the set's, not the card's
        store.seal_now()
    shutil.rmtree(data_dir.journal_path.parent)
    recover_journal(data_dir)

    with EventStore(data_dir, start_sealer=False) as store:
        service = ScanService(store, data_dir.load_factory())
        again = service.submit_scan(desk.made[-1], OPERATOR)
        pressed_again = service.submit_scan(desk.made[0], OPERATOR)
        # The same scan_id with other content: a scanner whose counter started over. Not a replay.
        reused = replace(desk.made[-2], occurred_at=desk.made[-2].occurred_at + timedelta(hours=1))
        with pytest.raises(ScanIdReused):
            service.submit_scan(reused, OPERATOR)

    assert again.replayed
    assert gathered.entity_id == card
    assert again.entity_id == card
    assert [event.sequence_num for event in again.events] == [event.sequence_num for event in gathered.events]
    assert pressed_again.replayed
    assert pressed_again.entity_id == sheet


def _plant_with_lake(root: Path, job: str) -> DataDir:
    data_dir = DataDir(root=root)
    with EventStore(data_dir, start_sealer=False) as store:
        store.append(Append(events=(job_created(job, 4),), expected_versions={job: 0}))
        _press_sheets(store, job, range(1, 3))
        store.seal_now()
    return data_dir


def _swap_lake(data_dir: DataDir, other: DataDir) -> None:
    shutil.rmtree(data_dir.lake_uri)
    shutil.copytree(other.lake_uri, data_dir.lake_uri)


def test_a_journal_is_never_sealed_into_another_plants_lake(tmp_path: Path) -> None:
    mine = _plant_with_lake(tmp_path / "mine", "J1044")
    theirs = _plant_with_lake(tmp_path / "theirs", "J2001")
    _swap_lake(mine, theirs)  # the same number of events: only their content tells them apart
    their_lake = LakeTable.for_data_dir(mine)
    their_mark = their_lake.read_high_water_mark()

    with EventStore(mine, start_sealer=False) as store:
        assert store.lake_problem is not None
        assert "another history: its event 5 is OperationCompleted of J2001-S002 v2" in str(store.lake_problem)
        assert store.append(press_scan("J1044-S003", "J1044-press-3")).events[0].sequence_num == 6  # still acknowledged
        with pytest.raises(LakeCorrupted, match="another plant's lake"):
            store.seal_now()
    assert LakeTable.for_data_dir(mine).read_high_water_mark() == their_mark
    assert (
        LakeTable.for_data_dir(mine).delta().to_pyarrow_table().column("aggregate_id").to_pylist()[0].startswith("J2")
    )


def test_recovery_refuses_a_lake_that_is_not_the_journals(tmp_path: Path) -> None:
    mine = _plant_with_lake(tmp_path / "mine", "J1044")
    with EventStore(mine, start_sealer=False) as store:
        _press_sheets(store, "J1044", range(3, 5))
        store.seal_now()
    theirs = _plant_with_lake(tmp_path / "theirs", "J2001")
    with EventStore(theirs, start_sealer=False) as store:  # their lake ahead of my journal
        _press_sheets(store, "J2001", range(3, 5))
        _press_sheets(store, "J2001", range(5, 7))
        store.seal_now()
    _swap_lake(mine, theirs)

    with pytest.raises(RecoveryRefused, match=r"disagree about event 9 \(the journal's is OperationCompleted of J1044"):
        recover_journal(mine)


def test_a_lost_lake_is_sealed_again_from_the_journal_into_a_table_the_journal_adopts(tmp_path: Path) -> None:
    data_dir = _plant_with_lake(tmp_path / "plant", "J1044")
    with EventStore(data_dir, read_only=True) as reader:
        journal = reader.read_arrow(0)
    shutil.rmtree(data_dir.lake_uri)  # the lake's disk died; the journal's did not

    with EventStore(data_dir, start_sealer=False) as store:
        assert store.lake_problem is None
        assert store.seal_now() == 5
    with EventStore(data_dir, start_sealer=False) as store:  # the new table is this journal's lake now
        assert store.lake_problem is None
        _press_sheets(store, "J1044", range(3, 4))
        assert store.seal_now() == 7
    assert _lake_rows(data_dir).slice(0, 5).equals(journal)  # type: ignore[attr-defined]


def test_an_old_copy_of_the_journal_beside_a_lake_sealed_again_is_refused_then_recovered(tmp_path: Path) -> None:
    data_dir = _plant_with_lake(tmp_path / "plant", "J1044")  # events 1..5, sealed
    _copy_journal(data_dir, tmp_path / "backup")  # last night's copy of the journal
    with EventStore(data_dir, start_sealer=False) as store:
        _press_sheets(store, "J1044", range(3, 5))
        everything = store.read_arrow(0)
    shutil.rmtree(data_dir.lake_uri)  # the lake's disk dies: it is sealed again from the journal, a new table
    with EventStore(data_dir, start_sealer=False) as store:
        assert store.seal_now() == 9
    shutil.rmtree(data_dir.journal_path.parent)  # then the journal's: last night's copy goes back
    shutil.copytree(tmp_path / "backup", data_dir.journal_path.parent)

    with pytest.raises(JournalBehindLake, match=r"ends at sequence_num 5 but the lake .* holds events up to 9"):
        EventStore(data_dir, start_sealer=False)
    assert recover_journal(data_dir).events_copied == 4
    with EventStore(data_dir, start_sealer=False) as store:
        assert store.read_arrow(0).equals(everything)
        assert store.lake_problem is None


def test_an_empty_journal_beside_a_lake_that_cannot_be_read_is_refused(tmp_path: Path) -> None:
    data_dir = _plant_with_lake(tmp_path / "plant", "J1044")
    shutil.rmtree(data_dir.journal_path.parent)
    for entry in (Path(data_dir.lake_uri) / "_delta_log").glob("*.json"):
        entry.write_text("{ damaged")

    with pytest.raises(JournalBehindLake, match=r"the journal is empty but the lake .* cannot be read"):
        EventStore(data_dir, start_sealer=False)
    with pytest.raises(JournalBehindLake, match="cannot be read"):
        check_journal_reaches_lake(data_dir)


def test_a_lake_that_cannot_be_read_does_not_stop_a_journal_that_has_its_events(tmp_path: Path) -> None:
    data_dir = _plant_with_lake(tmp_path / "plant", "J1044")
    for entry in (Path(data_dir.lake_uri) / "_delta_log").glob("*.json"):
        entry.write_text("{ damaged")

    check_journal_reaches_lake(data_dir)  # `cardtrace serve` starts: the store reports the lake
    with EventStore(data_dir, start_sealer=False) as store:
        assert store.lake_problem is not None
        assert store.append(press_scan("J1044-S003", "J1044-press-3")).events[0].sequence_num == 6


def test_two_plants_with_the_same_job_numbers_are_still_told_apart(tmp_path: Path) -> None:
    mine = _plant_with_lake(tmp_path / "mine", "J1044")
    theirs = _plant_with_lake(tmp_path / "theirs", "J1044")  # the same events, recorded at other moments
    _swap_lake(mine, theirs)

    with EventStore(mine, start_sealer=False) as store:
        assert store.lake_problem is not None
        assert "another history" in str(store.lake_problem)
    with pytest.raises(RecoveryRefused, match="disagree about event 5"):  # not "nothing to recover"
        recover_journal(mine)


def test_a_lake_whose_log_is_gone_but_whose_files_remain_is_not_taken_for_no_lake(tmp_path: Path) -> None:
    data_dir = _plant_with_lake(tmp_path / "plant", "J1044")
    shutil.rmtree(data_dir.journal_path.parent)
    shutil.rmtree(Path(data_dir.lake_uri) / "_delta_log")

    with pytest.raises(JournalBehindLake, match="data files but no Delta log"):
        EventStore(data_dir, start_sealer=False)


def test_the_services_check_leaves_a_journal_in_use_to_the_store(tmp_path: Path) -> None:
    data_dir = _plant_with_lake(tmp_path / "plant", "J1044")
    with EventStore(data_dir, start_sealer=False) as store:
        _press_sheets(store, "J1044", range(3, 4))
        store.seal_now()
        check_journal_reaches_lake(data_dir)  # no race with the appending store: it is not read at all
        with pytest.raises(JournalInUse):
            EventStore(data_dir, start_sealer=False)


def _damage_log(data_dir: DataDir, keep: Path) -> None:
    """The lake's log unreadable, as if its storage were away; its entries are kept in `keep`."""
    shutil.copytree(Path(data_dir.lake_uri) / "_delta_log", keep)
    for entry in (Path(data_dir.lake_uri) / "_delta_log").glob("*.json"):
        entry.write_text("{ damaged")


def _mend_log(data_dir: DataDir, kept: Path) -> None:
    shutil.rmtree(Path(data_dir.lake_uri) / "_delta_log")
    shutil.copytree(kept, Path(data_dir.lake_uri) / "_delta_log")


def test_sealing_resumes_by_itself_once_a_lake_that_could_not_be_read_reads_again(tmp_path: Path) -> None:
    data_dir = _plant_with_lake(tmp_path / "plant", "J1044")
    _damage_log(data_dir, tmp_path / "kept-log")

    with EventStore(data_dir, lake_retry_s=0.05, seal_interval_s=0.05) as store:
        assert store.lake_problem is not None  # the lake away when the service started
        _press_sheets(store, "J1044", range(3, 4))  # acknowledged all the same
        time.sleep(0.2)
        assert store.health()["sealed_sequence"] == 5
        assert store.lake_problem is not None
        _mend_log(data_dir, tmp_path / "kept-log")  # storage back

        wait_for(lambda: store.lake_problem is None and store.health()["sealed_sequence"] == 7)
        assert store.health()["sealing"] is True
        with EventStore(data_dir, read_only=True) as reader:
            assert _lake_rows(data_dir).equals(reader.read_arrow(0))  # type: ignore[attr-defined]


def test_a_lake_that_reads_again_ahead_of_the_journal_is_never_sealed_into(tmp_path: Path) -> None:
    data_dir = _plant_with_lake(tmp_path / "plant", "J1044")  # events 1..5, sealed
    _copy_journal(data_dir, tmp_path / "backup")
    with EventStore(data_dir, start_sealer=False) as store:
        _press_sheets(store, "J1044", range(3, 5))
        store.seal_now()  # the lake holds 1..9
    shutil.rmtree(data_dir.journal_path.parent)  # the journal's disk dies; last night's copy (1..5) goes back
    shutil.copytree(tmp_path / "backup", data_dir.journal_path.parent)
    _damage_log(data_dir, tmp_path / "kept-log")  # and the lake cannot be read while the service starts

    with EventStore(data_dir, lake_retry_s=0.05, seal_interval_s=0.05) as store:
        assert store.append(press_scan("J1044-S005", "J1044-press-5")).events[0].sequence_num == 6
        _mend_log(data_dir, tmp_path / "kept-log")

        wait_for(lambda: "readable again" in str(store.lake_problem))
        assert "holds events up to 9 while the journal ends at 6" in str(store.lake_problem)
        with pytest.raises(LakeCorrupted, match="readable again"):
            store.seal_now()
    assert LakeTable.for_data_dir(data_dir).read_high_water_mark() == 9


def test_reads_never_lay_the_journals_events_over_another_plants_lake(tmp_path: Path) -> None:
    mine = _plant_with_lake(tmp_path / "mine", "J1044")
    with EventStore(mine, start_sealer=False) as store:
        _press_sheets(store, "J1044", range(3, 4))  # 6..7, not sealed
    theirs = _plant_with_lake(tmp_path / "theirs", "J2001")
    with EventStore(theirs, start_sealer=False) as store:
        _press_sheets(store, "J2001", range(3, 5))
        store.seal_now()  # their lake: 1..9
    _swap_lake(mine, theirs)

    with open_lake(mine, use_materialized=False) as lake:
        events = lake.events().select("sequence_num", "aggregate_id").sort("sequence_num")
        assert events["sequence_num"].to_list() == list(range(1, 8))
        assert all(aggregate.startswith("J1044") for aggregate in events["aggregate_id"])
        assert lake.sql("SELECT job_id FROM jobs")["job_id"].to_list() == ["J1044"]


def test_closing_does_not_wait_on_a_lake_that_never_answers_nor_seal_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = _plant_with_lake(tmp_path / "plant", "J1044")
    _damage_log(data_dir, tmp_path / "kept-log")
    monkeypatch.setattr(event_store, "LAKE_WATCHER_JOIN_S", 0.2)
    asked, answer = threading.Event(), threading.Event()
    paired = pairing.pair

    def hung_storage(*arguments: Any) -> tuple[int, LakeCorrupted | None]:
        asked.set()
        answer.wait(30)  # object storage that accepts the connection and never answers
        return paired(*arguments)

    store = EventStore(data_dir, lake_retry_s=0.01, seal_interval_s=0.01)
    _press_sheets(store, "J1044", range(3, 4))
    monkeypatch.setattr(pairing, "pair", hung_storage)
    assert asked.wait(10)
    _mend_log(data_dir, tmp_path / "kept-log")  # the lake would pair now, if the call ever came back

    began = time.monotonic()
    store.close()
    assert time.monotonic() - began < 5
    answer.set()  # the storage answers after the store closed
    time.sleep(0.3)
    assert LakeTable.for_data_dir(data_dir).read_high_water_mark() == 5  # nothing sealed by a closed store
    assert not [thread for thread in threading.enumerate() if thread.name == "cardtrace-sealer"]


def test_a_lake_whose_check_fails_at_open_is_checked_again_until_it_passes(tmp_path: Path) -> None:
    data_dir = _plant_with_lake(tmp_path / "plant", "J1044")
    stray = Path(data_dir.lake_uri) / "notes.csv"
    stray.write_text("someone's spreadsheet\n")  # a foreign file: the lake fails its check, not its pairing

    with EventStore(data_dir, lake_retry_s=0.05, seal_interval_s=0.05) as store:
        assert "notes.csv" in str(store.lake_problem)
        _press_sheets(store, "J1044", range(3, 4))
        stray.unlink()

        wait_for(lambda: store.lake_problem is None and store.health()["sealed_sequence"] == 7)


def test_a_watcher_that_finds_the_sealer_lock_taken_says_so_and_waits_for_it(tmp_path: Path) -> None:
    data_dir = _plant_with_lake(tmp_path / "plant", "J1044")
    _damage_log(data_dir, tmp_path / "kept-log")
    other_process = FileLock(sealer_lock_path(data_dir))  # `cardtrace compact`, say
    assert other_process.acquire()

    with EventStore(data_dir, lake_retry_s=0.05, seal_interval_s=0.05) as store:
        _press_sheets(store, "J1044", range(3, 4))
        _mend_log(data_dir, tmp_path / "kept-log")
        wait_for(lambda: "another process holds the sealer lock" in str(store.lake_problem))
        other_process.release()

        wait_for(lambda: store.lake_problem is None and store.health()["sealed_sequence"] == 7)


def test_a_store_opened_while_another_process_holds_the_sealer_lock_seals_once_it_is_free(tmp_path: Path) -> None:
    data_dir = _plant_with_lake(tmp_path / "plant", "J1044")
    other_process = FileLock(sealer_lock_path(data_dir))  # `cardtrace compact`, or a sealer process finishing
    assert other_process.acquire()

    with EventStore(data_dir, lake_retry_s=0.05, seal_interval_s=0.05) as store:
        assert "another process holds the sealer lock" in str(store.lake_problem)
        _press_sheets(store, "J1044", range(3, 4))  # acknowledged meanwhile
        other_process.release()

        wait_for(lambda: store.lake_problem is None and store.health()["sealed_sequence"] == 7)
