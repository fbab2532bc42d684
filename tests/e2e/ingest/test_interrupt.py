"""Ctrl-C in the terminal running `cardtrace serve` reaches its whole process group, the sealer process too: the
service still drains, seals everything it acknowledged through that sealer, and exits 0."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ingest.tokens import issue_token
from projections.data_dir import DataDir
from projections.lake.table import LakeTable
from projections.store import EventStore
from tests.e2e.ingest.conftest import free_port


def test_ctrl_c_to_the_process_group_seals_what_was_acknowledged_and_exits_cleanly(tmp_path: Path) -> None:
    data = DataDir(root=tmp_path / "data")
    data.root.mkdir(parents=True)
    token = issue_token(data, "planner", subject="planner-e2e")
    port = free_port()
    log = (data.root / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "apps.cli.main", "--data", str(data.root), "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a terminal's foreground group of its own
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (data.root / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve never became healthy"
            time.sleep(0.1)
        job = {"product": "base-18up", "sets": 2, "customer": "Northwind Cards", "due_date": "2026-12-31"}
        created = httpx.post(f"{url}/jobs", json=job, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert created.status_code == 201, created.text
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C does
        assert server.wait(timeout=120) == 0, (data.root / "serve.log").read_text()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    with EventStore(data, read_only=True) as store:
        last = store.last_sequence()
    assert last > 0
    assert LakeTable.for_data_dir(data).read_high_water_mark() == last
