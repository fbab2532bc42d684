"""`cardtrace demo`: a living plant on a fresh clone, in one command.

1. If the data directory holds no event log yet, simulate about three weeks of the demo plant into it (up to now,
   with a progress bar); otherwise reuse what is there.
2. Issue bearer tokens for an operator, a manager, a planner and an analyst.
3. Start `cardtrace serve` on 127.0.0.1 and wait for its /health; start the Streamlit apps (`cardtrace apps`) if
   they exist.
4. Keep a live trickle of scans flowing through the HTTP API in real time, and print the URLs and the tokens.
5. On Ctrl-C (SIGINT) or SIGTERM: stop the trickle, the apps, then the server (which seals every acknowledged
   event into the lake), and exit 0.

`CARDTRACE_DEMO_DAYS` (a number of days) shortens the first simulation, e.g. for a quick look or a test.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import BinaryIO, Final

import httpx
from rich.console import Console
from rich.table import Table

from apps.simulate.live import LiveProgress, run_live
from apps.simulate.runner import simulate
from core.commands import Role
from ingest.tokens import issue_token
from projections.data_dir import DataDir
from projections.materialize import refresh
from projections.store import EventStore

DEMO_SEED: Final = 7
DEMO_WEEKS: Final = 3
DAYS_VARIABLE: Final = "CARDTRACE_DEMO_DAYS"
HEALTH_TIMEOUT_S: Final = 90.0
STOP_TIMEOUT_S: Final = 90.0
ROLES: Final[tuple[Role, ...]] = ("operator", "manager", "planner", "analyst")
STREAMLIT_APP: Final = Path(__file__).resolve().parent / "dashboard" / "streamlit_app.py"


def run_demo(data_dir: DataDir, port: int = 8000, apps_port: int = 8501) -> int:
    """Prepare the demo plant in `data_dir`, run everything a user looks at until interrupted; 0 on a clean stop."""
    console = Console()
    data_dir.root.mkdir(parents=True, exist_ok=True)
    try:
        with _interrupts_raise():
            _prepare_plant(data_dir, console)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted while preparing the plant; what was simulated is kept[/]")
        return 0
    tokens = {role: issue_token(data_dir, role, subject=f"demo-{role}") for role in ROLES}
    logs = data_dir.simulation_dir
    logs.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    previous_handlers = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    with (logs / "demo-serve.log").open("ab") as serve_log, (logs / "demo-apps.log").open("ab") as apps_log:
        server = _start(data_dir, ["serve", "--host", "127.0.0.1", "--port", str(port)], serve_log)
        apps: subprocess.Popen[bytes] | None = None
        live: threading.Thread | None = None
        outcome: list[LiveProgress] = []
        try:
            if not _wait_healthy(url, server, stop):
                if not stop.is_set():
                    console.print(f"[red]cardtrace serve did not come up; see {serve_log.name}[/]")
                    return 1
                return _stop_server(server, console)
            if STREAMLIT_APP.exists():
                apps = _start(data_dir, ["apps", "--port", str(apps_port)], apps_log)
            live = threading.Thread(
                target=lambda: outcome.append(run_live(url, tokens, data_dir, stop)),
                name="cardtrace-live-trickle",
                daemon=True,
            )
            live.start()
            _announce(console, url, apps_port if apps else None, tokens, logs)
            while not stop.wait(0.5):
                if server.poll() is not None:
                    console.print(
                        f"[red]cardtrace serve stopped by itself ({server.returncode}); see {serve_log.name}[/]"
                    )
                    stop.set()
        finally:
            stop.set()
            if live is not None:
                live.join(timeout=STOP_TIMEOUT_S)
            if apps is not None:
                _stop_group(apps)
            code = _stop_server(server, console)
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
    if outcome:
        trickled = outcome[0]
        console.print(
            f"live trickle: {trickled.scans:,} scans, {trickled.events:,} events, {trickled.jobs} jobs"
            + (f", {trickled.refused:,} scans refused" if trickled.refused else "")
        )
        if trickled.error:
            console.print(f"[yellow]the live trickle stopped early: {trickled.error}[/]")
    return code


def _prepare_plant(data_dir: DataDir, console: Console) -> None:
    if _holds_events(data_dir):
        console.print(f"reusing the plant in {data_dir.root}")
        return
    now = datetime.now(UTC)
    override = os.environ.get(DAYS_VARIABLE)
    if override:
        days = float(override)
        start = now - timedelta(days=days)
    else:
        # From a Monday's first shift a few weeks back up to now, so the history runs into the live trickle.
        this_monday = (now - timedelta(days=now.weekday())).replace(hour=6, minute=0, second=0, microsecond=0)
        start = this_monday - timedelta(weeks=DEMO_WEEKS)
        days = (now - start).total_seconds() / 86_400
    console.print(f"no event log in {data_dir.root} yet: simulating {days:.3g} days of the demo plant")
    summary = simulate(data_dir, days=days, seed=DEMO_SEED, start=start)
    console.print(summary.table())
    with console.status("materializing the read models the apps start from"):
        refresh(data_dir)


def _holds_events(data_dir: DataDir) -> bool:
    if not data_dir.journal_path.exists():
        return False
    with EventStore(data_dir, read_only=True) as store:
        return store.last_sequence() > 0


@contextmanager
def _interrupts_raise() -> Iterator[None]:
    """While the plant is simulated, SIGTERM interrupts like Ctrl-C (the store still seals what it took)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _start(data_dir: DataDir, arguments: list[str], log: BinaryIO) -> subprocess.Popen[bytes]:
    """A `cardtrace` subcommand in its own session: a Ctrl-C in the terminal reaches the demo alone, which then
    stops its children in order (the trickle before the server, so nothing is sent to a draining server)."""
    command = [sys.executable, "-m", "apps.cli.main", "--data", str(data_dir.root), *arguments]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_healthy(url: str, server: subprocess.Popen[bytes], stop: threading.Event) -> bool:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline and not stop.is_set():
        if server.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        stop.wait(0.2)
    return False


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a child and whatever it started (`cardtrace apps` runs Streamlit as its own child)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def _stop_server(server: subprocess.Popen[bytes], console: Console) -> int:
    """SIGTERM: the server drains its requests and seals every acknowledged event before it exits."""
    if server.poll() is None:
        console.print("stopping: sealing every acknowledged event into the lake...")
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            console.print("[red]the server did not stop in time; killing it (the journal keeps every event)[/]")
            server.kill()
            server.wait()
            return 1
    if server.returncode != 0:
        console.print(f"[red]cardtrace serve exited with {server.returncode}[/]")
        return 1
    console.print("stopped cleanly")
    return 0


def _announce(console: Console, url: str, apps_port: int | None, tokens: dict[Role, str], logs: Path) -> None:
    table = Table(title="cardtrace demo: a living plant", show_header=False)
    table.add_column("what")
    table.add_column("where")
    table.add_row("HTTP API", url)
    table.add_row("API docs", f"{url}/docs")
    table.add_row("dashboard", f"http://127.0.0.1:{apps_port}" if apps_port else "(not installed yet)")
    for role, token in tokens.items():
        table.add_row(f"{role} token", token)
    table.add_row("logs", str(logs))
    console.print(table)
    console.print(
        f'try: curl -H "Authorization: Bearer {tokens["analyst"]}" "{url}/events?after=0&limit=5"',
        soft_wrap=True,
        highlight=False,
    )
    console.print("a live trickle of scans is flowing; Ctrl-C stops everything")
