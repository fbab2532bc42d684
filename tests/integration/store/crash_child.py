"""The process the crash test kills: many threads appending, the sealer sealing (in a thread, or in a process of
its own as the service runs it), optionally a compaction loop.

Each acknowledged append is written to the ack file (one O_APPEND write per line, so lines never interleave)
only after `append` returned: every line is a promise the store made. Run it alone with
`python -m tests.integration.store.crash_child DATA_DIR ACK_FILE` (Ctrl-C or kill -9 to stop).
"""

import logging
import os
import random
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from core.envelope import EventContext, PendingEvent
from core.events import OperationCompleted, OperationStarted
from projections.data_dir import DataDir
from projections.lake.table import compact_lake
from projections.store import Append, ConcurrencyConflict, EventStore
from projections.store.sealer import PAUSE_AFTER_COMMIT_ENV

WRITERS = 8
SHARED_SHEET = "J4999-S001"  # every writer touches it now and then: real conflicts, decided again


def _say(ack: int, line: str) -> None:
    os.write(ack, (line + "\n").encode())


def _events(sheet: str, count: int, scan: str) -> tuple[PendingEvent, ...]:
    context = EventContext(occurred_at=datetime.now(UTC), station_id="PRESS-1", operator_id="OP-7", scan_id=scan)
    shapes = (
        OperationStarted(operation_id="press", station_id="PRESS-1"),
        OperationCompleted(operation_id="press", station_id="PRESS-1"),
    )
    return tuple(
        PendingEvent(
            aggregate_type="sheet",
            aggregate_id=sheet,
            event=shapes[index % 2],
            context=context,
            job_id=sheet.split("-", maxsplit=1)[0],
            sheet_id=sheet,
        )
        for index in range(count)
    )


def _write(store: EventStore, ack: int, tag: str, writer: int, seed: int) -> None:
    rng = random.Random(seed * 100 + writer)
    known: dict[str, int] = {}
    previous: Append | None = None
    for number in range(1_000_000):
        if previous is not None and rng.random() < 0.1:
            append = previous  # a scanner that did not hear the answer sends the same scan again
        else:
            sheet = SHARED_SHEET if rng.random() < 0.1 else f"J{5000 + writer}-S{rng.randint(1, 40):03d}"
            if sheet not in known or sheet == SHARED_SHEET:
                known[sheet] = store.versions([sheet])[sheet]
            scan = f"{tag}-w{writer}-{number}"
            append = Append(
                events=_events(sheet, rng.randint(1, 3), scan),
                expected_versions={sheet: known[sheet]},
                scan_id=scan,
                scan_fingerprint=f"fp-{scan}",
                outcome='{"state": "in_progress"}',
            )
        try:
            result = store.append(append)
        except ConcurrencyConflict as conflict:
            known[conflict.aggregate_id] = conflict.actual
            previous = None
            continue
        previous = append
        if not result.replayed:
            for event in result.events:
                known[event.aggregate_id] = event.aggregate_version
        first = result.events[0].sequence_num if result.events else 0
        _say(ack, f"ack {append.scan_id} {first} {len(result.events)}")


class _AckHandler(logging.Handler):
    def __init__(self, ack: int) -> None:
        super().__init__(logging.DEBUG)
        self._ack = ack

    def emit(self, entry: logging.LogRecord) -> None:
        if "pausing" in entry.getMessage():
            _say(self._ack, "seal-paused")


def _compact(data_dir: DataDir, ack: int) -> None:
    while True:
        time.sleep(0.1)
        _say(ack, "compact-start")
        compact_lake(data_dir)
        _say(ack, "compact-end")


def run(data_root: str, ack_path: str, seed: int, pause_s: float, compact: bool, in_process: bool = False) -> None:
    # The sealer reads the pause when the store builds it: set it first.
    os.environ[PAUSE_AFTER_COMMIT_ENV] = str(pause_s) if pause_s else ""
    data_dir = DataDir(root=Path(data_root))
    ack = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    if pause_s:
        # Tell the test when the sealer sits between a Delta commit and the journal's note of it.
        sealer_log = logging.getLogger("cardtrace.sealer")
        sealer_log.setLevel(logging.DEBUG)
        sealer_log.addHandler(_AckHandler(ack))
    # With `in_process`, the sealer runs as `cardtrace serve` runs it: a process of its own, killed with this one.
    store = EventStore(data_dir, seal_interval_s=0.05, seal_batch=2_000, seal_in_process=in_process)
    _say(ack, "ready")
    threads = [
        threading.Thread(target=_write, args=(store, ack, f"c{seed}", writer, seed), daemon=True)
        for writer in range(WRITERS)
    ]
    if compact:
        threads.append(threading.Thread(target=_compact, args=(data_dir, ack), daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()  # never: the test kills this process


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], seed=int(time.time()), pause_s=0.0, compact=False)
