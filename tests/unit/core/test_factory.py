import copy
import tomllib
from pathlib import Path

import pytest

from core.errors import FactoryConfigError
from core.factory import factory_from_mapping
from projections.data_dir import DEFAULT_FACTORY, load_factory

REQUIRED_STATIONS = {
    "PRESS-1",
    "PRESS-2",
    "FOIL-1",
    "UV-1",
    "CUT-1",
    "SERIAL-1",
    "MEMO-1",
    "QA-BENCH-1",
    "QA-BENCH-2",
    "QA-BENCH-3",
    "ASSEMBLY-1",
    "PACK-1",
}


def _document() -> dict[str, object]:
    with DEFAULT_FACTORY.open("rb") as handle:
        return tomllib.load(handle)


def test_the_shipped_factory_has_the_contracted_stations_and_products() -> None:
    factory = load_factory(DEFAULT_FACTORY)
    assert {s.station_id for s in factory.stations} >= REQUIRED_STATIONS
    base = factory.product("base-18up")
    assert (base.n_up, base.serialized) == (18, False)
    assert [op.operation_id for op in base.operations_for("sheet")] == ["press", "foil", "cut"]
    numbered = factory.product("numbered-9up")
    assert (numbered.n_up, numbered.serialized) == (9, True)
    assert [op.operation_id for op in numbered.operations_for("card_unit")] == [
        "serial_number",
        "memorabilia",
        "qa",
        "assembly",
    ]


def _operations(document: dict[str, object], product: int = 0) -> list[dict[str, object]]:
    return document["products"][product]["operations"]  # type: ignore[index,no-any-return]


def test_a_cycle_in_an_operation_dag_is_rejected_naming_the_cycle() -> None:
    document = copy.deepcopy(_document())
    _operations(document)[0]["predecessors"] = ["cut"]
    with pytest.raises(FactoryConfigError, match="cycle in the operation DAG: press -> cut -> foil -> press"):
        factory_from_mapping(document)


def test_an_unknown_station_type_is_rejected() -> None:
    document = copy.deepcopy(_document())
    _operations(document)[1]["station_type"] = "LASER"
    with pytest.raises(FactoryConfigError, match="operation 'foil': unknown station type 'LASER'"):
        factory_from_mapping(document)


def test_a_missing_field_is_rejected_naming_it() -> None:
    document = copy.deepcopy(_document())
    del document["stations"][0]["parallel_units"]  # type: ignore[index]
    with pytest.raises(FactoryConfigError, match="station 'PRESS-1': missing field 'parallel_units'"):
        factory_from_mapping(document)


def test_a_duplicate_station_id_is_rejected() -> None:
    document = copy.deepcopy(_document())
    document["stations"].append(copy.deepcopy(document["stations"][0]))  # type: ignore[attr-defined,index]
    with pytest.raises(FactoryConfigError, match="duplicate station id 'PRESS-1'"):
        factory_from_mapping(document)


def test_a_duplicate_operation_id_is_rejected() -> None:
    document = copy.deepcopy(_document())
    _operations(document).append(copy.deepcopy(_operations(document)[0]))
    with pytest.raises(FactoryConfigError, match="duplicate operation id 'press'"):
        factory_from_mapping(document)


def test_an_unreadable_file_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "factory.toml"
    broken.write_text("[[stations]\n")
    with pytest.raises(FactoryConfigError, match=f"{broken}: not valid TOML"):
        load_factory(broken)
