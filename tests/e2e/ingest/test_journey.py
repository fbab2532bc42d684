"""A whole job through a real server: POST /jobs, press, foil, cut, QA with failures and rework, a void and its
replacement, a wrong card and a duplicate refused at assembly, completion, packing with and without an override;
then every read endpoint, now and as of a past moment."""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.ingest.conftest import Plant


@dataclass
class Floor:
    """Scanners on the floor: every scan a fresh scan_id and the moment it is made (the server stamps the office's
    commands with its own clock, on the same machine, so both kinds of events share one time line)."""

    operator: httpx.Client
    manager: httpx.Client
    clock: datetime = field(default_factory=lambda: datetime.now(UTC))
    issued: int = 0
    moments: dict[str, datetime] = field(default_factory=dict)

    def make(self, barcode: str, station: str, **fields: Any) -> dict[str, Any]:
        self.issued += 1
        self.clock = max(self.clock + timedelta(microseconds=1), datetime.now(UTC))
        return {
            "scan_id": f"journey-{self.issued:05d}",
            "barcode": barcode,
            "station_id": station,
            "operator_id": "OP-42",
            "occurred_at": self.clock.isoformat(),
            **fields,
        }

    def scan(self, barcode: str, station: str, by: httpx.Client | None = None, **fields: Any) -> httpx.Response:
        return (by or self.operator).post("/scan", json=self.make(barcode, station, **fields))

    def ok(self, barcode: str, station: str, **fields: Any) -> dict[str, Any]:
        response = self.scan(barcode, station, **fields)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


@dataclass
class Journey:
    job_id: str
    sheets: list[str]
    floor: Floor
    reader: httpx.Client
    before_cut: datetime
    before_void: datetime
    known_before_void: datetime
    last_sequence: int


@pytest.fixture(scope="module")
def journey(plant: Plant) -> Iterator[Journey]:
    operator, manager, planner, analyst = (plant.client(r) for r in ("operator", "manager", "planner", "analyst"))
    floor = Floor(operator=operator, manager=manager)
    created = planner.post(
        "/jobs", json={"product": "base-18up", "sets": 2, "customer": "Northwind Cards", "due_date": "2026-12-01"}
    )
    assert created.status_code == 201, created.text
    job = created.json()
    first, second = job["sheets"]

    for station in ("PRESS-1", "PRESS-1", "FOIL-1", "FOIL-1", "CUT-1"):
        assert floor.ok(first, station)["state"] == "in_progress"
    before_cut = floor.clock
    cut = floor.ok(first, "CUT-1")
    assert (cut["command"], cut["state"]) == ("CutSheet", "cut")
    assert sum(1 for e in cut["events"] if e["event_type"] == "CardUnitCreated") == 18

    cards = [f"{first}-{position:02d}" for position in range(1, 19)]
    for card in cards:
        if card.endswith(("-03", "-07")):
            failed = floor.ok(card, "QA-BENCH-1", result="FAIL", failure_reason="foil misregistration")
            assert failed["state"] == "qa_failed"
        else:
            assert floor.ok(card, "QA-BENCH-1", result="PASS")["state"] == "qa_passed"
    assert floor.ok(f"{first}-03", "QA-BENCH-2", result="PASS")["state"] == "qa_passed"  # reworked
    for bench in ("QA-BENCH-2", "QA-BENCH-3"):
        floor.ok(f"{first}-07", bench, result="FAIL", failure_codes=["FOIL-REG", "EDGE"])
    fourth = floor.scan(f"{first}-07", "QA-BENCH-1", result="PASS")
    assert fourth.status_code == 409  # three failures: it must be voided
    before_void = known_before_void = datetime.now(UTC)
    voided = manager.post(f"/card-units/{first}-07/void", json={"reason": "failed QA three times"})
    assert voided.status_code == 200, voided.text
    replacement = planner.post(f"/card-units/{first}-07/replacements", json={"printed_on_sheet_id": second})
    assert replacement.status_code == 201, replacement.text
    assert replacement.json()["replacement_id"] == f"{first}-07-R1"
    assert floor.ok(f"{first}-07-R1", "QA-BENCH-3", result="PASS")["state"] == "qa_passed"

    # The second sheet arrives as a scanner's offline buffer, sent late and shuffled.
    buffer = [floor.make(second, s) for s in ("PRESS-2", "PRESS-2", "FOIL-1", "FOIL-1", "CUT-1", "CUT-1")]
    others = [f"{second}-{position:02d}" for position in range(1, 19)]
    buffer += [floor.make(card, "QA-BENCH-2", result="PASS") for card in others]
    batch = operator.post("/scans", json={"scans": buffer[::-1]})
    assert batch.status_code == 200, batch.text
    assert [r["status"] for r in batch.json()["results"]] == [201] * len(buffer)

    tray = f"A-{first}"
    members = [card if not card.endswith("-07") else f"{card}-R1" for card in cards]
    for card in members[:5]:
        assert floor.ok(card, "ASSEMBLY-1", assembly_id=tray)["state"] == "assembled"
    wrong = floor.scan(others[0], "ASSEMBLY-1", assembly_id=tray)
    assert wrong.status_code == 409
    assert "belongs to set" in wrong.json()["detail"]
    duplicate = floor.scan(members[0], "ASSEMBLY-1")
    assert duplicate.status_code == 409
    assert "duplicate" in duplicate.json()["detail"]
    for card in members[5:]:
        floor.ok(card, "ASSEMBLY-1")
    assert analyst.get(f"/assemblies/{tray}").json()["status"] == "complete"

    holds_replacement = floor.scan(tray, "PACK-1")
    assert holds_replacement.status_code == 409
    assert "override" in holds_replacement.json()["detail"]
    assert floor.scan(tray, "PACK-1", override_reason="replacement approved").status_code == 403
    packed = floor.scan(tray, "PACK-1", by=manager, override_reason="replacement approved by QA lead")
    assert packed.status_code == 201, packed.text
    assert packed.json()["state"] == "packed"

    for card in others:
        floor.ok(card, "ASSEMBLY-1")
    assert floor.ok(f"A-{second}", "PACK-1")["state"] == "packed"  # complete and original: no override needed

    health = analyst.get("/health").json()
    yield Journey(
        job_id=job["job_id"],
        sheets=job["sheets"],
        floor=floor,
        reader=analyst,
        before_cut=before_cut,
        before_void=before_void,
        known_before_void=known_before_void,
        last_sequence=health["journal"]["last_sequence"],
    )
    for client in (operator, manager, planner, analyst):
        client.close()


def test_a_job_is_created_with_its_sheets(journey: Journey) -> None:
    assert int(journey.job_id[1:]) >= 1001  # the next free J number (other tests may share this server)
    assert journey.sheets == [f"{journey.job_id}-S001", f"{journey.job_id}-S002"]
    jobs = journey.reader.get("/jobs").json()["jobs"]
    assert [(j["total_sheets"], j["total_cards"]) for j in jobs if j["job_id"] == journey.job_id] == [(2, 36)]


def test_every_scan_is_logged_as_one_json_line_with_its_scan_id(journey: Journey, plant: Plant) -> None:
    journey_scans = [f"journey-{n:05d}" for n in range(1, journey.floor.issued + 1)]
    deadline = time.monotonic() + 5  # the server writes its log lines in batches, every 0.1 s
    while True:
        lines = [json.loads(line) for line in plant.server.log().splitlines() if line.startswith("{")]
        logged = {entry["scan_id"]: entry for entry in lines if "scan_id" in entry}
        if all(scan_id in logged for scan_id in journey_scans) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert all(scan_id in logged for scan_id in journey_scans)
    assert {logged[scan_id]["message"] for scan_id in journey_scans} == {"scan recorded", "scan refused"}


def test_the_voided_card_shows_its_state_history_and_lineage(journey: Journey) -> None:
    card = journey.reader.get(f"/card-units/{journey.job_id}-S001-07").json()
    assert card["status"] == "voided"
    assert card["replaced_by"] == f"{journey.job_id}-S001-07-R1"
    assert (card["sheet_id"], card["job_id"], card["position"]) == (f"{journey.job_id}-S001", journey.job_id, 7)
    assert card["qa_result"] == "FAIL"
    history = [e["event_type"] for e in card["history"]]
    assert history[0] == "CardUnitCreated"
    assert history.count("QAResultRecorded") == 3
    assert history[-2:] == ["CardUnitVoided", "CardUnitReplaced"]
    sequences = [e["sequence_num"] for e in card["history"]]
    assert sequences == sorted(sequences)


def test_the_replacement_is_packed_and_names_what_it_replaces(journey: Journey) -> None:
    card = journey.reader.get(f"/card-units/{journey.job_id}-S001-07-R1").json()
    assert (card["status"], card["replaces"], card["position"]) == ("packed", f"{journey.job_id}-S001-07", 7)
    assert card["lineage"]["original_id"] == f"{journey.job_id}-S001-07"


def test_the_reworked_card_passed_on_its_second_attempt(journey: Journey) -> None:
    card = journey.reader.get(f"/card-units/{journey.job_id}-S001-03").json()
    assert (card["status"], card["qa_result"], card["qa_attempts"]) == ("packed", "PASS", 2)


def test_sheets_and_sets_are_cut_and_packed(journey: Journey) -> None:
    for sheet in journey.sheets:
        assert journey.reader.get(f"/sheets/{sheet}").json()["status"] == "cut"
        assembly = journey.reader.get(f"/assemblies/A-{sheet}").json()
        assert assembly["status"] == "packed"
        assert assembly["present_positions"] == list(range(1, 19))
        assert assembly["missing_positions"] == []


def test_job_progress_counts_every_card_by_status(journey: Journey) -> None:
    progress = journey.reader.get(f"/jobs/{journey.job_id}/progress").json()
    assert (progress["total_sheets"], progress["total_cards"]) == (2, 36)
    assert progress["cards_by_status"]["packed"] == 36
    assert progress["cards_by_status"]["voided"] == 1


def test_station_queues_are_empty_once_everything_is_packed(journey: Journey) -> None:
    queue = journey.reader.get("/stations/QA-BENCH-1/queue").json()
    assert (queue["station_id"], queue["waiting"], queue["in_progress"]) == ("QA-BENCH-1", [], [])


def test_the_event_feed_is_ordered_gapless_and_pages_with_next_after(journey: Journey) -> None:
    first = journey.reader.get("/events", params={"after": 0, "limit": 50}).json()
    second = journey.reader.get("/events", params={"after": first["next_after"], "limit": 5000}).json()
    sequences = [e["sequence_num"] for e in first["events"] + second["events"]]
    assert sequences == list(range(1, journey.last_sequence + 1))
    assert first["next_after"] == 50
    assert {"event_type", "aggregate_id", "payload", "occurred_at", "recorded_at"} <= set(first["events"][0])


def test_reads_as_of_a_past_moment_show_what_was_true_then(journey: Journey) -> None:
    as_of = {"as_of": journey.before_cut.isoformat()}
    assert journey.reader.get(f"/sheets/{journey.job_id}-S001", params=as_of).json()["status"] == "in_progress"
    assert journey.reader.get(f"/card-units/{journey.job_id}-S001-01", params=as_of).status_code == 404
    before_void = {"as_of": journey.before_void.isoformat()}
    card = journey.reader.get(f"/card-units/{journey.job_id}-S001-07", params=before_void).json()
    assert (card["status"], card["replaced_by"]) == ("qa_failed", None)


def test_reads_known_at_a_past_moment_show_what_the_system_knew_then(journey: Journey) -> None:
    known = {"known_at": journey.known_before_void.isoformat()}
    card = journey.reader.get(f"/card-units/{journey.job_id}-S001-07", params=known).json()
    assert card["status"] == "qa_failed"
    progress = journey.reader.get(f"/jobs/{journey.job_id}/progress", params=known).json()
    assert progress["cards_by_status"]["packed"] == 0


def test_a_naive_as_of_is_refused_with_the_parameter_named(journey: Journey) -> None:
    response = journey.reader.get(f"/sheets/{journey.job_id}-S001", params={"as_of": "2026-11-02T06:00:00"})
    assert response.status_code == 422
    assert "as_of" in response.json()["detail"]


def test_unknown_and_malformed_ids_are_404_and_422(journey: Journey) -> None:
    assert journey.reader.get(f"/card-units/{journey.job_id}-S009-01").status_code == 404
    malformed = journey.reader.get(f"/card-units/{journey.job_id}-S1-01")
    assert malformed.status_code == 422
    assert "sheet" in malformed.json()["detail"]


def test_capacity_forecast_and_estimates_come_from_the_plants_state(journey: Journey) -> None:
    capacity = journey.reader.get("/capacity").json()
    assert {s["station_id"] for s in capacity["stations"]} >= {"PRESS-1", "QA-BENCH-3", "PACK-1"}
    forecast = journey.reader.get("/capacity/forecast", params={"days": 3}).json()
    assert forecast["days"] == 3
    assert len(forecast["stations"]) == 3 * len(capacity["stations"])
    estimate = journey.reader.get(f"/jobs/{journey.job_id}/estimated-completion").json()
    assert (estimate["complete"], estimate["estimated_completion"]) == (True, None)  # every set is packed
    assert journey.reader.get("/capacity/forecast", params={"days": 0}).status_code == 422
