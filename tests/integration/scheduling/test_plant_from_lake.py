"""The plan of a real plant: scans through the ingest path into a real store, work read back from the lake.

The case is small enough to know by hand. It is Friday 2026-11-06, 21:30 UTC; the plant works Mon-Fri
06:00-22:00. Job J1001 (base-18up, one set, due next Wednesday) is cut and five of its cards passed QA.
Job J1002 (numbered-9up, one set, due today) has not started: half an hour before closing it cannot be done
tonight, so it waits over the weekend and is late; J1001 is not.
"""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.commands import Actor
from core.routing import Scan
from ingest.service import ScanService
from projections import open_lake
from projections.data_dir import DataDir
from projections.store import EventStore
from scheduling.from_plant import work_from_lake
from scheduling.plant import JobWork, PlantPlan, SheetWork, capacity_forecast, job_estimates, plan

OPERATOR = Actor(subject="OP-7", role="operator")
PLANNER = Actor(subject="PLN-1", role="planner")
FRIDAY_AFTERNOON = datetime(2026, 11, 6, 13, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 6, 21, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    data = DataDir(root=Path(tmp_path_factory.mktemp("plant")))
    with EventStore(data) as store:
        service = ScanService(store, data.load_factory())
        started = service.create_job(
            product="base-18up", sets=1, customer="Topps", due_date="2026-11-11", actor=PLANNER
        )
        service.create_job(product="numbered-9up", sets=1, customer="Panini", due_date="2026-11-06", actor=PLANNER)
        sheet = started.sheets[0]
        clock = FRIDAY_AFTERNOON
        steps = [(sheet, station, {}) for station in ("PRESS-1", "PRESS-1", "FOIL-1", "FOIL-1", "CUT-1", "CUT-1")]
        steps += [(f"{sheet}-{position:02d}", "QA-BENCH-1", {"result": "PASS"}) for position in range(1, 6)]
        for number, (barcode, station, fields) in enumerate(steps):
            clock += timedelta(minutes=3)
            scan = Scan(
                scan_id=f"scan-{number:04d}",
                barcode=barcode,
                station_id=station,
                operator_id="OP-7",
                occurred_at=clock,
                **fields,  # type: ignore[arg-type]
            )
            service.submit_scan(scan, OPERATOR)
        store.seal_now()
    return data


@pytest.fixture(scope="module")
def plant_plan(plant: DataDir) -> PlantPlan:
    factory = plant.load_factory()
    with open_lake(plant) as lake:
        return plan(factory, work_from_lake(lake, factory), NOW, time_limit=5.0)


def test_the_work_read_from_the_lake_is_what_the_floor_left(plant: DataDir) -> None:
    with open_lake(plant) as lake:
        work = work_from_lake(lake, plant.load_factory())

    assert work == [
        JobWork(
            job_id="J1001",
            product_id="base-18up",
            due_date=date(2026, 11, 11),
            sheets=(
                SheetWork(
                    sheet_id="J1001-S001",
                    remaining={"press": 0, "foil": 0, "cut": 0, "qa": 13, "assembly": 18, "pack": 1},
                ),
            ),
        ),
        JobWork(
            job_id="J1002",
            product_id="numbered-9up",
            due_date=date(2026, 11, 6),
            sheets=(
                SheetWork(
                    sheet_id="J1002-S001",
                    remaining={
                        "press": 1,
                        "uv": 1,
                        "cut": 1,
                        "serial_number": 9,
                        "memorabilia": 9,
                        "qa": 9,
                        "assembly": 9,
                        "pack": 1,
                    },
                ),
            ),
        ),
    ]


def test_the_job_due_tonight_is_at_risk_and_the_other_is_not(plant_plan: PlantPlan) -> None:
    estimates = {estimate.job_id: estimate for estimate in job_estimates(plant_plan)}

    late, on_time = estimates["J1002"], estimates["J1001"]
    assert late.at_risk
    assert late.estimated_completion is not None
    assert late.estimated_completion.date() == date(2026, 11, 9)
    # The first operation waits longest: the press sits out the weekend.
    assert (late.driving_operation_id, late.driving_station_id) in {("press", "PRESS-1"), ("press", "PRESS-2")}
    assert not on_time.at_risk


def test_the_forecast_puts_nothing_on_the_weekend_and_the_memorabilia_on_monday(
    plant: DataDir, plant_plan: PlantPlan
) -> None:
    factory = plant.load_factory()
    forecast = capacity_forecast(plant_plan, factory, days=5)
    hours = {(row.station_id, row.day): row.scheduled_hours for row in forecast.days}

    weekend = (date(2026, 11, 7), date(2026, 11, 8))
    assert all(hours[(station.station_id, day)] == 0 for station in factory.stations for day in weekend)
    assert all(row.available_hours == 0 for row in forecast.days if row.day in weekend)
    # Nine inserts of a standard minute each, plus the station's five-minute setup, all on Monday.
    assert hours[("MEMO-1", date(2026, 11, 9))] == pytest.approx((9 * 1.0 + 5) / 60, abs=1.5 / 60)
    # Thirteen inspections left of J1001 and nine of J1002, a quarter minute each (each run rounded up to a whole
    # minute), on the three benches tonight or on Monday.
    qa_hours = sum(hours[(f"QA-BENCH-{bench}", day)] for bench in (1, 2, 3) for day in (NOW.date(), date(2026, 11, 9)))
    assert qa_hours == pytest.approx((13 + 9) * 0.25 / 60, abs=2 / 60)
