"""Appends: atomic, version-checked, idempotent on scan_id, gapless, durable or refused."""

import contextlib
import json
import random
import sqlite3
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from core.envelope import record
from core.events import EVENT_TYPES, OperationStarted, QAResultRecorded, to_payload
from projections.data_dir import DataDir
from projections.store import (
    Append,
    AppendResult,
    ConcurrencyConflict,
    DurabilityError,
    EventStore,
    JournalInUse,
    ScanIdReused,
    journal,
)
from projections.store.event_store import (
    _microseconds_of,
    _payload_of,
    _record,
    _result,
    _shape_of,
    _TwoGenerationCache,
    payload_json,
)
from projections.store.journal import to_microseconds
from tests.integration.store.conftest import job_created, press_scan, sheet_completed, sheet_started


def test_an_append_records_all_its_events_with_gapless_sequence_and_per_aggregate_versions(store: EventStore) -> None:
    job = store.append(Append(events=(job_created("J1044"),), expected_versions={"J1044": 0}))
    both = store.append(
        Append(
            events=(sheet_started("J1044-S001"), sheet_started("J1044-S002"), sheet_completed("J1044-S001")),
            expected_versions={"J1044-S001": 0, "J1044-S002": 0},
        )
    )

    assert [e.sequence_num for e in job.events + both.events] == [1, 2, 3, 4]
    assert [(e.aggregate_id, e.aggregate_version) for e in both.events] == [
        ("J1044-S001", 1),
        ("J1044-S002", 1),
        ("J1044-S001", 2),
    ]
    assert store.versions(["J1044", "J1044-S001", "J1044-S002", "J9999"]) == {
        "J1044": 1,
        "J1044-S001": 2,
        "J1044-S002": 1,
        "J9999": 0,
    }
    version, events = store.load_aggregate("J1044-S001")
    assert version == 2
    assert [e.event_type for e in events] == ["OperationStarted", "OperationCompleted"]
    assert store.read(0, 10) == list(job.events + both.events)
    assert store.last_sequence() == 4


def test_a_stale_version_conflicts_and_writes_nothing_of_the_append(store: EventStore) -> None:
    store.append(Append(events=(sheet_started("J1044-S001"),), expected_versions={"J1044-S001": 0}))

    with pytest.raises(ConcurrencyConflict) as refused:
        store.append(
            Append(
                events=(sheet_started("J1044-S002"), sheet_completed("J1044-S001")),
                expected_versions={"J1044-S002": 0, "J1044-S001": 0},
                scan_id="late",
                scan_fingerprint="f",
            )
        )

    assert (refused.value.aggregate_id, refused.value.expected, refused.value.actual) == ("J1044-S001", 0, 1)
    assert "J1044-S001" in str(refused.value)
    assert store.last_sequence() == 1
    assert store.versions(["J1044-S002"]) == {"J1044-S002": 0}
    assert store.lookup_scan("late") is None


def test_an_aggregate_that_was_only_read_is_still_checked(store: EventStore) -> None:
    store.append(Append(events=(job_created("J1044"),), expected_versions={"J1044": 0}))
    store.append(Append(events=(sheet_started("J1044-S001"),), expected_versions={"J1044-S001": 0, "J1044": 1}))

    with pytest.raises(ConcurrencyConflict):
        store.append(Append(events=(sheet_started("J1044-S002"),), expected_versions={"J1044-S002": 0, "J1044": 0}))
    assert store.last_sequence() == 2


def test_an_event_for_an_aggregate_without_an_expected_version_is_a_programming_error(store: EventStore) -> None:
    with pytest.raises(ValueError, match="expected_versions"):
        store.append(Append(events=(sheet_started("J1044-S001"),), expected_versions={}))


def test_of_32_writers_at_the_same_version_exactly_one_wins(store: EventStore) -> None:
    barrier = threading.Barrier(32)

    def write(writer: int) -> AppendResult | Exception:
        append = Append(events=(sheet_started("J1044-S001", scan=f"w{writer}"),), expected_versions={"J1044-S001": 0})
        barrier.wait()
        try:
            return store.append(append)
        except ConcurrencyConflict as conflict:
            return conflict

    with ThreadPoolExecutor(max_workers=32) as pool:
        outcomes = list(pool.map(write, range(32)))

    winners = [o for o in outcomes if isinstance(o, AppendResult)]
    assert len(winners) == 1
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 31
    assert store.load_aggregate("J1044-S001")[0] == 1
    assert store.last_sequence() == 1


def test_10000_scans_each_sent_1_to_5_times_concurrently_are_each_recorded_once(store: EventStore) -> None:
    rng = random.Random(20261102)
    sends = [scan for scan in range(10_000) for _ in range(rng.randint(1, 5))]
    rng.shuffle(sends)
    # Scanners flushing their offline buffers: 32 threads, each sending runs of scans; copies of one scan meet
    # in the same group commit, in different ones, and after the original is long durable.
    runs = [sends[start : start + 20] for start in range(0, len(sends), 20)]

    def send(run: list[int]) -> list[AppendResult | Exception]:
        if len(run) % 2:
            return [store.append(press_scan(_sheet_of(scan), f"scan-{scan}")) for scan in run]
        return store.append_many([press_scan(_sheet_of(scan), f"scan-{scan}") for scan in run])

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = [result for outcomes in pool.map(send, runs) for result in outcomes]

    assert all(isinstance(r, AppendResult) for r in results), [r for r in results if isinstance(r, Exception)][:3]
    answers = [r for r in results if isinstance(r, AppendResult)]
    originals = [r for r in answers if not r.replayed]
    assert len(originals) == 10_000
    assert Counter(r.scan_id for r in originals) == Counter(f"scan-{n}" for n in range(10_000))
    first_answer = {r.scan_id: r.events for r in originals}
    assert all(r.events == first_answer[r.scan_id] for r in answers)
    assert store.last_sequence() == 10_000
    assert sorted(e.sequence_num for e in store.read(0, 20_000)) == list(range(1, 10_001))


def _sheet_of(scan: int) -> str:
    return f"J{1000 + scan // 100}-S{scan % 100 + 1:03d}"


def test_a_retry_gets_the_original_outcome_and_records_nothing(store: EventStore) -> None:
    first = store.append(press_scan("J1044-S001", "scan-1"))
    store.append(Append(events=(sheet_completed("J1044-S001"),), expected_versions={"J1044-S001": 1}))

    again = store.append(press_scan("J1044-S001", "scan-1"))  # its expected version is stale by now

    assert again.replayed
    assert not first.replayed
    assert again.events == first.events
    assert again.outcome == first.outcome
    assert store.last_sequence() == 2
    assert store.lookup_scan("scan-1") == again
    assert store.lookup_scan("never-sent") is None


def test_the_same_scan_id_with_other_content_is_refused(store: EventStore) -> None:
    store.append(press_scan("J1044-S001", "scan-1", fingerprint="abc"))

    with pytest.raises(ScanIdReused) as refused:
        store.append(press_scan("J1044-S002", "scan-1", fingerprint="xyz"))

    assert refused.value.scan_id == "scan-1"
    assert "scan-1" in str(refused.value)
    assert store.last_sequence() == 1


def test_a_rejected_scan_is_recorded_without_events_and_replayed_on_retry(store: EventStore) -> None:
    rejection = json.dumps({"rejected": {"error": "not_found", "detail": "no sheet J7777-S001"}})
    rejected = Append(events=(), expected_versions={}, scan_id="scan-9", scan_fingerprint="f", outcome=rejection)

    first = store.append(rejected)
    again = store.append(rejected)

    assert first.events == ()
    assert not first.replayed
    assert again.replayed
    assert again.outcome == rejection
    assert store.last_sequence() == 0


def test_a_bulk_append_gives_one_outcome_per_append_and_commits_the_rest(store: EventStore) -> None:
    store.append(press_scan("J1044-S001", "scan-0"))
    outcomes = store.append_many(
        [
            press_scan("J1044-S002", "scan-1"),
            press_scan("J1044-S001", "scan-2"),  # stale: J1044-S001 is at version 1
            press_scan("J1044-S003", "scan-3"),
            press_scan("J1044-S002", "scan-1"),  # the same scan again, in the same batch
            press_scan("J1044-S004", "scan-1", fingerprint="other"),
            Append(events=(sheet_completed("J1044-S003"),), expected_versions={"J1044-S003": 1}),
        ]
    )

    kinds = [type(outcome).__name__ for outcome in outcomes]
    assert kinds == [
        "AppendResult",
        "ConcurrencyConflict",
        "AppendResult",
        "AppendResult",
        "ScanIdReused",
        "AppendResult",
    ]
    first, _, third, replay, _, completed = outcomes
    assert isinstance(first, AppendResult)
    assert isinstance(replay, AppendResult)
    assert replay.replayed
    assert replay.events == first.events
    assert isinstance(third, AppendResult)
    assert isinstance(completed, AppendResult)
    assert [e.sequence_num for e in first.events + third.events + completed.events] == [2, 3, 4]
    assert store.versions(["J1044-S003"]) == {"J1044-S003": 2}


def test_recorded_at_never_goes_back_in_sequence_order(store: EventStore) -> None:
    for number in range(50):
        store.append(press_scan(f"J1044-S{number + 1:03d}", f"scan-{number}"))
    recorded = [e.recorded_at for e in store.read(0, 100)]
    assert recorded == sorted(recorded)
    assert all(moment.tzinfo is not None for moment in recorded)


def test_appends_survive_a_restart_and_numbering_goes_on(data_dir: DataDir) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        first = store.append(press_scan("J1044-S001", "scan-1"))
    with EventStore(data_dir, start_sealer=False) as store:
        assert store.lookup_scan("scan-1") == AppendResult(
            events=first.events, replayed=True, outcome=first.outcome, scan_id="scan-1", scan_fingerprint="f"
        )
        later = store.append(Append(events=(sheet_completed("J1044-S001"),), expected_versions={"J1044-S001": 1}))
        assert [(e.sequence_num, e.aggregate_version) for e in later.events] == [(2, 2)]
        assert later.events[0].recorded_at >= first.events[0].recorded_at


def test_after_a_restart_versions_come_from_the_events_however_long_the_history(data_dir: DataDir) -> None:
    sheet = "J1044-S001"
    with EventStore(data_dir, start_sealer=False) as store:
        store.append(press_scan(sheet, "scan-0"))
        for version in range(1, 600):
            store.append(Append(events=(sheet_completed(sheet),), expected_versions={sheet: version}))
        store.append(press_scan("J1044-S002", "scan-1"))
    with EventStore(data_dir, start_sealer=False) as store:  # nothing cached: the journal answers
        assert store.versions([sheet, "J1044-S002", "J1044-S003"]) == {sheet: 600, "J1044-S002": 1, "J1044-S003": 0}
        with pytest.raises(ConcurrencyConflict):
            store.append(Append(events=(sheet_completed(sheet),), expected_versions={sheet: 599}))
        later = store.append(Append(events=(sheet_completed(sheet),), expected_versions={sheet: 600}))
        assert later.events[0].aggregate_version == 601


def test_a_journal_of_the_first_format_loses_its_copy_of_the_versions_and_keeps_its_events(data_dir: DataDir) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        store.append(press_scan("J1044-S001", "scan-1"))
    # Format 1 kept each aggregate's version in a table of its own; give it a wrong one to show it is not read.
    with contextlib.closing(sqlite3.connect(data_dir.journal_path)) as old:
        old.execute("CREATE TABLE aggregates (aggregate_id TEXT PRIMARY KEY, aggregate_type TEXT, version INTEGER)")
        old.execute("INSERT INTO aggregates VALUES ('J1044-S001', 'sheet', 7)")
        old.execute("PRAGMA user_version = 1")
        old.commit()
    with EventStore(data_dir, start_sealer=False) as store:
        assert store.versions(["J1044-S001"]) == {"J1044-S001": 1}
        assert store.lookup_scan("scan-1") is not None
        store.append(Append(events=(sheet_completed("J1044-S001"),), expected_versions={"J1044-S001": 1}))
    with contextlib.closing(sqlite3.connect(data_dir.journal_path)) as migrated:
        assert migrated.execute("PRAGMA user_version").fetchone() == (journal.JOURNAL_FORMAT,)
        tables = {name for (name,) in migrated.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"events", "scans", "seal"}
        assert migrated.execute("SELECT count(*) FROM events").fetchone() == (2,)


def test_a_second_writer_on_the_same_journal_is_refused_but_a_reader_may_open_it(
    data_dir: DataDir, store: EventStore
) -> None:
    store.append(press_scan("J1044-S001", "scan-1"))

    with pytest.raises(JournalInUse, match="read_only"):
        EventStore(data_dir)
    with EventStore(data_dir, read_only=True) as reader:
        assert reader.last_sequence() == 1
        assert reader.lookup_scan("scan-1") is not None
        with pytest.raises(DurabilityError, match="read-only"):
            reader.append(press_scan("J1044-S002", "scan-2"))


def test_an_append_to_a_closed_store_is_not_acknowledged(data_dir: DataDir) -> None:
    store = EventStore(data_dir, start_sealer=False)
    store.close()
    with pytest.raises(DurabilityError, match="closed"):
        store.append(press_scan("J1044-S001", "scan-1"))


def test_when_the_journal_cannot_grow_every_append_of_the_commit_fails_and_none_is_acknowledged(
    store: EventStore,
) -> None:
    store.append(press_scan("J1044-S001", "scan-0"))
    # A real SQLite refusal: cap the file at its current size, as a full disk would.
    writer = store._writer
    assert writer is not None
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    writer.execute(f"PRAGMA max_page_count = {pages}")
    big = [
        Append(
            events=tuple(sheet_started(f"J2000-S{n:03d}", scan=f"s{n}-{k}" * 40) for k in range(20)),
            expected_versions={f"J2000-S{n:03d}": 0},
        )
        for n in range(1, 60)
    ]

    outcomes = store.append_many(big)

    assert all(isinstance(outcome, DurabilityError) for outcome in outcomes)
    writer.execute("PRAGMA max_page_count = 1073741823")
    assert store.last_sequence() == 1
    retried = store.append(big[0])
    assert [e.sequence_num for e in retried.events][:2] == [2, 3]


def test_the_payload_is_the_document_core_defines_for_every_event_type() -> None:
    qa = QAResultRecorded(
        operation_id="qa", station_id="QA-BENCH-1", result="FAIL", attempt=2, failure_codes=("SCRATCH", "INK")
    )
    assert json.loads(payload_json(qa)) == json.loads(json.dumps(to_payload(qa)))
    for name, cls in EVENT_TYPES.items():
        assert cls.__name__ == name  # every type is covered by the fast encoder's per-class field cache


def test_a_kept_payload_is_only_reused_for_values_of_the_same_types() -> None:
    """Equal values of other types (1 == True, 1 == 1.0) encode differently: the cache must never mix them."""
    shape = _shape_of(QAResultRecorded)
    events = [
        QAResultRecorded(operation_id="qa", station_id="QA-1", result="PASS", attempt=1),
        QAResultRecorded(operation_id="qa", station_id="QA-1", result="PASS", attempt=True),
        QAResultRecorded(operation_id="qa", station_id="QA-1", result="PASS", attempt=1.0),  # type: ignore[arg-type]
        QAResultRecorded(operation_id="qa", station_id="QA-1", result="FAIL", attempt=1, failure_codes=("INK",)),
        QAResultRecorded(operation_id="qa", station_id="QA-1", result="FAIL", attempt=1, failure_codes=["INK"]),  # type: ignore[arg-type]
    ]
    for _ in range(2):  # the second round is served from the cache where it may be
        for event in events:
            assert _payload_of(event, shape) == payload_json(event)
    assert {_payload_of(event, shape) for event in events[:3]} == {payload_json(event) for event in events[:3]}
    assert len({payload_json(event) for event in events[:3]}) == 3


def test_one_instant_in_any_time_zone_is_one_number_of_microseconds() -> None:
    utc = datetime(2026, 11, 2, 6, 0, 0, 123456, tzinfo=UTC)
    paris = utc.astimezone(timezone(timedelta(hours=1)))
    assert _microseconds_of(utc) == _microseconds_of(paris) == to_microseconds(utc)
    with pytest.raises(ValueError, match="no time zone"):
        _microseconds_of(datetime(2026, 11, 2, 6, 0))


def test_the_hour_repeated_at_the_end_of_summer_time_is_two_instants() -> None:
    """The two 01:30 of 2026-11-01 in New York compare and hash equal (PEP 495) but are an hour apart."""
    first = datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"))
    second = first.replace(fold=1)
    assert first == second
    assert _microseconds_of(second) - _microseconds_of(first) == 3_600_000_000
    assert _microseconds_of(first) == to_microseconds(first)
    assert _microseconds_of(second) == to_microseconds(second)


def test_the_fast_append_result_equals_the_dataclass() -> None:
    event = _record(sheet_started("J1044-S001", scan="scan-1"), 1, 1, datetime(2026, 11, 2, 7, 0, tzinfo=UTC))
    fast = _result((event,), True, '{"state":"in_progress"}', "scan-1", "f1")
    assert type(fast) is AppendResult
    assert fast == AppendResult(
        events=(event,), replayed=True, outcome='{"state":"in_progress"}', scan_id="scan-1", scan_fingerprint="f1"
    )


def test_the_fast_recorded_event_equals_what_core_records() -> None:
    pending = sheet_started("J1044-S001", scan="scan-1")
    now = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
    fast = _record(pending, 7, 3, now)
    assert fast == record(pending, sequence_num=7, aggregate_version=3, recorded_at=now)
    assert isinstance(fast.event, OperationStarted)


def test_a_loaded_aggregate_is_served_from_memory_and_never_stale_after_an_append(store: EventStore) -> None:
    store.append(press_scan("J1044-S001", "scan-1"))
    first = store.load_aggregate("J1044-S001")
    assert store.load_aggregate("J1044-S001") is first  # the second load is the cached one

    store.append(Append(events=(sheet_completed("J1044-S001"),), expected_versions={"J1044-S001": 1}))

    version, events = store.load_aggregate("J1044-S001")
    assert version == 2
    assert [e.aggregate_version for e in events] == [1, 2]
    assert store.versions(["J1044-S001"]) == {"J1044-S001": 2}


def test_concurrent_loads_and_appends_never_leave_a_stale_aggregate_in_memory(store: EventStore) -> None:
    sheet = "J1044-S001"
    stop = threading.Event()

    def load_forever() -> None:
        while not stop.is_set():
            store.load_aggregate(sheet)

    readers = [threading.Thread(target=load_forever) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for version in range(60):
            store.append(Append(events=(sheet_started(sheet),), expected_versions={sheet: version}))
            assert store.load_aggregate(sheet)[0] == version + 1
    finally:
        stop.set()
        for reader in readers:
            reader.join()


def test_the_writers_version_cache_never_serves_a_value_older_than_the_last_put() -> None:
    cache: _TwoGenerationCache[str, int] = _TwoGenerationCache(4)  # two entries per generation
    cache.put("a", 1)
    cache.put("b", 1)
    cache.put("c", 1)  # "a" and "b" move to the old generation
    cache.put_many({"a": 2})  # fresh in the young one; the old one keeps a stale copy
    found = cache.found(["a", "b", "c", "z"])
    assert found.versions == {"a": 2, "b": 1, "c": 1}
    assert found.missing == ["z"]
    cache.put_many({"d": 1, "e": 1})  # rotates: the stale generation is dropped whole
    assert cache.found(["a", "b"]).versions == {"a": 2}
    cache.discard_many(["a", "e"])
    assert cache.found(["a", "c", "d", "e"]).versions == {"c": 1, "d": 1}
