"""Event log benchmark: durable appends, bulk appends, sealing and restart, against the disk's raw fsync rate.

    .venv/bin/python benchmarks/event_log.py                 # the full run: 1M bulk, 10M-event restart
    .venv/bin/python benchmarks/event_log.py --events 2000000 --bulk 300000 --seconds 3   # a quicker run

Every number is measured in this run on the disk that holds `--dir` (default: a fresh temporary directory),
and the append rate is compared with that disk's raw one-record-per-fsync rate: group commit is what must
beat it. Targets (issue 3, 2-core machine): >= 10,000 appends/s with 32 writers, p99 <= 20 ms, >= 2x the raw
fsync rate; bulk >= 200,000 events/s; sealing >= 500,000 events/s; restart with 10M events <= 5 s. It also
times recovering a lost journal from the lake (`cardtrace recover-journal`), which has no target.
"""

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.progress import track

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.cli.main import tune_garbage_collector
from core.envelope import EventContext, PendingEvent
from core.events import OperationCompleted, OperationStarted, QAResultRecorded
from projections.data_dir import DataDir
from projections.store import Append, EventStore, journal
from projections.store.backup import backup_journal
from projections.store.recovery import recover_journal

START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def raw_fsync_rates(directory: Path, seconds: float = 2.0) -> tuple[float, float]:
    """(records/s with one fsync per record, records/s with 100 records per fsync) on this disk."""
    path = directory / "fsync-probe.bin"
    record = b"x" * 128
    rates = []
    for per_fsync in (1, 100):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        written = 0
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            os.write(fd, record * per_fsync)
            os.fsync(fd)
            written += per_fsync
        rates.append(written / (time.perf_counter() - began))
        os.close(fd)
    path.unlink()
    return rates[0], rates[1]


def card_events(card: str, count: int, *, scan: str | None = None) -> tuple[PendingEvent, ...]:
    """`count` plausible events of one card unit (QA bench start, complete, result)."""
    context = EventContext(occurred_at=START, station_id="QA-BENCH-1", operator_id="OP-7", scan_id=scan)
    sheet = card.rsplit("-", 1)[0]
    job = sheet.split("-", 1)[0]
    shapes = (
        OperationStarted(operation_id="qa", station_id="QA-BENCH-1"),
        OperationCompleted(operation_id="qa", station_id="QA-BENCH-1"),
        QAResultRecorded(operation_id="qa", station_id="QA-BENCH-1", result="PASS", attempt=1),
    )
    return tuple(
        PendingEvent(
            aggregate_type="card_unit",
            aggregate_id=card,
            event=shapes[index % 3],
            context=context,
            job_id=job,
            sheet_id=sheet,
            card_unit_id=card,
        )
        for index in range(count)
    )


def card_id(number: int) -> str:
    return f"J{1001 + number // 1800}-S{number // 18 % 100 + 1:03d}-{number % 18 + 1:02d}"


def concurrent_appends(directory: Path, writers: int, seconds: float) -> tuple[float, float, float, int, float]:
    """(appends/s, p50 ms, p99 ms, appends, CPU µs per append) with `writers` threads, each appending 1-3 events
    to its own cards."""
    plans = _writer_plans(writers, int(seconds * 40_000 / writers) + 1)  # enough for 40,000/s
    latencies: list[list[float]] = [[] for _ in range(writers)]
    stop = threading.Event()
    ready = threading.Barrier(writers + 1)

    with EventStore(DataDir(root=directory), start_sealer=False) as store:

        def write(index: int) -> None:
            own = latencies[index]
            plan = plans[index]
            ready.wait()
            for append in plan:
                if stop.is_set():
                    return
                began = time.perf_counter()
                store.append(append)
                own.append(time.perf_counter() - began)

        threads = [threading.Thread(target=write, args=(index,)) for index in range(writers)]
        for thread in threads:
            thread.start()
        ready.wait()
        began = time.perf_counter()
        cpu_began = time.process_time()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        cpu = time.process_time() - cpu_began
    return _summary([latency for own in latencies for latency in own], elapsed, cpu)


def concurrent_appends_on_a_loop(
    directory: Path, writers: int, seconds: float
) -> tuple[float, float, float, int, float]:
    """As `concurrent_appends`, but the writers are coroutines on one event loop appending through the service's
    group commit (`ingest.service.GroupCommit`): how `cardtrace serve`'s scans reach the store."""
    import asyncio

    from ingest.service import GroupCommit

    plans = _writer_plans(writers, int(seconds * 40_000 / writers) + 1)
    latencies: list[float] = []

    async def run(store: EventStore) -> tuple[float, float]:
        commit = GroupCommit(store)
        stopping = False

        async def write(plan: list[Append]) -> None:
            for append in plan:
                if stopping:
                    return
                began = time.perf_counter()
                await commit.append(append)
                latencies.append(time.perf_counter() - began)

        tasks = [asyncio.create_task(write(plan)) for plan in plans]
        began, cpu_began = time.perf_counter(), time.process_time()
        await asyncio.sleep(seconds)
        stopping = True
        await asyncio.gather(*tasks)
        commit.close()
        return time.perf_counter() - began, time.process_time() - cpu_began

    with EventStore(DataDir(root=directory), start_sealer=False) as store:
        elapsed, cpu = asyncio.run(run(store))
    return _summary(latencies, elapsed, cpu)


def _writer_plans(writers: int, per_writer: int) -> list[list[Append]]:
    """Each writer's appends, prepared up front (so the timed loop measures the store): 1-3 events on its own
    cards."""
    rng = random.Random(7)
    plans = []
    for writer in range(writers):
        cards = [f"J{9000 + writer}-S{n // 18 % 1000 + 1:03d}-{n % 18 + 1:02d}" for n in range(per_writer)]
        plans.append(
            [
                Append(
                    events=card_events(card, rng.randint(1, 3), scan=f"w{writer}-{n}"),
                    expected_versions={card: 0},
                    scan_id=f"w{writer}-{n}",
                    scan_fingerprint="f",
                    outcome='{"state":"qa_passed"}',
                )
                for n, card in enumerate(cards)
            ]
        )
    return plans


def _summary(latencies: list[float], elapsed: float, cpu: float) -> tuple[float, float, float, int, float]:
    flat = sorted(latencies)
    count = len(flat)
    p50 = statistics.median(flat) * 1000
    p99 = flat[min(count - 1, int(count * 0.99))] * 1000
    return count / elapsed, p50, p99, count, cpu / count * 1e6


def bulk_appends(store: EventStore, events: int, *, per_call: int = 20_000, offset: int = 0) -> tuple[float, float]:
    """(events/s, CPU µs per event) of append_many: appends of 1-3 events to distinct cards, `per_call` per call."""
    rng = random.Random(11)
    calls: list[list[Append]] = []
    made = 0
    number = offset
    while made < events:
        call: list[Append] = []
        while len(call) < per_call and made < events:
            count = min(rng.randint(1, 3), events - made)
            card = card_id(number)
            call.append(Append(events=card_events(card, count), expected_versions={card: 0}))
            made += count
            number += 1
        calls.append(call)
    began = time.perf_counter()
    cpu_began = time.process_time()
    for call in calls:
        for outcome in store.append_many(call):
            if isinstance(outcome, Exception):
                raise outcome
    return events / (time.perf_counter() - began), (time.process_time() - cpu_began) / events * 1e6


def build_log(directory: Path, events: int, *, chunk: int = 200_000) -> None:
    """A log of `events` events written straight through the journal's commit (10 events per card unit)."""
    data_dir = DataDir(root=directory)
    with EventStore(data_dir, start_sealer=False):
        pass  # creates the journal and the lake
    connection = journal.connect(data_dir.journal_path, writer=True)
    recorded = journal.to_microseconds(datetime.now(UTC))
    occurred = journal.to_microseconds(START)
    payload = '{"operation_id":"qa","station_id":"QA-BENCH-1"}'
    for low in track(range(0, events, chunk), description=f"building a log of {events:,} events"):
        high = min(events, low + chunk)
        rows = []
        for sequence in range(low + 1, high + 1):
            card = card_id((sequence - 1) // 10)
            version = (sequence - 1) % 10 + 1
            sheet = card[:-3]
            rows.append(
                (
                    sequence,
                    version,
                    recorded,
                    "card_unit",
                    card,
                    "OperationStarted",
                    1,
                    occurred,
                    sheet.split("-")[0],
                    sheet,
                    card,
                    "QA-BENCH-1",
                    "OP-7",
                    None,
                    payload,
                )
            )
        journal.commit(connection, events=rows, scans=(), seal_mark=None)
    connection.close()


def restart_probe(directory: Path) -> tuple[float, float, float, int]:
    """In a fresh process: (seconds from open to the first acknowledged append, peak RSS MiB after the imports,
    peak RSS MiB once ready, last sequence)."""
    done = subprocess.run(
        [sys.executable, __file__, "--restart-probe", str(directory)], capture_output=True, text=True, check=True
    )
    seconds, imported, rss, last = done.stdout.split()
    return float(seconds), float(imported), float(rss), int(last)


def _peak_rss_mib() -> float:
    # VmHWM, not getrusage's ru_maxrss: Linux keeps ru_maxrss across execve, so a child would report the
    # benchmark parent's peak; VmHWM belongs to this process image alone.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _restart_probe_main(directory: Path) -> None:
    imported_mib = _peak_rss_mib()
    began = time.perf_counter()
    store = EventStore(DataDir(root=directory))
    card = "J99999-S001-01"
    store.append(Append(events=card_events(card, 1), expected_versions={card: store.versions([card])[card]}))
    elapsed = time.perf_counter() - began
    last = store.last_sequence()
    store.close()
    print(f"{elapsed:.3f} {imported_mib:.1f} {_peak_rss_mib():.1f} {last}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the log for the restart test")
    parser.add_argument("--bulk", type=int, default=1_000_000, help="events for the bulk append and the seal")
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of the concurrent-append run")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temporary directory)")
    parser.add_argument("--restart-probe", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    tune_garbage_collector()  # the store runs inside `cardtrace serve`, under every command's collector policy
    if args.restart_probe is not None:
        _restart_probe_main(args.restart_probe)
        return

    base = Path(tempfile.mkdtemp(prefix="cardtrace-bench-", dir=args.dir))
    try:
        print(f"cardtrace event log benchmark in {base} ({os.cpu_count()} cores, Python {sys.version.split()[0]})")
        # Other processes on the machine skew every number here: say how busy it was.
        print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        one, hundred = raw_fsync_rates(base)
        print(f"raw fsync baseline: {one:,.0f} records/s (1 per fsync), {hundred:,.0f} records/s (100 per fsync)")

        rate, p50, p99, count, append_cpu = concurrent_appends(base / "concurrent", args.writers, args.seconds)
        print(
            f"durable appends, {args.writers} writers: {rate:,.0f} appends/s ({count:,} in {args.seconds:.0f}s),"
            f" p50 {p50:.2f} ms, p99 {p99:.2f} ms, {rate / one:.2f}x the raw 1-record fsync rate;"
            f" {append_cpu:.0f} µs CPU per append"
        )

        rate, p50, p99, count, append_cpu = concurrent_appends_on_a_loop(base / "loop", args.writers, args.seconds)
        print(
            f"durable appends, {args.writers} coroutines through the service's group commit: {rate:,.0f} appends/s"
            f" ({count:,}), p50 {p50:.2f} ms, p99 {p99:.2f} ms, {rate / one:.2f}x the raw 1-record fsync rate;"
            f" {append_cpu:.0f} µs CPU per append"
        )

        bulk_dir = DataDir(root=base / "bulk")
        with EventStore(bulk_dir, start_sealer=False) as store:
            bulk_rate, bulk_cpu = bulk_appends(store, args.bulk)
            print(
                f"bulk append (append_many, 20,000 appends per call): {bulk_rate:,.0f} events/s ({args.bulk:,});"
                f" {bulk_cpu:.1f} µs CPU per event"
            )
            began = time.perf_counter()
            cpu_began = time.process_time()
            sealed = store.seal_now()
            seal_rate = sealed / (time.perf_counter() - began)
            seal_cpu = (time.process_time() - cpu_began) / sealed * 1e6
            print(
                f"sealing into the Delta lake: {seal_rate:,.0f} events/s ({sealed:,} events);"
                f" {seal_cpu:.2f} µs CPU per event (all threads)"
            )
        small_seconds, small_imported, small_rss, _ = restart_probe(bulk_dir.root)
        print(
            f"restart with {args.bulk:,} events: ready in {small_seconds:.2f} s, peak RSS {small_rss:,.0f} MiB"
            f" ({small_imported:,.0f} MiB of it is the imports)"
        )

        # The journal's disk lost, the lake kept: how fast `cardtrace recover-journal` brings the journal back.
        shutil.rmtree(bulk_dir.journal_path.parent)
        began = time.perf_counter()
        recovered = recover_journal(bulk_dir).events_copied
        recovery_rate = recovered / (time.perf_counter() - began)
        print(f"journal recovered from the lake: {recovery_rate:,.0f} events/s ({recovered:,} events)")

        big = base / "restart"
        began = time.perf_counter()
        build_log(big, args.events)
        print(f"  (built a {args.events:,}-event journal in {time.perf_counter() - began:.0f} s; sealing it...)")
        with EventStore(DataDir(root=big), start_sealer=False, seal_batch=500_000) as store:
            began = time.perf_counter()
            store.seal_now()
            print(f"  (sealed {args.events:,} events in {time.perf_counter() - began:.0f} s)")
        # A tail of unsealed events, as after a crash: the restart must not wait for it.
        with EventStore(DataDir(root=big), start_sealer=False) as store:
            bulk_appends(store, 20_000, offset=10_000_000)
        seconds, imported, rss, last = restart_probe(big)
        print(
            f"restart with {last - 1:,} events (20,000 unsealed): ready in {seconds:.2f} s, peak RSS {rss:,.0f} MiB"
            f" ({imported:,.0f} MiB of it is the imports)"
        )
        # A backup of the big journal (`cardtrace backup-journal`), against a plain copy of its file.
        source = DataDir(root=big).journal_path
        began = time.perf_counter()
        shutil.copyfile(source, base / "plain-copy.sqlite3")
        plain_seconds = time.perf_counter() - began
        (base / "plain-copy.sqlite3").unlink()
        began = time.perf_counter()
        copy = backup_journal(DataDir(root=big), base / "backup.sqlite3")
        backup_seconds = time.perf_counter() - began
        print(
            f"journal backup of {copy.last_sequence:,} events ({copy.size_bytes / 2**20:,.0f} MiB):"
            f" {backup_seconds:.1f} s, {backup_seconds / plain_seconds:.1f}x a plain copy of the file"
            f" ({plain_seconds:.1f} s)"
        )
        print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
