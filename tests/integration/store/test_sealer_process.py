"""The sealer in a process of its own (what `cardtrace serve` runs): it seals, it is replaced when killed, and it
never outlives its store."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from deltalake import DeltaTable

from projections.data_dir import DataDir
from projections.lake.table import FileLock, LakeTable, sealer_lock_path
from projections.store import Append, EventStore
from tests.integration.store.conftest import press_scan, sheet_completed, wait_for


def _sealer_pids(parent: int) -> list[int]:
    """The live sealer processes among `parent`'s children."""
    children = [
        int(pid) for listing in Path(f"/proc/{parent}/task").glob("*/children") for pid in listing.read_text().split()
    ]
    found = []
    for pid in children:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"projections.store.sealer_child" in command and not _is_zombie(pid):
            found.append(pid)
    return found


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _press(store: EventStore, first: int, count: int) -> None:
    for number in range(first, first + count):
        sheet = f"J1044-S{number:03d}"
        store.append(press_scan(sheet, f"press-{number}"))
        store.append(Append(events=(sheet_completed(sheet),), expected_versions={sheet: 1}))


def _lake_sequence(data_dir: DataDir) -> list[int]:
    """Every sequence_num in the lake, in order, as plain deltalake reads it."""
    numbers: list[int] = DeltaTable(data_dir.lake_uri).to_pyarrow_table(columns=["sequence_num"]).column(0).to_pylist()
    return sorted(numbers)


def test_a_store_sealing_in_a_process_of_its_own_seals_in_the_background(data_dir: DataDir) -> None:
    with EventStore(data_dir, seal_in_process=True, seal_interval_s=0.1) as store:
        wait_for(lambda: len(_sealer_pids(os.getpid())) == 1, 30, "a sealer process")
        _press(store, 1, 20)
        wait_for(lambda: store.health()["seal_lag_events"] == 0, 30, store.health)
        assert store.health()["sealing"] is True
        _press(store, 21, 5)
        assert store.seal_now() == store.last_sequence() == 50
    assert _sealer_pids(os.getpid()) == []  # closing the store stopped it
    assert _lake_sequence(data_dir) == list(range(1, 51))


def test_a_killed_sealer_process_is_replaced_and_nothing_is_sealed_twice(data_dir: DataDir) -> None:
    with EventStore(data_dir, seal_in_process=True, seal_interval_s=0.1) as store:
        _press(store, 1, 10)
        wait_for(lambda: store.health()["seal_lag_events"] == 0, 30, store.health)
        (first,) = _sealer_pids(os.getpid())
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: "exited with code -9" in str(store.health()["sealer_error"]), 10, store.health)
        _press(store, 11, 10)  # the journal acknowledges meanwhile
        wait_for(lambda: _sealer_pids(os.getpid()) not in ([], [first]), 30, "another sealer process")
        wait_for(lambda: store.health()["sealed_sequence"] == 40, 30, store.health)
        assert store.health()["sealer_error"] is None  # healthy again
    assert _lake_sequence(data_dir) == list(range(1, 41))


_STORE_PROCESS = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from projections.data_dir import DataDir
    from projections.store import EventStore
    store = EventStore(DataDir(root=Path(sys.argv[1])), seal_in_process=True)
    print("open", flush=True)
    time.sleep(600)
    """
)


def test_the_sealer_process_dies_with_its_store_and_lets_the_next_one_seal(data_dir: DataDir) -> None:
    with EventStore(data_dir, start_sealer=False) as store:
        _press(store, 1, 3)
    owner = subprocess.Popen(
        [sys.executable, "-c", _STORE_PROCESS, str(data_dir.root)], stdout=subprocess.PIPE, cwd=Path.cwd()
    )
    try:
        assert owner.stdout is not None
        assert owner.stdout.readline().strip() == b"open"
        wait_for(lambda: len(_sealer_pids(owner.pid)) == 1, 30, "the store's sealer process")
        (sealer,) = _sealer_pids(owner.pid)
        wait_for(lambda: LakeTable.for_data_dir(data_dir).exists(), 30, "the first seal")
    finally:
        owner.kill()  # kill -9: no close, no stop message
        owner.wait()
    wait_for(lambda: not Path(f"/proc/{sealer}").exists() or _is_zombie(sealer), 10, "the sealer to die")
    lock = FileLock(sealer_lock_path(data_dir))
    # Nobody holds the sealer lock any more, once the kernel has released the dead processes' files (deferred).
    assert lock.acquire(wait_s=2)
    lock.release()
    with EventStore(data_dir, seal_in_process=True, seal_interval_s=0.1) as store:
        _press(store, 4, 2)
        assert store.seal_now() == 10
    assert _lake_sequence(data_dir) == list(range(1, 11))


def test_the_sealer_process_seals_into_the_lake_the_store_was_given(tmp_path: Path) -> None:
    elsewhere = tmp_path / "object-storage" / "events"  # as CARDTRACE_LAKE_URI would name it
    data_dir = DataDir(root=tmp_path / "data", lake_uri_override=str(elsewhere))
    with EventStore(data_dir, seal_in_process=True, seal_interval_s=0.1) as store:
        _press(store, 1, 2)
        assert store.seal_now() == 4
    assert _lake_sequence(data_dir) == [1, 2, 3, 4]
    assert not (tmp_path / "data" / "lake").exists()


def test_messages_sent_back_to_back_are_each_answered(data_dir: DataDir) -> None:
    # A batch of one: every commit tells the sealer process so, and seal_now's question follows on their heels.
    with EventStore(data_dir, seal_in_process=True, seal_interval_s=60, seal_batch=1) as store:
        wait_for(lambda: len(_sealer_pids(os.getpid())) == 1, 30, "a sealer process")
        for round_number in range(5):
            _press(store, 1 + 3 * round_number, 3)
            answered: list[int] = []
            asking = threading.Thread(target=lambda into=answered: into.append(store.seal_now()), daemon=True)
            asking.start()
            asking.join(30)
            assert answered == [store.last_sequence()], "seal_now was never answered"
