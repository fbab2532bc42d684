"""Given a job, when sheets are scanned along their route, then the right events happen or a named error."""

import pytest

from core.errors import InvalidCommand, RuleViolation, UnknownEntity
from core.events import CardUnitCreated, JobCreated, SheetCreated, SheetCut
from tests.unit.core.floor import Floor


def test_creating_a_job_spawns_one_sheet_per_set() -> None:
    floor = Floor()
    events = floor.create_job(sets=3)
    assert isinstance(events[0].event, JobCreated)
    assert [e.aggregate_id for e in events[1:]] == ["J1044-S001", "J1044-S002", "J1044-S003"]
    assert all(isinstance(e.event, SheetCreated) for e in events[1:])


def test_a_job_id_is_created_once() -> None:
    floor = Floor()
    floor.create_job()
    with pytest.raises(RuleViolation, match="job J1044 already exists"):
        floor.create_job()


def test_an_unknown_product_is_an_invalid_command() -> None:
    with pytest.raises(InvalidCommand, match="unknown product 'holo-4up'"):
        Floor().create_job(product="holo-4up")


def test_the_first_scan_at_a_press_starts_printing_and_the_second_completes_it() -> None:
    floor = Floor()
    floor.create_job()
    assert floor.event_types(floor.scan("J1044-S001", "PRESS-1")) == ["OperationStarted"]
    assert floor.event_types(floor.scan("J1044-S001", "PRESS-1")) == ["OperationCompleted"]


def test_a_scan_out_of_routing_order_is_rejected() -> None:
    floor = Floor()
    floor.create_job()
    with pytest.raises(RuleViolation, match="scan out of routing order: 'foil' needs 'press' first"):
        floor.scan("J1044-S001", "FOIL-1")


def test_a_sheet_in_progress_elsewhere_must_be_completed_there_first() -> None:
    floor = Floor()
    floor.create_job()
    floor.scan("J1044-S001", "PRESS-1")
    with pytest.raises(RuleViolation, match="in operation 'press' at PRESS-1"):
        floor.scan("J1044-S001", "PRESS-2")


def test_cutting_an_uncompleted_sheet_is_rejected() -> None:
    floor = Floor()
    floor.create_job()
    floor.scan("J1044-S001", "PRESS-1")
    floor.scan("J1044-S001", "PRESS-1")
    with pytest.raises(RuleViolation, match="'cut' needs 'foil' first"):
        floor.scan("J1044-S001", "CUT-1")


def test_the_cut_fans_a_sheet_out_into_n_up_card_units() -> None:
    floor = Floor()
    floor.create_job()
    for station in ("PRESS-1", "PRESS-1", "FOIL-1", "FOIL-1", "CUT-1"):
        floor.scan("J1044-S001", station)
    events = floor.scan("J1044-S001", "CUT-1")
    assert isinstance(events[0].event, SheetCut)
    cards = [e.event for e in events[1:]]
    assert [c.card_unit_id for c in cards if isinstance(c, CardUnitCreated)] == [
        f"J1044-S001-{p:02d}" for p in range(1, 19)
    ]
    first = cards[0]
    assert isinstance(first, CardUnitCreated)
    assert (first.job_id, first.sheet_id, first.position, first.product_id) == ("J1044", "J1044-S001", 1, "base-18up")
    assert first.embellishments == ("foil gold wave front",)


def test_a_cut_sheet_is_never_cut_again() -> None:
    floor = Floor()
    floor.create_job()
    floor.print_and_cut("J1044-S001")
    with pytest.raises(RuleViolation, match="has been cut; its card units carry on"):
        floor.scan("J1044-S001", "CUT-1")


def test_a_sheet_that_does_not_exist_is_unknown() -> None:
    floor = Floor()
    with pytest.raises(UnknownEntity, match="sheet J9999-S001 does not exist"):
        floor.scan("J9999-S001", "PRESS-1")


def test_an_unknown_station_is_named() -> None:
    floor = Floor()
    floor.create_job()
    with pytest.raises(UnknownEntity, match="station PRESS-9 is not in the factory configuration"):
        floor.scan("J1044-S001", "PRESS-9")


def test_a_sheet_has_no_operation_at_a_qa_bench() -> None:
    floor = Floor()
    floor.create_job()
    with pytest.raises(RuleViolation, match="no operation at QA-BENCH-1"):
        floor.scan("J1044-S001", "QA-BENCH-1")
