"""Any interleaving of appends, retries and restarts yields the log of the acknowledged appends in a serial order."""

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.envelope import PendingEvent
from projections.data_dir import DataDir
from projections.store import Append, AppendResult, ConcurrencyConflict, EventStore, ScanIdReused
from tests.integration.store.conftest import sheet_completed, sheet_started

SHEETS = ("J1044-S001", "J1044-S002", "J1044-S003")


@dataclass(frozen=True)
class Intent:
    """One append a scanner means to send: what it writes, what it read, which scan it is."""

    writes: tuple[int, ...]  # indexes into SHEETS, one event each (repeats allowed)
    reads: tuple[int, ...]  # sheets read without writing: their versions are checked too
    stale: bool  # state a version the sheet had moved past (or not reached): must conflict
    scan: int | None  # scan number; None for an office command without a scan_id
    fingerprint: str


intents = st.builds(
    Intent,
    writes=st.lists(st.integers(0, 2), max_size=3).map(tuple),
    reads=st.lists(st.integers(0, 2), max_size=2).map(tuple),
    stale=st.sampled_from([False, False, False, True]),
    scan=st.none() | st.integers(0, 7),
    fingerprint=st.sampled_from(["a", "a", "a", "b"]),
)
rounds = st.tuples(st.lists(intents, min_size=1, max_size=6), st.booleans())


def _append(intent: Intent, versions: dict[str, int]) -> Append:
    events: list[PendingEvent] = []
    for position, index in enumerate(intent.writes):
        sheet = SHEETS[index]
        scan = f"scan-{intent.scan}" if intent.scan is not None else None
        events.append((sheet_started if position % 2 == 0 else sheet_completed)(sheet, scan=scan))
    touched = {SHEETS[index] for index in intent.writes + intent.reads}
    expected = {sheet: versions[sheet] for sheet in touched}
    if intent.stale and expected:
        first = sorted(expected)[0]
        expected[first] += 1
    return Append(
        events=tuple(events),
        expected_versions=expected,
        scan_id=None if intent.scan is None else f"scan-{intent.scan}",
        scan_fingerprint=intent.fingerprint,
        outcome=f'{{"writes": {len(events)}}}',
    )


def _send_concurrently(store: EventStore, appends: list[Append]) -> list[AppendResult | Exception]:
    outcomes: list[AppendResult | Exception | None] = [None] * len(appends)
    barrier = threading.Barrier(len(appends))

    def send(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = store.append(appends[index])
        except (ConcurrencyConflict, ScanIdReused) as refused:
            outcomes[index] = refused

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(appends))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [outcome for outcome in outcomes if outcome is not None]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=st.lists(rounds, min_size=1, max_size=5))
def test_any_interleaving_of_appends_retries_and_restarts_is_the_serial_log_of_the_acknowledged_ones(
    program: list[tuple[list[Intent], bool]],
) -> None:
    with tempfile.TemporaryDirectory() as root:
        data_dir = DataDir(root=Path(root))
        store = EventStore(data_dir, start_sealer=False)
        sent: list[tuple[Append, AppendResult | Exception]] = []
        try:
            for batch, restart in program:
                versions = store.versions(SHEETS)
                appends = [_append(intent, versions) for intent in batch]
                sent.extend(zip(appends, _send_concurrently(store, appends), strict=True))
                if restart:
                    store.close()
                    store = EventStore(data_dir, start_sealer=False)
            log = store.read(0, 10_000)
        finally:
            store.close()

    # The log is gapless and each acknowledged original sits in it whole, in its own order, and nothing else does.
    assert [event.sequence_num for event in log] == list(range(1, len(log) + 1))
    originals = [(a, r) for a, r in sent if isinstance(r, AppendResult) and not r.replayed]
    claimed = sorted(event.sequence_num for _, result in originals for event in result.events)
    assert claimed == list(range(1, len(log) + 1))
    for append, result in originals:
        assert [e.event for e in result.events] == [p.event for p in append.events]
        assert [log[e.sequence_num - 1] for e in result.events] == list(result.events)

    # Replayed serially in log order, every acknowledged append read exactly the versions it stated.
    model = dict.fromkeys(SHEETS, 0)
    for append, result in sorted(originals, key=lambda pair: pair[1].events[0].sequence_num if pair[1].events else 0):
        if not result.events:
            continue
        assert {sheet: model[sheet] for sheet in append.expected_versions} == dict(append.expected_versions)
        for event in result.events:
            model[event.aggregate_id] += 1
            assert event.aggregate_version == model[event.aggregate_id]

    # A scan_id has one recorded answer: retries got it back, other content was refused.
    recorded: dict[str | None, tuple[str | None, AppendResult]] = {
        a.scan_id: (a.scan_fingerprint, r) for a, r in originals if a.scan_id is not None
    }
    assert len(recorded) == sum(1 for a, _ in originals if a.scan_id is not None)
    for append, outcome in sent:
        if isinstance(outcome, AppendResult) and outcome.replayed:
            fingerprint, original = recorded[append.scan_id]
            assert fingerprint == append.scan_fingerprint
            assert outcome.events == original.events
        if isinstance(outcome, ScanIdReused):
            assert recorded[append.scan_id][0] != append.scan_fingerprint
        if isinstance(outcome, ConcurrencyConflict):
            assert outcome.expected != outcome.actual
