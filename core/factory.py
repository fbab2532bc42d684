"""The factory specification: stations and products with their operation DAGs (CONTRACTS section 2).

Pure values built from a plain mapping (what `tomllib` gives); reading the file is an adapter's job.
`factory_from_mapping` rejects a malformed specification with the exact problem.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar, cast

from core.errors import FactoryConfigError, InvalidId
from core.ids import parse_station_id

Entity = Literal["sheet", "card_unit", "assembly"]
OperationKind = Literal["process", "cut", "qa", "serial_number", "memorabilia", "assembly", "pack"]
_KINDS: tuple[OperationKind, ...] = ("process", "cut", "qa", "serial_number", "memorabilia", "assembly", "pack")
_ENTITY_OF_KIND: dict[OperationKind, Entity] = {
    "cut": "sheet",
    "qa": "card_unit",
    "serial_number": "card_unit",
    "memorabilia": "card_unit",
    "assembly": "card_unit",
    "pack": "assembly",
}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, kw_only=True, slots=True)
class OperatingHours:
    """When a station runs: weekdays (0 = Monday) and a daily window in minutes after midnight (UTC)."""

    weekdays: tuple[int, ...]
    start_minute: int
    end_minute: int

    @property
    def minutes_per_day(self) -> int:
        return self.end_minute - self.start_minute

    def is_open(self, weekday: int, minute_of_day: int) -> bool:
        return weekday in self.weekdays and self.start_minute <= minute_of_day < self.end_minute


@dataclass(frozen=True, kw_only=True, slots=True)
class StationSpec:
    station_id: str
    station_type: str
    parallel_units: int
    rated_capacity: float
    capacity_unit: str
    setup_minutes: float
    operating_hours: OperatingHours


@dataclass(frozen=True, kw_only=True, slots=True)
class EmbellishmentSpec:
    """A decorative treatment every card of a product carries (foil colour and die, UV coat...)."""

    embellishment_type: str
    color: str | None = None
    die_name: str | None = None
    side: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class OperationSpec:
    operation_id: str
    station_type: str
    entity: Entity
    kind: OperationKind
    predecessors: tuple[str, ...]
    standard_minutes: float


@dataclass(frozen=True, kw_only=True, slots=True)
class ProductSpec:
    product_id: str
    n_up: int
    serialized: bool
    operations: tuple[OperationSpec, ...]  # in a topological order
    embellishments: tuple[EmbellishmentSpec, ...] = ()

    def operation(self, operation_id: str) -> OperationSpec:
        for operation in self.operations:
            if operation.operation_id == operation_id:
                return operation
        raise FactoryConfigError(f"product {self.product_id} has no operation {operation_id!r}")

    def operations_for(self, entity: Entity) -> tuple[OperationSpec, ...]:
        return tuple(op for op in self.operations if op.entity == entity)

    def first_card_operations(self) -> tuple[str, ...]:
        return tuple(op.operation_id for op in self.operations_for("card_unit"))


@dataclass(frozen=True, kw_only=True, slots=True)
class Factory:
    stations: tuple[StationSpec, ...]
    products: tuple[ProductSpec, ...]
    qa_max_attempts: int = 3
    assembly_timeout_minutes: int = 240

    def station(self, station_id: str) -> StationSpec:
        for station in self.stations:
            if station.station_id == station_id:
                return station
        raise FactoryConfigError(f"unknown station {station_id!r}")

    def has_station(self, station_id: str) -> bool:
        return any(station.station_id == station_id for station in self.stations)

    def product(self, product_id: str) -> ProductSpec:
        for product in self.products:
            if product.product_id == product_id:
                return product
        known = ", ".join(p.product_id for p in self.products)
        raise FactoryConfigError(f"unknown product {product_id!r} (known: {known})")

    def station_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(station.station_type for station in self.stations))

    def stations_of_type(self, station_type: str) -> tuple[StationSpec, ...]:
        return tuple(s for s in self.stations if s.station_type == station_type)


def _field(table: Mapping[str, object], name: str, where: str) -> object:
    if name not in table:
        raise FactoryConfigError(f"{where}: missing field {name!r}")
    return table[name]


T = TypeVar("T")


def _typed(value: object, kind: type[T], where: str, name: str) -> T:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return cast(T, float(value))
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FactoryConfigError(f"{where}: field {name!r} must be {kind.__name__}, got {value!r}")
    return value


def _tables(value: object, where: str) -> Sequence[Mapping[str, object]]:
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise FactoryConfigError(f"{where} must be a list of tables")
    return cast(Sequence[Mapping[str, object]], value)


def _minute(text: str, where: str) -> int:
    try:
        hours, minutes = text.split(":")
        value = int(hours) * 60 + int(minutes)
    except ValueError:
        raise FactoryConfigError(f"{where}: time {text!r} must be HH:MM") from None
    if not 0 <= value <= 24 * 60:
        raise FactoryConfigError(f"{where}: time {text!r} is outside the day")
    return value


def _operating_hours(value: object, where: str) -> OperatingHours:
    if not isinstance(value, dict):
        raise FactoryConfigError(f"{where}: operating_hours must be a table {{days, start, end}}")
    table = cast(Mapping[str, object], value)
    days = _field(table, "days", f"{where} operating_hours")
    if not isinstance(days, list) or not days or any(day not in _DAYS for day in days):
        raise FactoryConfigError(f"{where}: operating_hours.days must list days among {', '.join(_DAYS)}")
    start = _minute(_typed(_field(table, "start", where), str, where, "start"), where)
    end = _minute(_typed(_field(table, "end", where), str, where, "end"), where)
    if end <= start:
        raise FactoryConfigError(f"{where}: operating_hours end must be after start")
    return OperatingHours(weekdays=tuple(sorted(_DAYS.index(d) for d in days)), start_minute=start, end_minute=end)


def _station(table: Mapping[str, object]) -> StationSpec:
    where = f"station {table.get('id', '?')!r}"
    station_id = _typed(_field(table, "id", "station"), str, where, "id")
    try:
        parse_station_id(station_id)
    except InvalidId as error:
        raise FactoryConfigError(f"{where}: {error.message}") from None
    units = _typed(_field(table, "parallel_units", where), int, where, "parallel_units")
    if units < 1:
        raise FactoryConfigError(f"{where}: parallel_units must be >= 1")
    return StationSpec(
        station_id=station_id,
        station_type=_typed(_field(table, "type", where), str, where, "type"),
        parallel_units=units,
        rated_capacity=_typed(_field(table, "rated_capacity", where), float, where, "rated_capacity"),
        capacity_unit=_typed(_field(table, "capacity_unit", where), str, where, "capacity_unit"),
        setup_minutes=_typed(_field(table, "setup_minutes", where), float, where, "setup_minutes"),
        operating_hours=_operating_hours(_field(table, "operating_hours", where), where),
    )


def _operation(table: Mapping[str, object], product: str) -> OperationSpec:
    where = f"product {product!r} operation {table.get('id', '?')!r}"
    operation_id = _typed(_field(table, "id", where), str, where, "id")
    kind_text = table.get("kind", operation_id if operation_id in _KINDS else "process")
    if kind_text not in _KINDS:
        raise FactoryConfigError(f"{where}: kind {kind_text!r} must be one of {', '.join(_KINDS)}")
    kind: OperationKind = kind_text
    entity = _typed(_field(table, "entity", where), str, where, "entity")
    if entity not in ("sheet", "card_unit", "assembly"):
        raise FactoryConfigError(f"{where}: entity {entity!r} must be 'sheet', 'card_unit' or 'assembly'")
    if kind in _ENTITY_OF_KIND and _ENTITY_OF_KIND[kind] != entity:
        raise FactoryConfigError(f"{where}: a {kind} operation works on a {_ENTITY_OF_KIND[kind]}, not {entity}")
    predecessors = _field(table, "predecessors", where)
    if not isinstance(predecessors, list) or not all(isinstance(p, str) for p in predecessors):
        raise FactoryConfigError(f"{where}: predecessors must be a list of operation ids")
    minutes = _typed(_field(table, "standard_minutes", where), float, where, "standard_minutes")
    if minutes < 0:
        raise FactoryConfigError(f"{where}: standard_minutes must be >= 0")
    return OperationSpec(
        operation_id=operation_id,
        station_type=_typed(_field(table, "station_type", where), str, where, "station_type"),
        entity=cast(Entity, entity),
        kind=kind,
        predecessors=tuple(cast(list[str], predecessors)),
        standard_minutes=minutes,
    )


def _topological(operations: Sequence[OperationSpec], product: str) -> tuple[OperationSpec, ...]:
    by_id = {op.operation_id: op for op in operations}
    for op in operations:
        for predecessor in op.predecessors:
            if predecessor not in by_id:
                raise FactoryConfigError(
                    f"product {product!r} operation {op.operation_id!r}: unknown predecessor {predecessor!r}"
                )
    ordered: list[OperationSpec] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(op: OperationSpec, path: tuple[str, ...]) -> None:
        if state.get(op.operation_id) == 2:
            return
        if state.get(op.operation_id) == 1:
            cycle = " -> ".join((*path[path.index(op.operation_id) :], op.operation_id))
            raise FactoryConfigError(f"product {product!r}: cycle in the operation DAG: {cycle}")
        state[op.operation_id] = 1
        for predecessor in op.predecessors:
            visit(by_id[predecessor], (*path, op.operation_id))
        state[op.operation_id] = 2
        ordered.append(op)

    for op in operations:
        visit(op, ())
    return tuple(ordered)


_ENTITY_ORDER: dict[Entity, int] = {"sheet": 0, "card_unit": 1, "assembly": 2}


def _product(table: Mapping[str, object], station_types: set[str]) -> ProductSpec:
    product_id = _typed(_field(table, "id", "product"), str, "product", "id")
    where = f"product {product_id!r}"
    n_up = _typed(_field(table, "n_up", where), int, where, "n_up")
    if not 1 <= n_up <= 99:
        raise FactoryConfigError(f"{where}: n_up must be 1..99")
    operations = [_operation(t, product_id) for t in _tables(_field(table, "operations", where), where)]
    seen: set[str] = set()
    for op in operations:
        if op.operation_id in seen:
            raise FactoryConfigError(f"{where}: duplicate operation id {op.operation_id!r}")
        seen.add(op.operation_id)
        if op.station_type not in station_types:
            raise FactoryConfigError(f"{where} operation {op.operation_id!r}: unknown station type {op.station_type!r}")
    ordered = _topological(operations, product_id)
    by_id = {op.operation_id: op for op in ordered}
    for op in ordered:
        for predecessor in op.predecessors:
            if _ENTITY_ORDER[by_id[predecessor].entity] > _ENTITY_ORDER[op.entity]:
                raise FactoryConfigError(
                    f"{where} operation {op.operation_id!r}: a {op.entity} operation cannot follow "
                    f"the {by_id[predecessor].entity} operation {predecessor!r}"
                )
    kinds = [op.kind for op in ordered]
    for needed in ("cut", "qa", "assembly", "pack"):
        if kinds.count(needed) != 1:
            raise FactoryConfigError(f"{where}: needs exactly one {needed!r} operation, found {kinds.count(needed)}")
    serialized = _typed(table.get("serialized", False), bool, where, "serialized")
    if serialized != ("serial_number" in kinds):
        raise FactoryConfigError(f"{where}: a serialized product needs a serial_number operation, and only it")
    embellishments = tuple(
        EmbellishmentSpec(
            embellishment_type=_typed(_field(t, "type", where), str, where, "type"),
            color=cast(str | None, t.get("color")),
            die_name=cast(str | None, t.get("die")),
            side=cast(str | None, t.get("side")),
        )
        for t in _tables(table.get("embellishments", []), f"{where} embellishments")
    )
    # Sheet operations first, then card operations, then the set's: the order scans follow.
    ordered = tuple(sorted(ordered, key=lambda op: _ENTITY_ORDER[op.entity]))
    return ProductSpec(
        product_id=product_id, n_up=n_up, serialized=serialized, operations=ordered, embellishments=embellishments
    )


def factory_from_mapping(data: Mapping[str, object]) -> Factory:
    """Build and validate the factory from the parsed TOML document."""
    stations = [_station(t) for t in _tables(_field(data, "stations", "factory"), "stations")]
    seen: set[str] = set()
    for station in stations:
        if station.station_id in seen:
            raise FactoryConfigError(f"duplicate station id {station.station_id!r}")
        seen.add(station.station_id)
    types = {station.station_type for station in stations}
    products = [_product(t, types) for t in _tables(_field(data, "products", "factory"), "products")]
    product_ids = [p.product_id for p in products]
    for product_id in product_ids:
        if product_ids.count(product_id) > 1:
            raise FactoryConfigError(f"duplicate product id {product_id!r}")
    plant = data.get("plant", {})
    if not isinstance(plant, dict):
        raise FactoryConfigError("[plant] must be a table")
    return Factory(
        stations=tuple(stations),
        products=tuple(products),
        qa_max_attempts=_typed(plant.get("qa_max_attempts", 3), int, "plant", "qa_max_attempts"),
        assembly_timeout_minutes=_typed(
            plant.get("assembly_timeout_minutes", 240), int, "plant", "assembly_timeout_minutes"
        ),
    )
