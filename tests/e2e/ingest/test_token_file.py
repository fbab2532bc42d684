"""A token file broken by hand while the service runs: the floor keeps scanning, /health says what is wrong."""

import time

import httpx

from ingest.tokens import REFRESH_SECONDS
from tests.e2e.ingest.conftest import Plant


def test_a_broken_token_file_degrades_health_but_locks_nobody_out(own_plant: Plant) -> None:
    path = own_plant.server.data.tokens_path
    good = path.read_text()
    with own_plant.client("analyst") as analyst, httpx.Client(base_url=own_plant.server.url) as anyone:
        assert anyone.get("/health").json()["status"] == "ok"
        assert analyst.get("/jobs").status_code == 200  # the server has read the file
        try:
            path.write_text("{ this is not json")
            time.sleep(REFRESH_SECONDS + 0.2)
            assert analyst.get("/jobs").status_code == 200  # a token known before still works
            health = anyone.get("/health").json()
            assert health["status"] == "degraded"
            assert "the token file cannot be read" in health["tokens"]["problem"]
            assert str(path) not in str(health)  # no token is needed for /health: the path stays in the log
        finally:
            path.write_text(good)
        time.sleep(REFRESH_SECONDS + 0.2)
        assert analyst.get("/jobs").status_code == 200
        assert anyone.get("/health").json()["status"] == "ok"
