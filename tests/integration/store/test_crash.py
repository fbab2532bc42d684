"""kill -9 at random moments, inside a seal and inside a compaction: nothing acknowledged is lost or doubled."""

import contextlib
import multiprocessing
import os
import random
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from deltalake import DeltaTable

from projections.data_dir import DataDir
from projections.lake.table import FileLock, LakeTable, sealer_lock_path
from projections.store import Append, EventStore
from projections.store.journal import sealed_sequence
from tests.integration.store import crash_child

CYCLES = 24
Ack = tuple[str, int, int]  # scan_id, first sequence_num, events


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _wait_for(path: Path, predicate: Callable[[list[str]], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate(_lines(path)):
        if time.monotonic() > deadline:
            raise AssertionError(f"the child never got there: {_lines(path)[-3:]}")
        time.sleep(0.005)


def _acks(path: Path) -> list[Ack]:
    found = []
    for line in _lines(path):
        if line.startswith("ack "):
            _, scan, first, count = line.split()
            found.append((scan, int(first), int(count)))
    return found


def _check_after_restart(data_dir: DataDir, acked: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """Every promise kept exactly once, in the journal and then in the lake; returns (journal, lake-before) marks."""
    # A sealer process dies with the killed store (the kernel kills it): wait until it is gone, lock and all.
    lock = FileLock(sealer_lock_path(data_dir))
    assert lock.acquire(wait_s=10), f"{lock.path} is still held after the crash"
    lock.release()
    # Both marks as the crash left them, before the store's recovery brings the journal's cached one up to date.
    lake_mark = LakeTable.for_data_dir(data_dir).read_high_water_mark()
    with contextlib.closing(sqlite3.connect(data_dir.journal_path)) as journal:
        journal_mark = sealed_sequence(journal)
    with EventStore(data_dir, start_sealer=False) as store:
        assert store.lake_problem is None, store.lake_problem  # the table opens and accounts for every file
        log = store.read_arrow(0)
        last = store.last_sequence()
        assert log.column("sequence_num").to_pylist() == list(range(1, last + 1))
        per_scan = Counter(log.column("scan_id").to_pylist())
        for scan, (first, count) in acked.items():
            assert per_scan[scan] == count, f"{scan} acknowledged with {count} events, journal has {per_scan[scan]}"
            if count:
                assert log.column("sequence_num")[first - 1].as_py() == first
                assert log.column("scan_id")[first - 1].as_py() == scan
        engine = duckdb.connect()
        engine.register("log", log)
        versions = engine.sql(
            "SELECT aggregate_id, count(*) AS n, count(DISTINCT aggregate_version) AS d, max(aggregate_version) AS m"
            " FROM log GROUP BY aggregate_id HAVING n <> d OR n <> m"
        ).fetchall()
        assert versions == [], f"aggregates with duplicate or missing versions: {versions[:5]}"
        # A retry after the crash gets the original answer back.
        for scan, (first, count) in list(acked.items())[-3:]:
            again = store.append(Append(events=(), expected_versions={}, scan_id=scan, scan_fingerprint=f"fp-{scan}"))
            assert again.replayed
            assert [e.sequence_num for e in again.events] == list(range(first, first + count))
        assert store.seal_now() == last
        lake = DeltaTable(data_dir.lake_uri).to_pyarrow_table().sort_by("sequence_num")
        assert lake.num_rows == last
        assert lake.equals(log), "the lake differs from the journal"
    return journal_mark, lake_mark


@pytest.mark.slow
def test_kill_9_at_any_moment_loses_no_acknowledged_append_and_doubles_none(tmp_path: Path) -> None:
    context = multiprocessing.get_context("forkserver")
    # One process imports the store once; each child is a fork of it, so a cycle costs no interpreter start.
    context.set_forkserver_preload(["tests.integration.store.crash_child"])
    data_dir = DataDir(root=tmp_path / "data")
    rng = random.Random(20261102)
    acked: dict[str, tuple[int, int]] = {}
    kills_inside_a_seal = 0
    kills_inside_a_compaction = 0
    for cycle in range(CYCLES):
        kind = ("random", "random", "seal", "random", "compact", "random")[cycle % 6]
        in_process = cycle // 6 % 2 == 1  # every other round of six seals in a process of its own, as a service
        ack_path = tmp_path / f"acks-{cycle}.txt"
        child = context.Process(
            target=crash_child.run,
            args=(
                str(data_dir.root),
                str(ack_path),
                cycle,
                0.3 if kind == "seal" else 0.0,
                kind == "compact",
                in_process,
            ),
        )
        child.start()
        _wait_for(ack_path, lambda lines: "ready" in lines)
        if kind == "compact":
            _wait_for(ack_path, lambda lines: lines.count("compact-start") >= 2)
            time.sleep(rng.uniform(0.0, 0.03))
        elif kind == "seal":
            _wait_for(ack_path, lambda lines: lines.count("seal-paused") >= 2)
            time.sleep(rng.uniform(0.0, 0.1))  # well inside the sealer's 0.3 s pause
        else:
            time.sleep(rng.uniform(0.05, 0.8))
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL
        lines = _lines(ack_path)
        marks = [line for line in lines if line.startswith("compact")]
        if kind == "compact" and marks and marks[-1] == "compact-start":
            kills_inside_a_compaction += 1
        for scan, first, count in _acks(ack_path):
            assert acked.setdefault(scan, (first, count)) == (first, count), f"{scan} acknowledged twice differently"
        journal_mark, lake_mark = _check_after_restart(data_dir, acked)
        if kind == "seal" and lake_mark > journal_mark:
            kills_inside_a_seal += 1  # the lake had committed what the journal had not yet noted
    print(f"{len(acked)} acknowledged scans, {kills_inside_a_seal} kills inside a seal,", end=" ")
    print(f"{kills_inside_a_compaction} inside a compaction")
    assert len(acked) > 1_000
    assert kills_inside_a_seal == CYCLES // 6
    assert kills_inside_a_compaction >= 1
