"""A scan desk over a real event store in a temporary data directory: scans with a ticking scanner clock."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.commands import Actor
from core.routing import Scan
from ingest.service import ScanOutcome, ScanService
from projections.data_dir import DataDir
from projections.store import EventStore

OPERATOR = Actor(subject="OP-7", role="operator")
MANAGER = Actor(subject="MGR-1", role="manager")
PLANNER = Actor(subject="PLN-1", role="planner")
START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)

SHEET_ROUTE_18UP = ("PRESS-1", "PRESS-1", "FOIL-1", "FOIL-1", "CUT-1", "CUT-1")


@dataclass
class ScanDesk:
    """Builds scans the way a scanner would (fresh scan_id, the scanner's clock) and submits them."""

    service: ScanService
    clock: datetime = START
    issued: int = 0
    made: list[Scan] = field(default_factory=list)

    def make(self, barcode: str, station: str, **fields: object) -> Scan:
        self.issued += 1
        self.clock += timedelta(seconds=30)
        scan = Scan(
            scan_id=f"{station}:{self.issued:06d}",
            barcode=barcode,
            station_id=station,
            operator_id="OP-7",
            occurred_at=self.clock,
            **fields,  # type: ignore[arg-type]
        )
        self.made.append(scan)
        return scan

    def scan(self, barcode: str, station: str, actor: Actor = OPERATOR, **fields: object) -> ScanOutcome:
        return self.service.submit_scan(self.make(barcode, station, **fields), actor)

    def new_job(self, sets: int = 1, product: str = "base-18up") -> str:
        return self.service.create_job(
            product=product, sets=sets, customer="Topps", due_date="2026-12-01", actor=PLANNER
        ).job_id

    def cut(self, sheet: str) -> None:
        for station in SHEET_ROUTE_18UP:
            self.scan(sheet, station)

    def pass_qa(self, card: str, bench: str = "QA-BENCH-1") -> ScanOutcome:
        return self.scan(card, bench, result="PASS")


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    return DataDir(root=tmp_path / "data")


@pytest.fixture
def store(data_dir: DataDir) -> Iterator[EventStore]:
    opened = EventStore(data_dir)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def service(store: EventStore, data_dir: DataDir) -> ScanService:
    return ScanService(store, data_dir.load_factory())


@pytest.fixture
def desk(service: ScanService) -> ScanDesk:
    return ScanDesk(service=service)
