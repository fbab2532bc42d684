"""Offline buffers (POST /scans in-process) and the office commands: jobs, voids, replacements."""

import random
from dataclasses import replace

import pytest

from core.commands import Actor
from core.errors import InvalidCommand, InvalidId, NotAuthorized, RuleViolation
from core.reference import project
from core.routing import Scan
from ingest.service import ScanOutcome, ScanService
from projections.store import EventStore
from projections.store.errors import ScanIdReused
from tests.integration.ingest.conftest import MANAGER, OPERATOR, PLANNER, SHEET_ROUTE_18UP, ScanDesk


def _whole_sheet(desk: ScanDesk, sheet: str) -> list[Scan]:
    """The scans of one sheet from press to pack, in the order they happened."""
    scans = [desk.make(sheet, station) for station in SHEET_ROUTE_18UP]
    cards = [f"{sheet}-{position:02d}" for position in range(1, 19)]
    scans += [desk.make(card, "QA-BENCH-1", result="PASS") for card in cards]
    scans += [desk.make(card, "ASSEMBLY-1") for card in cards]
    scans.append(desk.make(f"A-{sheet}", "PACK-1"))
    return scans


def test_an_offline_buffer_uploaded_shuffled_is_applied_in_occurred_at_order(
    desk: ScanDesk, service: ScanService
) -> None:
    sheet = f"{desk.new_job()}-S001"
    scans = _whole_sheet(desk, sheet)
    shuffled = scans[:]
    random.Random(7).shuffle(shuffled)
    results = service.submit_scans(shuffled, OPERATOR)
    assert all(isinstance(r, ScanOutcome) for r in results), [r for r in results if not isinstance(r, ScanOutcome)]
    by_id = {r.scan_id: r for r in results if isinstance(r, ScanOutcome)}
    assert [r.scan_id for r in results if isinstance(r, ScanOutcome)] == [s.scan_id for s in shuffled]
    assert by_id[scans[-1].scan_id].state == "packed"
    assert by_id[scans[5].scan_id].command == "CutSheet"


def test_a_batch_gives_each_scan_the_state_after_its_own_scan(desk: ScanDesk, service: ScanService) -> None:
    sheet = f"{desk.new_job()}-S001"
    scans = _whole_sheet(desk, sheet)
    results = service.submit_scans(scans, OPERATOR)
    states = [r.state for r in results if isinstance(r, ScanOutcome)]
    assert states[:6] == ["in_progress"] * 5 + ["cut"]
    assert set(states[6:24]) == {"qa_passed"}
    assert set(states[24:42]) == {"assembled"}
    assert states[-1] == "packed"


def test_a_bad_scan_in_a_batch_never_blocks_the_others(desk: ScanDesk, service: ScanService) -> None:
    sheet = f"{desk.new_job()}-S001"
    press, bad, finish = desk.make(sheet, "PRESS-1"), desk.make(sheet, "QA-BENCH-1"), desk.make(sheet, "PRESS-1")
    unknown = desk.make("J7777-S001", "PRESS-1")
    results = service.submit_scans([press, bad, unknown, finish], OPERATOR)
    assert isinstance(results[0], ScanOutcome)
    assert isinstance(results[3], ScanOutcome)
    assert isinstance(results[1], RuleViolation)
    assert results[3].command == "CompleteOperation"
    assert type(results[2]).__name__ == "UnknownEntity"


def test_a_batch_sent_again_is_answered_with_the_original_outcomes_and_records_nothing(
    desk: ScanDesk, service: ScanService, store: EventStore
) -> None:
    sheet = f"{desk.new_job()}-S001"
    scans = _whole_sheet(desk, sheet)
    first = service.submit_scans(scans, OPERATOR)
    last = store.last_sequence()
    again = service.submit_scans(scans, OPERATOR)
    assert store.last_sequence() == last
    assert all(isinstance(r, ScanOutcome) and r.replayed for r in again)
    assert [r.state for r in again if isinstance(r, ScanOutcome)] == [
        r.state for r in first if isinstance(r, ScanOutcome)
    ]


def test_a_scan_id_twice_in_one_batch_is_one_scan_or_a_reuse(desk: ScanDesk, service: ScanService) -> None:
    sheet = f"{desk.new_job()}-S001"
    press = desk.make(sheet, "PRESS-1")
    imposter = replace(press, station_id="PRESS-2")
    results = service.submit_scans([press, press, imposter], OPERATOR)
    assert isinstance(results[0], ScanOutcome)
    assert not results[0].replayed
    assert isinstance(results[1], ScanOutcome)
    assert results[1].replayed
    assert isinstance(results[2], ScanIdReused)


def test_a_batch_refuses_scans_at_another_station_than_the_token_is_bound_to(
    desk: ScanDesk, service: ScanService
) -> None:
    sheet = f"{desk.new_job()}-S001"
    results = service.submit_scans(
        [desk.make(sheet, "PRESS-1"), desk.make(sheet, "PRESS-2")], OPERATOR, station="PRESS-2"
    )
    assert isinstance(results[0], NotAuthorized)
    assert isinstance(results[1], ScanOutcome)


def test_a_batch_over_many_sheets_agrees_with_the_reference_fold(
    desk: ScanDesk, service: ScanService, store: EventStore
) -> None:
    job = desk.new_job(sets=5)
    scans = [scan for number in range(1, 6) for scan in _whole_sheet(desk, f"{job}-S{number:03d}")]
    random.Random(11).shuffle(scans)
    results = service.submit_scans(scans, OPERATOR)
    assert all(isinstance(r, ScanOutcome) for r in results)
    views = project(store.read(0, 100_000))
    assert {a.status for a in views.assemblies.values()} == {"packed"}
    assert {c.status for c in views.card_units.values()} == {"packed"}


def test_jobs_take_the_next_free_number_from_j1001(service: ScanService) -> None:
    first = service.create_job(product="base-18up", sets=2, customer="Topps", due_date="2026-12-01", actor=PLANNER)
    explicit = service.create_job(
        product="numbered-9up", sets=1, customer="Panini", due_date="2026-12-01", actor=PLANNER, job_id="J1002"
    )
    third = service.create_job(product="base-18up", sets=1, customer="Topps", due_date="2026-12-01", actor=PLANNER)
    assert (first.job_id, explicit.job_id, third.job_id) == ("J1001", "J1002", "J1003")
    assert first.sheets == ("J1001-S001", "J1001-S002")


def test_a_job_id_that_exists_is_a_conflict(service: ScanService) -> None:
    service.create_job(product="base-18up", sets=1, customer="T", due_date="2026-12-01", actor=PLANNER, job_id="J2000")
    with pytest.raises(RuleViolation, match="already exists"):
        service.create_job(
            product="base-18up", sets=1, customer="T", due_date="2026-12-01", actor=PLANNER, job_id="J2000"
        )


def test_a_job_of_an_unknown_product_or_a_bad_id_is_invalid(service: ScanService) -> None:
    with pytest.raises(InvalidCommand, match="unknown product"):
        service.create_job(product="holo-99up", sets=1, customer="T", due_date="2026-12-01", actor=PLANNER)
    with pytest.raises(InvalidId):
        service.create_job(product="base-18up", sets=1, customer="T", due_date="2026-12-01", actor=PLANNER, job_id="X1")


def test_only_a_planner_or_an_admin_creates_jobs(service: ScanService) -> None:
    with pytest.raises(NotAuthorized):
        service.create_job(product="base-18up", sets=1, customer="T", due_date="2026-12-01", actor=MANAGER)
    admin = Actor(subject="root", role="admin")
    assert service.create_job(product="base-18up", sets=1, customer="T", due_date="2026-12-01", actor=admin).job_id


def test_a_voided_card_is_replaced_and_the_replacement_goes_through_qa(desk: ScanDesk, service: ScanService) -> None:
    sheet = f"{desk.new_job()}-S001"
    desk.cut(sheet)
    card = f"{sheet}-07"
    voided = service.void_card_unit(card, reason="creased corner", actor=MANAGER)
    assert voided.state == "voided"
    replacement = service.create_replacement(card, actor=PLANNER)
    assert replacement.replacement_id == f"{card}-R1"
    assert desk.pass_qa(replacement.replacement_id).state == "qa_passed"
    with pytest.raises(RuleViolation, match="voided"):
        desk.pass_qa(card)


def test_a_card_that_is_not_voided_cannot_be_replaced(desk: ScanDesk, service: ScanService) -> None:
    sheet = f"{desk.new_job()}-S001"
    desk.cut(sheet)
    with pytest.raises(RuleViolation, match="not voided"):
        service.create_replacement(f"{sheet}-01", actor=MANAGER)
