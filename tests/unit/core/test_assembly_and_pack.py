"""Fan-in: gathering a sheet's set and packing it, with zero errors tolerated."""

import pytest

from core.assembly import AssemblyState
from core.errors import NotAuthorized, RuleViolation
from core.events import AssemblyCompleted, PackSealed, SetPacked
from tests.unit.core.floor import MANAGER, Floor


def _finished_floor(sets: int = 2) -> Floor:
    floor = Floor()
    floor.create_job(sets=sets)
    for number in range(1, sets + 1):
        sheet = f"J1044-S{number:03d}"
        floor.print_and_cut(sheet)
        for position in range(1, 19):
            floor.finish_card(f"{sheet}-{position:02d}")
    return floor


def _set(floor: Floor, sheet: str = "J1044-S001") -> AssemblyState:
    state = floor.plant.load(f"A-{sheet}")
    assert isinstance(state, AssemblyState)
    return state


def _gather(floor: Floor, sheet: str, positions: range) -> None:
    for position in positions:
        floor.scan(f"{sheet}-{position:02d}", "ASSEMBLY-1")


def test_the_first_card_opens_its_sets_at_the_station() -> None:
    floor = _finished_floor()
    events = floor.scan("J1044-S001-01", "ASSEMBLY-1")
    assert floor.event_types(events) == ["AssemblyOpened", "SetOpenedAtStation", "CardUnitGathered"]


def test_a_card_of_another_sheet_is_rejected_while_a_set_is_open() -> None:
    floor = _finished_floor()
    floor.scan("J1044-S001-01", "ASSEMBLY-1")
    with pytest.raises(RuleViolation, match="has set A-J1044-S001 open; card unit J1044-S002-01 of sheet J1044-S002"):
        floor.scan("J1044-S002-01", "ASSEMBLY-1")


def test_a_card_scanned_into_a_named_set_of_another_sheet_is_rejected() -> None:
    floor = _finished_floor()
    with pytest.raises(RuleViolation, match="belongs to set A-J1044-S001, not A-J1044-S002"):
        floor.scan("J1044-S001-01", "ASSEMBLY-1", assembly_id="A-J1044-S002")


def test_a_duplicate_card_is_rejected() -> None:
    floor = _finished_floor()
    floor.scan("J1044-S001-01", "ASSEMBLY-1")
    with pytest.raises(RuleViolation, match="duplicate: card unit J1044-S001-01 is already in set A-J1044-S001"):
        floor.scan("J1044-S001-01", "ASSEMBLY-1")


def test_a_card_that_has_not_passed_qa_is_rejected() -> None:
    floor = Floor()
    floor.create_job()
    floor.print_and_cut("J1044-S001")
    with pytest.raises(RuleViolation, match="has not passed QA"):
        floor.scan("J1044-S001-01", "ASSEMBLY-1")


def test_a_voided_card_is_rejected() -> None:
    floor = _finished_floor()
    floor.void("J1044-S001-05")
    with pytest.raises(RuleViolation, match="voided and cannot join a set"):
        floor.scan("J1044-S001-05", "ASSEMBLY-1")


def test_a_set_completes_exactly_when_every_position_is_present() -> None:
    floor = _finished_floor()
    _gather(floor, "J1044-S001", range(1, 18))
    assert _set(floor).status == "in_progress"
    events = floor.scan("J1044-S001-18", "ASSEMBLY-1")
    assert floor.event_types(events) == ["CardUnitGathered", "AssemblyCompleted", "SetClosedAtStation"]
    completed = events[1].event
    assert isinstance(completed, AssemblyCompleted)
    assert len(completed.card_unit_ids) == 18
    floor.scan("J1044-S002-01", "ASSEMBLY-1")  # the station took the next set


def test_a_replacement_stands_in_for_its_voided_original() -> None:
    floor = _finished_floor()
    floor.void("J1044-S001-09")
    floor.replace("J1044-S001-09")
    floor.finish_card("J1044-S001-09-R1")
    _gather(floor, "J1044-S001", range(1, 9))
    _gather(floor, "J1044-S001", range(10, 19))
    assert _set(floor).missing_positions == (9,)
    floor.scan("J1044-S001-09-R1", "ASSEMBLY-1")
    assert _set(floor).status == "complete"


def test_voiding_a_gathered_card_takes_it_out_of_its_set() -> None:
    floor = _finished_floor()
    _gather(floor, "J1044-S001", range(1, 19))
    events = floor.void("J1044-S001-04")
    assert floor.event_types(events) == ["CardUnitVoided", "CardUnitRemovedFromSet"]
    assert _set(floor).status == "in_progress"
    assert _set(floor).missing_positions == (4,)


def test_a_complete_set_packs_into_its_sheets_pack() -> None:
    floor = _finished_floor()
    _gather(floor, "J1044-S001", range(1, 19))
    events = floor.scan("A-J1044-S001", "PACK-1")
    assert isinstance(events[0].event, SetPacked)
    sealed = events[1].event
    assert isinstance(sealed, PackSealed)
    assert sealed.pack_id == "J1044-P0001"
    assert len(sealed.card_unit_ids) == 18
    assert _set(floor).status == "packed"


def test_an_incomplete_set_is_refused_without_a_managers_override() -> None:
    floor = _finished_floor()
    _gather(floor, "J1044-S001", range(1, 18))
    with pytest.raises(RuleViolation, match="misses positions 18; packing it needs a manager's override"):
        floor.scan("A-J1044-S001", "PACK-1")


def test_an_override_from_an_operator_is_not_authorized() -> None:
    floor = _finished_floor()
    _gather(floor, "J1044-S001", range(1, 18))
    with pytest.raises(NotAuthorized, match="override_reason needs a manager"):
        floor.scan("A-J1044-S001", "PACK-1", override_reason="card lost, customer agreed")


def test_a_manager_packs_an_incomplete_set_with_a_reason() -> None:
    floor = _finished_floor()
    _gather(floor, "J1044-S001", range(1, 18))
    events = floor.scan("A-J1044-S001", "PACK-1", actor=MANAGER, override_reason="card lost, customer agreed")
    packed = events[0].event
    assert isinstance(packed, SetPacked)
    assert (packed.missing_positions, packed.authorized_by) == ((18,), "MGR-1")


def test_a_set_holding_a_replacement_needs_an_override_to_pack() -> None:
    floor = _finished_floor()
    floor.void("J1044-S001-09")
    floor.replace("J1044-S001-09")
    floor.finish_card("J1044-S001-09-R1")
    _gather(floor, "J1044-S001", range(1, 9))
    _gather(floor, "J1044-S001", range(10, 19))
    floor.scan("J1044-S001-09-R1", "ASSEMBLY-1")
    with pytest.raises(RuleViolation, match="holds replacements J1044-S001-09-R1"):
        floor.scan("A-J1044-S001", "PACK-1")
    floor.scan("A-J1044-S001", "PACK-1", actor=MANAGER, override_reason="make-up card checked")
    assert _set(floor).status == "packed"


def test_a_packed_set_is_not_packed_again_and_its_cards_cannot_be_voided() -> None:
    floor = _finished_floor()
    _gather(floor, "J1044-S001", range(1, 19))
    floor.scan("A-J1044-S001", "PACK-1")
    with pytest.raises(RuleViolation, match="already packed in J1044-P0001"):
        floor.scan("A-J1044-S001", "PACK-1")
    with pytest.raises(RuleViolation, match="packed card cannot be voided"):
        floor.void("J1044-S001-01")
