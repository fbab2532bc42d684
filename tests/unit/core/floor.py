"""A plant floor for core tests: scans and commands run through the pure decisions, with a ticking clock."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.commands import Actor, Command, CreateJob, CreateReplacement, VoidCardUnit
from core.envelope import EventContext, RecordedEvent
from core.factory import Factory
from core.plant import Plant, execute
from core.routing import Scan, interpret_scan
from projections.data_dir import DEFAULT_FACTORY, load_factory

OPERATOR = Actor(subject="OP-7", role="operator")
MANAGER = Actor(subject="MGR-1", role="manager")
PLANNER = Actor(subject="PLN-1", role="planner")
START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def default_factory() -> Factory:
    return load_factory(DEFAULT_FACTORY)


@dataclass
class Floor:
    factory: Factory = field(default_factory=default_factory)
    plant: Plant = field(init=False)
    log: list[RecordedEvent] = field(default_factory=list)
    clock: datetime = START
    scans: int = 0

    def __post_init__(self) -> None:
        self.plant = Plant(factory=self.factory)

    def tick(self) -> datetime:
        self.clock += timedelta(minutes=1)
        return self.clock

    def context(self) -> EventContext:
        return EventContext(occurred_at=self.tick())

    def run(self, command: Command) -> tuple[RecordedEvent, ...]:
        self.plant, events = execute(self.plant, command, recorded_at=self.clock)
        self.log.extend(events)
        return events

    def scan(self, barcode: str, station: str, actor: Actor = OPERATOR, **fields: object) -> tuple[RecordedEvent, ...]:
        self.scans += 1
        scan = Scan(
            scan_id=f"scan-{self.scans}",
            barcode=barcode,
            station_id=station,
            operator_id="OP-7",
            occurred_at=self.tick(),
            **fields,
        )  # type: ignore[arg-type]
        return self.run(interpret_scan(scan, actor, self.plant, self.factory))

    def create_job(self, job: str = "J1044", product: str = "base-18up", sets: int = 2) -> tuple[RecordedEvent, ...]:
        return self.run(
            CreateJob(
                context=self.context(),
                actor=PLANNER,
                job_id=job,
                product_id=product,
                sets=sets,
                customer="Topps",
                due_date="2026-12-01",
            )
        )

    def void(self, card: str, reason: str = "creased corner", actor: Actor = MANAGER) -> tuple[RecordedEvent, ...]:
        return self.run(VoidCardUnit(context=self.context(), actor=actor, card_unit_id=card, reason=reason))

    def replace(self, card: str, printed_on: str | None = None) -> tuple[RecordedEvent, ...]:
        return self.run(
            CreateReplacement(context=self.context(), actor=MANAGER, card_unit_id=card, printed_on_sheet_id=printed_on)
        )

    # --- whole routes, for tests that need an entity further along --------------------------------

    def print_and_cut(self, sheet: str) -> None:
        product = self.factory.product(self.plant.load(sheet).product_id)  # type: ignore[union-attr]
        for operation in product.operations_for("sheet"):
            station = self.factory.stations_of_type(operation.station_type)[0].station_id
            self.scan(sheet, station)
            self.scan(sheet, station)

    def finish_card(self, card: str, qa: str = "QA-BENCH-1") -> None:
        """Take a cut card through every card operation up to (not including) assembly, passing QA."""
        state = self.plant.load(card)
        product = self.factory.product(state.product_id)  # type: ignore[union-attr]
        for operation in product.operations_for("card_unit"):
            if operation.kind == "assembly":
                break
            station = self.factory.stations_of_type(operation.station_type)[0].station_id
            if operation.kind == "qa":
                self.scan(card, qa, result="PASS")
            elif operation.kind == "memorabilia":
                position = int(card.split("-")[2])
                sheet_no = int(card.split("-")[1][1:])
                self.scan(card, station, memorabilia_id=f"M-{sheet_no:03d}{position:03d}")
            else:
                self.scan(card, station)
                self.scan(card, station)

    def event_types(self, events: tuple[RecordedEvent, ...]) -> list[str]:
        return [e.event_type for e in events]
