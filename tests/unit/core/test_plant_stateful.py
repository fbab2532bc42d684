"""Random commands and scans through several jobs; the plant's invariants hold after every step."""

import os
from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from core.aggregates import fold
from core.assembly import AssemblyState
from core.card_unit import CardUnitState
from core.commands import Actor, Command, CreateJob, CreateReplacement, VoidCardUnit
from core.envelope import EventContext, RecordedEvent
from core.errors import DomainError
from core.memorabilia import MemorabiliaState
from core.pack import PackState
from core.plant import Plant, execute
from core.reference import project
from core.routing import Scan, interpret_scan
from core.sheet import SheetState
from tests.unit.core.floor import MANAGER, OPERATOR, PLANNER, default_factory

FACTORY = default_factory()
STATIONS = [s.station_id for s in FACTORY.stations]
EXAMPLES = 500 if os.environ.get("CI") else 60  # issue 2: at least 500 in CI


class PlantMachine(RuleBasedStateMachine):
    @initialize()
    def open_plant(self) -> None:
        self.plant = Plant(factory=FACTORY)
        self.log: list[RecordedEvent] = []
        self.clock = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
        self.scans = 0
        self.jobs = 0

    def _context(self) -> EventContext:
        self.clock += timedelta(minutes=1)
        return EventContext(occurred_at=self.clock)

    def _try(self, command: Command) -> None:
        before = self.plant
        try:
            self.plant, events = execute(self.plant, command, recorded_at=self.clock)
        except DomainError:
            assert self.plant is before  # a refused command changes nothing
            return
        self.log.extend(events)

    def _scan(self, barcode: str, station: str, actor: Actor = OPERATOR, **fields: object) -> None:
        self.scans += 1
        self.clock += timedelta(minutes=1)
        scan = Scan(
            scan_id=f"s{self.scans}",
            barcode=barcode,
            station_id=station,
            operator_id="OP-1",
            occurred_at=self.clock,
            **fields,
        )  # type: ignore[arg-type]
        try:
            command = interpret_scan(scan, actor, self.plant, FACTORY)
        except DomainError:
            return
        self._try(command)

    def _ids(self, kind: type[object]) -> list[str]:
        return sorted(i for i, (_, s) in self.plant.aggregates.items() if isinstance(s, kind))

    @rule(product=st.sampled_from(["base-18up", "numbered-9up"]), sets=st.integers(1, 3))
    def create_job(self, product: str, sets: int) -> None:
        if self.jobs < 3:
            self.jobs += 1
            self._try(
                CreateJob(
                    context=self._context(),
                    actor=PLANNER,
                    job_id=f"J{1000 + self.jobs}",
                    product_id=product,
                    sets=sets,
                    customer="Panini",
                    due_date="2026-12-24",
                )
            )

    @rule(data=st.data())
    def scan_a_sheet(self, data: st.DataObject) -> None:
        sheets = self._ids(SheetState)
        if sheets:
            sheet = data.draw(st.sampled_from(sheets))
            state = self.plant.load(sheet)
            assert isinstance(state, SheetState)
            routed = [
                FACTORY.stations_of_type(op.station_type)[0].station_id
                for op in FACTORY.product(state.product_id).operations_for("sheet")
            ]
            self._scan(sheet, data.draw(st.sampled_from(routed + STATIONS[:2])))

    def _route_step(self, entity_id: str) -> tuple[str, dict[str, object]] | None:
        """The station (and scan fields) that moves an entity one step along its route, if any."""
        state = self.plant.load(entity_id)
        if not isinstance(state, (SheetState, CardUnitState)):
            return None
        if state.active is not None:
            return state.active.station_id, self._fields(state, state.active.operation_id)
        entity = "sheet" if isinstance(state, SheetState) else "card_unit"
        for op in FACTORY.product(state.product_id).operations_for(entity):  # type: ignore[arg-type]
            if op.operation_id not in state.completed_operations:
                station = FACTORY.stations_of_type(op.station_type)[0].station_id
                return station, self._fields(state, op.operation_id)
        return None

    def _fields(self, state: SheetState | CardUnitState, operation_id: str) -> dict[str, object]:
        kind = FACTORY.product(state.product_id).operation(operation_id).kind
        if kind == "qa":
            fail = self.scans % 5 == 0
            return {"result": "FAIL", "failure_codes": ("SMEAR",)} if fail else {"result": "PASS"}
        if kind == "memorabilia":
            return {"memorabilia_id": f"M-{self.scans % 400:06d}"}
        return {}

    @rule(data=st.data(), steps=st.integers(1, 8))
    def advance_a_sheet_or_its_cards_along_their_route(self, data: st.DataObject, steps: int) -> None:
        sheets = self._ids(SheetState)
        if not sheets:
            return
        sheet = data.draw(st.sampled_from(sheets))
        for _ in range(steps):
            cards = [c for c in self._ids(CardUnitState) if c.startswith(sheet + "-")]
            for entity_id in cards or [sheet]:
                step = self._route_step(entity_id)
                if step is not None:
                    self._scan(entity_id, step[0], **step[1])

    @rule(data=st.data())
    def pack_a_sheets_set(self, data: st.DataObject) -> None:
        sets = self._ids(AssemblyState)
        if sets:
            self._scan(data.draw(st.sampled_from(sets)), "PACK-1")

    @rule(data=st.data(), result=st.sampled_from(["PASS", "PASS", "PASS", "FAIL"]))
    def scan_a_card(self, data: st.DataObject, result: str) -> None:
        cards = self._ids(CardUnitState)
        if not cards:
            return
        card = data.draw(st.sampled_from(cards))
        station = data.draw(st.sampled_from(STATIONS))
        station_type = FACTORY.station(station).station_type
        fields: dict[str, object] = {}
        if station_type == "QA-BENCH" and data.draw(st.booleans()):
            fields = {"result": result, "failure_reason": "ink smear" if result == "FAIL" else None}
        elif station_type == "MEMO" and data.draw(st.booleans()):
            fields = {"memorabilia_id": data.draw(st.sampled_from(["M-000001", "M-000002", "M-000003"]))}
        elif station_type == "ASSEMBLY" and data.draw(st.booleans()):
            fields = {"assembly_id": "A-" + data.draw(st.sampled_from(self._ids(SheetState)))}
        self._scan(card, station, **fields)

    @rule(data=st.data(), override=st.booleans(), by_manager=st.booleans())
    def pack_a_set(self, data: st.DataObject, override: bool, by_manager: bool) -> None:
        sets = self._ids(AssemblyState)
        if sets:
            fields = {"override_reason": "customer accepted"} if override else {}
            self._scan(data.draw(st.sampled_from(sets)), "PACK-1", MANAGER if by_manager else OPERATOR, **fields)

    @rule(data=st.data())
    def void_a_card(self, data: st.DataObject) -> None:
        cards = self._ids(CardUnitState)
        if cards:
            card = data.draw(st.sampled_from(cards))
            self._try(VoidCardUnit(context=self._context(), actor=MANAGER, card_unit_id=card, reason="damaged"))

    @rule(data=st.data())
    def replace_a_card(self, data: st.DataObject) -> None:
        voided = [c for c in self._ids(CardUnitState) if self._card(c).voided]
        if voided:
            card = data.draw(st.sampled_from(voided))
            self._try(CreateReplacement(context=self._context(), actor=PLANNER, card_unit_id=card))

    def _card(self, card: str) -> CardUnitState:
        state = self.plant.load(card)
        assert isinstance(state, CardUnitState)
        return state

    # --- invariants --------------------------------------------------------------------------------

    @invariant()
    def every_card_unit_descends_from_exactly_one_sheet(self) -> None:
        for card_id in self._ids(CardUnitState):
            card = self._card(card_id)
            sheet = self.plant.load(card.sheet_id)
            assert isinstance(sheet, SheetState)
            original = card_id.split("-R")[0]
            assert original in sheet.card_unit_ids

    @invariant()
    def no_card_is_in_two_sets_or_two_packs(self) -> None:
        in_sets = Counter(c for a in self._ids(AssemblyState) for c in self._assembly(a).card_unit_ids)
        assert all(n == 1 for n in in_sets.values())
        packs = [self.plant.load(p) for p in self._ids(PackState)]
        in_packs = Counter(c for p in packs if isinstance(p, PackState) for c in p.card_unit_ids)
        assert all(n == 1 for n in in_packs.values())

    def _assembly(self, assembly: str) -> AssemblyState:
        state = self.plant.load(assembly)
        assert isinstance(state, AssemblyState)
        return state

    @invariant()
    def a_set_completes_only_when_every_position_is_present(self) -> None:
        for assembly_id in self._ids(AssemblyState):
            assembly = self._assembly(assembly_id)
            if assembly.completed:
                assert assembly.missing_positions == ()
            assert len(set(assembly.present_positions)) == len(assembly.gathered)

    @invariant()
    def serial_numbers_are_unique_per_job_and_position_and_a_completed_run_has_no_gap(self) -> None:
        live = [self._card(c) for c in self._ids(CardUnitState)]
        numbered = Counter((c.job_id, c.position, c.serial_number) for c in live if not c.voided and c.serial_number)
        assert all(n == 1 for n in numbered.values())
        for job_id in {c.job_id for c in live if c.serial_run_size}:
            run = [c for c in live if c.job_id == job_id and not c.voided]
            run_size = run[0].serial_run_size if run else 0
            positions = {c.position for c in run}
            for position in positions:
                serials = sorted(c.serial_number or 0 for c in run if c.position == position)
                if len(serials) == run_size and all(serials):
                    assert serials == list(range(1, run_size + 1))

    @invariant()
    def each_memorabilia_item_is_in_at_most_one_card(self) -> None:
        held = Counter(c.memorabilia_id for c in map(self._card, self._ids(CardUnitState)) if c.memorabilia_id)
        assert all(n == 1 for n in held.values())
        for item_id in self._ids(MemorabiliaState):
            item = self.plant.load(item_id)
            assert isinstance(item, MemorabiliaState)
            if item.card_unit_id is not None:
                assert self._card(item.card_unit_id).memorabilia_id == item_id

    @invariant()
    def a_pack_holds_one_sheets_set_and_an_incomplete_one_only_with_an_override(self) -> None:
        for pack_id in self._ids(PackState):
            pack = self.plant.load(pack_id)
            assert isinstance(pack, PackState)
            assert all(card.startswith(pack.sheet_id + "-") for card in pack.card_unit_ids)
            sheet = self.plant.load(pack.sheet_id)
            assert isinstance(sheet, SheetState)
            patched = any("-R" in card for card in pack.card_unit_ids)
            if len(pack.card_unit_ids) < sheet.n_up or patched:
                assert pack.override_reason

    @invariant()
    def folding_the_emitted_events_gives_the_state_the_decisions_hold(self) -> None:
        streams: dict[str, list[RecordedEvent]] = {}
        for event in self.log:
            streams.setdefault(event.aggregate_id, []).append(event)
        for aggregate_id, (version, state) in self.plant.aggregates.items():
            events = streams[aggregate_id]
            assert [e.aggregate_version for e in events] == list(range(1, version + 1))
            assert fold(events[0].aggregate_type, (e.event for e in events)) == state
        views = project(self.log)
        for card_id in self._ids(CardUnitState):
            card, view = self._card(card_id), views.card_units[card_id]
            assert (view.status == "voided") == card.voided
            assert view.completed_operations == card.completed_operations
            assert (view.qa_result, view.serial_number, view.memorabilia_id) == (
                card.qa_result,
                card.serial_number,
                card.memorabilia_id,
            )
            assert view.replaced_by == card.replaced_by
        for assembly_id in self._ids(AssemblyState):
            assembly, set_view = self._assembly(assembly_id), views.assemblies[assembly_id]
            assert set_view.status == assembly.status
            assert set_view.present_positions == assembly.present_positions


PlantMachine.TestCase.settings = settings(max_examples=EXAMPLES, stateful_step_count=80, deadline=None)
test_the_plant_keeps_its_invariants_under_random_commands = PlantMachine.TestCase
