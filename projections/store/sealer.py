"""The sealer: moves committed events from the journal into the lake, in sequence order, exactly once.

It seals whatever is committed every `interval_s` (so events reach the lake within about that long under
steady load), and at once when `batch` events are waiting. A backlog goes in chunks of `batch` events, each
one Delta commit. Sealing is a pipeline over three threads, each stage releasing the GIL: SQLite renders
pieces of the next chunk as text, pyarrow parses the pieces rendered before, and the current chunk is written
to Delta, so rendering (most of the work) never waits for the rest. The high-water mark
is the lake's own (the sealer's Delta transaction version), so a crash between a Delta commit and the
journal's cached mark costs nothing: the next start reads the mark from the lake and goes on from there.
"""

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Final

import pyarrow as pa

from projections.lake.errors import LakeCorrupted
from projections.lake.table import LakeTable
from projections.store import journal

log = logging.getLogger("cardtrace.sealer")

# Seconds the sealer sleeps between a Delta commit and recording it: lets the crash test kill a process
# exactly there. Zero (no pause) unless the environment sets it.
PAUSE_AFTER_COMMIT_ENV: Final = "CARDTRACE_TEST_SEAL_PAUSE_S"
# Events rendered by one query: small enough that parsing follows rendering closely, big enough that a query's
# fixed cost is noise. (Two queries at once on two connections run slower than one: SQLite's allocator takes a
# process-wide lock, measured at ~3x the CPU per event.)
RENDER_PIECE: Final = 10_000


class Sealer:
    def __init__(
        self,
        *,
        lake: LakeTable,
        journal_path: Path,
        committed: Callable[[], int],
        on_sealed: Callable[[int], None],
        sealed_through: int,
        interval_s: float,
        batch: int,
    ) -> None:
        self._lake = lake
        self._journal_path = journal_path
        self._committed = committed
        self._on_sealed = on_sealed
        self._sealed = sealed_through
        self._interval_s = interval_s
        self._batch = max(1, batch)
        self._pause_s = float(os.environ.get(PAUSE_AFTER_COMMIT_ENV) or 0.0)
        self._lock = threading.Lock()  # one seal at a time: the background thread's or seal_now's
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: sqlite3.Connection | None = None  # renders, then checkpoints the WAL
        self._fallback: sqlite3.Connection | None = None  # reads a piece whose text can't be trusted
        self.last_error: str | None = None

    @property
    def sealed_through(self) -> int:
        return self._sealed

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="cardtrace-sealer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            for connection in (self._connection, self._fallback):
                if connection is not None:
                    connection.close()
            self._connection = None
            self._fallback = None

    def committed_more(self) -> None:
        """Called by the writer after each commit: a full batch waiting is sealed now, not at the next tick."""
        if self._committed() - self._sealed >= self._batch:
            self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._interval_s)
            self._wake.clear()
            if self._stopping.is_set():
                break
            target = self._committed()
            if target <= self._sealed:
                continue
            try:
                self.seal_through(target)
                self.last_error = None
            except LakeCorrupted as problem:
                self.last_error = str(problem)
                log.error("sealing stopped: %s", problem)
                return
            except Exception as error:  # storage away for a while: keep the events in the journal, try again
                self.last_error = f"{type(error).__name__}: {error}"
                log.warning("sealing failed, retrying in %.1fs: %s", self._interval_s, self.last_error)
                time.sleep(self._interval_s)

    def seal_through(self, target: int) -> int:
        """Seal every event up to `target` (committed ones only); returns the lake's high-water mark."""
        with self._lock:
            if target > self._sealed:
                self._seal_range(target)
                self._checkpoint_wal()
            return self._sealed

    def _seal_range(self, target: int) -> None:
        if target - self._sealed <= min(RENDER_PIECE, self._batch):  # the steady trickle: no threads needed
            self._commit(self._parse(self._render(self._sealed, target)), self._sealed, target)
            return
        bounds = [(low, min(low + self._batch, target)) for low in range(self._sealed, target, self._batch)]
        render = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cardtrace-seal-render")
        parse = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cardtrace-seal-parse")
        try:
            upcoming = self._submit_chunk(render, parse, *bounds[0])
            for index, (after, upto) in enumerate(bounds):
                pieces = [piece.result() for piece in upcoming]
                if index + 1 < len(bounds):  # one chunk ahead: memory holds at most two
                    upcoming = self._submit_chunk(render, parse, *bounds[index + 1])
                self._commit(pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces), after, upto)
        finally:
            # After a failure, what is still queued is not worth reading: the next seal starts from the lake's mark.
            render.shutdown(wait=True, cancel_futures=True)
            parse.shutdown(wait=True, cancel_futures=True)

    def _submit_chunk(
        self, render: ThreadPoolExecutor, parse: ThreadPoolExecutor, after: int, upto: int
    ) -> list[Future[pa.Table]]:
        """Render after..upto piece by piece on one thread, parse each piece on another as soon as it is rendered;
        the tables come back in sequence order."""
        tables = []
        for low in range(after, upto, RENDER_PIECE):
            rendered = render.submit(self._render, low, min(low + RENDER_PIECE, upto))
            tables.append(parse.submit(self._parse_when_rendered, rendered))
        return tables

    def _render(self, after: int, upto: int) -> journal.RenderedRange:
        if self._connection is None:
            # Used by one thread at a time (the render thread, then the seal lock's holder), so one connection.
            self._connection = journal.connect(self._journal_path, writer=False)
        return journal.render_between(self._connection, after, upto)

    def _parse_when_rendered(self, rendered: Future[journal.RenderedRange]) -> pa.Table:
        return self._parse(rendered.result())

    def _parse(self, piece: journal.RenderedRange) -> pa.Table:
        table = journal.parse_rendered(piece)
        if table is None:
            if self._fallback is None:
                self._fallback = journal.connect(self._journal_path, writer=False)
            table = journal.exact_arrow_between(self._fallback, piece.after, piece.upto)
        return table

    def _commit(self, events: pa.Table, after: int, upto: int) -> None:
        if events.num_rows != upto - after:
            raise RuntimeError(f"the journal returned {events.num_rows} events for {after}..{upto}: it has a gap")
        try:
            self._lake.append_batch(events)
        except Exception:
            # The commit may have landed before the error (a post-commit checkpoint that failed, a lost reply
            # from S3): the lake's own mark says which. Sealing the range again would seal it twice.
            if self._lake.read_high_water_mark() < upto:
                raise
            log.warning("the Delta commit through %d landed despite an error; going on", upto)
        if self._pause_s:
            log.debug("sealed through %d; pausing %.2f s before recording it", upto, self._pause_s)
            time.sleep(self._pause_s)
        self._sealed = upto
        self._on_sealed(upto)

    def _checkpoint_wal(self) -> None:
        # PASSIVE never waits for the writer: it copies what it can and lets the WAL be reused, so the writer's
        # commits don't pay for checkpoints on the acknowledgement path.
        if self._connection is not None:
            try:
                self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as error:
                log.warning("WAL checkpoint skipped: %s", error)
