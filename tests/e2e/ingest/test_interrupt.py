"""Ctrl-C in the terminal running `cardtrace serve` signals its whole process group. The service drains, seals
everything it acknowledged through its sealer process (in a group of its own, so the signal is not for it), and
exits 0."""

import os
import signal
from pathlib import Path

import httpx

from ingest.tokens import issue_token
from projections.data_dir import DataDir
from projections.lake.table import LakeTable
from projections.store import EventStore
from tests.e2e.ingest.conftest import Server


def test_ctrl_c_to_the_process_group_seals_what_was_acknowledged_and_exits_cleanly(tmp_path: Path) -> None:
    data = DataDir(root=tmp_path / "data")
    data.root.mkdir(parents=True)
    token = issue_token(data, "planner", subject="planner-e2e")
    server = Server(data=data, own_session=True)
    server.start()
    assert server.process is not None
    try:
        job = {"product": "base-18up", "sets": 2, "customer": "Northwind Cards", "due_date": "2026-12-31"}
        headers = {"Authorization": f"Bearer {token}"}
        created = httpx.post(f"{server.url}/jobs", json=job, headers=headers, timeout=30)
        assert created.status_code == 201, created.text
        os.killpg(server.process.pid, signal.SIGINT)  # what Ctrl-C does
        assert server.process.wait(timeout=120) == 0, server.log()
    finally:
        if server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()
    with EventStore(data, read_only=True) as store:
        last = store.last_sequence()
    assert last > 0
    assert LakeTable.for_data_dir(data).read_high_water_mark() == last
