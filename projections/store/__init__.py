"""The event log's write side: durable, idempotent, concurrency-safe appends, sealed into the lake.

An `EventStore` opens (and recovers) the journal of a data directory; `append` records one command's events
atomically once they are fsynced, checking the versions the decision read and replaying a scan_id's original
answer; a background sealer moves committed events into the Delta table in sequence order.

>>> import tempfile
>>> from datetime import UTC, datetime
>>> from pathlib import Path
>>> from core.envelope import EventContext, PendingEvent
>>> from core.events import OperationStarted
>>> from projections.data_dir import DataDir
>>> started = PendingEvent(
...     aggregate_type="sheet",
...     aggregate_id="J1044-S001",
...     event=OperationStarted(operation_id="press", station_id="PRESS-1"),
...     context=EventContext(occurred_at=datetime(2026, 11, 2, 6, 0, tzinfo=UTC), station_id="PRESS-1", scan_id="s-1"),
...     job_id="J1044",
...     sheet_id="J1044-S001",
... )
>>> with EventStore(DataDir(root=Path(tempfile.mkdtemp()))) as store:
...     first = store.append(Append(events=(started,), expected_versions={"J1044-S001": 0}, scan_id="s-1",
...                                 scan_fingerprint="f1", outcome='{"state": "in_progress"}'))
...     again = store.append(Append(events=(started,), expected_versions={"J1044-S001": 0}, scan_id="s-1",
...                                 scan_fingerprint="f1", outcome='{"state": "in_progress"}'))
...     sealed = store.seal_now()
>>> [(e.sequence_num, e.aggregate_version, e.event_type) for e in first.events]
[(1, 1, 'OperationStarted')]
>>> again.replayed, again.events == first.events, sealed
(True, True, 1)
"""

from projections.store.errors import (
    ConcurrencyConflict,
    DurabilityError,
    EventStoreError,
    JournalBehindLake,
    JournalInUse,
    LakeCorrupted,
    ScanIdReused,
    SealerBusy,
)
from projections.store.event_store import Append, AppendResult, EventStore, payload_text

__all__ = [
    "Append",
    "AppendResult",
    "ConcurrencyConflict",
    "DurabilityError",
    "EventStore",
    "EventStoreError",
    "JournalBehindLake",
    "JournalInUse",
    "LakeCorrupted",
    "ScanIdReused",
    "SealerBusy",
    "payload_text",
]
