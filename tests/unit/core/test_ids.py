import pytest

from core.errors import InvalidId
from core.ids import (
    assembly_id,
    card_unit_id,
    pack_id,
    parse_card_unit_id,
    parse_entity_id,
    replacement_id,
    sheet_id,
    station_type_prefix,
)


def test_a_card_unit_id_carries_its_job_sheet_and_position() -> None:
    ref = parse_card_unit_id("J1044-S003-07")
    assert (ref.job_id, ref.sheet_id, ref.sheet_number, ref.position, ref.replacement_number) == (
        "J1044",
        "J1044-S003",
        3,
        7,
        0,
    )


def test_a_replacement_id_names_the_original_card_and_its_number() -> None:
    ref = parse_card_unit_id("J1044-S003-07-R2")
    assert ref.original_id == "J1044-S003-07"
    assert ref.replacement_number == 2


def test_formatting_and_parsing_round_trip() -> None:
    sheet = sheet_id("J1044", 3)
    card = card_unit_id(sheet, 7)
    assert (sheet, card) == ("J1044-S003", "J1044-S003-07")
    assert replacement_id(card, 1) == "J1044-S003-07-R1"
    assert assembly_id(sheet) == "A-J1044-S003"
    assert pack_id("J1044", 1) == "J1044-P0001"


@pytest.mark.parametrize(
    ("barcode", "kind", "entity_id"),
    [
        ("J1044", "job", "J1044"),
        ("J1044-S003", "sheet", "J1044-S003"),
        ("J1044-S003-07", "card_unit", "J1044-S003-07"),
        ("J1044-S003-07-R1", "card_unit", "J1044-S003-07-R1"),
        ("A-J1044-S003", "assembly", "A-J1044-S003"),
        ("J1044-P0001", "pack", "J1044-P0001"),
        ("QA-BENCH-3", "station", "QA-BENCH-3"),
        ("OP-42", "operator", "OP-42"),
        ("M-000123", "memorabilia", "M-000123"),
        ("  (01)J1044-S003-07 ", "card_unit", "J1044-S003-07"),
        ("]C1A-J1044-S003", "assembly", "A-J1044-S003"),
    ],
)
def test_a_barcode_names_exactly_one_kind_of_entity(barcode: str, kind: str, entity_id: str) -> None:
    ref = parse_entity_id(barcode)
    assert (ref.kind, ref.entity_id) == (kind, entity_id)


@pytest.mark.parametrize(
    ("barcode", "names"),
    [
        ("J104-S003-07", "at least 4 digits"),
        ("J1044-S3-07", "sheet part 'S3'"),
        ("J1044-S003-7", "position '7'"),
        ("J1044-S003-00", "positions start at 01"),
        ("J1044-S003-07-X1", "replacement part 'X1'"),
        ("J1044-P01", "pack part 'P01'"),
        ("M-12", "6 digits"),
        ("", "empty"),
        ("hello", "not a cardtrace id"),
        ("J1044-S000", "start at S001"),
        ("J\u0661\u0660\u0664\u0664-S003", "at least 4 digits"),  # Arabic-Indic digits are not barcode digits
        ("J1044-S003-\uff10\uff17", "position"),  # nor are full-width ones
    ],
)
def test_a_malformed_id_is_an_error_naming_the_wrong_part(barcode: str, names: str) -> None:
    with pytest.raises(InvalidId, match=names):
        parse_entity_id(barcode)


def test_a_station_type_is_its_prefix() -> None:
    assert station_type_prefix("QA-BENCH-3") == "QA-BENCH"
