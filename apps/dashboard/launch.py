"""Serving the dashboard: `streamlit run` on the one entrypoint, bound to 127.0.0.1, on the lake in a data directory.

The Streamlit server is its own process (it owns its event loop and its script threads); the data directory reaches
it through `CARDTRACE_DATA`, the same variable every command reads (CONTRACTS section 7).
"""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from projections.data_dir import DataDir

ENTRYPOINT = Path(__file__).resolve().parent / "streamlit_app.py"
DEFAULT_HOST = "127.0.0.1"


def dashboard_command(port: int = 8501, host: str = DEFAULT_HOST) -> list[str]:
    """The `streamlit run` command line: headless, no file watcher (a served app does not reload its own code)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ENTRYPOINT),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]


def dashboard_environment(data_dir: DataDir) -> dict[str, str]:
    environment = {**os.environ, "CARDTRACE_DATA": str(data_dir.root.resolve())}
    if data_dir.lake_uri_override:
        environment["CARDTRACE_LAKE_URI"] = data_dir.lake_uri_override
    return environment


def start_apps(data_dir: DataDir, port: int = 8501, host: str = DEFAULT_HOST) -> subprocess.Popen[bytes]:
    """The dashboard server as a child process (for `cardtrace demo`, which runs it beside the HTTP service)."""
    return subprocess.Popen(dashboard_command(port, host), env=dashboard_environment(data_dir))


def run_apps(data_dir: DataDir, port: int = 8501) -> int:
    """Serve the dashboard on 127.0.0.1:`port` until it stops, is interrupted or is sent SIGTERM; its exit code."""
    server = start_apps(data_dir, port)
    previous = None
    if threading.current_thread() is threading.main_thread():
        # A SIGTERM to `cardtrace apps` must not orphan the server: pass it on, then wait for it below.
        previous = signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        return _reap(server)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _reap(server: subprocess.Popen[bytes]) -> int:
    try:
        return server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        return server.wait()
