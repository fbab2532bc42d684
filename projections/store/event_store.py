"""The event store: appends acknowledged by the journal (group commit), sealed into the lake in the background.

Callers prepare their rows (payload JSON, envelope columns) in their own thread, enqueue them and wait; one
writer thread drains the queue and validates every append of the batch in order against an in-memory overlay
of versions (so an append that conflicts fails alone while the others commit), then writes the whole batch in
one SQLite transaction: one fsync acknowledges many appends. A commit that fails fails every append in it.
"""

import contextlib
import dataclasses
import functools
import json
import logging
import operator
import queue
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from types import TracebackType
from typing import Final, Generic, Self, TypeVar

import pyarrow as pa

from core.envelope import EventContext, PendingEvent, RecordedEvent, record
from core.events import DomainEvent
from projections.data_dir import DataDir
from projections.lake.table import FileLock, LakeTable, sealer_lock_path
from projections.store import journal, pairing
from projections.store.errors import (
    ConcurrencyConflict,
    DurabilityError,
    JournalBehindLake,
    JournalInUse,
    LakeCorrupted,
    ScanIdReused,
    SealerBusy,
)
from projections.store.sealer import Sealer
from projections.store.sealer_process import SealerProcess

log = logging.getLogger("cardtrace.store")

SEALER_LOCK_GRACE_S: Final = 2.0  # how long opening waits for a sealer lock that is just being let go

BULK_RUN: Final = 4_096  # appends of an append_many handed to the writer at a time (see append_many)
MAX_BATCH_APPENDS: Final = 20_000  # one group commit; bounds the writer's memory and one transaction's size
VERSION_CACHE_SIZE: Final = 500_000  # aggregates whose version the writer knows without asking SQLite
AGGREGATE_CACHE_SIZE: Final = 20_000  # aggregates whose events load_aggregate serves from memory
AGGREGATE_CACHE_MAX_EVENTS: Final = 1_000  # longer histories (a busy station) are not worth pinning in memory
TOUCH_LOG_COMMITS: Final = 4_096  # recent commits remembered to keep the aggregate cache coherent
# Seconds between two attempts to pair with a lake that had a problem at open (object storage away for a while,
# a damaged log being repaired): sealing resumes without a restart once the lake is this journal's again.
LAKE_RETRY_S: Final = 30.0
# How long close() waits for a lake watcher caught in a call to storage that does not answer; past that it is
# left behind (a daemon thread), and it can no longer start sealing (see _recover_lake).
LAKE_WATCHER_JOIN_S: Final = 5.0

_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_c_encoder = getattr(json.encoder, "c_make_encoder", None)
# JSONEncoder.encode builds a new C encoder per call; building it once saves most of the cost of a payload.
_FAST_ENCODE = (
    _c_encoder(None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, False)
    if _c_encoder is not None
    else None
)
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, kw_only=True, slots=True)
class Append:
    """One command's outcome: its events (all or none), the versions its decision read, its scan.

    `expected_versions` maps every aggregate the decision read to the version it saw (0: it did not exist),
    emitting or not; every event's aggregate must be among them. `outcome` is the JSON a retry of the same
    scan gets back; an append may carry no events and only an outcome (a rejected scan).
    """

    events: tuple[PendingEvent, ...]
    expected_versions: Mapping[str, int]
    scan_id: str | None = None
    scan_fingerprint: str | None = None
    outcome: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AppendResult:
    """What an append recorded; `replayed` when it is the original answer to a scan_id seen before."""

    events: tuple[RecordedEvent, ...]
    replayed: bool = False
    outcome: str | None = None
    scan_id: str | None = None
    scan_fingerprint: str | None = None


# --- what travels between the callers and the writer thread ---------------------------------------------


# An event's row after the three columns the writer assigns, in the INSERT's order.
_Tail = tuple[str, str, str, int, int, str | None, str | None, str | None, str | None, str | None, str | None, str]


def _prepare(append: Append) -> tuple[_Tail, ...]:
    """An append's rows made ready outside the writer: the tails of its events' rows, checked and encoded.

    They live until the call returns, so they are plain tuples of strings and numbers, which Python's cyclic
    garbage collector stops tracking: every container that survives makes it walk the caller's whole heap
    sooner (a quarter of a bulk append's time, measured).
    """
    tails: list[_Tail] = []
    # The events of one command usually share one context: its time is converted once.
    last_context: EventContext | None = None
    occurred_at = 0
    for pending in append.events:
        aggregate_type, aggregate_id, event, job_id, sheet_id, card_unit_id, context = _envelope_of(pending)
        moment, station_id, operator_id, scan_id = _context_of(context)
        if context is not last_context:
            occurred_at = _microseconds_of(moment)
            last_context = context
        kind = type(event)
        shape = _SHAPES.get(kind) or _shape_of(kind)
        # The order of the INSERT's columns after the three the writer assigns (see `_TAIL_ID`: the writer reads
        # the aggregate from here).
        tails.append(
            (
                aggregate_type,
                aggregate_id,
                shape.event_type,
                shape.schema_version,
                occurred_at,
                job_id,
                sheet_id,
                card_unit_id,
                station_id,
                operator_id,
                scan_id,
                _payload_of(event, shape),
            )
        )
    return tuple(tails)


_TAIL_ID: Final = 1


def _check(append: Append) -> None:
    """Refuse a malformed append (a programming error) before anything of its call is written."""
    expected = append.expected_versions
    for version in expected.values():
        if not isinstance(version, int) or version < 0:
            raise ValueError(f"expected versions must be integers >= 0, got {dict(expected)}")
    for pending in append.events:
        if pending.aggregate_id not in expected:
            raise ValueError(
                f"{pending.event_type} is for {pending.aggregate_id}, whose expected version the append does"
                " not state: every aggregate an append writes must be in expected_versions"
            )
        if pending.context.occurred_at.tzinfo is None:
            raise ValueError(f"{pending.event_type} for {pending.aggregate_id} has a naive occurred_at: UTC only")


# Where the writer put an append: its first sequence_num, each event's version, the commit's time. A plain
# tuple (of numbers and a datetime) for the same reason as the tails.
_Assigned = tuple[int, tuple[int, ...], datetime]


class _SameBatchReplay:
    """A retry that arrived in the same group commit as its original."""

    __slots__ = ("assigned", "original")

    def __init__(self, original: Append, assigned: _Assigned) -> None:
        self.original = original
        self.assigned = assigned


class _KnownScan:
    """A scan_id recorded by an earlier commit: its journal row, answered by replaying it."""

    __slots__ = ("row",)

    def __init__(self, row: journal.ScanRow) -> None:
        self.row = row


_Outcome = _Assigned | _SameBatchReplay | _KnownScan | Exception


class _Ticket:
    """One caller's appends, their prepared rows, and the lock it waits on until the writer has an outcome for
    each."""

    __slots__ = ("appends", "done", "outcomes", "tails")

    def __init__(self, appends: Sequence[Append]) -> None:
        self.appends = appends
        self.tails = [_prepare(append) for append in appends]
        self.outcomes: list[_Outcome] = []
        self.done = threading.Lock()
        self.done.acquire()  # released by the writer; cheaper than a threading.Event per append


class _SealMark:
    __slots__ = ("sealed_sequence",)

    def __init__(self, sealed_sequence: int) -> None:
        self.sealed_sequence = sealed_sequence


_STOP: Final = object()


# --- bounded memory ------------------------------------------------------------------------------------


class _TwoGenerationCache(Generic[K, V]):
    """A bounded map that keeps what was used recently: a cheap stand-in for an LRU.

    Entries live in `young` until it fills; then `young` becomes `old` and the previous `old` is dropped. A hit
    in `old` moves back to `young`. Memory is at most 2 x `size` entries, whatever the log's length.
    """

    def __init__(self, size: int) -> None:
        self._half = max(1, size // 2)
        self._young: dict[K, V] = {}
        self._old: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        value = self._young.get(key)
        if value is None:
            value = self._old.pop(key, None)
            if value is not None:
                self._put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        self._old.pop(key, None)
        self._put(key, value)

    def _put(self, key: K, value: V) -> None:
        if len(self._young) >= self._half and key not in self._young:
            self._old = self._young
            self._young = {}
        self._young[key] = value

    def found(self, keys: Iterable[K]) -> "_Found[K, V]":
        """The cached values of `keys` (hits in `old` stay there: `put_many` refreshes them) and the misses."""
        young, old = self._young, self._old
        hits: dict[K, V] = {}
        missing: list[K] = []
        for key in keys:
            value = young.get(key)
            if value is None:
                value = old.get(key)
                if value is None:
                    missing.append(key)
                    continue
            hits[key] = value
        return _Found(hits, missing)

    def put_many(self, entries: Mapping[K, V]) -> None:
        # A key may keep a stale copy in `old`, never read: `get` looks in `young` first, where it now is, and
        # the next rotation drops that `old` wholesale.
        young = self._young
        half = self._half
        for key, value in entries.items():
            if len(young) >= half and key not in young:
                self._old = young
                young = self._young = {}
            young[key] = value

    def discard_many(self, keys: Iterable[K]) -> None:
        young, old = self._young, self._old
        for key in keys:
            young.pop(key, None)
            old.pop(key, None)

    def discard(self, key: K) -> None:
        self._young.pop(key, None)
        self._old.pop(key, None)

    def clear(self) -> None:
        self._young = {}
        self._old = {}


class _Found(Generic[K, V]):
    __slots__ = ("missing", "versions")

    def __init__(self, versions: dict[K, V], missing: list[K]) -> None:
        self.versions = versions
        self.missing = missing


# --- the store -----------------------------------------------------------------------------------------


class EventStore:
    """The event log of one data directory: durable appends, reads, and sealing into the lake.

    Opening it recovers: the journal's last sequence_num is read from its primary key, the lake's high-water
    mark from the Delta log, the two are checked against each other, and sealing resumes. A lake problem does
    not stop acknowledgements (the journal is the system of record): sealing waits, `health()` and `seal_now()`
    report the LakeCorrupted with its path, and the pairing is tried again every `lake_retry_s` seconds.
    """

    def __init__(
        self,
        data_dir: DataDir,
        *,
        seal_interval_s: float = 0.5,
        seal_batch: int = 50_000,
        start_sealer: bool = True,
        seal_in_process: bool = False,
        read_only: bool = False,
        lake_retry_s: float = LAKE_RETRY_S,
    ) -> None:
        self.data_dir = data_dir
        # The background sealer in a child process (`projections.store.sealer_process`): what a service wants,
        # so sealing never takes the GIL from its scans; a thread of this process otherwise.
        self._seal_in_process = seal_in_process
        self._seal_interval_s = seal_interval_s
        self._lake_retry_s = lake_retry_s
        self._seal_batch = seal_batch
        self._start_sealer = start_sealer
        self._read_only = read_only
        self._path = data_dir.journal_path
        self._opened = False
        self._closing = False
        self._enqueue_lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Ticket | _SealMark | object] = queue.SimpleQueue()
        self._writer_thread: threading.Thread | None = None
        self._writer: sqlite3.Connection | None = None
        # A read-only store reads what another process writes, and a restore may put another file in its place.
        self._readers = journal.Readers(self._path, follow_replacement=read_only)
        self._writer_lock = FileLock(self._path.parent / "writer.lock")
        self._sealer_lock = FileLock(sealer_lock_path(data_dir))
        self._sealer: Sealer | SealerProcess | None = None
        self._lake_problem: LakeCorrupted | None = None
        self._lake_watcher: threading.Thread | None = None
        self._sealer_setup = threading.Lock()
        self._stop_watching = threading.Event()
        # Only the writer thread reads or changes these three once the store is open.
        self._last_sequence = 0
        self._last_recorded_at = 0
        self._versions: _TwoGenerationCache[str, int] = _TwoGenerationCache(VERSION_CACHE_SIZE)
        # The aggregate cache is shared: readers fill it, the writer evicts what it changes (under the lock).
        self._cache_lock = threading.Lock()
        self._aggregates: _TwoGenerationCache[str, tuple[int, tuple[RecordedEvent, ...]]] = _TwoGenerationCache(
            AGGREGATE_CACHE_SIZE
        )
        self._commits = 0
        self._touched: deque[tuple[int, frozenset[str]]] = deque(maxlen=TOUCH_LOG_COMMITS)
        self._committed = 0  # last sequence_num made durable, for readers on other threads
        self.open()

    # --- lifecycle -------------------------------------------------------------------------------------

    def open(self) -> Self:
        if self._opened:
            return self
        self._path.parent.mkdir(parents=True, exist_ok=True)
        if self._read_only:
            if not self._path.exists():
                raise FileNotFoundError(f"{self._path}: no journal to read")
            self._last_sequence = journal.last_sequence(self._readers.get())
        else:
            if not self._writer_lock.acquire():
                raise JournalInUse(str(self._path))
            lake = LakeTable.for_data_dir(self.data_dir)
            try:
                self._writer = journal.connect(self._path, writer=True)
                journal.create_tables(self._writer)
                self._last_sequence = journal.last_sequence(self._writer)
                last_recorded = journal.recorded_at_of(self._writer, self._last_sequence)
                self._last_recorded_at = journal.to_microseconds(last_recorded) if last_recorded else 0
                sealed = self._pair_with_lake(lake)
            except BaseException:
                if self._writer is not None:
                    self._writer.close()
                    self._writer = None
                self._release_files()
                raise
        self._committed = self._last_sequence
        self._closing = False
        self._opened = True
        if not self._read_only:
            self._writer_thread = threading.Thread(target=self._write_loop, name="cardtrace-journal", daemon=True)
            self._writer_thread.start()
            if self._lake_problem is None:
                # a sealer process of a store killed just before may still be letting it go
                if self._sealer_lock.acquire(wait_s=SEALER_LOCK_GRACE_S):
                    self._recover_lake(lake, sealed)
                elif self._start_sealer:  # `cardtrace compact` for a while, or a sealer process still finishing
                    self._lake_problem = LakeCorrupted(lake.uri, "another process holds the sealer lock")
                    log.warning("sealing waits: %s", self._lake_problem)
            if self._lake_problem is not None and self._start_sealer:  # at pairing, or in the lake's check
                self._watch_lake(lake)
        return self

    def _pair_with_lake(self, lake: LakeTable) -> int:
        """The lake's high-water mark once it is known to hold this journal's history and no more (see
        `projections.store.pairing`); a lake problem is kept and reported, a lake ahead is refused."""
        assert self._writer is not None
        writer = self._writer
        sealed, problem = pairing.pair(
            lake, self._last_sequence, lambda number: journal.event_key(writer, number), self._path
        )
        if problem is not None:
            log.error("sealing stopped: %s", problem)
            self._lake_problem = problem
        return sealed

    def _watch_lake(self, lake: LakeTable) -> None:
        """Pair with the lake again every `lake_retry_s` until it holds this journal's history, then seal."""
        self._stop_watching = threading.Event()  # this watcher's own: one left behind by close() stays stopped
        self._lake_watcher = threading.Thread(
            target=self._watch_loop, args=(lake, self._stop_watching), name="cardtrace-lake-watcher", daemon=True
        )
        self._lake_watcher.start()

    def _watch_loop(self, lake: LakeTable, stop: threading.Event) -> None:
        while not stop.wait(self._lake_retry_s):
            try:
                sealed, problem = pairing.pair(lake, self._committed, self.event_key, self._path)
            except JournalBehindLake as behind:
                # Readable again, and ahead: events acknowledged since took numbers the lake holds for others.
                self._lake_problem = LakeCorrupted(
                    lake.uri,
                    f"readable again, and it holds events up to {behind.lake_last} while the journal ends at"
                    f" {behind.journal_last}: the events acknowledged meanwhile took numbers it holds for others."
                    " Nothing is sealed into it; stop the service and reconcile the two before sealing",
                )
                log.error("sealing stopped for good: %s", self._lake_problem)
                return
            except Exception as error:  # storage gone again halfway through
                sealed, problem = 0, LakeCorrupted(lake.uri, f"cannot be read: {error}")
            if problem is not None:
                if str(problem) != str(self._lake_problem):
                    log.error("sealing still stopped: %s", problem)
                self._lake_problem = problem
                continue
            if not self._sealer_lock.acquire():  # `cardtrace compact` for a while, or another service
                held = LakeCorrupted(lake.uri, "readable again; another process holds the sealer lock")
                if str(held) != str(self._lake_problem):
                    log.warning("sealing still stopped: %s", held)
                self._lake_problem = held
                continue
            try:
                self._recover_lake(lake, sealed, unless=stop)
            except Exception as error:  # storage gone again between pairing and checking: try again later
                log.warning("the lake at %s could not be checked: %s", lake.uri, error)
                continue
            if self._sealer is not None:
                self._lake_problem = None
                log.info("the lake at %s holds this journal's history again: sealing resumes", lake.uri)
                return

    def _recover_lake(
        self, lake: LakeTable, sealed: int | None = None, *, unless: threading.Event | None = None
    ) -> None:
        """Check the lake's files and resume sealing from the lake's own high-water mark (`sealed`, if read);
        not once `unless` is set (a lake watcher the store has stopped)."""
        # The lake watcher and seal_now may both get here: one sealer per store, ever.
        with self._sealer_setup:
            if self._sealer is None:
                self._start_sealing(lake, sealed, unless)

    def _start_sealing(self, lake: LakeTable, sealed: int | None, unless: threading.Event | None) -> None:
        try:
            if lake.exists():
                sealed = lake.read_high_water_mark() if sealed is None else sealed
                report = lake.verify()
                if report.unreferenced:
                    log.info("lake %s: %d unreferenced data files", lake.uri, len(report.unreferenced))
        except LakeCorrupted as problem:
            log.error("sealing stopped: %s", problem)
            self._lake_problem = problem
            return
        sealed = sealed or 0  # no lake yet: the first seal creates it
        if unless is not None and unless.is_set():
            return  # the store stopped this watcher while the lake was being checked
        in_process = self._start_sealer and self._seal_in_process
        kind = functools.partial(SealerProcess, lock_fd=self._sealer_lock.fileno()) if in_process else Sealer
        self._sealer = kind(
            lake=lake,
            journal_path=self._path,
            committed=lambda: self._committed,
            on_sealed=self._mark_sealed,
            sealed_through=sealed,
            interval_s=self._seal_interval_s,
            batch=self._seal_batch,
        )
        if sealed != journal.sealed_sequence(self._readers.get()):
            self._mark_sealed(sealed)
        if self._start_sealer:
            self._sealer.start()

    def close(self) -> None:
        """Stop taking appends, commit the ones queued, stop sealing (without sealing the rest: see seal_now)."""
        if not self._opened:
            return
        with self._enqueue_lock:
            self._closing = True
            self._queue.put(_STOP)
        if self._writer_thread is not None:
            self._writer_thread.join()
            self._writer_thread = None
        self._stop_watching.set()
        if self._lake_watcher is not None:
            self._lake_watcher.join(LAKE_WATCHER_JOIN_S)
            if self._lake_watcher.is_alive():
                log.warning("the lake watcher is still waiting on %s; closing without it", self.data_dir.lake_uri)
            self._lake_watcher = None
        # A watcher starting a sealer finishes first, and its sealer is stopped below; one still waiting on
        # storage sees its stop and starts none.
        if self._sealer_setup.acquire(timeout=LAKE_WATCHER_JOIN_S):
            self._sealer_setup.release()
        if self._sealer is not None:
            self._sealer.stop()
            self._sealer = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._readers.close()
        self._release_files()
        self._opened = False

    def _release_files(self) -> None:
        self._sealer_lock.release()
        self._writer_lock.release()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # --- appends ---------------------------------------------------------------------------------------

    def append(self, append: Append) -> AppendResult:
        """Record one command's events atomically; returns once they are fsynced.

        Raises ConcurrencyConflict (nothing written), ScanIdReused, or DurabilityError (not acknowledged).
        A scan_id already recorded with the same fingerprint returns the original result, `replayed=True`.
        """
        _check(append)
        ticket = _Ticket((append,))
        self._enqueue(ticket)
        ticket.done.acquire()
        answer = self._answer(append, ticket.outcomes[0])
        if isinstance(answer, Exception):
            raise answer
        return answer

    def append_many(self, appends: Sequence[Append]) -> list[AppendResult | Exception]:
        """Many appends, each checked and atomic on its own: one outcome per append, in order.

        They go to the writer in runs of BULK_RUN appends, each run prepared while the writer commits the one
        before (SQLite's work runs without the GIL), so a big call keeps both cores busy; every outcome is
        durable (or a DurabilityError) when the call returns.
        """
        for append in appends:
            _check(append)
        tickets: list[_Ticket] = []
        for start in range(0, len(appends), BULK_RUN):
            ticket = _Ticket(appends[start : start + BULK_RUN])
            self._enqueue(ticket)
            tickets.append(ticket)
        answers: list[AppendResult | Exception] = []
        for ticket in tickets:
            ticket.done.acquire()
            answers.extend(
                self._answer(append, outcome) for append, outcome in zip(ticket.appends, ticket.outcomes, strict=True)
            )
        return answers

    def _enqueue(self, ticket: _Ticket) -> None:
        with self._enqueue_lock:
            if not self._opened or self._closing:
                raise DurabilityError(f"{self._path}: the event store is closed; nothing was recorded")
            if self._read_only:
                raise DurabilityError(f"{self._path}: the event store is open read-only; nothing was recorded")
            self._queue.put(ticket)

    def _answer(self, append: Append, outcome: _Outcome) -> AppendResult | Exception:
        if type(outcome) is tuple:
            return _result(_recorded(append, outcome), False, append.outcome, append.scan_id, append.scan_fingerprint)
        if isinstance(outcome, Exception):
            return outcome
        if isinstance(outcome, _SameBatchReplay):
            original = outcome.original
            return _result(
                _recorded(original, outcome.assigned),
                True,
                original.outcome,
                original.scan_id,
                original.scan_fingerprint,
            )
        assert isinstance(outcome, _KnownScan)
        return self._replay(outcome.row)

    def _replay(self, scan: journal.ScanRow) -> AppendResult:
        scan_id, fingerprint, first, last, outcome = scan
        events: tuple[RecordedEvent, ...] = ()
        if first is not None and last is not None:
            events = tuple(journal.events_between(self._readers.get(), first - 1, last))
        return AppendResult(
            events=events, replayed=True, outcome=outcome, scan_id=scan_id, scan_fingerprint=fingerprint
        )

    # --- the writer thread -----------------------------------------------------------------------------

    def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch: list[_Ticket | _SealMark] = [first]  # type: ignore[list-item]
            size = len(first.appends) if isinstance(first, _Ticket) else 0
            # Whatever queued up while the previous batch was being fsynced goes into this one.
            while size < MAX_BATCH_APPENDS:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stopping = True
                    break
                batch.append(more)  # type: ignore[arg-type]
                size += len(more.appends) if isinstance(more, _Ticket) else 0
            try:
                self._commit_batch(batch)
            except Exception as error:  # a bug in the writer must never leave a caller waiting forever
                log.exception("the journal writer failed")
                self._fail([entry for entry in batch if isinstance(entry, _Ticket)], error)

    def _commit_batch(self, batch: list[_Ticket | _SealMark]) -> None:
        tickets = [entry for entry in batch if isinstance(entry, _Ticket)]
        marks = [entry.sealed_sequence for entry in batch if isinstance(entry, _SealMark)]
        connection = self._writer
        assert connection is not None
        try:
            plan = self._plan(connection, tickets)
        except Exception as error:  # a failed lookup: nothing was written, nothing can be acknowledged
            self._fail(tickets, error)
            return
        event_values, written, scan_rows, recorded_at, last_sequence, versions_now = plan
        seal_mark = (max(marks), recorded_at) if marks else None
        try:
            journal.commit(connection, event_values=event_values, scans=scan_rows, seal_mark=seal_mark)
        except Exception as error:
            self._fail(tickets, error)
            return
        self._last_sequence = last_sequence
        self._last_recorded_at = recorded_at
        # Committed: what the batch read and wrote is now the journal's truth.
        self._versions.put_many(versions_now)
        if written:
            with self._cache_lock:
                self._commits += 1
                self._touched.append((self._commits, frozenset(written)))
                self._aggregates.discard_many(written)
        self._committed = last_sequence
        if self._sealer is not None and event_values:
            self._sealer.committed_more()
        for ticket in tickets:
            ticket.done.release()

    def _plan(
        self, connection: sqlite3.Connection, tickets: list[_Ticket]
    ) -> tuple[list[object], set[str], list[journal.ScanInsert], int, int, dict[str, int]]:
        """Decide every append of the batch in order: sequence numbers, versions, replays and refusals; returns
        the events' rows, the aggregates they write, the scans' rows, the commit's time, the last sequence_num
        and every aggregate's version after the batch."""
        # The commit's time, from the store's clock, never before the previous commit's: recorded_at follows
        # sequence order even if the wall clock steps back.
        recorded_at = max(journal.to_microseconds(datetime.now(UTC)), self._last_recorded_at)
        moment = journal.from_microseconds(recorded_at)
        scan_ids = {a.scan_id for t in tickets for a in t.appends if a.scan_id is not None}
        known_scans = journal.scans_of(connection, list(scan_ids)) if scan_ids else {}
        # This batch's view of every aggregate it reads: committed versions (from memory, else SQLite), then what
        # earlier appends of the batch added. The writer is the only one who changes them, so they stay exact.
        current = self._versions.found(
            {aggregate_id for t in tickets for a in t.appends for aggregate_id in a.expected_versions}
        )
        if current.missing:
            stored = journal.versions_of(connection, current.missing)
            for aggregate_id in current.missing:
                current.versions[aggregate_id] = stored.get(aggregate_id, 0)
        versions_now = current.versions
        batch_scans: dict[str, tuple[Append, _Assigned]] = {}
        event_values: list[object] = []  # the events' rows, flat: what the INSERT binds
        written: set[str] = set()
        scan_rows: list[journal.ScanInsert] = []
        sequence = self._last_sequence
        for ticket in tickets:
            outcomes = ticket.outcomes
            for append, tails in zip(ticket.appends, ticket.tails, strict=True):
                scan_id = append.scan_id
                if scan_id is not None:
                    earlier = batch_scans.get(scan_id)
                    if earlier is not None:
                        same = earlier[0].scan_fingerprint == append.scan_fingerprint
                        outcomes.append(_SameBatchReplay(*earlier) if same else ScanIdReused(scan_id))
                        continue
                    recorded = known_scans.get(scan_id)
                    if recorded is not None:
                        # No fingerprint: a scan recovered from the lake (which keeps none); its retry replays it.
                        same = recorded[1] is None or recorded[1] == append.scan_fingerprint
                        outcomes.append(_KnownScan(recorded) if same else ScanIdReused(scan_id))
                        continue
                conflict = None
                for aggregate_id, expected in append.expected_versions.items():
                    actual = versions_now[aggregate_id]
                    if actual != expected:
                        conflict = ConcurrencyConflict(aggregate_id, expected, actual)
                        break
                if conflict is not None:
                    outcomes.append(conflict)
                    continue
                first = sequence + 1
                versions: list[int] = []
                for tail in tails:
                    aggregate_id = tail[_TAIL_ID]
                    version = versions_now[aggregate_id] + 1
                    versions_now[aggregate_id] = version
                    sequence += 1
                    versions.append(version)
                    event_values += (sequence, version, recorded_at)
                    event_values += tail
                    written.add(aggregate_id)
                assigned: _Assigned = (first, tuple(versions), moment)
                if scan_id is not None:
                    has_events = bool(versions)
                    scan_rows.append(
                        (
                            scan_id,
                            append.scan_fingerprint,
                            first if has_events else None,
                            sequence if has_events else None,
                            append.outcome,
                            recorded_at,
                        )
                    )
                    batch_scans[scan_id] = (append, assigned)
                outcomes.append(assigned)
        return event_values, written, scan_rows, recorded_at, sequence, versions_now

    def _fail(self, tickets: list[_Ticket], error: Exception) -> None:
        log.error("journal commit failed; %d appends not acknowledged: %s", len(tickets), error)
        failure = DurabilityError(f"{self._path}: the append could not be made durable: {error}")
        # What SQLite holds is now the only truth: forget every cached version and re-read the sequence.
        self._versions.clear()
        with self._cache_lock:
            self._aggregates.clear()
            self._commits += 1
            self._touched.clear()
        with contextlib.suppress(Exception):
            assert self._writer is not None
            self._last_sequence = journal.last_sequence(self._writer)
            self._committed = self._last_sequence
            last_recorded = journal.recorded_at_of(self._writer, self._last_sequence)
            if last_recorded is not None:
                self._last_recorded_at = max(self._last_recorded_at, journal.to_microseconds(last_recorded))
        for ticket in tickets:
            if ticket.done.locked():  # not yet answered
                ticket.outcomes[:] = [failure] * len(ticket.appends)
                ticket.done.release()

    def _mark_sealed(self, sealed_sequence: int) -> None:
        """Cache the lake's high-water mark in the journal, with the next group commit (never a commit of its own
        racing the writer for SQLite's lock)."""
        with self._enqueue_lock:
            if not self._closing:
                self._queue.put(_SealMark(sealed_sequence))

    # --- reads -----------------------------------------------------------------------------------------

    def last_sequence(self) -> int:
        if self._read_only:
            return journal.last_sequence(self._readers.get())
        return self._committed

    def load_aggregate(self, aggregate_id: str) -> tuple[int, tuple[RecordedEvent, ...]]:
        """The aggregate's current version and its events in version order, upcast to current schemas."""
        with self._cache_lock:
            cached = self._aggregates.get(aggregate_id)
            if cached is not None:
                return cached
            since = self._commits
        events = tuple(journal.events_of_aggregate(self._readers.get(), aggregate_id))
        entry = (events[-1].aggregate_version if events else 0, events)
        # Only the writer's store caches: it evicts what it changes; a read-only one cannot see another
        # process's appends coming.
        if len(events) <= AGGREGATE_CACHE_MAX_EVENTS and not self._read_only:
            with self._cache_lock:
                if not self._touched_since(since, aggregate_id):
                    self._aggregates.put(aggregate_id, entry)
        return entry

    def _touched_since(self, since: int, aggregate_id: str) -> bool:
        """Whether a commit after `since` changed the aggregate (or we can no longer tell): then what a reader
        loaded may be older than what the writer already evicted, and must not be cached."""
        if self._commits == since:
            return False
        if not self._touched or self._touched[0][0] > since + 1:
            return True
        return any(commit > since and aggregate_id in ids for commit, ids in reversed(self._touched))

    def versions(self, aggregate_ids: Iterable[str]) -> dict[str, int]:
        """Current versions (0 for an aggregate that does not exist yet)."""
        wanted = list(dict.fromkeys(aggregate_ids))
        found: dict[str, int] = {}
        with self._cache_lock:
            for aggregate_id in wanted:
                cached = self._aggregates.get(aggregate_id)
                if cached is not None:
                    found[aggregate_id] = cached[0]
        missing = [aggregate_id for aggregate_id in wanted if aggregate_id not in found]
        if missing:
            found.update(journal.versions_of(self._readers.get(), missing))
        return {aggregate_id: found.get(aggregate_id, 0) for aggregate_id in wanted}

    def read(self, after: int, limit: int) -> list[RecordedEvent]:
        """Up to `limit` events with sequence_num > `after`, in sequence order."""
        return journal.events_after(self._readers.get(), after, limit)

    def read_feed(
        self,
        after: int,
        limit: int,
        *,
        occurred_through: datetime | None = None,
        recorded_through: datetime | None = None,
    ) -> tuple[list[journal.FeedRow], int]:
        """The event feed's page after `after` (see `journal.feed_after`): its rows and where to go on."""
        return journal.feed_after(
            self._readers.get(), after, limit, occurred_through=occurred_through, recorded_through=recorded_through
        )

    def event_key(self, sequence_num: int) -> journal.EventKey | None:
        """What tells this log's event of that number from another log's (see `projections.store.pairing`)."""
        return journal.event_key(self._readers.get(), sequence_num)

    def lookup_scan(self, scan_id: str) -> AppendResult | None:
        """The recorded result of a scan_id (as a retry would get it), or None if it was never recorded."""
        found = journal.scans_of(self._readers.get(), [scan_id]).get(scan_id)
        return None if found is None else self._replay(found)

    def read_arrow(self, after: int, upto: int | None = None) -> pa.Table:
        """Events after..upto (default: everything committed) with exactly the lake's columns: the unsealed tail
        a projection unions with the lake for read-your-writes."""
        connection = self._readers.get()
        last = self.last_sequence() if upto is None else upto
        return journal.arrow_between(connection, after, last)

    def read_lineage(self, ranges: Sequence[tuple[str, str]], upto: int) -> journal.JournalLineage:
        """Events through `upto` of the aggregates with ids in any `[low, high)` range, in sequence order: a
        lineage as it stands, by index, without the lake (see `journal.lineage_of_aggregates`)."""
        return journal.lineage_of_aggregates(self._readers.get(), ranges, upto)

    # --- sealing ---------------------------------------------------------------------------------------

    def seal_now(self) -> int:
        """Seal everything committed so far into the lake; returns the lake's high-water mark."""
        if self._lake_problem is not None:
            raise self._lake_problem
        if self._sealer is None:
            if self._read_only or not self._opened:
                raise SealerBusy(self.data_dir.lake_uri, "this store is read-only or closed and does not seal")
            if not self._sealer_lock.acquire():
                raise SealerBusy(self.data_dir.lake_uri, "another process holds the sealer lock")
            self._recover_lake(LakeTable.for_data_dir(self.data_dir))
            if self._lake_problem is not None:
                raise self._lake_problem
        assert self._sealer is not None
        return self._sealer.seal_through(self.last_sequence())

    def health(self) -> dict[str, object]:
        last = self.last_sequence()
        if self._sealer is not None:
            sealed = self._sealer.sealed_through
        else:
            sealed = journal.sealed_sequence(self._readers.get())
        lag_seconds = 0.0
        if last > sealed:
            oldest = journal.recorded_at_of(self._readers.get(), sealed + 1)
            if oldest is not None:
                lag_seconds = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
        return {
            "last_sequence": last,
            "sealed_sequence": sealed,
            "seal_lag_events": max(0, last - sealed),
            "seal_lag_seconds": round(lag_seconds, 3),
            "sealing": self._sealer is not None and self._sealer.running,
            "sealer_error": None if self._sealer is None else self._sealer.last_error,
            "lake_problem": None if self._lake_problem is None else str(self._lake_problem),
            "read_only": self._read_only,
        }

    @property
    def journal_replacements(self) -> int:
        """How many times this read-only store found its journal file replaced (a restore) and reopened it."""
        return self._readers.generation

    @property
    def lake_problem(self) -> LakeCorrupted | None:
        return self._lake_problem


# --- preparing rows --------------------------------------------------------------------------------------


class _EventShape:
    """What the store needs of an event class, worked out once: its type name, schema version and fields."""

    __slots__ = ("event_type", "names", "schema_version", "values")

    def __init__(self, kind: type[DomainEvent]) -> None:
        self.event_type = kind.__name__  # what DomainEvent.event_type returns, without the property call
        self.schema_version = kind.schema_version
        self.names = tuple(field.name for field in dataclasses.fields(kind))
        # One C call for all the fields; attrgetter of one name returns the bare value, so wrap it.
        getter = operator.attrgetter(*self.names) if self.names else None
        self.values: Callable[[DomainEvent], tuple[object, ...]]
        if getter is None:
            self.values = _no_values
        elif len(self.names) == 1:
            self.values = lambda event: (getter(event),)
        else:
            self.values = getter


def _no_values(event: DomainEvent) -> tuple[object, ...]:
    return ()


_SHAPES: dict[type[DomainEvent], _EventShape] = {}


def _shape_of(kind: type[DomainEvent]) -> _EventShape:
    shape = _SHAPES.get(kind)
    if shape is None:
        shape = _SHAPES[kind] = _EventShape(kind)
    return shape


def payload_json(event: DomainEvent) -> str:
    """The event's payload as compact JSON: the same document as `core.events.to_payload`, built faster."""
    shape = _SHAPES.get(type(event)) or _shape_of(type(event))
    document = dict(zip(shape.names, shape.values(event), strict=True))
    if _FAST_ENCODE is not None:
        return "".join(_FAST_ENCODE(document, 0))
    return _ENCODER.encode(document)


# Payload documents repeat on a plant floor (the same operation started at the same station, card after card),
# so the JSON of recent ones is kept, keyed by the class, the field values *and their exact types*: values of
# equal types that compare equal encode identically for str, int, bool and None, whereas 1 == 1.0 == True or
# 0.0 == -0.0 across types would not, and tuples could hide such values inside, so only payloads of those four
# types (and empty tuples: no failure codes) are kept.
_CACHEABLE_TYPES: Final = frozenset({str, int, bool, type(None)})
PAYLOAD_CACHE_SIZE: Final = 8_192
_payloads: dict[tuple[object, ...], str] = {}


def payload_text(event: DomainEvent) -> str:
    """The JSON text the journal keeps for this event's payload (`payload_json`, from the cache when recent)."""
    return _payload_of(event, _SHAPES.get(type(event)) or _shape_of(type(event)))


def _payload_of(event: DomainEvent, shape: _EventShape) -> str:
    values = shape.values(event)
    types = tuple(map(type, values))
    key = (shape, values, types)
    try:
        cached = _payloads.get(key)
    except TypeError:  # an unhashable value (a list where the type says tuple): encode, do not keep
        return payload_json(event)
    if cached is not None:
        return cached
    encoded = payload_json(event)
    if all(kind in _CACHEABLE_TYPES or value == () for kind, value in zip(types, values, strict=True)):
        if len(_payloads) >= PAYLOAD_CACHE_SIZE:
            _payloads.clear()  # a new working set: cheaper than an LRU's bookkeeping on every hit
        _payloads[key] = encoded
    return encoded


_envelope_of: Final = operator.attrgetter(
    "aggregate_type", "aggregate_id", "event", "job_id", "sheet_id", "card_unit_id", "context"
)
_context_of: Final = operator.attrgetter("occurred_at", "station_id", "operator_id", "scan_id")
# Scans of one moment (a batch from one scanner, the events of one command) convert once. Only fixed-offset
# times (UTC above all) are kept: with them, equal means the same instant, whereas two times of one zoneinfo zone
# in the hour repeated at the end of summer time compare (and hash) equal an hour apart (PEP 495).
_moments: dict[datetime, int] = {}
MOMENT_CACHE_SIZE: Final = 4_096


def _microseconds_of(moment: datetime) -> int:
    microseconds = _moments.get(moment)
    if microseconds is None:
        microseconds = journal.to_microseconds(moment)  # raises for a naive time: never kept
        if type(moment.tzinfo) is timezone:
            if len(_moments) >= MOMENT_CACHE_SIZE:
                _moments.clear()
            _moments[moment] = microseconds
    return microseconds


def _recorded(append: Append, assigned: _Assigned) -> tuple[RecordedEvent, ...]:
    sequence_num, versions, recorded_at = assigned
    events: list[RecordedEvent] = []
    for pending, version in zip(append.events, versions, strict=True):
        events.append(_record(pending, sequence_num, version, recorded_at))
        sequence_num += 1
    return tuple(events)


def _record_by_slots(pending: PendingEvent, sequence_num: int, version: int, recorded_at: datetime) -> RecordedEvent:
    """`core.envelope.record`, filling the frozen dataclass's slots directly.

    A frozen dataclass's __init__ sets each field through object.__setattr__ with keyword parsing: about four
    times the cost of this, and it runs for every event of every append on the acknowledgement path.
    `_record` falls back to `record` if RecordedEvent ever has other fields than these.
    """
    aggregate_type, aggregate_id, event, job_id, sheet_id, card_unit_id, context = _envelope_of(pending)
    occurred_at, station_id, operator_id, scan_id = _context_of(context)
    recorded = _new_recorded(RecordedEvent)
    _set_sequence_num(recorded, sequence_num)
    _set_aggregate_type(recorded, aggregate_type)
    _set_aggregate_id(recorded, aggregate_id)
    _set_aggregate_version(recorded, version)
    _set_event(recorded, event)
    _set_occurred_at(recorded, occurred_at)
    _set_recorded_at(recorded, recorded_at)
    _set_job_id(recorded, job_id)
    _set_sheet_id(recorded, sheet_id)
    _set_card_unit_id(recorded, card_unit_id)
    _set_station_id(recorded, station_id)
    _set_operator_id(recorded, operator_id)
    _set_scan_id(recorded, scan_id)
    return recorded


def _record_by_init(pending: PendingEvent, sequence_num: int, version: int, recorded_at: datetime) -> RecordedEvent:
    return record(pending, sequence_num=sequence_num, aggregate_version=version, recorded_at=recorded_at)


_new_recorded = object.__new__
_RECORDED_SLOTS: Final = (
    "sequence_num",
    "aggregate_type",
    "aggregate_id",
    "aggregate_version",
    "event",
    "occurred_at",
    "recorded_at",
    "job_id",
    "sheet_id",
    "card_unit_id",
    "station_id",
    "operator_id",
    "scan_id",
)
_slots_match = (
    tuple(field.name for field in dataclasses.fields(RecordedEvent)) == _RECORDED_SLOTS
    and getattr(RecordedEvent, "__slots__", ()) == _RECORDED_SLOTS
    and not hasattr(RecordedEvent, "__post_init__")
)
if _slots_match:
    (
        _set_sequence_num,
        _set_aggregate_type,
        _set_aggregate_id,
        _set_aggregate_version,
        _set_event,
        _set_occurred_at,
        _set_recorded_at,
        _set_job_id,
        _set_sheet_id,
        _set_card_unit_id,
        _set_station_id,
        _set_operator_id,
        _set_scan_id,
    ) = (getattr(RecordedEvent, name).__set__ for name in _RECORDED_SLOTS)
_record = _record_by_slots if _slots_match else _record_by_init


def _result_by_slots(
    events: tuple[RecordedEvent, ...], replayed: bool, outcome: str | None, scan_id: str | None, fingerprint: str | None
) -> AppendResult:
    """An AppendResult without the frozen dataclass's __init__ (see `_record_by_slots`): one per append."""
    result = _new_recorded(AppendResult)
    _set_events(result, events)
    _set_replayed(result, replayed)
    _set_outcome(result, outcome)
    _set_result_scan_id(result, scan_id)
    _set_scan_fingerprint(result, fingerprint)
    return result


def _result_by_init(
    events: tuple[RecordedEvent, ...], replayed: bool, outcome: str | None, scan_id: str | None, fingerprint: str | None
) -> AppendResult:
    return AppendResult(
        events=events, replayed=replayed, outcome=outcome, scan_id=scan_id, scan_fingerprint=fingerprint
    )


_RESULT_SLOTS: Final = ("events", "replayed", "outcome", "scan_id", "scan_fingerprint")
_result_slots_match = (
    tuple(field.name for field in dataclasses.fields(AppendResult)) == _RESULT_SLOTS
    and getattr(AppendResult, "__slots__", ()) == _RESULT_SLOTS
    and not hasattr(AppendResult, "__post_init__")
)
if _result_slots_match:
    _set_events, _set_replayed, _set_outcome, _set_result_scan_id, _set_scan_fingerprint = (
        getattr(AppendResult, name).__set__ for name in _RESULT_SLOTS
    )
_result = _result_by_slots if _result_slots_match else _result_by_init
