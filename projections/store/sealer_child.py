"""The sealer process's own side (`python -m projections.store.sealer_child SETTINGS`): a `Sealer` run for the
store that started it, answering on stdout what it asks on stdin (see `projections.store.sealer_process`).
"""

import contextlib
import ctypes
import io
import json
import logging
import os
import select
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Final

from projections.lake.errors import LakeCorrupted
from projections.lake.table import LakeTable, storage_options_for
from projections.store import journal
from projections.store.sealer import Sealer

_PR_SET_PDEATHSIG: Final = 1


class _Forward(logging.Handler):
    """Every record of the child's loggers goes to the store's process, which logs it again."""

    def __init__(self, say: Callable[[dict[str, object]], None]) -> None:
        super().__init__(logging.DEBUG)
        self._say = say

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self._say({"log": [record.name, record.levelno, record.getMessage()]})


def _die_with_parent(store_pid: int) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux): a sealer never outlives its store."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != store_pid:  # the store died before the request took effect: this one was adopted
        os._exit(1)


def _serve(settings: dict[str, Any], commands: io.RawIOBase, answers: IO[bytes]) -> int:
    """Seal for the store until it says stop or goes away. `commands` is unbuffered on purpose: a buffered reader
    would read a second message ahead, and `select` on the descriptor would not see it waiting."""
    say_lock = threading.Lock()

    def say(message: dict[str, object]) -> None:
        with say_lock:
            answers.write((json.dumps(message) + "\n").encode())
            answers.flush()

    forward = _Forward(say)
    for name in ("cardtrace", "projections"):
        logger = logging.getLogger(name)
        logger.addHandler(forward)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False

    journal_path = Path(settings["journal_path"])
    counter = journal.Readers(journal_path)  # what is committed: read from this thread and the sealer's
    lake = LakeTable(settings["lake_uri"], storage_options_for(settings["lake_uri"]))
    # The lake's own mark, not the store's note of it: a sealer before this one (a process that died) may have
    # committed more than it reported. The store checked at open that the lake holds this journal's history.
    sealed_through = lake.read_high_water_mark() if lake.exists() else 0
    say({"sealed": sealed_through})
    say({"error": None})  # this one starts clean: what the store heard of one before is over
    sealer = Sealer(
        lake=lake,
        journal_path=journal_path,
        committed=lambda: journal.last_sequence(counter.get()),
        on_sealed=lambda upto: say({"sealed": upto}),
        sealed_through=sealed_through,
        interval_s=float(settings["interval_s"]),
        batch=int(settings["batch"]),
    )
    sealer.start()
    reported_error: str | None = None
    stopped = False
    try:
        while True:
            ready, _, _ = select.select([commands], [], [], 0.2)
            if sealer.last_error != reported_error:
                reported_error = sealer.last_error
                say({"error": reported_error})
            if not stopped and not sealer.running:
                stopped = True
                say({"stopped": sealer.last_error or "the sealer stopped"})
            if not ready:
                continue
            line = commands.readline()
            if not line:  # the store closed the pipe (or died): stop
                return 0
            message = json.loads(line)
            if message.get("stop"):
                return 0
            if "committed" in message:
                sealer.committed_more()
            elif "seal_through" in message:
                try:
                    say({"done": sealer.seal_through(int(message["seal_through"]))})
                except LakeCorrupted as problem:
                    say({"failed": problem.problem, "corrupted": True})
                except Exception as error:
                    say({"failed": f"{type(error).__name__}: {error}", "corrupted": False})
    finally:
        sealer.stop()
        counter.close()


def main() -> int:
    settings = json.loads(sys.argv[1])
    _die_with_parent(int(settings["store_pid"]))
    # A service manager's stop may signal every process of the service (and this one starts in a process group
    # of its own, out of the terminal's Ctrl-C): the store decides when its sealer stops, after sealing what it
    # acknowledged, not the signal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # The pipe to the store is this process's stdout: nothing else may write there.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return _serve(settings, io.FileIO(sys.stdin.fileno(), "rb", closefd=False), answers)


if __name__ == "__main__":
    sys.exit(main())
