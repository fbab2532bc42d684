"""`cardtrace serve`: the app under uvicorn (uvloop + httptools), JSON logs, a clean SIGTERM.

On SIGTERM (or Ctrl-C) uvicorn stops accepting connections and waits for the requests in flight; then the app's
lifespan seals every acknowledged event into the lake and closes the store, and `run_server` returns 0.
"""

import contextlib
import json
import logging
import signal
import sys
import threading
import time
from collections import deque
from types import FrameType
from typing import Final, TextIO

import uvicorn

from ingest.app import create_app
from projections.data_dir import DataDir
from projections.store.recovery import check_journal_reaches_lake

GRACEFUL_SECONDS: Final = 30  # requests still running this long after SIGTERM are cut off
FLUSH_SECONDS: Final = 0.1
# What every log record carries; the rest are the caller's `extra` fields (uvicorn's color_message is dropped).
_STANDARD_ATTRIBUTES: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "color_message",
}


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line; extra fields (scan_id, status, ...) are kept as fields for correlation."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        attributes = record.__dict__
        for key in attributes.keys() - _STANDARD_ATTRIBUTES:
            if not key.startswith("_"):
                entry[key] = attributes[key]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class BatchedStreamHandler(logging.Handler):
    """Writes the log lines of the last FLUSH_SECONDS in one write: a line per scan would otherwise cost the
    scan path a write and a flush each. A kill -9 loses at most that much of the log, never an event."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self._pending: deque[logging.LogRecord] = deque()
        self._wake = threading.Event()
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name="cardtrace-log", daemon=True)
        self._writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        self._pending.append(record)

    def flush(self) -> None:
        lines = []
        while self._pending:
            record = self._pending.popleft()
            try:
                lines.append(self.format(record))
            except Exception:
                self.handleError(record)
        if lines:
            with self.lock or contextlib.nullcontext():
                self._stream.write("\n".join(lines) + "\n")
                self._stream.flush()

    def _write_loop(self) -> None:
        while not self._closed:
            self._wake.wait(FLUSH_SECONDS)
            self.flush()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._writer.join(timeout=5)
        self.flush()
        super().close()


def configure_logging(level: int = logging.INFO) -> BatchedStreamHandler:
    # A line per scan: skip gathering what the JSON lines never show (the caller's frame, thread and process
    # names), the switches of the logging HOWTO's "Optimization" section; the caller's frame is the dearest.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = BatchedStreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    for name in ("cardtrace", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    # One line per request is the service's own scan log; uvicorn's access log would double it.
    logging.getLogger("uvicorn.access").disabled = True
    return handler


def _drained(signal_number: int, frame: FrameType | None) -> None:
    logging.getLogger("cardtrace.ingest").info("stopped on signal %d: drained and sealed", signal_number)


def run_server(data_dir: DataDir, host: str = "127.0.0.1", port: int = 8000) -> int:
    """Serve until SIGTERM/SIGINT; 0 once everything acknowledged is sealed."""
    check_journal_reaches_lake(data_dir)  # an operator's problem, said plainly before uvicorn starts
    handler = configure_logging()
    config = uvicorn.Config(
        create_app(data_dir),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        backlog=2048,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises a captured signal once it has shut down gracefully; with the default handlers that would
    # end the process by the signal (SIGINT: a KeyboardInterrupt, exit 130). Drained and sealed by then, the
    # service exits 0 instead.
    previous = {number: signal.signal(number, _drained) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    finally:
        for number, handler_before in previous.items():
            signal.signal(number, handler_before)
        handler.close()
    # uvicorn leaves started=False when the socket could not be bound or the lifespan failed to start.
    return 0 if server.started else 1
