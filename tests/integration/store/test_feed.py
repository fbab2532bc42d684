"""The event feed: pages of the journal as plain lake rows, equal to the log's events, cut on both time axes."""

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.envelope import EventContext, PendingEvent, RecordedEvent
from core.events import QAResultRecorded, to_payload
from projections.store import Append, EventStore, journal
from projections.store.journal import FeedRow
from tests.integration.store.conftest import START, job_created, press_scan, sheet_completed, sheet_started


def _lake_row(event: RecordedEvent) -> dict[str, Any]:
    """What a feed row must say about an event: its lake columns, times in ISO 8601, the payload as a document."""
    return {
        "sequence_num": event.sequence_num,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "aggregate_version": event.aggregate_version,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
        "event_date": event.recorded_at.astimezone(UTC).date().isoformat(),
        "job_id": event.job_id,
        "sheet_id": event.sheet_id,
        "card_unit_id": event.card_unit_id,
        "station_id": event.station_id,
        "operator_id": event.operator_id,
        "scan_id": event.scan_id,
        "payload": to_payload(event.event),
    }


def _parsed(rows: list[FeedRow]) -> list[dict[str, Any]]:
    return [{**row, "payload": json.loads(payload)} for row, payload in rows]


def _floor(store: EventStore) -> list[RecordedEvent]:
    store.append(Append(events=(job_created("J1044", sheets=6),), expected_versions={"J1044": 0}))
    for number in range(1, 7):
        sheet = f"J1044-S{number:03d}"
        # Scans of sheets pressed in reverse order: occurred_at falls as sequence_num rises.
        store.append(
            Append(
                events=(sheet_started(sheet, scan=f"start-{number}", minute=60 - 10 * number),),
                expected_versions={sheet: 0},
                scan_id=f"start-{number}",
                scan_fingerprint="f",
                outcome="{}",
            )
        )
        store.append(Append(events=(sheet_completed(sheet),), expected_versions={sheet: 1}))
    return store.read(0, 1_000)


def test_every_page_is_the_logs_events_as_lake_rows(store: EventStore) -> None:
    events = _floor(store)
    rows, next_after = store.read_feed(0, 1_000)
    assert _parsed(rows) == [_lake_row(event) for event in events]
    assert next_after == events[-1].sequence_num
    after = 0
    paged: list[FeedRow] = []
    while True:
        page, after = store.read_feed(after, 4)
        if not page:
            break
        paged += page
    assert paged == rows
    assert store.read_feed(next_after, 10) == ([], next_after)


def test_a_cut_drops_what_was_not_true_or_not_known_yet_but_the_page_still_moves_on(store: EventStore) -> None:
    events = _floor(store)
    as_of = START + timedelta(minutes=25)
    known_at = events[8].recorded_at
    rows, next_after = store.read_feed(0, 1_000, occurred_through=as_of, recorded_through=known_at)
    assert _parsed(rows) == [_lake_row(e) for e in events if e.occurred_at <= as_of and e.recorded_at <= known_at]
    assert 0 < len(rows) < len(events)
    assert next_after == events[-1].sequence_num  # a consumer never reads the same page twice
    later = datetime(2100, 1, 1, tzinfo=UTC)
    assert _parsed(store.read_feed(0, 1_000, occurred_through=later, recorded_through=later)[0]) == [
        _lake_row(e) for e in events
    ]


def test_a_scan_page_names_its_scan(store: EventStore) -> None:
    store.append(press_scan("J1044-S001", "scan-1"))
    ((row, payload),), _ = store.read_feed(0, 10)
    assert (row["scan_id"], row["event_type"], json.loads(payload)) == (
        "scan-1",
        "OperationStarted",
        {"operation_id": "press", "station_id": "PRESS-1"},
    )


def test_rows_fetched_in_one_step_are_the_rows_fetched_one_by_one(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _floor(store)
    awkward = PendingEvent(
        aggregate_type="card_unit",
        aggregate_id="J1044-S001-07",
        event=QAResultRecorded(
            operation_id="qa",
            station_id="QA-BENCH-1",
            result="FAIL",
            attempt=1,
            failure_reason='corner "ding" — bord abîmé \\ 2\u00a0mm',
            failure_codes=("D1", "ÉCHEC"),
        ),
        context=EventContext(occurred_at=START, station_id="QA-BENCH-1", operator_id="OP-7", scan_id="qa-1"),
        job_id="J1044",
        sheet_id="J1044-S001",
        card_unit_id="J1044-S001-07",
    )
    store.append(Append(events=(awkward,), expected_versions={"J1044-S001-07": 0}))
    connection = sqlite3.connect(store.data_dir.journal_path)
    wheres = [
        ("WHERE sequence_num > ? ORDER BY sequence_num LIMIT ?", (3, 5)),
        ("WHERE aggregate_id >= ? AND aggregate_id < ?", ("J1044-S001", "J1044-S001.")),
        ("WHERE aggregate_id = ?", ("J1044-S001-07",)),
        ("WHERE sequence_num > ?", (10_000,)),
    ]
    at_once = [journal.event_rows(connection, where, parameters) for where, parameters in wheres]
    monkeypatch.setattr(journal, "_ONE_STEP_FETCH", False)
    one_by_one = [journal.event_rows(connection, where, parameters) for where, parameters in wheres]
    assert [[tuple(row) for row in rows] for rows in at_once] == one_by_one
    assert [len(rows) for rows in one_by_one] == [5, 3, 1, 0]
    assert json.loads(one_by_one[2][0][13])["failure_reason"] == 'corner "ding" — bord abîmé \\ 2\u00a0mm'
