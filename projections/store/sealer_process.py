"""The sealer in a process of its own: the service's event loop and journal writer keep the GIL to themselves.

Sealing is CPU work (rendering, parsing, Parquet encoding) and waits on storage; in the service's process it
competed for the GIL with every scan's decision, and a delta-rs call waiting on hung object storage held the
GIL for up to its timeout, stalling acknowledgements (DECISIONS, ADR-7, has what it changed in speed). Here
the same `Sealer` runs in a child process (`projections.store.sealer_child`) and talks to the store over its
stdin and stdout, one JSON message a line:

    store -> sealer   {"committed": N}          more events are committed (a full batch is waiting)
                      {"seal_through": N}       seal through N now, answer when done
                      {"stop": true}            finish the seal in hand and exit
    sealer -> store   {"sealed": N}             the lake holds everything through N (record it)
                      {"done": N} / {"failed": "...", "corrupted": bool}   the answer to seal_through
                      {"error": "..." | null}   the background loop's last error, when it changes
                      {"stopped": "..."}        the loop stopped for good (a LakeCorrupted)
                      {"log": [name, level, text]}   a log record, logged again in the store's process

The child shares the store's flock on the sealer lock (its descriptor is inherited), so no second sealer can
start while it lives, and it dies with the store: the kernel kills it when its parent dies (PR_SET_PDEATHSIG),
and it exits when its stdin closes. A kill -9 of either is what the crash test already covers for a seal.
"""

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from projections.lake.errors import LakeCorrupted
from projections.lake.table import LakeTable

log = logging.getLogger("cardtrace.sealer")

SPAWN_TIMEOUT_S: Final = 10.0
RESTART_AFTER_S: Final = 1.0  # after the sealer process died unexpectedly
MAX_RESTART_AFTER_S: Final = 30.0  # the longest wait, for one that keeps dying as it starts
LIVED_S: Final = 60.0  # a sealer process that lived this long died of something new: retried at once
ASKS: Final = 3  # a seal_through asked of successive sealer processes, when one dies while asked
STOP_TIMEOUT_S: Final = 120.0  # a seal in hand is finished first: a large chunk to slow storage


class SealerProcessError(RuntimeError):
    """The sealer process is gone or could not answer."""


class SealerProcess:
    """A `Sealer` in a child process, with the interface `EventStore` uses of one."""

    def __init__(
        self,
        *,
        lake: LakeTable,
        journal_path: Path,
        lock_fd: int,
        committed: Callable[[], int],
        on_sealed: Callable[[int], None],
        sealed_through: int,
        interval_s: float,
        batch: int,
    ) -> None:
        self._lake_uri = lake.uri  # the child opens it anew, with the storage options of the same environment
        self._journal_path = journal_path
        self._lock_fd = lock_fd
        self._committed = committed
        self._on_sealed = on_sealed
        self._sealed = sealed_through
        self._interval_s = interval_s
        self._batch = max(1, batch)
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lifecycle = threading.Lock()
        self._keeper: threading.Thread | None = None
        self._send_lock = threading.Lock()
        self._request_lock = threading.Lock()  # one seal_through at a time
        self._answered = threading.Condition()
        self._answer: dict[str, Any] | None = None
        self._loop_stopped = False
        self._asked_committed = sealed_through
        self.last_error: str | None = None

    @property
    def sealed_through(self) -> int:
        return self._sealed

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None and not self._loop_stopped

    def start(self) -> None:
        """Start the keeper thread, which starts the sealer process and another whenever one dies; returns once
        the first is running."""
        spawned = threading.Event()
        self._keeper = threading.Thread(target=self._keep, args=(spawned,), name="cardtrace-sealer-keeper", daemon=True)
        self._keeper.start()
        spawned.wait(SPAWN_TIMEOUT_S)

    def committed_more(self) -> None:
        """After each commit: a full batch waiting is sealed now, not at the child's next tick."""
        committed = self._committed()
        if committed - self._sealed >= self._batch and committed - self._asked_committed >= self._batch:
            self._asked_committed = committed
            # Never raises: the writer calls this after a commit it is about to acknowledge. A sealer process
            # gone for the moment seals the batch when it is back. One short line per batch (50,000 events) never
            # fills the pipe while the child is busy sealing, so the write never blocks the writer.
            with contextlib.suppress(SealerProcessError):
                self._send({"committed": committed})

    def seal_through(self, target: int) -> int:
        """Seal every event up to `target`; returns the lake's high-water mark (as `Sealer.seal_through`).

        A sealer process that dies meanwhile is waited for to be replaced, and asked again (a service stopping
        right after its sealer was killed still seals what it acknowledged)."""
        with self._request_lock:
            for attempt in range(ASKS):
                try:
                    answer = self._ask({"seal_through": target})
                    break
                except SealerProcessError:
                    if attempt == ASKS - 1 or not self._replaced_in(MAX_RESTART_AFTER_S + SPAWN_TIMEOUT_S):
                        raise
        if "failed" in answer:
            if answer.get("corrupted"):
                raise LakeCorrupted(self._lake_uri, str(answer["failed"]))
            raise SealerProcessError(f"sealing failed in the sealer process: {answer['failed']}")
        return int(answer["done"])

    def stop(self) -> None:
        with self._lifecycle:  # no new sealer process starts after this
            self._stopping.set()
            process = self._process
        if process is None:
            return
        with contextlib.suppress(SealerProcessError):
            self._send({"stop": True})
        with contextlib.suppress(OSError):
            if process.stdin is not None:
                process.stdin.close()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.error("the sealer process did not stop in %.0f s; killing it", STOP_TIMEOUT_S)
            process.kill()
            process.wait()
        if self._keeper is not None:
            self._keeper.join()
        self._process = None

    # --- the store's side of the pipe ----------------------------------------------------------------------

    def _ask(self, message: dict[str, object]) -> dict[str, Any]:
        with self._answered:
            self._answer = None
        self._send(message)
        with self._answered:
            while (answer := self._answer_in()) is None:
                if not self._alive():
                    raise SealerProcessError(f"the sealer process exited with code {self._exit_code()}")
                self._answered.wait(0.5)
        return answer

    def _replaced_in(self, seconds: float) -> bool:
        """Whether a live sealer process is there within `seconds` (the keeper replaces a dead one)."""
        deadline = time.monotonic() + seconds
        while not self._alive():
            if self._stopping.is_set() or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _answer_in(self) -> dict[str, Any] | None:
        return self._answer

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _exit_code(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def _send(self, message: dict[str, object]) -> None:
        process = self._process
        if process is None or process.stdin is None:
            raise SealerProcessError("the sealer process is not running")
        with self._send_lock:
            try:
                process.stdin.write((json.dumps(message) + "\n").encode())
                process.stdin.flush()
            except (BrokenPipeError, ValueError) as error:  # it exited (the reader says why)
                raise SealerProcessError(f"the sealer process is gone: {error}") from error

    def _keep(self, spawned: threading.Event) -> None:
        # The kernel kills the child when the thread that started it ends (PR_SET_PDEATHSIG is per thread), so
        # this one thread starts every sealer process and lives as long as they may.
        pause = RESTART_AFTER_S
        while True:
            with self._lifecycle:
                if self._stopping.is_set():
                    break
                process = self._process = self._spawn()
                self._loop_stopped = False
            spawned.set()
            began = time.monotonic()
            code = self._read(process)
            with self._answered:
                self._answered.notify_all()
            if self._stopping.is_set():
                break
            # Killed (the OOM killer, a hand) or crashed: the events wait in the journal; a new sealer takes over
            # from the lake's own mark, so nothing is sealed twice or skipped.
            # One that dies at once again and again (storage out of reach as it starts) is retried ever more
            # slowly: each start costs an interpreter's imports.
            pause = RESTART_AFTER_S if time.monotonic() - began > LIVED_S else min(pause * 2, MAX_RESTART_AFTER_S)
            self.last_error = f"the sealer process exited with code {code}; starting another in {pause:.0f} s"
            log.error("%s", self.last_error)
            if self._stopping.wait(pause):
                break
        spawned.set()

    def _spawn(self) -> "subprocess.Popen[bytes]":
        settings = {
            "journal_path": str(self._journal_path),
            "lake_uri": self._lake_uri,
            "interval_s": self._interval_s,
            "batch": self._batch,
            "store_pid": os.getpid(),
        }
        # The child finds this package as the store's process did (a checkout run without installing it too).
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_source_root(), _pythonpath()]))}
        return subprocess.Popen(
            [sys.executable, "-m", "projections.store.sealer_child", json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=(self._lock_fd,),
            # A process group of its own: Ctrl-C in the terminal is for the service, which stops its sealer
            # after sealing what it acknowledged.
            process_group=0,
            env=environment,
        )

    def _read(self, process: "subprocess.Popen[bytes]") -> int:
        """Dispatch what the process says until it exits; returns its exit code."""
        assert process.stdout is not None
        for line in process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                log.warning("the sealer process said something unreadable: %r", line[:200])
                continue
            self._dispatch(message)
        process.stdout.close()
        return process.wait()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "sealed" in message:
            self._sealed = int(message["sealed"])
            self._on_sealed(self._sealed)
        elif "log" in message:
            name, level, text = message["log"]
            logging.getLogger(name).log(int(level), "%s", text)
        elif "error" in message:
            self.last_error = message["error"]
        elif "stopped" in message:
            self.last_error = message["stopped"]
            self._loop_stopped = True
        elif "done" in message or "failed" in message:
            with self._answered:
                self._answer = message
                self._answered.notify_all()


def _source_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def _pythonpath() -> str:
    return os.environ.get("PYTHONPATH", "")
