"""/health needs no token, so it says what is wrong with the store without naming the lake's URI or files."""

import time
from pathlib import Path

import httpx

from ingest.queries import PUBLIC_PROBLEMS
from tests.e2e.ingest.conftest import Plant


def _sealed(anyone: httpx.Client, timeout: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        health: dict[str, object] = anyone.get("/health").json()
        lake = health["lake"]
        assert isinstance(lake, dict)
        if (lake["sealed_through"] > 0 and lake["seal_lag_events"] == 0) or time.monotonic() > deadline:
            return health
        time.sleep(0.2)


def test_a_lake_problem_degrades_health_in_words_that_name_no_path(own_plant: Plant) -> None:
    server = own_plant.server
    job = {"product": "base-18up", "sets": 1, "customer": "Northwind Cards", "due_date": "2026-12-31"}
    with own_plant.client("planner") as planner, httpx.Client(base_url=server.url) as anyone:
        created = planner.post("/jobs", json=job)
        assert created.status_code == 201, created.text
        assert _sealed(anyone)["status"] == "ok"
        intruder = Path(server.data.lake_uri) / "notes.txt"
        assert server.stop() == 0
        intruder.write_text("who put this here")
        try:
            server.start()
            health = anyone.get("/health").json()
            assert health["status"] == "degraded"
            assert health["journal"]["details"]["lake_problem"] == PUBLIC_PROBLEMS["lake_problem"]
            assert "notes.txt" not in str(health)
            assert str(server.data.root) not in str(health)
            assert str(intruder) in server.log()  # the operator's copy of the problem, with its path
        finally:
            server.stop()
            intruder.unlink()
            server.start()
        assert _sealed(anyone)["status"] == "ok"
