"""A scan's answer, written as JSON text, says exactly what the store recorded (checked against the journal)."""

import json
from collections.abc import Sequence
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from core.errors import UnknownEntity
from core.events import to_payload
from ingest.api.render import job_json, scan_json, scan_result_json, void_json
from ingest.service import OutcomeEvent, ScanOutcome, outcome_json, rejection_json
from projections.store import EventStore
from tests.integration.ingest.conftest import MANAGER, OPERATOR, PLANNER, ScanDesk


def _expected_events(events: Sequence[OutcomeEvent], store: EventStore) -> list[dict[str, Any]]:
    """The answer's events built the slow, obvious way: each read back from the journal."""
    recorded = {event.sequence_num: event for event in store.read(0, 10_000)}
    return [
        {
            "event_type": recorded[event.sequence_num].event_type,
            "sequence_num": event.sequence_num,
            "aggregate_type": recorded[event.sequence_num].aggregate_type,
            "aggregate_id": recorded[event.sequence_num].aggregate_id,
            "aggregate_version": recorded[event.sequence_num].aggregate_version,
            "occurred_at": recorded[event.sequence_num].occurred_at.isoformat(),
            "recorded_at": recorded[event.sequence_num].recorded_at.isoformat(),
            "payload": json.loads(json.dumps(to_payload(recorded[event.sequence_num].event))),
        }
        for event in events
    ]


def _expected_answer(outcome: ScanOutcome, store: EventStore) -> dict[str, Any]:
    return {
        "scan_id": outcome.scan_id,
        "entity_id": outcome.entity_id,
        "state": outcome.state,
        "command": outcome.command,
        "replayed": outcome.replayed,
        "events": _expected_events(outcome.events, store),
    }


def test_a_failed_qa_answer_carries_the_recorded_events_with_their_payloads(desk: ScanDesk, store: EventStore) -> None:
    sheet = f"{desk.new_job()}-S001"
    desk.cut(sheet)
    # Text a naive writer would break: quotes, a backslash, a line break and non-ASCII letters.
    reason = 'smudge "near" the \\ corner\nfoil — ünder the logo'
    failed = desk.scan(f"{sheet}-03", "QA-BENCH-1", result="FAIL", failure_reason=reason, failure_codes=("SMUDGE",))
    answer = json.loads(scan_json(failed))
    assert answer == _expected_answer(failed, store)
    assert answer["events"][-1]["payload"]["failure_reason"] == reason
    assert [event["event_type"] for event in answer["events"]] == ["OperationStarted", "QAResultRecorded"]


def test_a_replayed_answer_and_a_batch_entry_read_the_same_as_the_first(desk: ScanDesk, store: EventStore) -> None:
    sheet = f"{desk.new_job()}-S001"
    scan = desk.make(sheet, "PRESS-1")
    first = desk.service.submit_scan(scan, OPERATOR)
    again = desk.service.submit_scan(scan, OPERATOR)
    assert json.loads(scan_json(again)) == {**json.loads(scan_json(first)), "replayed": True}
    entry = json.loads(scan_result_json('scan "7"', first))
    assert entry == {"scan_id": 'scan "7"', "status": 201, "outcome": _expected_answer(first, store)}
    assert json.loads(scan_result_json("s-8", again))["status"] == 200


def test_a_refused_batch_entry_names_its_error() -> None:
    entry = json.loads(scan_result_json("s-9", UnknownEntity("no sheet J9999-S001")))
    assert entry["scan_id"] == "s-9"
    assert entry["outcome"] is None
    assert entry["status"] == 404
    assert "J9999-S001" in entry["detail"]


@given(st.text(), st.text(), st.text())
def test_the_stored_outcome_is_the_json_of_the_decision_to_the_byte(first: str, second: str, third: str) -> None:
    # What a retry reads back must not change with how it is written: journals already hold dumps' text.
    compact = (",", ":")
    assert outcome_json(first, second, third) == json.dumps(
        {"entity_id": first, "state": second, "command": third}, separators=compact
    )
    assert rejection_json(first, second) == json.dumps(
        {"rejected": {"error": first, "detail": second}}, separators=compact
    )


def test_office_answers_carry_their_recorded_events_after_their_own_fields(desk: ScanDesk, store: EventStore) -> None:
    job = desk.service.create_job(
        product="base-18up", sets=2, customer='Topps "Chrome"', due_date="2026-12-01", actor=PLANNER
    )
    answer = json.loads(job_json(job))
    assert answer == {
        "job_id": job.job_id,
        "product_id": "base-18up",
        "customer": 'Topps "Chrome"',
        "due_date": "2026-12-01",
        "sets": 2,
        "sheets": list(job.sheets),
        "events": _expected_events(job.events, store),
    }
    desk.cut(job.sheets[0])
    voided = desk.service.void_card_unit(f"{job.sheets[0]}-04", reason="torn corner", actor=MANAGER)
    assert json.loads(void_json(voided)) == {
        "card_unit_id": f"{job.sheets[0]}-04",
        "status": "voided",
        "events": _expected_events(voided.events, store),
    }
