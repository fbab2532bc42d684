"""Input limits against a real server: body size (declared or streamed), batch size, strict schemas, timezones, and
error bodies that name the field. (SIGTERM draining and sealing is checked when the shared server stops.)"""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.ingest.conftest import Plant

SCAN = {
    "scan_id": "limits-1",
    "barcode": "J9999-S001",
    "station_id": "PRESS-1",
    "operator_id": "OP-42",
    "occurred_at": "2026-11-02T06:00:00+00:00",
}


@pytest.fixture(scope="module")
def operator(plant: Plant) -> httpx.Client:
    return plant.client("operator")


def test_a_body_over_one_mebibyte_is_refused_with_413(operator: httpx.Client) -> None:
    response = operator.post("/scan", json={**SCAN, "failure_reason": "x" * (1024 * 1024)})
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_a_chunked_body_that_grows_past_the_limit_is_refused_with_413(operator: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"scan_id": "chunked", "failure_reason": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = operator.post("/scan", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_a_batch_of_more_than_ten_thousand_scans_is_refused_with_413(operator: httpx.Client) -> None:
    scans = [{**SCAN, "scan_id": f"b-{n}"} for n in range(10_001)]
    response = operator.post("/scans", json={"scans": scans})
    assert response.status_code == 413
    assert "10000" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"occurred_at": "2026-11-02T06:00:00"}, "occurred_at"),
        ({"occurred_at": 1_700_000_000}, "occurred_at"),
        ({"colour": "red"}, "colour"),
        ({"station_id": "qa-bench-3"}, "station_id"),
        ({"barcode": "J1044-S3"}, "barcode"),
        ({"result": "MAYBE"}, "result"),
        ({"scan_id": ""}, "scan_id"),
    ],
)
def test_an_invalid_scan_is_422_naming_the_field(operator: httpx.Client, change: dict[str, Any], field: str) -> None:
    response = operator.post("/scan", json={**SCAN, **change})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert field in body["detail"]


def test_malformed_json_is_400(operator: httpx.Client) -> None:
    response = operator.post("/scan", content=b'{"scan_id": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"


def test_a_bad_scan_in_a_batch_is_answered_in_its_place_and_the_others_go_through(plant: Plant) -> None:
    with plant.client("planner") as planner:
        job = planner.post(
            "/jobs",
            json={
                "product": "numbered-9up",
                "sets": 1,
                "customer": "Limits",
                "due_date": "2026-12-01",
                "job_id": "J5001",
            },
        ).json()["job_id"]
    sheet = f"{job}-S001"
    scans = [
        {**SCAN, "scan_id": "batch-ok-1", "barcode": sheet},
        {**SCAN, "scan_id": "batch-bad", "barcode": sheet, "occurred_at": "yesterday"},
        {**SCAN, "scan_id": "batch-ok-2", "barcode": sheet, "occurred_at": "2026-11-02T06:05:00+00:00"},
        "not a scan",
    ]
    with plant.client("operator") as operator:
        results = operator.post("/scans", json={"scans": scans}).json()["results"]
    assert [r["status"] for r in results] == [201, 422, 201, 422]
    assert "scans.1.occurred_at" in results[1]["detail"]
    assert results[2]["outcome"]["command"] == "CompleteOperation"
    assert results[0]["outcome"]["state"] == "in_progress"


def test_an_unknown_route_is_a_404_with_the_error_body(operator: httpx.Client) -> None:
    response = operator.get("/pallets/1")
    assert response.status_code == 404
    assert set(response.json()) == {"error", "detail"}
