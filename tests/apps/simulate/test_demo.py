"""`cardtrace demo` on a fresh directory: it serves a living plant, and Ctrl-C stops everything cleanly."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.tokens import issue_token
from projections.data_dir import DataDir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(
    condition: str, check: Callable[[], bool], process: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the demo exited with {process.returncode}:\n{log.read_text(errors='replace')}"
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"no {condition} within {timeout} s:\n{log.read_text(errors='replace')}")


def _json(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, f"{response.request.url} answered {response.status_code}: {response.text}"
    answer: dict[str, Any] = response.json()
    return answer


def last_sequence(client: httpx.Client) -> int:
    after = 0
    while events := _json(client.get("/events", params={"after": after, "limit": 10_000}))["events"]:
        after = events[-1]["sequence_num"]
    return after


@pytest.mark.slow
def test_the_demo_serves_a_plant_fed_by_live_scans_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    log = tmp_path / "demo.log"
    command = [sys.executable, "-m", "apps.cli.main", "--data", str(data), "demo", "--port", str(port)]
    command += ["--apps-port", str(free_port())]
    environment = {**os.environ, "CARDTRACE_DEMO_DAYS": "0.2"}
    with log.open("wb") as output:
        demo = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=environment)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for("/health", lambda: httpx.get(f"{url}/health", timeout=2).status_code == 200, demo, log, 300)
        token = issue_token(DataDir(root=data), "analyst", subject="demo-test")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            seen = last_sequence(client)

            def scanned_since() -> bool:  # a scan's event, not only an office command's (a new job's sheets)
                fresh = client.get("/events", params={"after": seen, "limit": 10_000}).json()["events"]
                return any(event["scan_id"] for event in fresh)

            wait_for("live scans", scanned_since, demo, log, 120)
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=180) == 0, log.read_text(errors="replace")
        assert "stopped cleanly" in log.read_text(errors="replace")
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
