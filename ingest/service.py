"""The write side: load -> interpret -> decide -> append, idempotent on scan_id, safe under concurrent scanners.

`ScanService` is the one path every write takes, in-process (the simulator) or behind HTTP (a thin edge).
A decision reads aggregate states through a `RecordingReader`, which remembers the version of everything it
read; the append states exactly those versions, so a concurrent write to any of them makes the append fail
(ConcurrencyConflict) and the decision is taken again on fresh states.

Idempotency: a scan's outcome is stored with its events under its scan_id and the sha256 of its canonical
JSON. The same scan again answers the original outcome and records nothing; the same scan_id with other
content is ScanIdReused. A scan the plant rejects (unknown entity, out of routing order, invalid data) is
recorded as an outcome without events, so its retry gets the same answer even after the plant moved on.
Refusals about the requester (NotAuthorized) and transient failures (conflicts, durability) are not recorded.

>>> import tempfile
>>> from datetime import UTC, datetime
>>> from pathlib import Path
>>> from core.commands import Actor
>>> from projections.data_dir import DataDir
>>> data = DataDir(root=Path(tempfile.mkdtemp()))
>>> with EventStore(data) as store:
...     service = ScanService(store, data.load_factory())
...     job = service.create_job(product="base-18up", sets=1, customer="Topps", due_date="2026-12-01",
...                              actor=Actor(subject="PLN-1", role="planner"))
...     scan = Scan(scan_id="PRESS-1:0001", barcode=job.sheets[0], station_id="PRESS-1", operator_id="OP-7",
...                 occurred_at=datetime(2026, 11, 2, 6, 0, tzinfo=UTC))
...     first = service.submit_scan(scan, Actor(subject="OP-7", role="operator"))
...     again = service.submit_scan(scan, Actor(subject="OP-7", role="operator"))
>>> job.job_id, first.command, first.state, again.replayed
('J1001', 'StartOperation', 'in_progress', True)
"""

import asyncio
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import Any, Final, assert_never

from core.aggregates import AggregateState, evolve, fold
from core.assembly import AssemblyState
from core.card_unit import CardUnitState
from core.commands import (
    Actor,
    ApplySerialNumber,
    Command,
    CompleteOperation,
    CreateJob,
    CreateReplacement,
    CutSheet,
    GatherCardUnit,
    InsertMemorabilia,
    PackSet,
    RecordQAResult,
    StartOperation,
    VoidCardUnit,
)
from core.decisions import decide
from core.envelope import EventContext, PendingEvent, RecordedEvent
from core.errors import DomainError, InvalidCommand, InvalidId, NotAuthorized, RuleViolation, UnknownEntity
from core.factory import Factory
from core.ids import job_id as format_job_id
from core.ids import parse_card_unit_id, parse_entity_id
from core.routing import Scan, interpret_scan
from core.sheet import SheetState
from projections.store import Append, AppendResult, EventStore, payload_text
from projections.store.errors import ConcurrencyConflict, DurabilityError, ScanIdReused

log = logging.getLogger("cardtrace.ingest.scans")

FIRST_JOB_NUMBER: Final = 1001
# Times are kept as UTC microseconds since 1970; a time outside this range cannot be converted or stored.
EARLIEST_TIME: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME: Final = datetime(9999, 12, 30, tzinfo=UTC)
MAX_ATTEMPTS: Final = 10  # decisions retried on a concurrent write before the caller gets the 409
MAX_SCAN_ID_LENGTH: Final = 128
CACHE_LIMIT: Final = 200_000  # aggregate states kept in memory; a miss costs one indexed load + fold

# Rejections a retry must see again: the plant's answer to this scan's content, given the state it met.
_RECORDED_REJECTIONS: Final[dict[str, type[DomainError]]] = {
    InvalidId.code: InvalidId,
    InvalidCommand.code: InvalidCommand,
    UnknownEntity.code: UnknownEntity,
    RuleViolation.code: RuleViolation,
}


@dataclass(frozen=True, kw_only=True, slots=True)
class OutcomeEvent:
    """One recorded event as a write answers it: where it sits in the log and what it says."""

    event_type: str
    sequence_num: int
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int
    occurred_at: datetime
    recorded_at: datetime
    payload_json: str  # the payload as the journal keeps it: answers pass it on as text, not parsed and encoded

    @property
    def payload(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.payload_json)
        return document


@dataclass(frozen=True, kw_only=True, slots=True)
class ScanOutcome:
    """What a scan did: the entity it named, that entity's status after it, the events it recorded."""

    scan_id: str
    entity_id: str
    state: str
    command: str
    events: tuple[OutcomeEvent, ...]
    replayed: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class CommandOutcome:
    """What an office command (create a job, void a card, order a replacement) recorded."""

    entity_id: str
    state: str
    events: tuple[OutcomeEvent, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class JobOutcome:
    job_id: str
    product_id: str
    sets: int
    customer: str
    due_date: str
    sheets: tuple[str, ...]
    events: tuple[OutcomeEvent, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplacementOutcome:
    card_unit_id: str  # the voided original
    replacement_id: str
    events: tuple[OutcomeEvent, ...]


def scan_fingerprint(scan: Scan) -> str:
    """sha256 of the scan's canonical JSON (its fields in a fixed order, the time in UTC): the same scan sent
    twice has the same fingerprint, whatever offset the scanner wrote its time in."""
    canonical = [
        scan.scan_id,
        scan.barcode,
        scan.station_id,
        scan.operator_id,
        scan.occurred_at.astimezone(UTC).isoformat(),
        scan.result,
        scan.failure_reason,
        list(scan.failure_codes),
        scan.memorabilia_id,
        scan.assembly_id,
        scan.pack_id,
        scan.override_reason,
    ]
    return hashlib.sha256(_CANONICAL.encode(canonical).encode("utf-8")).hexdigest()


_CANONICAL: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def outcome_events(recorded: Iterable[RecordedEvent]) -> tuple[OutcomeEvent, ...]:
    return tuple(
        OutcomeEvent(
            event_type=event.event_type,
            sequence_num=event.sequence_num,
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
            aggregate_version=event.aggregate_version,
            occurred_at=event.occurred_at,
            recorded_at=event.recorded_at,
            payload_json=payload_text(event.event),
        )
        for event in recorded
    )


class _StateCache:
    """Aggregate (version, state) pairs kept between decisions; any staleness surfaces as a conflict."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._entries: dict[str, tuple[int, AggregateState | None]] = {}
        self._lock = threading.Lock()

    def get(self, aggregate_id: str) -> tuple[int, AggregateState | None] | None:
        return self._entries.get(aggregate_id)

    def put_all(self, entries: Mapping[str, tuple[int, AggregateState | None]]) -> None:
        """Keep the newer of what is cached and what is put (decisions settle in any order across threads)."""
        with self._lock:
            cached = self._entries
            for aggregate_id, entry in entries.items():
                current = cached.get(aggregate_id)
                if current is None or current[0] <= entry[0]:
                    cached[aggregate_id] = entry
            if len(self._entries) > self._limit:
                # Oldest insertions first: a plain dict keeps that order, and old entries are the coldest.
                for stale in list(self._entries)[: len(self._entries) - self._limit * 9 // 10]:
                    del self._entries[stale]

    def outdated(self, conflict: ConcurrencyConflict) -> None:
        """The store holds a newer version than a decision read: drop the entry, unless the append that moved the
        aggregate on has already settled here and cached its state (then the retry reads that, with no load)."""
        with self._lock:
            entry = self._entries.get(conflict.aggregate_id)
            if entry is not None and entry[0] < conflict.actual:
                del self._entries[conflict.aggregate_id]

    def forget(self, aggregate_ids: Iterable[str]) -> None:
        with self._lock:
            for aggregate_id in aggregate_ids:
                self._entries.pop(aggregate_id, None)


class RecordingReader:
    """The AggregateReader a decision reads through; remembers the version of every aggregate it served."""

    def __init__(self, source: Callable[[str], tuple[int, AggregateState | None]]) -> None:
        self._source = source
        self.read: dict[str, tuple[int, AggregateState | None]] = {}

    def load(self, aggregate_id: str) -> AggregateState | None:
        entry = self.read.get(aggregate_id)
        if entry is None:
            entry = self._source(aggregate_id)
            self.read[aggregate_id] = entry
        return entry[1]

    def expected_versions(self, pending: Sequence[PendingEvent]) -> dict[str, int]:
        """Versions read, and 0 for aggregates written without being read (born by these events)."""
        expected = {aggregate_id: version for aggregate_id, (version, _) in self.read.items()}
        for event in pending:
            expected.setdefault(event.aggregate_id, 0)
        return expected

    def evolved(self, pending: Sequence[PendingEvent]) -> dict[str, tuple[int, AggregateState | None]]:
        """Every touched aggregate's (version, state) once `pending` is appended."""
        after: dict[str, tuple[int, AggregateState | None]] = {}
        for event in pending:
            version, state = after.get(event.aggregate_id) or self.read.get(event.aggregate_id) or (0, None)
            after[event.aggregate_id] = (version + 1, evolve(event.aggregate_type, state, event.event))
        return after


@dataclass(kw_only=True, slots=True)
class _Decision:
    """A scan decided against some states, ready to append; `rejection` when the plant said no."""

    scan: Scan
    fingerprint: str
    reader: RecordingReader
    pending: tuple[PendingEvent, ...] = ()
    after: dict[str, tuple[int, AggregateState | None]] = field(default_factory=dict)
    entity_id: str = ""
    state: str = ""
    command: str = ""
    rejection: DomainError | None = None

    def append(self) -> Append:
        if self.rejection is not None:
            outcome = rejection_json(self.rejection.code, self.rejection.message)
        else:
            outcome = outcome_json(self.entity_id, self.state, self.command)
        return Append(
            events=self.pending,
            expected_versions=self.reader.expected_versions(self.pending),
            scan_id=self.scan.scan_id,
            scan_fingerprint=self.fingerprint,
            outcome=outcome,
        )


# The outcome a retry of the scan reads back: `json.dumps(document, separators=(",", ":"))` to the byte, written
# from a template (dumps builds an encoder per call: most of an outcome's cost, which every scan pays).
_ascii_string: Final[Callable[[str], str]] = encode_basestring_ascii


def outcome_json(entity_id: str, state: str, command: str) -> str:
    return (
        f'{{"entity_id":{_ascii_string(entity_id)},"state":{_ascii_string(state)},"command":{_ascii_string(command)}}}'
    )


def rejection_json(code: str, detail: str) -> str:
    return f'{{"rejected":{{"error":{_ascii_string(code)},"detail":{_ascii_string(detail)}}}}}'


class GroupCommit:
    """Appends made on an event loop, committed together by one thread: whatever queues while a commit is being
    fsynced goes into the next `append_many`, so a busy floor costs one thread hop and one fsync per commit, not
    per scan."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._waiting: list[tuple[Append, asyncio.Future[AppendResult | Exception]]] = []
        self._committing: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cardtrace-commit")

    async def append(self, append: Append) -> AppendResult:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[AppendResult | Exception] = loop.create_future()
        self._waiting.append((append, answer))
        if self._committing is None:
            self._committing = loop.create_task(self._commit_waiting(loop))
        result = await answer
        if isinstance(result, Exception):
            raise result
        return result

    async def _commit_waiting(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                appends = [append for append, _ in batch]
                try:
                    answers = await loop.run_in_executor(self._executor, self._commit, appends)
                except RuntimeError as error:  # the executor is shut down: the service is stopping
                    answers = [DurabilityError(f"not recorded, the service is stopping: {error}")] * len(appends)
                for (_, answer), result in zip(batch, answers, strict=True):
                    if not answer.done():
                        answer.set_result(result)
        finally:
            self._committing = None

    def _commit(self, appends: list[Append]) -> list[AppendResult | Exception]:
        try:
            return self._store.append_many(appends)
        except DurabilityError as error:
            return [error] * len(appends)
        except Exception:
            # One malformed append refuses the whole call; commit them one by one so only it fails.
            return [_attempt(lambda a=append: self._store.append(a)) for append in appends]  # type: ignore[misc]

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def _attempt(append: Callable[[], AppendResult]) -> AppendResult | Exception:
    try:
        return append()
    except Exception as error:
        return error


class ScanService:
    """Scans, jobs, voids and replacements, decided by core and appended through the event store."""

    def __init__(
        self,
        store: EventStore,
        factory: Factory,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache_limit: int = CACHE_LIMIT,
    ) -> None:
        self._store = store
        self._factory = factory
        self._clock = clock
        self._cache = _StateCache(cache_limit)
        self._job_lock = threading.Lock()
        self._next_job_number = FIRST_JOB_NUMBER

    @property
    def factory(self) -> Factory:
        return self._factory

    # --- loading ------------------------------------------------------------------------------------

    def _load(self, aggregate_id: str) -> tuple[int, AggregateState | None]:
        cached = self._cache.get(aggregate_id)
        if cached is not None:
            return cached
        version, events = self._store.load_aggregate(aggregate_id)
        state = fold(events[0].aggregate_type, (event.event for event in events)) if events else None
        entry = (version, state)
        self._cache.put_all({aggregate_id: entry})
        return entry

    def state_of(self, aggregate_id: str) -> AggregateState | None:
        return self._load(aggregate_id)[1]

    # --- scans --------------------------------------------------------------------------------------

    def submit_scan(self, scan: Scan, actor: Actor, *, station: str | None = None) -> ScanOutcome:
        """One scan, decided and appended; raises the DomainError the plant answered, or a store error.

        `station` is the station the requester's token is bound to, if any: a scan elsewhere is refused.
        """
        started = time.perf_counter()
        try:
            outcome = self._submit_scan(scan, actor, station)
        except Exception as error:
            _log_refusal(scan.scan_id, error, started)
            raise
        _log_outcome(outcome, started)
        return outcome

    def _submit_scan(self, scan: Scan, actor: Actor, station: str | None) -> ScanOutcome:
        fingerprint = _check_scan(scan, actor, station)
        # No lookup first: a scan sent again is decided against today's state, and the store, which checks the
        # scan_id before any version, answers the original outcome instead of appending the new decision.
        conflict: ConcurrencyConflict | None = None
        for _ in range(MAX_ATTEMPTS):
            decision = self._decide_scan(scan, actor, fingerprint, RecordingReader(self._load))
            try:
                result = self._store.append(decision.append())
            except ConcurrencyConflict as error:
                conflict = error
                self._cache.outdated(error)
                continue
            return self._settle(decision, result)
        assert conflict is not None
        raise conflict

    async def submit_scan_async(
        self, scan: Scan, actor: Actor, commit: "GroupCommit", *, station: str | None = None
    ) -> ScanOutcome:
        """`submit_scan` for an event loop: decided on the loop, appended through `commit` (shared group commit).

        The loop never blocks on the disk and no thread is taken per scan: every append that queues while a commit
        is being fsynced goes into the next one.
        """
        started = time.perf_counter()
        try:
            fingerprint = _check_scan(scan, actor, station)
            conflict: ConcurrencyConflict | None = None
            for _ in range(MAX_ATTEMPTS):
                decision = self._decide_scan(scan, actor, fingerprint, RecordingReader(self._load))
                try:
                    result = await commit.append(decision.append())
                except ConcurrencyConflict as error:
                    conflict = error
                    self._cache.outdated(error)
                    continue
                outcome = self._settle(decision, result)
                break
            else:
                assert conflict is not None
                raise conflict
        except Exception as error:
            _log_refusal(scan.scan_id, error, started)
            raise
        _log_outcome(outcome, started)
        return outcome

    def submit_scans(
        self, scans: Sequence[Scan], actor: Actor, *, station: str | None = None
    ) -> list[ScanOutcome | Exception]:
        """A batch (a scanner's offline buffer): applied in occurred_at order, one outcome per scan, in order.

        Decisions run against an in-memory overlay of the states the batch itself produces, then the whole
        batch goes to the store in one append_many. A scan recorded before comes back replayed with its original
        outcome; a decision that built on it (or met a concurrent write) comes back as a conflict, because it
        stated versions the store never reached, and is decided again on its own.
        """
        started = time.perf_counter()
        results: list[ScanOutcome | Exception | None] = [None] * len(scans)
        first_of: dict[str, int] = {}
        fingerprints: list[str] = [""] * len(scans)
        duplicates: list[int] = []
        to_decide: list[int] = []
        for index, scan in enumerate(scans):
            try:
                fingerprints[index] = _check_scan(scan, actor, station)
            except DomainError as error:
                results[index] = error
                continue
            if scan.scan_id in first_of:
                duplicates.append(index)
                continue
            first_of[scan.scan_id] = index
            to_decide.append(index)
        to_decide.sort(key=lambda index: scans[index].occurred_at)

        overlay: dict[str, tuple[int, AggregateState | None]] = {}

        def through_overlay(aggregate_id: str) -> tuple[int, AggregateState | None]:
            entry = overlay.get(aggregate_id)
            return entry if entry is not None else self._load(aggregate_id)

        decisions = []
        for index in to_decide:
            try:
                decision = self._decide_scan(scans[index], actor, fingerprints[index], RecordingReader(through_overlay))
            except NotAuthorized as refusal:
                results[index] = refusal
                continue
            overlay.update(decision.after)
            decisions.append((index, decision))
        answers = self._store.append_many([decision.append() for _, decision in decisions]) if decisions else []
        retry: list[int] = []
        for (index, decision), answer in zip(decisions, answers, strict=True):
            if isinstance(answer, ConcurrencyConflict):
                retry.append(index)
                self._cache.outdated(answer)
            elif isinstance(answer, Exception):
                results[index] = answer
            else:
                results[index] = _capture(lambda d=decision, a=answer: self._settle(d, a))  # type: ignore[misc]
        if retry:
            for index in retry:
                results[index] = _capture(lambda i=index: self._submit_scan(scans[i], actor, station))  # type: ignore[misc]
        for index in duplicates:
            results[index] = _duplicate_in_batch(
                scans[index].scan_id,
                fingerprints[index],
                fingerprints[first_of[scans[index].scan_id]],
                results[first_of[scans[index].scan_id]],
            )
        answered = [result if result is not None else InvalidCommand("scan was not decided") for result in results]
        _log_batch(scans, answered, started)
        return answered

    def _decide_scan(self, scan: Scan, actor: Actor, fingerprint: str, reader: RecordingReader) -> _Decision:
        decision = _Decision(scan=scan, fingerprint=fingerprint, reader=reader)
        try:
            command = interpret_scan(scan, actor, reader, self._factory)
            pending = decide(command, reader, self._factory)
        except NotAuthorized:
            raise
        except DomainError as rejection:
            decision.rejection = rejection
            return decision
        entity = _scanned_entity(command)
        decision.pending = pending
        decision.after = reader.evolved(pending)
        decision.entity_id = entity
        decision.command = type(command).__name__
        entry = decision.after.get(entity) or reader.read.get(entity)
        decision.state = _status(entry[1] if entry else None, command)
        return decision

    def _settle(self, decision: _Decision, result: AppendResult) -> ScanOutcome:
        if result.replayed:
            return _replayed(decision.scan, decision.fingerprint, result)
        self._remember(decision.after, result.events)
        if decision.rejection is not None:
            raise decision.rejection
        return ScanOutcome(
            scan_id=decision.scan.scan_id,
            entity_id=decision.entity_id,
            state=decision.state,
            command=decision.command,
            events=outcome_events(result.events),
        )

    def _remember(
        self, after: Mapping[str, tuple[int, AggregateState | None]], recorded: Sequence[RecordedEvent]
    ) -> None:
        """Cache the evolved states, unless the store numbered the events otherwise than the decision assumed."""
        final_versions = {event.aggregate_id: event.aggregate_version for event in recorded}
        agreeing = {key: entry for key, entry in after.items() if final_versions.get(key) == entry[0]}
        self._cache.put_all(agreeing)
        if len(agreeing) < len(after):  # rare: a concurrent append numbered them otherwise
            self._cache.forget(key for key in after if key not in agreeing)

    # --- office commands ----------------------------------------------------------------------------

    def _execute(self, make: Callable[[RecordingReader], Command]) -> tuple[Command, RecordingReader, AppendResult]:
        conflict: ConcurrencyConflict | None = None
        for _ in range(MAX_ATTEMPTS):
            reader = RecordingReader(self._load)
            command = make(reader)
            pending = decide(command, reader, self._factory)
            append = Append(
                events=pending,
                expected_versions=reader.expected_versions(pending),
                scan_id=None,
                scan_fingerprint=None,
                outcome=None,
            )
            try:
                result = self._store.append(append)
            except ConcurrencyConflict as error:
                conflict = error
                self._cache.outdated(error)
                continue
            self._remember(reader.evolved(pending), result.events)
            return command, reader, result
        assert conflict is not None
        raise conflict

    def create_job(
        self,
        *,
        product: str,
        sets: int,
        customer: str,
        due_date: str,
        actor: Actor,
        job_id: str | None = None,
    ) -> JobOutcome:
        """A job of `sets` sets (one sheet each); without `job_id` it takes the next free J number from J1001."""
        if actor.role not in ("planner", "admin"):
            raise NotAuthorized(f"creating a job needs a planner; {actor.subject} is {actor.role}")
        context = EventContext(occurred_at=self._clock())

        def command(reader: RecordingReader) -> CreateJob:
            chosen = job_id if job_id is not None else self._free_job_id(reader)
            return CreateJob(
                context=context,
                actor=actor,
                job_id=chosen,
                product_id=product,
                sets=sets,
                customer=customer,
                due_date=due_date,
            )

        created, _, result = self._execute(command)
        assert isinstance(created, CreateJob)
        sheets = tuple(e.aggregate_id for e in result.events if e.aggregate_type == "sheet")
        return JobOutcome(
            job_id=created.job_id,
            product_id=created.product_id,
            sets=created.sets,
            customer=created.customer,
            due_date=created.due_date,
            sheets=sheets,
            events=outcome_events(result.events),
        )

    def _free_job_id(self, reader: RecordingReader) -> str:
        with self._job_lock:
            while reader.load(format_job_id(self._next_job_number)) is not None:
                self._next_job_number += 1
            chosen = format_job_id(self._next_job_number)
            self._next_job_number += 1
            return chosen

    def void_card_unit(self, card_unit_id: str, *, reason: str, actor: Actor) -> CommandOutcome:
        context = EventContext(occurred_at=self._clock())
        card = parse_card_unit_id(card_unit_id).card_unit_id
        _, _, result = self._execute(
            lambda _: VoidCardUnit(context=context, actor=actor, card_unit_id=card, reason=reason)
        )
        return CommandOutcome(entity_id=card, state="voided", events=outcome_events(result.events))

    def create_replacement(
        self, card_unit_id: str, *, actor: Actor, printed_on_sheet_id: str | None = None
    ) -> ReplacementOutcome:
        context = EventContext(occurred_at=self._clock())
        card = parse_card_unit_id(card_unit_id).card_unit_id
        _, _, result = self._execute(
            lambda _: CreateReplacement(
                context=context, actor=actor, card_unit_id=card, printed_on_sheet_id=printed_on_sheet_id
            )
        )
        born = next(e.aggregate_id for e in result.events if e.event_type == "CardUnitCreated")
        return ReplacementOutcome(card_unit_id=card, replacement_id=born, events=outcome_events(result.events))


# --- pure pieces ------------------------------------------------------------------------------------


def plausible_time(moment: datetime) -> bool:
    try:
        return EARLIEST_TIME <= moment.astimezone(UTC) <= LATEST_TIME
    except (OverflowError, ValueError):
        return False


def _check_scan(scan: Scan, actor: Actor, station: str | None) -> str:
    """What is refused before the plant is asked (and so never recorded): no key, no timezone, wrong requester."""
    if not scan.scan_id.strip():
        raise InvalidCommand("scan_id must not be empty")
    if not scan.scan_id.isprintable() or len(scan.scan_id) > MAX_SCAN_ID_LENGTH:
        raise InvalidCommand(f"scan_id must be printable text of at most {MAX_SCAN_ID_LENGTH} characters")
    if scan.occurred_at.tzinfo is None or scan.occurred_at.utcoffset() is None:
        raise InvalidCommand("occurred_at must carry a timezone")
    if not plausible_time(scan.occurred_at):
        raise InvalidCommand("occurred_at must lie between 1970-01-01 and 9999-12-30 (UTC)")
    if station is not None and scan.station_id != station:
        raise NotAuthorized(f"{actor.subject}'s token is bound to {station}; it cannot scan at {scan.station_id}")
    if scan.override_reason is not None and not actor.may_authorize_overrides:
        raise NotAuthorized(f"override_reason needs a manager's token; {actor.subject} is {actor.role}")
    return scan_fingerprint(scan)


def _scanned_entity(command: Command) -> str:
    """The entity a scan named, as its command names it (the barcode is parsed once, by core)."""
    match command:
        case StartOperation() | CompleteOperation():
            return command.entity_id
        case CutSheet():
            return command.sheet_id
        case RecordQAResult() | ApplySerialNumber() | InsertMemorabilia() | GatherCardUnit():
            return command.card_unit_id
        case PackSet():
            return command.assembly_id
        case CreateJob() | VoidCardUnit() | CreateReplacement():
            raise TypeError(f"{type(command).__name__} is not a scan's command")
        case _:
            assert_never(command)


def _status(state: AggregateState | None, command: Command) -> str:
    """The entity's status in the read models' vocabulary (CONTRACTS section 5)."""
    match state:
        case SheetState() | AssemblyState():
            return state.status
        case CardUnitState():
            if state.voided:
                return "voided"
            if isinstance(command, GatherCardUnit):
                return "assembled"
            if state.qa_result == "PASS":
                return "qa_passed"
            if state.qa_result == "FAIL":
                return "qa_failed"
            return "in_progress" if state.active or state.completed_operations else "created"
        case _:
            return "unknown"


def _replayed(scan: Scan, fingerprint: str, previous: AppendResult) -> ScanOutcome:
    """The original answer to a scan sent again: its outcome, or the same rejection raised again.

    A scan recovered from the lake (`projections.store.recovery`) has no fingerprint and no stored answer: it is
    the same scan if its station, operator and moment are its events', and is answered with their events and the
    entity its barcode names; its state and command were not kept.
    """
    recorded = previous.scan_fingerprint
    if not (_recorded_by(scan, previous.events) if recorded is None else recorded == fingerprint):
        raise ScanIdReused(scan.scan_id)
    outcome = json.loads(previous.outcome or "{}")
    rejected = outcome.get("rejected")
    if rejected is not None:
        error_type = _RECORDED_REJECTIONS.get(rejected.get("error"), RuleViolation)
        raise error_type(str(rejected.get("detail", "")))
    return ScanOutcome(
        scan_id=scan.scan_id,
        entity_id=str(outcome["entity_id"]) if "entity_id" in outcome else parse_entity_id(scan.barcode).entity_id,
        state=str(outcome.get("state", "")),
        command=str(outcome.get("command", "")),
        events=outcome_events(previous.events),
        replayed=True,
    )


def _recorded_by(scan: Scan, events: Sequence[RecordedEvent]) -> bool:
    """Whether `events` are what this scan recorded: the scan's station, operator and moment are theirs."""
    return bool(events) and all(
        (event.station_id, event.operator_id, event.occurred_at)
        == (scan.station_id, scan.operator_id, scan.occurred_at)
        for event in events
    )


def _duplicate_in_batch(
    scan_id: str, fingerprint: str, original_fingerprint: str, original: ScanOutcome | Exception | None
) -> ScanOutcome | Exception:
    if fingerprint != original_fingerprint:
        return ScanIdReused(scan_id, f"scan_id {scan_id!r} appears twice in the batch with different content")
    if isinstance(original, ScanOutcome):
        return ScanOutcome(
            scan_id=original.scan_id,
            entity_id=original.entity_id,
            state=original.state,
            command=original.command,
            events=original.events,
            replayed=True,
        )
    return original if original is not None else InvalidCommand(f"scan {scan_id} was not decided")


def _log_outcome(outcome: ScanOutcome, started: float) -> None:
    if log.isEnabledFor(logging.INFO):
        log.info(
            "scan replayed" if outcome.replayed else "scan recorded",
            extra={
                "scan_id": outcome.scan_id,
                "entity_id": outcome.entity_id,
                "command": outcome.command,
                "state": outcome.state,
                "events": len(outcome.events),
                "ms": round(1000 * (time.perf_counter() - started), 3),
            },
        )


def _log_refusal(scan_id: str, error: Exception, started: float) -> None:
    code = error.code if isinstance(error, DomainError) else type(error).__name__
    log.info(
        "scan refused",
        extra={
            "scan_id": scan_id,
            "error": code,
            "detail": str(error),
            "ms": round(1000 * (time.perf_counter() - started), 3),
        },
    )


def _log_batch(scans: Sequence[Scan], results: Sequence[ScanOutcome | Exception], started: float) -> None:
    refused = 0
    for scan, result in zip(scans, results, strict=True):
        if isinstance(result, ScanOutcome):
            _log_outcome(result, started)
        else:
            refused += 1
            _log_refusal(scan.scan_id, result, started)
    log.info(
        "scan batch",
        extra={
            "scans": len(scans),
            "refused": refused,
            "ms": round(1000 * (time.perf_counter() - started), 3),
        },
    )


def _capture(attempt: Callable[[], ScanOutcome]) -> ScanOutcome | Exception:
    try:
        return attempt()
    except (DomainError, ScanIdReused, ConcurrencyConflict) as error:
        return error
