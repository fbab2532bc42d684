"""Keeps the stored read models close behind the log while a service runs.

Readers (the HTTP reads, the dashboard) fold only the events newer than the stored read models, so how far those
lag decides how much every read folds. The keeper refreshes them on a fixed period in a daemon thread; a failed
refresh is logged and retried on the next tick, because a stale read model is slower, never wrong.
"""

import logging
import threading
from typing import Final

from projections.data_dir import DataDir
from projections.materialize import refresh

DEFAULT_PERIOD_S: Final = 60.0
_log = logging.getLogger("cardtrace.projections")


class ReadModelKeeper:
    """Refreshes one data directory's read models every `period_s` seconds until stopped."""

    def __init__(self, data_dir: DataDir, period_s: float = DEFAULT_PERIOD_S) -> None:
        if period_s <= 0:
            raise ValueError(f"the refresh period must be positive, not {period_s}")
        self._data_dir = data_dir
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cardtrace-read-models", daemon=True)
        self.refreshed_through = 0  # the log sequence the stored read models last reached

    def start(self) -> "ReadModelKeeper":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def refresh_now(self) -> int:
        """One refresh; the sequence the read models reach."""
        self.refreshed_through = refresh(self._data_dir).last_sequence
        return self.refreshed_through

    def _run(self) -> None:
        while not self._stop.wait(self._period_s):
            try:
                self.refresh_now()
            except Exception:  # a stale read model is slower, not wrong: keep serving, try again next tick
                _log.exception("refreshing the read models failed; retrying in %.0f s", self._period_s)
