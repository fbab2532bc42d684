"""Schema evolution: each row keeps the schema version it was written with; older ones are upcast on read."""

import json

import pytest

from core.events import OperationStarted
from core.upcasting import UPCASTERS, Payload
from projections.store import EventStore
from tests.integration.store.conftest import press_scan


def test_events_written_under_an_older_schema_are_upcast_on_read_and_never_rewritten(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append(press_scan("J1044-S001", "scan-1"))  # written as OperationStarted schema version 1

    # Version 2 of OperationStarted names operations in upper case; version-1 payloads are brought up on read.
    def to_version_2(payload: Payload) -> Payload:
        return {**payload, "operation_id": str(payload["operation_id"]).upper()}

    monkeypatch.setattr(OperationStarted, "schema_version", 2)
    monkeypatch.setitem(UPCASTERS, ("OperationStarted", 1), to_version_2)

    _, events = store.load_aggregate("J1044-S001")
    assert events[0].event == OperationStarted(operation_id="PRESS", station_id="PRESS-1")
    assert store.read(0, 1)[0].event == OperationStarted(operation_id="PRESS", station_id="PRESS-1")
    ((fed, payload),), _ = store.read_feed(0, 1)
    assert (fed["schema_version"], json.loads(payload)) == (2, {"operation_id": "PRESS", "station_id": "PRESS-1"})
    assert store.lookup_scan("scan-1") is not None
    stored = store.read_arrow(0).to_pylist()[0]
    assert stored["schema_version"] == 1
    assert json.loads(stored["payload"])["operation_id"] == "press"
    store.seal_now()
    assert store.read_arrow(0).equals(store.read_arrow(0, 1))


def test_an_event_newer_than_the_code_is_refused_rather_than_misread(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append(press_scan("J1044-S001", "scan-1"))
    monkeypatch.setattr(OperationStarted, "schema_version", 0)
    with pytest.raises(Exception, match="newer than this code"):
        store.load_aggregate("J1044-S001")
