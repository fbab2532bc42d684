"""Random but lawful event streams: hypothesis draws floor activity, core's decisions turn it into events.

Every event comes from `core.plant.execute` (scans go through `core.routing.interpret_scan` like the ingest
service does), so the streams hold exactly what the plant can record: jobs, sheet and card operations, cuts,
QA passes and failures, serial numbers, memorabilia, voids, replacements, gatherings (wrong ones too, whose
refusals are skipped), packs with and without a manager's override. Scanner clocks drift and scanners
buffer offline, so an event may have occurred long before (or a little after) it was recorded.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from hypothesis import strategies as st

from core.assembly import AssemblyState
from core.card_unit import CardUnitState
from core.commands import Actor, Command, CreateJob, CreateReplacement, VoidCardUnit
from core.envelope import EventContext, RecordedEvent
from core.errors import DomainError
from core.events import to_payload
from core.factory import Factory
from core.ids import assembly_id
from core.plant import Plant, execute
from core.routing import Scan, interpret_scan
from core.sheet import SheetState
from projections.data_dir import load_factory

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

SMALL_FACTORY_FILE = Path(__file__).with_name("small_factory.toml")
# A small plant where a few dozen scans take a set from press to pack (see the file), so streams reach every stage.
SMALL_FACTORY: Factory = load_factory(SMALL_FACTORY_FILE)

OPERATOR = Actor(subject="OP-7", role="operator")
MANAGER = Actor(subject="manager-ann", role="manager")


@dataclass(frozen=True, kw_only=True, slots=True)
class Move:
    """One thing happening on the floor, as hypothesis draws it; `Floor.play` makes it lawful or skips it."""

    kind: int  # which kind of activity (weighted in `play`)
    pick: int  # which entity
    variant: int  # which station, result, wrong set...
    step_minutes: int  # how far the recording clock moves
    skew_minutes: int  # occurred_at - recorded_at: negative when the scan was buffered offline


moves = st.builds(
    Move,
    kind=st.integers(0, 99),
    pick=st.integers(0, 10_000),
    variant=st.integers(0, 10_000),
    step_minutes=st.integers(0, 20),
    skew_minutes=st.one_of(st.just(0), st.integers(-2, 2), st.integers(-600, 0)),
)


@dataclass(kw_only=True)
class Floor:
    factory: Factory
    plant: Plant = field(init=False)
    recorded: list[RecordedEvent] = field(default_factory=list)
    clock: datetime = START
    jobs: int = 0
    memorabilia: int = 0
    scans: int = 0

    def __post_init__(self) -> None:
        self.plant = Plant(factory=self.factory)

    def play(self, move: Move) -> None:
        self.clock += timedelta(minutes=move.step_minutes, seconds=1)
        occurred_at = self.clock + timedelta(minutes=move.skew_minutes)
        try:
            command = self._command(move, occurred_at)
            if command is None:
                return
            self.plant, events = execute(self.plant, command, self.clock)
            self.recorded.extend(events)
        except DomainError:
            pass  # a refused scan records nothing, exactly as at the ingest service

    def _command(self, move: Move, occurred_at: datetime) -> Command | None:
        if move.kind < 6 or not self._entities():
            return self._create_job(move, occurred_at) if self.jobs < 4 else None
        if move.kind < 9:
            return self._void(move, occurred_at)
        if move.kind < 12:
            return self._replace(move, occurred_at)
        return self._scan(move, occurred_at)

    def _context(self, occurred_at: datetime) -> EventContext:
        return EventContext(occurred_at=occurred_at)

    def _create_job(self, move: Move, occurred_at: datetime) -> Command:
        self.jobs += 1
        product = self.factory.products[move.variant % len(self.factory.products)]
        return CreateJob(
            context=self._context(occurred_at),
            actor=Actor(subject="planner-pat", role="planner"),
            job_id=f"J{1000 + self.jobs}",
            product_id=product.product_id,
            sets=1 + move.pick % 3,
            customer="Acme Cards",
            due_date="2026-04-01",
        )

    def _cards(self) -> list[CardUnitState]:
        return sorted(
            (state for _, state in self.plant.aggregates.values() if isinstance(state, CardUnitState)),
            key=lambda card: card.card_unit_id,
        )

    def _void(self, move: Move, occurred_at: datetime) -> Command | None:
        cards = [card for card in self._cards() if not card.voided]
        if not cards:
            return None
        card = cards[move.pick % len(cards)]
        return VoidCardUnit(
            context=self._context(occurred_at), actor=MANAGER, card_unit_id=card.card_unit_id, reason="scratched"
        )

    def _replace(self, move: Move, occurred_at: datetime) -> Command | None:
        cards = [card for card in self._cards() if card.voided and card.replaced_by is None]
        if not cards:
            return None
        card = cards[move.pick % len(cards)]
        printed_on = card.sheet_id if move.variant % 3 == 0 else None
        return CreateReplacement(
            context=self._context(occurred_at),
            actor=MANAGER,
            card_unit_id=card.card_unit_id,
            printed_on_sheet_id=printed_on,
        )

    def _entities(self) -> list[tuple[str, str]]:
        """(entity id, station type of its next operation) for everything with work left, sets included."""
        entities: dict[str, str] = {}
        for aggregate_id, (_, state) in sorted(self.plant.aggregates.items()):
            if isinstance(state, SheetState) and not state.card_unit_ids:
                ops = self.factory.product(state.product_id).operations_for("sheet")
                pending = [op for op in ops if op.operation_id not in state.completed_operations]
                entities[aggregate_id] = pending[0].station_type if pending else "CUT"
            elif isinstance(state, CardUnitState) and not state.voided:
                product = self.factory.product(state.product_id)
                ops = product.operations_for("card_unit")
                pending = [op for op in ops if op.operation_id not in state.completed_operations]
                own_set = self.plant.load(assembly_id(state.sheet_id))
                gathered = isinstance(own_set, AssemblyState) and state.card_unit_id in own_set.card_unit_ids
                if pending and not gathered:
                    entities[aggregate_id] = pending[0].station_type
                elif not (isinstance(own_set, AssemblyState) and own_set.pack_id is not None):
                    entities[assembly_id(state.sheet_id)] = "PACK"
        return sorted(entities.items())

    def _scan(self, move: Move, occurred_at: datetime) -> Command:
        entity, station_type = self._entities()[move.pick % len(self._entities())]
        stations = self.factory.stations_of_type(station_type)
        if move.variant % 10 == 0:  # a scan at the wrong station now and then
            stations = self.factory.stations
        station = stations[move.variant % len(stations)]
        self.scans += 1
        fields: dict[str, object] = {}
        if station.station_type == "QA-BENCH" and move.variant % 7 != 0:
            failing = move.variant % 4 == 1
            fields = {"result": "FAIL" if failing else "PASS"}
            if failing:
                fields["failure_reason"] = ("ink smear", "off-centre", "corner ding")[move.variant % 3]
        if station.station_type == "MEMO" and move.variant % 5 != 0:
            self.memorabilia += move.variant % 6 != 0  # sometimes an item already placed in another card
            fields["memorabilia_id"] = f"M-{self.memorabilia:06d}"
        if station.station_type == "ASSEMBLY" and move.variant % 6 == 0:
            others = [e for e, _ in self._entities() if e.startswith("A-")] or ["A-J1001-S001"]
            fields["assembly_id"] = others[move.variant % len(others)]  # maybe the wrong set
        actor = OPERATOR
        if station.station_type == "PACK" and move.variant % 3 == 0:
            fields["override_reason"] = "customer accepts a short set"
            actor = MANAGER if move.variant % 2 == 0 else OPERATOR  # an operator's override is refused
        scan = Scan(
            scan_id=f"scan-{self.scans}",
            barcode=entity,
            station_id=station.station_id,
            operator_id=f"OP-{1 + move.variant % 4}",
            occurred_at=occurred_at,
            result=_text(fields.get("result")),
            failure_reason=_text(fields.get("failure_reason")),
            memorabilia_id=_text(fields.get("memorabilia_id")),
            assembly_id=_text(fields.get("assembly_id")),
            override_reason=_text(fields.get("override_reason")),
        )
        return interpret_scan(scan, actor, self.plant, self.factory)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def play(moves_drawn: list[Move], factory: Factory = SMALL_FACTORY) -> tuple[RecordedEvent, ...]:
    floor = Floor(factory=factory)
    for move in moves_drawn:
        floor.play(move)
    return tuple(floor.recorded)


streams = st.lists(moves, min_size=0, max_size=160).map(play)


LAKE_SCHEMA = pa.schema(
    [
        ("sequence_num", pa.int64()),
        ("aggregate_type", pa.string()),
        ("aggregate_id", pa.string()),
        ("aggregate_version", pa.int64()),
        ("event_type", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("recorded_at", pa.timestamp("us", tz="UTC")),
        ("job_id", pa.string()),
        ("sheet_id", pa.string()),
        ("card_unit_id", pa.string()),
        ("station_id", pa.string()),
        ("operator_id", pa.string()),
        ("scan_id", pa.string()),
        ("payload", pa.string()),
        ("schema_version", pa.int32()),
        ("event_date", pa.date32()),
    ]
)


def to_arrow(events: tuple[RecordedEvent, ...] | list[RecordedEvent]) -> pa.Table:
    """The lake rows of recorded events (CONTRACTS section 7)."""
    rows = [
        {
            "sequence_num": e.sequence_num,
            "aggregate_type": e.aggregate_type,
            "aggregate_id": e.aggregate_id,
            "aggregate_version": e.aggregate_version,
            "event_type": e.event_type,
            "occurred_at": e.occurred_at,
            "recorded_at": e.recorded_at,
            "job_id": e.job_id,
            "sheet_id": e.sheet_id,
            "card_unit_id": e.card_unit_id,
            "station_id": e.station_id,
            "operator_id": e.operator_id,
            "scan_id": e.scan_id,
            "payload": json.dumps(to_payload(e.event)),
            "schema_version": e.schema_version,
            "event_date": e.recorded_at.astimezone(UTC).date(),
        }
        for e in events
    ]
    return pa.Table.from_pylist(rows, schema=LAKE_SCHEMA)
