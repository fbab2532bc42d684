"""Outcomes and read models as JSON bodies, serialized once (the hot write path skips response validation;
the routes still declare their response models for the OpenAPI document, and the e2e tests check conformance)."""

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from json.encoder import encode_basestring
from typing import Any, Final

from fastapi.responses import Response

from ingest.errors import code_of, detail_of, status_of
from ingest.queries import FeedPage
from ingest.service import CommandOutcome, JobOutcome, OutcomeEvent, ReplacementOutcome, ScanOutcome


def _default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(default=_default, ensure_ascii=False, separators=(",", ":"))
# A JSON string literal with the escapes _ENCODER writes (ensure_ascii=False); the C version where there is one.
_string: Final[Callable[[str], str]] = encode_basestring


def json_response(body: Mapping[str, Any], status: int = 200) -> Response:
    return text_response(_ENCODER.encode(body), status)


def text_response(body: str, status: int = 200) -> Response:
    """A body already written as JSON text."""
    return Response(body.encode("utf-8"), status_code=status, media_type="application/json")


def feed_response(page: FeedPage) -> Response:
    """The feed's page, each payload passed on as the JSON text the journal keeps rather than parsed and
    encoded again (a third of a page's cost)."""
    events = ",".join(_ENCODER.encode(row)[:-1] + ',"payload":' + payload + "}" for row, payload in page.events)
    body = f'{{"events":[{events}],"next_after":{page.next_after}}}'
    return Response(body.encode("utf-8"), media_type="application/json")


def scan_json(outcome: ScanOutcome) -> str:
    """A scan's answer as JSON text: what the floor waits for on every scan, so it is written directly, each
    payload passed on as the journal's text (parsing and encoding the documents again cost more than the rest)."""
    events = ",".join(map(_event_json, outcome.events))
    return (
        f'{{"scan_id":{_string(outcome.scan_id)},"entity_id":{_string(outcome.entity_id)},'
        f'"state":{_string(outcome.state)},"command":{_string(outcome.command)},'
        f'"replayed":{"true" if outcome.replayed else "false"},"events":[{events}]}}'
    )


def _event_json(event: OutcomeEvent) -> str:
    # One recorded event as every write answers it (`EventOut`); ISO 8601 times need no escaping.
    return (
        f'{{"event_type":{_string(event.event_type)},"sequence_num":{event.sequence_num:d},'
        f'"aggregate_type":{_string(event.aggregate_type)},"aggregate_id":{_string(event.aggregate_id)},'
        f'"aggregate_version":{event.aggregate_version:d},"occurred_at":"{event.occurred_at.isoformat()}",'
        f'"recorded_at":"{event.recorded_at.isoformat()}","payload":{event.payload_json}}}'
    )


def scan_status(outcome: ScanOutcome) -> int:
    """201 when the scan recorded something now, 200 when it is the original answer replayed."""
    return 200 if outcome.replayed else 201


def scan_result_json(scan_id: str, result: ScanOutcome | Exception) -> str:
    """One entry of a batch's answer: the scan's own status and outcome, or its refusal."""
    if isinstance(result, ScanOutcome):
        return f'{{"scan_id":{_string(scan_id)},"status":{scan_status(result):d},"outcome":{scan_json(result)}}}'
    return _ENCODER.encode(
        {
            "scan_id": scan_id,
            "status": status_of(result),
            "outcome": None,
            "error": code_of(result),
            "detail": detail_of(result),
        }
    )


def job_json(outcome: JobOutcome) -> str:
    body = {
        "job_id": outcome.job_id,
        "product_id": outcome.product_id,
        "customer": outcome.customer,
        "due_date": outcome.due_date,
        "sets": outcome.sets,
        "sheets": list(outcome.sheets),
    }
    return _with_events(body, outcome.events)


def void_json(outcome: CommandOutcome) -> str:
    return _with_events({"card_unit_id": outcome.entity_id, "status": "voided"}, outcome.events)


def replacement_json(outcome: ReplacementOutcome) -> str:
    return _with_events(
        {"card_unit_id": outcome.card_unit_id, "replacement_id": outcome.replacement_id}, outcome.events
    )


def _with_events(body: Mapping[str, Any], events: Iterable[OutcomeEvent]) -> str:
    """`body` (not empty) as JSON text with an `events` member last, each event written as a scan's answer writes
    it: an office command's answer, where the few fields before the events are not worth a template."""
    return f'{_ENCODER.encode(body)[:-1]},"events":[{",".join(map(_event_json, events))}]}}'
