"""Card-level life: QA and rework, serial numbers, memorabilia, voids and replacements."""

from datetime import datetime

import pytest

from core.card_unit import CardUnitState
from core.errors import InvalidCommand, NotAuthorized, RuleViolation
from core.events import CardUnitCreated, MemorabiliaItemReleased, QAResultRecorded, SerialNumberApplied
from core.memorabilia import MemorabiliaState
from core.routing import Scan, interpret_scan
from tests.unit.core.floor import OPERATOR, PLANNER, Floor


def _cut_floor(product: str = "base-18up", sets: int = 2) -> Floor:
    floor = Floor()
    floor.create_job(product=product, sets=sets)
    for number in range(1, sets + 1):
        floor.print_and_cut(f"J1044-S{number:03d}")
    return floor


def _card(floor: Floor, card: str) -> CardUnitState:
    state = floor.plant.load(card)
    assert isinstance(state, CardUnitState)
    return state


def test_a_qa_scan_with_a_result_starts_and_records_the_inspection_at_once() -> None:
    floor = _cut_floor()
    events = floor.scan("J1044-S001-07", "QA-BENCH-3", result="PASS")
    assert floor.event_types(events) == ["OperationStarted", "QAResultRecorded"]
    assert _card(floor, "J1044-S001-07").qa_result == "PASS"


def test_a_qa_scan_that_ends_an_inspection_needs_a_result() -> None:
    floor = _cut_floor()
    floor.scan("J1044-S001-07", "QA-BENCH-3")
    with pytest.raises(InvalidCommand, match="needs result PASS or FAIL"):
        floor.scan("J1044-S001-07", "QA-BENCH-3")


def test_a_failing_result_needs_a_reason() -> None:
    floor = _cut_floor()
    with pytest.raises(InvalidCommand, match="failing QA result needs failure_reason or failure_codes"):
        floor.scan("J1044-S001-07", "QA-BENCH-3", result="FAIL")


def test_a_failed_card_is_reworked_and_passes_on_a_later_attempt() -> None:
    floor = _cut_floor()
    floor.scan("J1044-S001-07", "QA-BENCH-3", result="FAIL", failure_reason="ink smear")
    events = floor.scan("J1044-S001-07", "QA-BENCH-1", result="PASS")
    recorded = events[-1].event
    assert isinstance(recorded, QAResultRecorded)
    assert recorded.attempt == 2
    assert "qa" in _card(floor, "J1044-S001-07").completed_operations


def test_after_three_failed_attempts_a_card_must_be_voided() -> None:
    floor = _cut_floor()
    for _ in range(3):
        floor.scan("J1044-S001-07", "QA-BENCH-3", result="FAIL", failure_codes=("SMEAR",))
    with pytest.raises(RuleViolation, match=r"failed QA 3 times .* must be voided and replaced"):
        floor.scan("J1044-S001-07", "QA-BENCH-3", result="PASS")


def test_a_passed_card_is_not_inspected_again() -> None:
    floor = _cut_floor()
    floor.scan("J1044-S001-07", "QA-BENCH-3", result="PASS")
    with pytest.raises(RuleViolation, match="already passed QA"):
        floor.scan("J1044-S001-07", "QA-BENCH-3", result="PASS")


def test_a_result_scanned_anywhere_but_a_qa_bench_is_rejected() -> None:
    floor = _cut_floor(product="numbered-9up")
    with pytest.raises(InvalidCommand, match="result is recorded at a QA station"):
        floor.scan("J1044-S001-07", "SERIAL-1", result="PASS")


def test_a_serial_number_follows_the_sheet_in_the_run() -> None:
    floor = _cut_floor(product="numbered-9up", sets=3)
    floor.scan("J1044-S002-07", "SERIAL-1")
    events = floor.scan("J1044-S002-07", "SERIAL-1")
    applied = events[-1].event
    assert isinstance(applied, SerialNumberApplied)
    assert (applied.serial_number, applied.run_size, applied.label) == (2, 3, "02/3")


def test_memorabilia_goes_into_one_card_only() -> None:
    floor = _cut_floor(product="numbered-9up")
    for card in ("J1044-S001-01", "J1044-S001-02"):
        floor.scan(card, "SERIAL-1")
        floor.scan(card, "SERIAL-1")
    floor.scan("J1044-S001-01", "MEMO-1", memorabilia_id="M-000123")
    with pytest.raises(RuleViolation, match="M-000123 is already in card unit J1044-S001-01"):
        floor.scan("J1044-S001-02", "MEMO-1", memorabilia_id="M-000123")


def test_voiding_a_card_releases_its_memorabilia_back_to_stock() -> None:
    floor = _cut_floor(product="numbered-9up")
    floor.scan("J1044-S001-01", "SERIAL-1")
    floor.scan("J1044-S001-01", "SERIAL-1")
    floor.scan("J1044-S001-01", "MEMO-1", memorabilia_id="M-000123")
    events = floor.void("J1044-S001-01")
    assert any(isinstance(e.event, MemorabiliaItemReleased) for e in events)
    item = floor.plant.load("M-000123")
    assert isinstance(item, MemorabiliaState)
    assert item.card_unit_id is None
    assert item.released_from == ("J1044-S001-01",)


def test_only_a_manager_voids_a_card() -> None:
    floor = _cut_floor()
    with pytest.raises(NotAuthorized, match="needs a manager"):
        floor.void("J1044-S001-07", actor=OPERATOR)


def test_a_voided_card_is_not_scanned_further() -> None:
    floor = _cut_floor()
    floor.void("J1044-S001-07")
    with pytest.raises(RuleViolation, match="is voided"):
        floor.scan("J1044-S001-07", "QA-BENCH-3", result="PASS")


def test_a_replacement_takes_the_voided_cards_position_serial_run_and_names_both_origins() -> None:
    floor = _cut_floor(product="numbered-9up", sets=2)
    floor.void("J1044-S002-07")
    events = floor.replace("J1044-S002-07", printed_on="J2001-S001")
    created = events[-1].event
    assert isinstance(created, CardUnitCreated)
    assert created.card_unit_id == "J1044-S002-07-R1"
    assert (created.sheet_id, created.position, created.replaces) == ("J1044-S002", 7, "J1044-S002-07")
    assert created.printed_on_sheet_id == "J2001-S001"
    assert _card(floor, "J1044-S002-07").replaced_by == "J1044-S002-07-R1"
    floor.scan("J1044-S002-07-R1", "SERIAL-1")
    applied = floor.scan("J1044-S002-07-R1", "SERIAL-1")[-1].event
    assert isinstance(applied, SerialNumberApplied)
    assert applied.serial_number == 2  # the voided card's number, reused by its own replacement only


def test_a_replaced_replacement_gets_the_next_number() -> None:
    floor = _cut_floor()
    floor.void("J1044-S001-07")
    floor.replace("J1044-S001-07")
    floor.void("J1044-S001-07-R1")
    assert floor.replace("J1044-S001-07-R1")[-1].aggregate_id == "J1044-S001-07-R2"


def test_only_a_voided_card_is_replaced_and_only_once() -> None:
    floor = _cut_floor()
    with pytest.raises(RuleViolation, match="is not voided"):
        floor.replace("J1044-S001-07")
    floor.void("J1044-S001-07")
    floor.replace("J1044-S001-07")
    with pytest.raises(RuleViolation, match="already replaced by J1044-S001-07-R1"):
        floor.replace("J1044-S001-07")


def test_a_scan_without_a_timezone_is_rejected() -> None:
    floor = _cut_floor()
    scan = Scan(
        scan_id="s1",
        barcode="J1044-S001-07",
        station_id="QA-BENCH-1",
        operator_id="OP-1",
        occurred_at=datetime(2026, 11, 2, 8, 0),
        result="PASS",
    )  # naive on purpose
    with pytest.raises(InvalidCommand, match="occurred_at must carry a timezone"):
        interpret_scan(scan, PLANNER, floor.plant, floor.factory)
