"""Decide: from the current states a command reads and the command itself, the events that happened.

`decide(command, reader, factory)` never mutates anything and never reads a clock; the caller appends the
events (stating the versions the reader served) and evolves the states from those same events.
"""

from datetime import date
from typing import assert_never

from core.aggregates import AggregateReader, load_optional, load_required
from core.assembly import AssemblyState
from core.card_unit import CardUnitState
from core.commands import (
    ApplySerialNumber,
    Command,
    CompleteOperation,
    CreateJob,
    CreateReplacement,
    CutSheet,
    GatherCardUnit,
    InsertMemorabilia,
    PackSet,
    RecordQAResult,
    StartOperation,
    VoidCardUnit,
)
from core.envelope import EventContext, PendingEvent
from core.errors import FactoryConfigError, InvalidCommand, NotAuthorized, RuleViolation, UnknownEntity
from core.events import (
    AssemblyCompleted,
    AssemblyOpened,
    CardUnitCreated,
    CardUnitGathered,
    CardUnitRemovedFromSet,
    CardUnitReplaced,
    CardUnitVoided,
    DomainEvent,
    JobCreated,
    MemorabiliaInserted,
    MemorabiliaItemAllocated,
    MemorabiliaItemReleased,
    OperationCompleted,
    OperationStarted,
    PackSealed,
    QAResultRecorded,
    SerialNumberApplied,
    SetClosedAtStation,
    SetOpenedAtStation,
    SetPacked,
    SheetCreated,
    SheetCut,
)
from core.factory import Factory, OperationKind, OperationSpec, ProductSpec
from core.ids import (
    assembly_id,
    card_unit_id,
    pack_id,
    parse_assembly_id,
    parse_card_unit_id,
    parse_job_id,
    parse_memorabilia_id,
    parse_pack_id,
    parse_sheet_id,
    replacement_id,
    sheet_id,
)
from core.memorabilia import MemorabiliaState
from core.pack import PackState
from core.serials import serial_number_for
from core.sheet import SheetState
from core.station import StationState

MAX_SETS_PER_JOB = 999
QA_RESULTS = ("PASS", "FAIL")


def decide(command: Command, reader: AggregateReader, factory: Factory) -> tuple[PendingEvent, ...]:
    match command:
        case CreateJob():
            return _create_job(command, reader, factory)
        case StartOperation():
            return _start_operation(command, reader, factory)
        case CompleteOperation():
            return _complete_operation(command, reader, factory)
        case CutSheet():
            return _cut_sheet(command, reader, factory)
        case RecordQAResult():
            return _record_qa_result(command, reader, factory)
        case ApplySerialNumber():
            return _apply_serial_number(command, reader, factory)
        case InsertMemorabilia():
            return _insert_memorabilia(command, reader, factory)
        case VoidCardUnit():
            return _void_card_unit(command, reader)
        case CreateReplacement():
            return _create_replacement(command, reader)
        case GatherCardUnit():
            return _gather_card_unit(command, reader, factory)
        case PackSet():
            return _pack_set(command, reader, factory)
        case _:
            assert_never(command)


# --- emitting --------------------------------------------------------------------------------------


def _on_job(job: str, event: JobCreated, context: EventContext) -> PendingEvent:
    return PendingEvent(aggregate_type="job", aggregate_id=job, event=event, context=context, job_id=job)


def _on_sheet(
    sheet: SheetState, event: SheetCreated | OperationStarted | OperationCompleted | SheetCut, context: EventContext
) -> PendingEvent:
    return PendingEvent(
        aggregate_type="sheet",
        aggregate_id=sheet.sheet_id,
        event=event,
        context=context,
        job_id=sheet.job_id,
        sheet_id=sheet.sheet_id,
    )


def _on_card(card: CardUnitState | CardUnitCreated, event: DomainEvent, context: EventContext) -> PendingEvent:
    return PendingEvent(
        aggregate_type="card_unit",
        aggregate_id=card.card_unit_id,
        event=event,
        context=context,
        job_id=card.job_id,
        sheet_id=card.sheet_id,
        card_unit_id=card.card_unit_id,
    )


def _on_assembly(
    assembly: AssemblyState | AssemblyOpened, event: DomainEvent, context: EventContext, card: str | None = None
) -> PendingEvent:
    return PendingEvent(
        aggregate_type="assembly",
        aggregate_id=assembly.assembly_id,
        event=event,
        context=context,
        job_id=assembly.job_id,
        sheet_id=assembly.sheet_id,
        card_unit_id=card,
    )


# --- jobs ------------------------------------------------------------------------------------------


def _create_job(command: CreateJob, reader: AggregateReader, factory: Factory) -> tuple[PendingEvent, ...]:
    job = parse_job_id(command.job_id)
    try:
        product = factory.product(command.product_id)
    except FactoryConfigError as error:
        raise InvalidCommand(error.message) from None
    if not 1 <= command.sets <= MAX_SETS_PER_JOB:
        raise InvalidCommand(f"sets must be 1..{MAX_SETS_PER_JOB}, got {command.sets}")
    if not command.customer.strip():
        raise InvalidCommand("customer must not be empty")
    try:
        date.fromisoformat(command.due_date)
    except ValueError:
        raise InvalidCommand(f"due_date {command.due_date!r} must be an ISO date (YYYY-MM-DD)") from None
    if reader.load(job) is not None:
        raise RuleViolation(f"job {job} already exists")
    sheets = tuple(sheet_id(job, number) for number in range(1, command.sets + 1))
    context = command.context
    events = [
        _on_job(
            job,
            JobCreated(
                job_id=job,
                product_id=product.product_id,
                customer=command.customer,
                due_date=command.due_date,
                sets=command.sets,
                n_up=product.n_up,
                serialized=product.serialized,
                sheet_ids=sheets,
            ),
            context,
        )
    ]
    for number, sheet in enumerate(sheets, start=1):
        created = SheetCreated(
            sheet_id=sheet,
            job_id=job,
            sheet_number=number,
            product_id=product.product_id,
            n_up=product.n_up,
            run_size=command.sets,
        )
        events.append(
            PendingEvent(
                aggregate_type="sheet", aggregate_id=sheet, event=created, context=context, job_id=job, sheet_id=sheet
            )
        )
    return tuple(events)


# --- routing through the operation DAG -------------------------------------------------------------


def _product(factory: Factory, product_id: str) -> ProductSpec:
    try:
        return factory.product(product_id)
    except FactoryConfigError as error:
        raise RuleViolation(error.message) from None


def _station_type(factory: Factory, station_id: str | None) -> str:
    if station_id is None:
        raise InvalidCommand("a station operation needs the station it happens at")
    try:
        return factory.station(station_id).station_type
    except FactoryConfigError:
        raise UnknownEntity(f"station {station_id} is not in the factory configuration") from None


def _operation(product: ProductSpec, operation_id: str, entity: str) -> OperationSpec:
    try:
        operation = product.operation(operation_id)
    except FactoryConfigError as error:
        raise InvalidCommand(error.message) from None
    if operation.entity != entity:
        raise RuleViolation(
            f"operation {operation_id!r} of {product.product_id} is done on a {operation.entity}, not a {entity}"
        )
    return operation


def _check_ready(
    entity_id: str,
    operation: OperationSpec,
    completed: tuple[str, ...],
    active_operation: str | None,
    active_station: str | None,
    station_id: str,
    station_type: str,
    product: ProductSpec,
) -> None:
    """The routing rules every start obeys: right station type, predecessors done, one operation at a time."""
    if operation.station_type != station_type:
        raise RuleViolation(
            f"{entity_id}: operation {operation.operation_id!r} is done at a {operation.station_type} station, "
            f"not at {station_id} ({station_type})"
        )
    if operation.operation_id in completed:
        raise RuleViolation(f"{entity_id}: operation {operation.operation_id!r} is already completed")
    if active_operation is not None:
        raise RuleViolation(
            f"{entity_id} is in operation {active_operation!r} at {active_station}; complete it there first"
        )
    same_entity = {op.operation_id for op in product.operations if op.entity == operation.entity}
    missing = [p for p in operation.predecessors if p in same_entity and p not in completed]
    if missing:
        needs = ", ".join(map(repr, missing))
        raise RuleViolation(f"{entity_id}: scan out of routing order: {operation.operation_id!r} needs {needs} first")


def _start_operation(command: StartOperation, reader: AggregateReader, factory: Factory) -> tuple[PendingEvent, ...]:
    context = command.context
    station_type = _station_type(factory, context.station_id)
    assert context.station_id is not None
    state = reader.load(command.entity_id)
    if isinstance(state, SheetState):
        product = _product(factory, state.product_id)
        operation = _operation(product, command.operation_id, "sheet")
        if state.card_unit_ids:
            raise RuleViolation(f"sheet {state.sheet_id} has been cut; its card units carry on")
        _check_ready(
            state.sheet_id,
            operation,
            state.completed_operations,
            state.active.operation_id if state.active else None,
            state.active.station_id if state.active else None,
            context.station_id,
            station_type,
            product,
        )
        started = OperationStarted(operation_id=operation.operation_id, station_id=context.station_id)
        return (_on_sheet(state, started, context),)
    if isinstance(state, CardUnitState):
        product = _product(factory, state.product_id)
        operation = _operation(product, command.operation_id, "card_unit")
        return (_card_start(state, operation, context, station_type, product, factory),)
    raise UnknownEntity(f"no sheet or card unit {command.entity_id} exists")


def _card_start(
    card: CardUnitState,
    operation: OperationSpec,
    context: EventContext,
    station_type: str,
    product: ProductSpec,
    factory: Factory,
) -> PendingEvent:
    assert context.station_id is not None
    _check_live(card)
    if operation.kind == "assembly":
        raise RuleViolation(
            f"{card.card_unit_id}: a card is gathered into its set, not started, at {context.station_id}"
        )
    if operation.kind == "qa" and card.qa_attempts >= factory.qa_max_attempts:
        raise RuleViolation(
            f"{card.card_unit_id} failed QA {card.qa_attempts} times (the limit); it must be voided and replaced"
        )
    _check_ready(
        card.card_unit_id,
        operation,
        card.completed_operations,
        card.active.operation_id if card.active else None,
        card.active.station_id if card.active else None,
        context.station_id,
        station_type,
        product,
    )
    return _on_card(card, OperationStarted(operation_id=operation.operation_id, station_id=context.station_id), context)


def _check_live(card: CardUnitState) -> None:
    if card.voided:
        raise RuleViolation(f"card unit {card.card_unit_id} is voided")


def _require_active(
    entity_id: str, active_operation: str | None, active_station: str | None, operation_id: str, station_id: str
) -> None:
    if active_operation != operation_id or active_station != station_id:
        where = f"{active_operation!r} at {active_station}" if active_operation else "no operation"
        raise RuleViolation(f"{entity_id} cannot complete {operation_id!r} at {station_id}: it is in {where}")


def _complete_operation(
    command: CompleteOperation, reader: AggregateReader, factory: Factory
) -> tuple[PendingEvent, ...]:
    context = command.context
    _station_type(factory, context.station_id)
    assert context.station_id is not None
    state = reader.load(command.entity_id)
    completed = OperationCompleted(operation_id=command.operation_id, station_id=context.station_id)
    if isinstance(state, SheetState):
        operation = _operation(_product(factory, state.product_id), command.operation_id, "sheet")
        _require_kind(operation, "process", state.sheet_id)
        _require_active(
            state.sheet_id,
            state.active.operation_id if state.active else None,
            state.active.station_id if state.active else None,
            command.operation_id,
            context.station_id,
        )
        return (_on_sheet(state, completed, context),)
    if isinstance(state, CardUnitState):
        operation = _operation(_product(factory, state.product_id), command.operation_id, "card_unit")
        _check_live(state)
        _require_kind(operation, "process", state.card_unit_id)
        _require_active(
            state.card_unit_id,
            state.active.operation_id if state.active else None,
            state.active.station_id if state.active else None,
            command.operation_id,
            context.station_id,
        )
        return (_on_card(state, completed, context),)
    raise UnknownEntity(f"no sheet or card unit {command.entity_id} exists")


def _require_kind(operation: OperationSpec, kind: OperationKind, entity_id: str) -> None:
    if operation.kind != kind:
        needs = {
            "qa": "a QA result (PASS or FAIL)",
            "memorabilia": "a memorabilia_id",
            "cut": "a cut",
            "serial_number": "a serial number",
        }.get(operation.kind, operation.kind)
        raise InvalidCommand(f"{entity_id}: completing {operation.operation_id!r} needs {needs}")


def _operation_of_kind(product: ProductSpec, kind: OperationKind, entity_id: str) -> OperationSpec:
    for operation in product.operations:
        if operation.kind == kind:
            return operation
    raise RuleViolation(f"{entity_id}: product {product.product_id} has no {kind} operation")


# --- the cut: fan-out ------------------------------------------------------------------------------


def _cut_sheet(command: CutSheet, reader: AggregateReader, factory: Factory) -> tuple[PendingEvent, ...]:
    context = command.context
    _station_type(factory, context.station_id)
    assert context.station_id is not None
    sheet = load_required(reader, parse_sheet_id(command.sheet_id), SheetState, "sheet")
    product = _product(factory, sheet.product_id)
    cut = _operation_of_kind(product, "cut", sheet.sheet_id)
    if sheet.card_unit_ids:
        raise RuleViolation(f"sheet {sheet.sheet_id} is already cut")
    _require_active(
        sheet.sheet_id,
        sheet.active.operation_id if sheet.active else None,
        sheet.active.station_id if sheet.active else None,
        cut.operation_id,
        context.station_id,
    )
    cards = tuple(card_unit_id(sheet.sheet_id, position) for position in range(1, sheet.n_up + 1))
    events = [
        _on_sheet(
            sheet,
            SheetCut(
                sheet_id=sheet.sheet_id,
                operation_id=cut.operation_id,
                station_id=context.station_id,
                card_unit_ids=cards,
            ),
            context,
        )
    ]
    embellishments = tuple(
        " ".join(part for part in (e.embellishment_type, e.color, e.die_name, e.side) if part)
        for e in product.embellishments
    )
    for position, card in enumerate(cards, start=1):
        created = CardUnitCreated(
            card_unit_id=card,
            sheet_id=sheet.sheet_id,
            job_id=sheet.job_id,
            position=position,
            product_id=product.product_id,
            embellishments=embellishments,
            serial_run_size=sheet.run_size if product.serialized else 0,
        )
        events.append(_on_card(created, created, context))
    return tuple(events)


# --- card operations -------------------------------------------------------------------------------


def _start_implicitly(
    card: CardUnitState, operation: OperationSpec, context: EventContext, factory: Factory, product: ProductSpec
) -> list[PendingEvent]:
    """A scan carrying its operation's data (a QA result, a memorabilia id) starts and completes at once."""
    assert context.station_id is not None
    if card.active is not None and card.active.operation_id == operation.operation_id:
        _require_active(
            card.card_unit_id,
            card.active.operation_id,
            card.active.station_id,
            operation.operation_id,
            context.station_id,
        )
        return []
    station_type = _station_type(factory, context.station_id)
    return [_card_start(card, operation, context, station_type, product, factory)]


def _record_qa_result(command: RecordQAResult, reader: AggregateReader, factory: Factory) -> tuple[PendingEvent, ...]:
    context = command.context
    assert_station(context, factory)
    card = load_required(reader, parse_card_unit_id(command.card_unit_id).card_unit_id, CardUnitState, "card unit")
    _check_live(card)
    if command.result not in QA_RESULTS:
        raise InvalidCommand(f"QA result must be PASS or FAIL, got {command.result!r}")
    if command.result == "FAIL" and not (command.failure_reason or command.failure_codes):
        raise InvalidCommand("a failing QA result needs failure_reason or failure_codes")
    if command.result == "PASS" and (command.failure_reason or command.failure_codes):
        raise InvalidCommand("a passing QA result carries no failure_reason or failure_codes")
    product = _product(factory, card.product_id)
    qa = _operation_of_kind(product, "qa", card.card_unit_id)
    if qa.operation_id in card.completed_operations:
        raise RuleViolation(f"{card.card_unit_id} has already passed QA")
    events = _start_implicitly(card, qa, context, factory, product)
    assert context.station_id is not None
    recorded = QAResultRecorded(
        operation_id=qa.operation_id,
        station_id=context.station_id,
        result=command.result,
        attempt=card.qa_attempts + 1,
        failure_reason=command.failure_reason,
        failure_codes=command.failure_codes,
    )
    return (*events, _on_card(card, recorded, context))


def assert_station(context: EventContext, factory: Factory) -> None:
    _station_type(factory, context.station_id)


def _apply_serial_number(
    command: ApplySerialNumber, reader: AggregateReader, factory: Factory
) -> tuple[PendingEvent, ...]:
    context = command.context
    assert_station(context, factory)
    assert context.station_id is not None
    card = load_required(reader, parse_card_unit_id(command.card_unit_id).card_unit_id, CardUnitState, "card unit")
    _check_live(card)
    product = _product(factory, card.product_id)
    if not product.serialized:
        raise RuleViolation(f"{card.card_unit_id}: product {product.product_id} is not serial numbered")
    numbering = _operation_of_kind(product, "serial_number", card.card_unit_id)
    _require_active(
        card.card_unit_id,
        card.active.operation_id if card.active else None,
        card.active.station_id if card.active else None,
        numbering.operation_id,
        context.station_id,
    )
    applied = SerialNumberApplied(
        operation_id=numbering.operation_id,
        station_id=context.station_id,
        serial_number=serial_number_for(card.card_unit_id),
        run_size=card.serial_run_size,
    )
    return (_on_card(card, applied, context),)


def _insert_memorabilia(
    command: InsertMemorabilia, reader: AggregateReader, factory: Factory
) -> tuple[PendingEvent, ...]:
    context = command.context
    assert_station(context, factory)
    assert context.station_id is not None
    card = load_required(reader, parse_card_unit_id(command.card_unit_id).card_unit_id, CardUnitState, "card unit")
    _check_live(card)
    memorabilia = parse_memorabilia_id(command.memorabilia_id)
    product = _product(factory, card.product_id)
    insertion = _operation_of_kind(product, "memorabilia", card.card_unit_id)
    if insertion.operation_id in card.completed_operations:
        raise RuleViolation(f"{card.card_unit_id} already holds memorabilia {card.memorabilia_id}")
    item = load_optional(reader, memorabilia, MemorabiliaState)
    if item is not None and item.card_unit_id is not None:
        raise RuleViolation(f"memorabilia {memorabilia} is already in card unit {item.card_unit_id}")
    events = _start_implicitly(card, insertion, context, factory, product)
    inserted = MemorabiliaInserted(
        operation_id=insertion.operation_id, station_id=context.station_id, memorabilia_id=memorabilia
    )
    allocated = PendingEvent(
        aggregate_type="memorabilia",
        aggregate_id=memorabilia,
        event=MemorabiliaItemAllocated(memorabilia_id=memorabilia, card_unit_id=card.card_unit_id),
        context=context,
        job_id=card.job_id,
        sheet_id=card.sheet_id,
        card_unit_id=card.card_unit_id,
    )
    return (*events, _on_card(card, inserted, context), allocated)


# --- voids and replacements ------------------------------------------------------------------------


def _void_card_unit(command: VoidCardUnit, reader: AggregateReader) -> tuple[PendingEvent, ...]:
    context = command.context
    if not command.actor.may_authorize_overrides:
        raise NotAuthorized(f"voiding a card unit needs a manager; {command.actor.subject} is {command.actor.role}")
    if not command.reason.strip():
        raise InvalidCommand("a void needs a reason")
    card = load_required(reader, parse_card_unit_id(command.card_unit_id).card_unit_id, CardUnitState, "card unit")
    _check_live(card)
    events: list[PendingEvent] = []
    assembly = load_optional(reader, assembly_id(card.sheet_id), AssemblyState)
    if assembly is not None and card.card_unit_id in assembly.card_unit_ids:
        if assembly.pack_id is not None:
            raise RuleViolation(f"{card.card_unit_id} is packed in {assembly.pack_id}; a packed card cannot be voided")
        removed = CardUnitRemovedFromSet(
            assembly_id=assembly.assembly_id,
            card_unit_id=card.card_unit_id,
            position=card.position,
            reason=command.reason,
        )
        events.append(_on_assembly(assembly, removed, context, card.card_unit_id))
    voided = CardUnitVoided(
        reason=command.reason, authorized_by=command.actor.subject, released_memorabilia_id=card.memorabilia_id
    )
    events.insert(0, _on_card(card, voided, context))
    if card.memorabilia_id is not None:
        # read before writing: the release is appended against the item's current version
        load_required(reader, card.memorabilia_id, MemorabiliaState, "memorabilia item")
        released = MemorabiliaItemReleased(
            memorabilia_id=card.memorabilia_id,
            card_unit_id=card.card_unit_id,
            reason=f"card unit voided: {command.reason}",
        )
        events.append(
            PendingEvent(
                aggregate_type="memorabilia",
                aggregate_id=card.memorabilia_id,
                event=released,
                context=context,
                job_id=card.job_id,
                sheet_id=card.sheet_id,
                card_unit_id=card.card_unit_id,
            )
        )
    return tuple(events)


def _create_replacement(command: CreateReplacement, reader: AggregateReader) -> tuple[PendingEvent, ...]:
    context = command.context
    if not command.actor.may_order_replacements:
        raise NotAuthorized(
            f"ordering a replacement needs a manager or planner; {command.actor.subject} is {command.actor.role}"
        )
    ref = parse_card_unit_id(command.card_unit_id)
    card = load_required(reader, ref.card_unit_id, CardUnitState, "card unit")
    if not card.voided:
        raise RuleViolation(f"{card.card_unit_id} is not voided; only a voided card unit is replaced")
    if card.replaced_by is not None:
        raise RuleViolation(f"{card.card_unit_id} is already replaced by {card.replaced_by}")
    printed_on = parse_sheet_id(command.printed_on_sheet_id) if command.printed_on_sheet_id else None
    new_id = replacement_id(card.card_unit_id, ref.replacement_number + 1)
    if reader.load(new_id) is not None:
        raise RuleViolation(f"replacement {new_id} already exists")
    created = CardUnitCreated(
        card_unit_id=new_id,
        sheet_id=card.sheet_id,
        job_id=card.job_id,
        position=card.position,
        product_id=card.product_id,
        embellishments=(),
        serial_run_size=card.serial_run_size,
        replaces=card.card_unit_id,
        printed_on_sheet_id=printed_on,
    )
    return (
        _on_card(card, CardUnitReplaced(replacement_card_unit_id=new_id), context),
        _on_card(created, created, context),
    )


# --- fan-in: gathering a set and packing it --------------------------------------------------------


def _gather_card_unit(command: GatherCardUnit, reader: AggregateReader, factory: Factory) -> tuple[PendingEvent, ...]:
    context = command.context
    station_type = _station_type(factory, context.station_id)
    station_id = context.station_id
    assert station_id is not None
    card = load_required(reader, parse_card_unit_id(command.card_unit_id).card_unit_id, CardUnitState, "card unit")
    if card.voided:
        raise RuleViolation(f"card unit {card.card_unit_id} is voided and cannot join a set")
    product = _product(factory, card.product_id)
    gathering = _operation_of_kind(product, "assembly", card.card_unit_id)
    if gathering.station_type != station_type:
        raise RuleViolation(
            f"{card.card_unit_id}: sets are gathered at {gathering.station_type} stations, not at {station_id}"
        )
    qa = _operation_of_kind(product, "qa", card.card_unit_id)
    if qa.operation_id not in card.completed_operations:
        raise RuleViolation(f"card unit {card.card_unit_id} has not passed QA")
    missing = [
        op.operation_id
        for op in product.operations_for("card_unit")
        if op.kind != "assembly" and op.operation_id not in card.completed_operations
    ]
    if missing:
        raise RuleViolation(f"{card.card_unit_id}: scan out of routing order: {', '.join(missing)} not done")
    own_set = assembly_id(card.sheet_id)
    station = load_optional(reader, station_id, StationState)
    open_set = station.open_assembly_id if station else None
    if command.assembly_id is not None:
        target = parse_assembly_id(command.assembly_id)
        if target != own_set:
            raise RuleViolation(
                f"card unit {card.card_unit_id} of sheet {card.sheet_id} belongs to set {own_set}, not {target}"
            )
    elif open_set is not None and open_set != own_set:
        raise RuleViolation(
            f"{station_id} has set {open_set} open; card unit {card.card_unit_id} of sheet "
            f"{card.sheet_id} belongs to another set ({own_set})"
        )
    events: list[PendingEvent] = []
    assembly = load_optional(reader, own_set, AssemblyState)
    if assembly is None:
        opened = AssemblyOpened(
            assembly_id=own_set,
            sheet_id=card.sheet_id,
            job_id=card.job_id,
            expected_count=product.n_up,
            station_id=station_id,
        )
        events.append(_on_assembly(opened, opened, context))
        assembly = AssemblyState(
            assembly_id=own_set,
            sheet_id=card.sheet_id,
            job_id=card.job_id,
            expected_count=opened.expected_count,
            station_id=station_id,
        )
    if assembly.pack_id is not None:
        raise RuleViolation(f"set {own_set} is already packed in {assembly.pack_id}")
    if card.card_unit_id in assembly.card_unit_ids:
        raise RuleViolation(f"duplicate: card unit {card.card_unit_id} is already in set {own_set}")
    holder = dict(assembly.gathered).get(card.position)
    if holder is not None:
        raise RuleViolation(f"set {own_set} already holds position {card.position:02d} ({holder})")
    if open_set is None:
        events.append(
            _on_station(station_id, SetOpenedAtStation(station_id=station_id, assembly_id=own_set), context, assembly)
        )
        open_set = own_set
    gathered = CardUnitGathered(
        assembly_id=own_set, card_unit_id=card.card_unit_id, position=card.position, station_id=station_id
    )
    events.append(_on_assembly(assembly, gathered, context, card.card_unit_id))
    if len(assembly.gathered) + 1 == assembly.expected_count:
        members = tuple(sorted((*assembly.gathered, (card.position, card.card_unit_id))))
        events.append(
            _on_assembly(
                assembly, AssemblyCompleted(assembly_id=own_set, card_unit_ids=tuple(c for _, c in members)), context
            )
        )
        if open_set == own_set:
            events.append(
                _on_station(
                    station_id, SetClosedAtStation(station_id=station_id, assembly_id=own_set), context, assembly
                )
            )
    return tuple(events)


def _on_station(
    station_id: str, event: SetOpenedAtStation | SetClosedAtStation, context: EventContext, assembly: AssemblyState
) -> PendingEvent:
    return PendingEvent(
        aggregate_type="station",
        aggregate_id=station_id,
        event=event,
        context=context,
        job_id=assembly.job_id,
        sheet_id=assembly.sheet_id,
    )


def _pack_set(command: PackSet, reader: AggregateReader, factory: Factory) -> tuple[PendingEvent, ...]:
    context = command.context
    station_type = _station_type(factory, context.station_id)
    station_id = context.station_id
    assert station_id is not None
    target = parse_assembly_id(command.assembly_id)
    if command.override_reason is not None and not command.actor.may_authorize_overrides:
        raise NotAuthorized(
            f"override_reason needs a manager's authorization; {command.actor.subject} is {command.actor.role}"
        )
    assembly = reader.load(target)
    if not isinstance(assembly, AssemblyState):
        raise RuleViolation(f"set {target} has no card gathered; there is nothing to pack")
    sheet = load_required(reader, assembly.sheet_id, SheetState, "sheet")
    product = _product(factory, sheet.product_id)
    packing = _operation_of_kind(product, "pack", target)
    if packing.station_type != station_type:
        raise RuleViolation(f"{target}: sets are packed at {packing.station_type} stations, not at {station_id}")
    if assembly.pack_id is not None:
        raise RuleViolation(f"set {target} is already packed in {assembly.pack_id}")
    missing = assembly.missing_positions
    replacements = tuple(card for card in assembly.card_unit_ids if parse_card_unit_id(card).replacement_number)
    override = (command.override_reason or "").strip() or None
    if (missing or replacements) and override is None:
        problems = []
        if missing:
            problems.append("misses positions " + ", ".join(f"{p:02d}" for p in missing))
        if replacements:
            problems.append("holds replacements " + ", ".join(replacements))
        raise RuleViolation(
            f"set {target} {' and '.join(problems)}; packing it needs a manager's override with a reason"
        )
    pack = parse_pack_id(command.pack_id) if command.pack_id else pack_id(assembly.job_id, sheet.sheet_number)
    if pack.split("-")[0] != assembly.job_id:
        raise RuleViolation(f"pack {pack} belongs to another job than set {target} ({assembly.job_id})")
    existing = load_optional(reader, pack, PackState)
    if existing is not None:
        raise RuleViolation(f"pack {pack} is already sealed with set {existing.assembly_id}")
    authorized_by = command.actor.subject if override else None
    events = [
        _on_assembly(
            assembly,
            SetPacked(
                assembly_id=target,
                pack_id=pack,
                station_id=station_id,
                missing_positions=missing,
                replacement_card_unit_ids=replacements,
                override_reason=override,
                authorized_by=authorized_by,
            ),
            context,
        ),
        PendingEvent(
            aggregate_type="pack",
            aggregate_id=pack,
            context=context,
            job_id=assembly.job_id,
            sheet_id=assembly.sheet_id,
            event=PackSealed(
                pack_id=pack,
                assembly_id=target,
                sheet_id=assembly.sheet_id,
                job_id=assembly.job_id,
                card_unit_ids=assembly.card_unit_ids,
                override_reason=override,
            ),
        ),
    ]
    gathering_station = load_optional(reader, assembly.station_id, StationState)
    if gathering_station is not None and gathering_station.open_assembly_id == target:
        events.append(
            _on_station(
                assembly.station_id,
                SetClosedAtStation(station_id=assembly.station_id, assembly_id=target),
                context,
                assembly,
            )
        )
    return tuple(events)
