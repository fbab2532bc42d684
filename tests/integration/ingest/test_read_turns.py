"""Reads take turns: however many arrive at once, at most `READS_AT_ONCE` run, and every one is answered."""

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn

from ingest.api.plant import READS_AT_ONCE, PlantServices
from ingest.app import create_app
from ingest.queries import Body, PlantReads, TimeTravel
from ingest.tokens import issue_token
from projections.data_dir import DataDir


class _ObservedReads(PlantReads):
    """The real reads, counting how many sheet reads are inside at once (each lingers so arrivals overlap)."""

    def __init__(self, reads: PlantReads) -> None:
        self.__dict__.update(reads.__dict__)
        self._guard = threading.Lock()
        self.inside = 0
        self.most_inside = 0

    def sheet(self, sheet_id: str, when: TimeTravel) -> Body:
        with self._guard:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            time.sleep(0.05)
            return super().sheet(sheet_id, when)
        finally:
            with self._guard:
                self.inside -= 1


def test_eight_reads_at_once_run_at_most_two_at_a_time_and_are_all_answered(tmp_path: Path) -> None:
    data = DataDir(root=tmp_path / "data")
    token = issue_token(data, role="analyst", subject="tests", station=None)
    app = create_app(data)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on"))
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    try:
        while not server.started:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        plant: PlantServices = app.state.plant
        observed = _ObservedReads(plant.reads)
        app.state.plant = dataclasses.replace(plant, reads=observed)
        headers = {"Authorization": f"Bearer {token}"}

        def read(number: int) -> int:
            return httpx.get(f"http://127.0.0.1:{port}/sheets/J1044-S{number:03d}", headers=headers).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(read, range(1, 9)))
    finally:
        server.should_exit = True
        serving.join(timeout=30)
    assert answers == [404] * 8  # no such sheets: each read ran and answered
    assert observed.most_inside == READS_AT_ONCE == 2
