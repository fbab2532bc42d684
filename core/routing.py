"""Scan interpretation (CONTRACTS section 3): one barcode scan at a station becomes one command.

The station's type and the scanned entity's state decide: the first scan of an entity at a station starts the
operation, the second completes it (a cut at the cutting station, a serial number at the numbering station);
a scan carrying its operation's data (a QA `result`, a `memorabilia_id`) completes it at once; a card at an
assembly station is gathered into its set; a set's tray label at a pack station packs it.
"""

from dataclasses import dataclass
from datetime import datetime

from core.aggregates import AggregateReader, load_required
from core.card_unit import CardUnitState
from core.commands import (
    Actor,
    ApplySerialNumber,
    Command,
    CompleteOperation,
    CutSheet,
    GatherCardUnit,
    InsertMemorabilia,
    PackSet,
    RecordQAResult,
    StartOperation,
)
from core.envelope import EventContext
from core.errors import FactoryConfigError, InvalidCommand, NotAuthorized, RuleViolation, UnknownEntity
from core.factory import Factory, OperationSpec, ProductSpec
from core.ids import parse_entity_id, parse_operator_id, parse_station_id
from core.sheet import ActiveOperation, SheetState


@dataclass(frozen=True, kw_only=True, slots=True)
class Scan:
    scan_id: str
    barcode: str
    station_id: str
    operator_id: str
    occurred_at: datetime
    result: str | None = None
    failure_reason: str | None = None
    failure_codes: tuple[str, ...] = ()
    memorabilia_id: str | None = None
    assembly_id: str | None = None
    pack_id: str | None = None
    override_reason: str | None = None


def interpret_scan(scan: Scan, actor: Actor, reader: AggregateReader, factory: Factory) -> Command:
    if not scan.scan_id.strip():
        raise InvalidCommand("scan_id must not be empty")
    if scan.occurred_at.tzinfo is None or scan.occurred_at.utcoffset() is None:
        raise InvalidCommand("occurred_at must carry a timezone")
    station_id = parse_station_id(scan.station_id)
    try:
        station_type = factory.station(station_id).station_type
    except FactoryConfigError:
        raise UnknownEntity(f"station {station_id} is not in the factory configuration") from None
    context = EventContext(
        occurred_at=scan.occurred_at,
        station_id=station_id,
        operator_id=parse_operator_id(scan.operator_id),
        scan_id=scan.scan_id,
    )
    if scan.override_reason is not None and not actor.may_authorize_overrides:
        raise NotAuthorized(f"override_reason needs a manager's token; {actor.subject} is {actor.role}")
    entity = parse_entity_id(scan.barcode)
    if entity.kind == "sheet":
        sheet = load_required(reader, entity.entity_id, SheetState, "sheet")
        _no_card_fields(scan, "a sheet")
        operation = _operation_at(
            _product(factory, sheet.product_id),
            "sheet",
            station_type,
            sheet.completed_operations,
            entity.entity_id,
            station_id,
        )
        if _is_active(sheet.active, operation, station_id):
            if operation.kind == "cut":
                return CutSheet(context=context, actor=actor, sheet_id=sheet.sheet_id)
            return CompleteOperation(
                context=context, actor=actor, entity_id=sheet.sheet_id, operation_id=operation.operation_id
            )
        return StartOperation(
            context=context, actor=actor, entity_id=sheet.sheet_id, operation_id=operation.operation_id
        )
    if entity.kind == "card_unit":
        card = load_required(reader, entity.entity_id, CardUnitState, "card unit")
        return _card_command(scan, card, station_type, station_id, context, actor, factory)
    if entity.kind == "assembly":
        _no_card_fields(scan, "a set")
        if scan.assembly_id is not None:
            raise InvalidCommand("assembly_id is for a card scanned at an assembly station, not for a tray label")
        return PackSet(
            context=context,
            actor=actor,
            assembly_id=entity.entity_id,
            pack_id=scan.pack_id,
            override_reason=scan.override_reason,
        )
    raise InvalidCommand(f"a {entity.kind.replace('_', ' ')} barcode ({entity.entity_id}) is not scanned at a station")


def _card_command(
    scan: Scan,
    card: CardUnitState,
    station_type: str,
    station_id: str,
    context: EventContext,
    actor: Actor,
    factory: Factory,
) -> Command:
    product = _product(factory, card.product_id)
    operation = _operation_at(
        product, "card_unit", station_type, card.completed_operations, card.card_unit_id, station_id
    )
    if scan.pack_id is not None or scan.override_reason is not None:
        raise InvalidCommand("pack_id and override_reason belong on a set's tray label scanned at a pack station")
    if operation.kind != "qa" and (scan.result or scan.failure_reason or scan.failure_codes):
        raise InvalidCommand(f"result is recorded at a QA station, not at {station_id}")
    if operation.kind != "memorabilia" and scan.memorabilia_id:
        raise InvalidCommand(f"memorabilia_id is placed at a memorabilia station, not at {station_id}")
    if operation.kind != "assembly" and scan.assembly_id:
        raise InvalidCommand(f"assembly_id names a set at an assembly station, not at {station_id}")
    active = _is_active(card.active, operation, station_id)
    match operation.kind:
        case "assembly":
            return GatherCardUnit(
                context=context, actor=actor, card_unit_id=card.card_unit_id, assembly_id=scan.assembly_id
            )
        case "qa":
            if scan.result is not None:
                return RecordQAResult(
                    context=context,
                    actor=actor,
                    card_unit_id=card.card_unit_id,
                    result=scan.result,
                    failure_reason=scan.failure_reason,
                    failure_codes=scan.failure_codes,
                )
            if active:
                raise InvalidCommand(
                    f"{card.card_unit_id}: a QA scan that ends the inspection needs result PASS or FAIL"
                )
        case "memorabilia":
            if scan.memorabilia_id is not None:
                return InsertMemorabilia(
                    context=context, actor=actor, card_unit_id=card.card_unit_id, memorabilia_id=scan.memorabilia_id
                )
            if active:
                raise InvalidCommand(f"{card.card_unit_id}: completing memorabilia insertion needs memorabilia_id")
        case "serial_number":
            if active:
                return ApplySerialNumber(context=context, actor=actor, card_unit_id=card.card_unit_id)
        case "process":
            if active:
                return CompleteOperation(
                    context=context, actor=actor, entity_id=card.card_unit_id, operation_id=operation.operation_id
                )
        case "cut" | "pack":
            raise RuleViolation(f"{card.card_unit_id}: no card operation at {station_id}")
    return StartOperation(
        context=context, actor=actor, entity_id=card.card_unit_id, operation_id=operation.operation_id
    )


def _product(factory: Factory, product_id: str) -> ProductSpec:
    try:
        return factory.product(product_id)
    except FactoryConfigError as error:
        raise RuleViolation(error.message) from None


def _operation_at(
    product: ProductSpec, entity: str, station_type: str, completed: tuple[str, ...], entity_id: str, station_id: str
) -> OperationSpec:
    """The entity's operation at this type of station: the first not yet completed, else the completed one."""
    candidates = [op for op in product.operations if op.entity == entity and op.station_type == station_type]
    if not candidates:
        kind = entity.replace("_", " ")
        raise RuleViolation(
            f"{entity_id}: a {kind} of {product.product_id} has no operation at {station_id} ({station_type} station)"
        )
    pending = [op for op in candidates if op.operation_id not in completed]
    return (pending or candidates)[0]


def _is_active(active: ActiveOperation | None, operation: OperationSpec, station_id: str) -> bool:
    return active is not None and active.operation_id == operation.operation_id and active.station_id == station_id


def _no_card_fields(scan: Scan, what: str) -> None:
    for name in ("result", "failure_reason", "memorabilia_id"):
        if getattr(scan, name):
            raise InvalidCommand(f"{name} does not apply to {what}")
    if scan.failure_codes:
        raise InvalidCommand(f"failure_codes does not apply to {what}")
