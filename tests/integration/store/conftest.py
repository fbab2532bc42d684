"""A real event store in a temporary data directory, and the events a plant floor would append to it."""

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.envelope import EventContext, PendingEvent
from core.events import JobCreated, OperationCompleted, OperationStarted
from projections.data_dir import DataDir
from projections.store import Append, EventStore

START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def sheet_started(sheet: str, *, station: str = "PRESS-1", scan: str | None = None, minute: int = 0) -> PendingEvent:
    return PendingEvent(
        aggregate_type="sheet",
        aggregate_id=sheet,
        event=OperationStarted(operation_id="press", station_id=station),
        context=EventContext(
            occurred_at=START + timedelta(minutes=minute), station_id=station, operator_id="OP-7", scan_id=scan
        ),
        job_id=sheet.split("-", maxsplit=1)[0],
        sheet_id=sheet,
    )


def sheet_completed(sheet: str, *, station: str = "PRESS-1", scan: str | None = None) -> PendingEvent:
    return PendingEvent(
        aggregate_type="sheet",
        aggregate_id=sheet,
        event=OperationCompleted(operation_id="press", station_id=station),
        context=EventContext(occurred_at=START + timedelta(minutes=5), station_id=station, scan_id=scan),
        job_id=sheet.split("-", maxsplit=1)[0],
        sheet_id=sheet,
    )


def job_created(job: str, sheets: int = 2) -> PendingEvent:
    return PendingEvent(
        aggregate_type="job",
        aggregate_id=job,
        event=JobCreated(
            job_id=job,
            product_id="base-18up",
            customer="Topps",
            due_date="2026-12-01",
            sets=sheets,
            n_up=18,
            serialized=False,
            sheet_ids=tuple(f"{job}-S{number:03d}" for number in range(1, sheets + 1)),
        ),
        context=EventContext(occurred_at=START),
        job_id=job,
    )


def press_scan(sheet: str, scan: str, *, expected: int = 0, fingerprint: str = "f") -> Append:
    """A press scan that starts the operation on a sheet the decision read at version `expected`."""
    return Append(
        events=(sheet_started(sheet, scan=scan),),
        expected_versions={sheet: expected},
        scan_id=scan,
        scan_fingerprint=fingerprint,
        outcome=f'{{"entity_id": "{sheet}", "state": "in_progress"}}',
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    return DataDir(root=tmp_path / "data")


@pytest.fixture
def store(data_dir: DataDir) -> Iterator[EventStore]:
    opened = EventStore(data_dir, start_sealer=False)
    try:
        yield opened
    finally:
        opened.close()


def wait_for(condition: Callable[[], bool], seconds: float = 20.0, what: object = "the store") -> None:
    """Poll `condition` until it holds; fail naming `what` (called if callable) after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"did not get there in time: {what() if callable(what) else what}"
        time.sleep(0.02)
