"""kill -9 of a server under load: after a restart every scan it acknowledged (2xx) is in the log exactly once,
with the sequence numbers it was answered with, and sending it again replays that answer."""

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.tokens import issue_token
from projections.data_dir import DataDir
from tests.e2e.ingest.conftest import Server, free_port

pytestmark = pytest.mark.slow

SCANNERS = 8
ROUTE = ("PRESS-1", "PRESS-1", "FOIL-1", "FOIL-1", "CUT-1", "CUT-1")


@dataclass
class Ledger:
    """What the scanners were told: every acknowledged scan with the answer it got."""

    acknowledged: dict[str, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, scan: dict[str, Any], answer: dict[str, Any]) -> None:
        with self.lock:
            self.acknowledged[scan["scan_id"]] = (scan, answer)


def _scans_of(job: str, scanner: int, cycle: int) -> list[dict[str, Any]]:
    clock = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    scans: list[dict[str, Any]] = []
    for number in range(1, 11):
        sheet = f"{job}-S{number:03d}"
        barcodes = [(sheet, station, {}) for station in ROUTE]
        barcodes += [(f"{sheet}-{p:02d}", f"QA-BENCH-{1 + p % 3}", {"result": "PASS"}) for p in range(1, 19)]
        for barcode, station, fields in barcodes:
            clock += timedelta(seconds=1)
            scans.append(
                {
                    "scan_id": f"c{cycle}-s{scanner}-{len(scans)}",
                    "barcode": barcode,
                    "station_id": station,
                    "operator_id": "OP-9",
                    "occurred_at": clock.isoformat(),
                    **fields,
                }
            )
    return scans


def _scan_until_refused(url: str, token: str, scans: list[dict[str, Any]], ledger: Ledger) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10.0) as client:
        for scan in scans:
            try:
                response = client.post("/scan", json=scan)
            except httpx.TransportError:
                return  # the server is gone: this scan may or may not have been recorded, and was not acknowledged
            if response.is_success:
                ledger.note(scan, response.json())


def _whole_log(url: str, token: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0) as client:
        while True:
            page = client.get("/events", params={"after": after, "limit": 5000}).json()
            events += page["events"]
            if not page["events"]:
                return events
            after = page["next_after"]


def test_every_acknowledged_scan_survives_kill_9_exactly_once(tmp_path: Path) -> None:
    data = DataDir(root=tmp_path / "data")
    data.root.mkdir(parents=True)
    planner, operator, analyst = (issue_token(data, role) for role in ("planner", "operator", "analyst"))
    ledger = Ledger()
    server = Server(data=data)
    for cycle in range(2):
        server.port = free_port()
        server.start()
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {planner}"}) as office:
            jobs = [
                office.post(
                    "/jobs", json={"product": "base-18up", "sets": 10, "customer": "Crash", "due_date": "2026-12-01"}
                ).json()["job_id"]
                for _ in range(SCANNERS)
            ]
        scanners = [
            threading.Thread(
                target=_scan_until_refused, args=(server.url, operator, _scans_of(job, n, cycle), ledger), daemon=True
            )
            for n, job in enumerate(jobs)
        ]
        for scanner in scanners:
            scanner.start()
        time.sleep(2.0)
        server.kill()
        for scanner in scanners:
            scanner.join(timeout=30)
    assert len(ledger.acknowledged) > 100, "the load never got going"

    server.port = free_port()
    server.start()
    try:
        log = _whole_log(server.url, analyst)
        assert [e["sequence_num"] for e in log] == list(range(1, len(log) + 1))
        versions = [(e["aggregate_id"], e["aggregate_version"]) for e in log]
        assert len(set(versions)) == len(versions)
        by_scan: dict[str, list[int]] = {}
        for event in log:
            if event["scan_id"] is not None:
                by_scan.setdefault(event["scan_id"], []).append(event["sequence_num"])
        for scan_id, (_, answer) in ledger.acknowledged.items():
            assert by_scan.get(scan_id) == [e["sequence_num"] for e in answer["events"]], scan_id
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {operator}"}) as client:
            for scan, answer in list(ledger.acknowledged.values())[::25]:
                again = client.post("/scan", json=scan)
                assert again.status_code == 200
                assert again.json()["replayed"] is True
                assert [e["sequence_num"] for e in again.json()["events"]] == [
                    e["sequence_num"] for e in answer["events"]
                ]
    finally:
        assert server.stop() == 0, server.log()
