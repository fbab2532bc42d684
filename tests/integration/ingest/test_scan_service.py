"""The scan path on a real store: interpretation, idempotency, rejections, concurrency."""

import threading
from dataclasses import replace

import pytest

from core.commands import Actor
from core.errors import InvalidCommand, NotAuthorized, RuleViolation, UnknownEntity
from ingest.service import ScanOutcome, ScanService
from projections.data_dir import DataDir
from projections.store import EventStore
from projections.store.errors import ScanIdReused
from tests.integration.ingest.conftest import MANAGER, OPERATOR, ScanDesk


def test_a_sheet_scanned_twice_at_a_press_is_started_then_completed(desk: ScanDesk) -> None:
    sheet = f"{desk.new_job()}-S001"
    started = desk.scan(sheet, "PRESS-1")
    completed = desk.scan(sheet, "PRESS-1")
    assert (started.command, started.state, started.entity_id) == ("StartOperation", "in_progress", sheet)
    assert completed.command == "CompleteOperation"
    assert [e.event_type for e in started.events + completed.events] == ["OperationStarted", "OperationCompleted"]
    assert completed.events[0].sequence_num == started.events[0].sequence_num + 1
    assert completed.events[0].aggregate_version == started.events[0].aggregate_version + 1


def test_the_second_scan_at_the_cutter_cuts_the_sheet_into_its_card_units(desk: ScanDesk) -> None:
    sheet = f"{desk.new_job()}-S001"
    for station in ("PRESS-1", "PRESS-1", "FOIL-1", "FOIL-1", "CUT-1"):
        desk.scan(sheet, station)
    cut = desk.scan(sheet, "CUT-1")
    assert (cut.command, cut.state) == ("CutSheet", "cut")
    created = [e.aggregate_id for e in cut.events if e.event_type == "CardUnitCreated"]
    assert created == [f"{sheet}-{position:02d}" for position in range(1, 19)]


def test_a_card_goes_from_qa_failure_through_rework_to_a_pass(desk: ScanDesk) -> None:
    sheet = f"{desk.new_job()}-S001"
    desk.cut(sheet)
    card = f"{sheet}-05"
    failed = desk.scan(card, "QA-BENCH-2", result="FAIL", failure_codes=("SMUDGE",))
    passed = desk.scan(card, "QA-BENCH-3", result="PASS")
    assert (failed.state, passed.state) == ("qa_failed", "qa_passed")
    assert failed.events[-1].payload["attempt"] == 1
    assert passed.events[-1].payload["attempt"] == 2


def test_the_same_scan_sent_again_returns_the_original_outcome_and_records_nothing(
    desk: ScanDesk, service: ScanService, store: EventStore
) -> None:
    sheet = f"{desk.new_job()}-S001"
    scan = desk.make(sheet, "PRESS-1")
    first = service.submit_scan(scan, OPERATOR)
    last = store.last_sequence()
    again = service.submit_scan(scan, OPERATOR)
    assert again.replayed
    assert not first.replayed
    assert (again.entity_id, again.state, again.command) == (first.entity_id, first.state, first.command)
    assert [e.sequence_num for e in again.events] == [e.sequence_num for e in first.events]
    assert store.last_sequence() == last


def test_a_retry_after_the_plant_moved_on_still_gets_the_original_answer(desk: ScanDesk, service: ScanService) -> None:
    sheet = f"{desk.new_job()}-S001"
    start = desk.make(sheet, "PRESS-1")
    service.submit_scan(start, OPERATOR)
    desk.scan(sheet, "PRESS-1")  # completes the press: re-deciding `start` now would mean something else
    assert service.submit_scan(start, OPERATOR).command == "StartOperation"


def test_the_same_scan_id_with_other_content_is_refused_as_reused(desk: ScanDesk, service: ScanService) -> None:
    sheet = f"{desk.new_job()}-S001"
    scan = desk.make(sheet, "PRESS-1")
    service.submit_scan(scan, OPERATOR)
    with pytest.raises(ScanIdReused):
        service.submit_scan(replace(scan, station_id="PRESS-2"), OPERATOR)


def test_a_rejected_scan_is_recorded_so_its_retry_is_rejected_the_same_way(
    desk: ScanDesk, service: ScanService, store: EventStore
) -> None:
    sheet = f"{desk.new_job()}-S001"
    too_early = desk.make(sheet, "CUT-1")
    with pytest.raises(RuleViolation) as first:
        service.submit_scan(too_early, OPERATOR)
    for station in ("PRESS-1", "PRESS-1", "FOIL-1", "FOIL-1"):
        desk.scan(sheet, station)  # now a cut scan would be accepted
    last = store.last_sequence()
    with pytest.raises(RuleViolation) as again:
        service.submit_scan(too_early, OPERATOR)
    assert again.value.message == first.value.message
    assert store.last_sequence() == last


def test_a_scan_of_an_unknown_entity_is_not_found_and_answered_the_same_on_retry(
    desk: ScanDesk, service: ScanService
) -> None:
    scan = desk.make("J9999-S001", "PRESS-1")
    for _ in range(2):
        with pytest.raises(UnknownEntity, match="J9999-S001"):
            service.submit_scan(scan, OPERATOR)


def test_a_naive_timestamp_is_refused_and_not_recorded(desk: ScanDesk, service: ScanService) -> None:
    sheet = f"{desk.new_job()}-S001"
    naive = replace(desk.make(sheet, "PRESS-1"), occurred_at=desk.clock.replace(tzinfo=None))
    with pytest.raises(InvalidCommand, match="timezone"):
        service.submit_scan(naive, OPERATOR)
    assert service.submit_scan(replace(naive, occurred_at=desk.clock), OPERATOR).command == "StartOperation"


def test_an_override_from_an_operator_is_refused_without_being_recorded(desk: ScanDesk, service: ScanService) -> None:
    sheet = f"{desk.new_job()}-S001"
    scan = desk.make(f"A-{sheet}", "PACK-1", override_reason="customer accepts 17 cards")
    with pytest.raises(NotAuthorized):
        service.submit_scan(scan, OPERATOR)
    # The same scan under a manager's authority is decided on its merits (nothing gathered yet: nothing to pack).
    with pytest.raises(RuleViolation, match="nothing to pack"):
        service.submit_scan(scan, MANAGER)


def test_a_token_bound_to_a_station_cannot_scan_at_another(desk: ScanDesk, service: ScanService) -> None:
    sheet = f"{desk.new_job()}-S001"
    with pytest.raises(NotAuthorized, match="bound to PRESS-2"):
        service.submit_scan(desk.make(sheet, "PRESS-1"), OPERATOR, station="PRESS-2")
    assert service.submit_scan(desk.make(sheet, "PRESS-2"), OPERATOR, station="PRESS-2").state == "in_progress"


def test_concurrent_first_scans_of_one_card_at_two_benches_start_it_exactly_once(
    desk: ScanDesk, service: ScanService, store: EventStore
) -> None:
    sheet = f"{desk.new_job()}-S001"
    desk.cut(sheet)
    card = f"{sheet}-01"
    scans = [desk.make(card, f"QA-BENCH-{bench}") for bench in (1, 2, 3)] * 4
    scans = [replace(scan, scan_id=f"{scan.scan_id}-{n}") for n, scan in enumerate(scans)]
    results: list[ScanOutcome | Exception] = []
    barrier = threading.Barrier(len(scans))

    def submit(scan_index: int) -> None:
        barrier.wait()
        try:
            results.append(service.submit_scan(scans[scan_index], OPERATOR))
        except Exception as error:
            results.append(error)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(len(scans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    version, events = store.load_aggregate(card)
    started = [e for e in events if e.event_type == "OperationStarted"]
    assert len(started) == 1
    accepted = [r for r in results if isinstance(r, ScanOutcome)]
    assert len(accepted) == 1
    assert all(isinstance(r, RuleViolation | InvalidCommand) for r in results if not isinstance(r, ScanOutcome))
    assert version == len(events)


def test_two_services_on_one_store_stay_correct_with_their_own_caches(
    desk: ScanDesk, service: ScanService, store: EventStore, data_dir: DataDir
) -> None:
    other = ScanService(store, data_dir.load_factory())
    sheet = f"{desk.new_job()}-S001"
    desk.scan(sheet, "PRESS-1")  # this service caches the sheet as started
    other_desk = ScanDesk(service=other, clock=desk.clock, issued=1000)
    assert other_desk.scan(sheet, "PRESS-1").command == "CompleteOperation"
    # The first service's cached state is stale; the append conflicts, it re-reads and decides again.
    assert desk.scan(sheet, "FOIL-1").command == "StartOperation"


def test_a_restarted_service_continues_from_the_log(desk: ScanDesk, store: EventStore, data_dir: DataDir) -> None:
    sheet = f"{desk.new_job()}-S001"
    desk.scan(sheet, "PRESS-1")
    fresh = ScanDesk(service=ScanService(store, data_dir.load_factory()), clock=desk.clock, issued=1000)
    assert fresh.scan(sheet, "PRESS-1").command == "CompleteOperation"
    assert fresh.new_job() == "J1002"


def test_an_operator_actor_may_not_void_a_card(desk: ScanDesk, service: ScanService) -> None:
    sheet = f"{desk.new_job()}-S001"
    desk.cut(sheet)
    with pytest.raises(NotAuthorized):
        service.void_card_unit(f"{sheet}-01", reason="creased", actor=Actor(subject="OP-7", role="operator"))


def test_voiding_a_card_that_holds_memorabilia_releases_the_item_for_another_card(
    desk: ScanDesk, service: ScanService
) -> None:
    sheet = f"{desk.new_job(product='numbered-9up')}-S001"
    for station in ("PRESS-1", "PRESS-1", "UV-1", "UV-1", "CUT-1", "CUT-1"):
        desk.scan(sheet, station)
    first, second = f"{sheet}-01", f"{sheet}-02"
    for card in (first, second):
        desk.scan(card, "SERIAL-1")
        desk.scan(card, "SERIAL-1")
    desk.scan(first, "MEMO-1", memorabilia_id="M-000123")

    voided = service.void_card_unit(first, reason="autograph smudged", actor=MANAGER)

    assert "MemorabiliaItemReleased" in [event.event_type for event in voided.events]
    placed = desk.scan(second, "MEMO-1", memorabilia_id="M-000123")
    assert "MemorabiliaItemAllocated" in [event.event_type for event in placed.events]
