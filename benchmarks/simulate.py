"""Simulation benchmark: 30 simulated days of the default plant, in-process, end to end through the ingest service
and the event store, against a baseline measured in the same run on the same machine.

In one run, each step on a fresh data directory:
  1. baseline: the event store's raw `append_many` rate (prepared appends of one event each, 2,000 per call: no
     decisions, no simulation) - what the store alone sustains here;
  2. the plant model alone over the same days (a floor that only counts): the simulator's own share;
  3. `simulate(days)`: model + ScanService.submit_scans + EventStore, sealing into the lake included;
  4. determinism: the same seed twice over `--determinism-days`: the logs must be identical apart from recorded_at.
Prints events/s, the ratio to the baseline, and the targets (<= 120 s for 30 days, >= 30,000 events/s).

    .venv/bin/python -m benchmarks.simulate                        # ~2-4 minutes
    .venv/bin/python -m benchmarks.simulate --days 5 --determinism-days 1
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

TARGET_SECONDS_30_DAYS = 120.0
TARGET_EVENTS_PER_S = 30_000.0
BASELINE_EVENTS = 200_000
BASELINE_BATCH = 2_000


def baseline(root: Path) -> float:
    """Events/s of EventStore.append_many alone: one OperationStarted per append, on fresh sheets."""
    from core.envelope import EventContext, PendingEvent
    from core.events import OperationStarted
    from projections.data_dir import DataDir
    from projections.store import Append, EventStore

    moment = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    batches = []
    for first in range(0, BASELINE_EVENTS, BASELINE_BATCH):
        batch = []
        for number in range(first, first + BASELINE_BATCH):
            sheet = f"J{1000 + number // 999:04d}-S{number % 999 + 1:03d}"
            event = PendingEvent(
                aggregate_type="sheet",
                aggregate_id=sheet,
                event=OperationStarted(operation_id="press", station_id="PRESS-1"),
                context=EventContext(
                    occurred_at=moment + timedelta(seconds=number),
                    station_id="PRESS-1",
                    operator_id="OP-101",
                    scan_id=f"baseline-{number}",
                ),
                job_id=sheet[:5],
                sheet_id=sheet,
            )
            batch.append(
                Append(
                    events=(event,),
                    expected_versions={sheet: 0},
                    scan_id=f"baseline-{number}",
                    scan_fingerprint=f"{number:064x}",
                    outcome='{"state":"in_progress"}',
                )
            )
        batches.append(batch)
    with EventStore(DataDir(root=root), start_sealer=False) as store:
        started = time.perf_counter()
        for batch in batches:
            answers = store.append_many(batch)
            assert not any(isinstance(answer, Exception) for answer in answers)
        return BASELINE_EVENTS / (time.perf_counter() - started)


def model_alone(days: float, seed: int) -> tuple[float, int]:
    from apps.simulate.plant_model import CountingFloor, PlantModel
    from projections.data_dir import DEFAULT_FACTORY, load_factory

    floor = CountingFloor()
    started = time.perf_counter()
    model = PlantModel(load_factory(DEFAULT_FACTORY), floor, seed=seed, days=days)
    model.run_until(model.horizon)
    model.finish()
    return time.perf_counter() - started, floor.scans


def log_digest(root: Path) -> tuple[str, int]:
    """sha256 over every event's log content except recorded_at, in sequence order."""
    from core.events import to_payload
    from projections.data_dir import DataDir
    from projections.store import EventStore

    digest = hashlib.sha256()
    count = 0
    with EventStore(DataDir(root=root), read_only=True) as store:
        while chunk := store.read(count, 50_000):
            for event in chunk:
                fields = (
                    event.sequence_num,
                    event.event_type,
                    event.aggregate_type,
                    event.aggregate_id,
                    event.aggregate_version,
                    sorted(to_payload(event.event).items()),
                    event.occurred_at.isoformat(),
                    event.job_id,
                    event.sheet_id,
                    event.card_unit_id,
                    event.station_id,
                    event.operator_id,
                    event.scan_id,
                )
                digest.update(repr(fields).encode())
            count += len(chunk)
    return digest.hexdigest(), count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--determinism-days", type=float, default=2.0)
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    args = parser.parse_args()

    from apps.cli.main import tune_garbage_collector
    from apps.simulate.runner import simulate
    from projections.data_dir import DataDir

    tune_garbage_collector()  # as `cardtrace simulate` runs
    work = Path(tempfile.mkdtemp(prefix="cardtrace-simulate-bench-"))
    print(f"cardtrace simulation benchmark; {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}; data {work}")

    store_rate = baseline(work / "baseline")
    print(f"baseline: EventStore.append_many       {store_rate:>12,.0f} events/s")

    model_seconds, model_scans = model_alone(args.days, args.seed)
    print(f"plant model alone ({args.days:g} days)       {model_seconds:>9.1f} s for {model_scans:,} scans")

    cpu = time.process_time()
    summary = simulate(DataDir(root=work / "run"), days=args.days, seed=args.seed, progress=True)
    cpu = time.process_time() - cpu  # every thread of this process: model, decisions, journal writer, sealer
    rate = summary.events_per_second
    print(summary.render())
    print(f"end to end ({args.days:g} days)              {summary.seconds:>9.1f} s for {summary.events:,} events")
    print(f"                                     {rate:>12,.0f} events/s ({rate / store_rate:.2f}x the raw store)")
    print(f"  of which the plant model           {model_seconds / summary.seconds:>12.0%} of the wall time")
    print(f"  CPU time (all threads)             {cpu:>9.1f} s: {summary.events / cpu:,.0f} events per CPU-second")
    print(
        f"  (wall/CPU {summary.seconds / cpu:.2f} on {os.cpu_count()} cores; above 1: waiting on I/O or a busy machine)"
    )

    first = simulate(DataDir(root=work / "same-1"), days=args.determinism_days, seed=args.seed, progress=False)
    second = simulate(DataDir(root=work / "same-2"), days=args.determinism_days, seed=args.seed, progress=False)
    digest_one, count_one = log_digest(work / "same-1")
    digest_two, count_two = log_digest(work / "same-2")
    same = digest_one == digest_two and count_one == count_two == first.events == second.events
    print(
        f"determinism ({args.determinism_days:g} days twice)       {'identical' if same else 'DIFFERENT'}: "
        f"{count_one:,} events, sha256 {digest_one[:16]}"
    )

    seconds_for_30 = summary.seconds * 30.0 / args.days
    print("\ntargets:")
    print(
        f"  30 simulated days <= {TARGET_SECONDS_30_DAYS:.0f} s          {seconds_for_30:>9.1f} s"
        f"{'' if args.days == 30 else ' (scaled)'}  {'ok' if seconds_for_30 <= TARGET_SECONDS_30_DAYS else 'MISSED'}"
    )
    print(
        f"  >= {TARGET_EVENTS_PER_S:,.0f} events/s end to end   {rate:>12,.0f}      "
        f"{'ok' if rate >= TARGET_EVENTS_PER_S else 'MISSED'}"
    )
    print(f"  same seed, same log                {'ok' if same else 'MISSED'}")
    refused = summary.refused_scans + summary.refused_commands
    print(f"  refused scans and office commands  {refused:>12,}      {'ok' if refused == 0 else 'MISSED'}")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if same and refused == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
