"""A discrete-event simulation of the plant floor, deterministic for a seed.

The model owns a simulated clock (minutes after `start`, a fixed Monday 06:00 UTC by default) and a heap of
what happens next. Jobs arrive in office hours with a customer and a due date; their sheets queue at the first
station type of their product's operation DAG, earliest due date first; a free, open unit of a station of that
type takes the head of the queue (preferring the unit already set up for the job: a changeover costs the
station's setup minutes). Every operation takes a lognormal time around the station's pace (standard minutes
scaled by the station's rated capacity, as the scheduler does), the operator's own pace and, for the drifting
station, its drift; work pauses outside operating hours. Cards are born at the cut; they go through their card
operations, fail QA at rates that depend on bench, inspector, product, position and hour, get reworked and
re-inspected, and after the last allowed attempt are voided by a manager and replaced on make-up sheets.

Everything the floor does leaves as what it would leave in a real plant: scans (`Floor.record`), an offline
scanner's late upload (`Floor.upload`), and office commands (jobs, voids, replacements). The model never sees
the event log; `Floor` is the ingest path through some transport.

>>> from projections.data_dir import DEFAULT_FACTORY, load_factory
>>> floor = CountingFloor()
>>> model = PlantModel(load_factory(DEFAULT_FACTORY), floor, seed=1, days=1.0)
>>> model.run_until(model.horizon)
>>> floor.scans > 1000 and model.stats.sets_packed > 0
True
"""

import heapq
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

import numpy as np

from apps.simulate.scenario import (
    CUSTOMERS,
    FALLBACK_MIX,
    FOIL_DEFECTS,
    NUMBERED_DEFECTS,
    PRINT_DEFECTS,
    JobMix,
    Scenario,
)
from apps.simulate.truth import TruthRow
from apps.simulate.working_time import MINUTES_PER_DAY, StationCalendar
from core.factory import Factory, OperatingHours, OperationSpec, ProductSpec, StationSpec
from core.routing import Scan

DEFAULT_START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # a Monday, 06:00 UTC: the first shift of a week
MAKEUP_CUSTOMER = "MAKE-UP"
_DRAW_BLOCK = 8192
_DIE_CATCH_RATE = 0.9  # an inspector catches a die-damaged card this often
_DIE_REWORK_FIX = 0.6  # rework repairs a die-damaged card this often
_MIN_MINUTES = 1.0 / 60.0  # nothing on the floor takes less than a second
_T = TypeVar("_T")


class Floor(Protocol):
    """The ingest path as the floor sees it: scans go out in occurred order, office commands answer at once."""

    def record(self, scan: Scan, *, by_manager: bool = False) -> None:
        """A scan as it happens; a manager's scan (an override) travels on a manager's authority."""

    def upload(self, station_id: str, scans: Sequence[Scan]) -> None:
        """An offline scanner's buffer, sent once it syncs: scans that happened hours earlier."""

    def create_job(
        self, *, product: str, sets: int, customer: str, due_date: str, at: datetime
    ) -> tuple[str, tuple[str, ...]] | None:
        """A planner's new job; answers its id and its sheet ids in order (None: the plant refused it)."""

    def void_card_unit(self, card_unit_id: str, *, reason: str, at: datetime) -> bool:
        """A manager's void; answers whether the plant took it."""

    def create_replacement(self, card_unit_id: str, *, printed_on_sheet_id: str, at: datetime) -> str | None:
        """A replacement of a voided card, printed on a make-up sheet; answers the replacement's id."""


class CountingFloor:
    """A floor that only counts and numbers jobs itself: for running the model alone (docs, quick looks)."""

    def __init__(self) -> None:
        self.scans = 0
        self.uploads = 0
        self._jobs = 1000

    def record(self, scan: Scan, *, by_manager: bool = False) -> None:
        self.scans += 1

    def upload(self, station_id: str, scans: Sequence[Scan]) -> None:
        self.uploads += 1
        self.scans += len(scans)

    def create_job(
        self, *, product: str, sets: int, customer: str, due_date: str, at: datetime
    ) -> tuple[str, tuple[str, ...]]:
        self._jobs += 1
        job = f"J{self._jobs:04d}"
        return job, tuple(f"{job}-S{number:03d}" for number in range(1, sets + 1))

    def void_card_unit(self, card_unit_id: str, *, reason: str, at: datetime) -> bool:
        return True

    def create_replacement(self, card_unit_id: str, *, printed_on_sheet_id: str, at: datetime) -> str:
        parts = card_unit_id.split("-")
        number = int(parts[3][1:]) + 1 if len(parts) == 4 else 1
        return f"{'-'.join(parts[:3])}-R{number}"


@dataclass(kw_only=True, slots=True)
class ModelStats:
    jobs: int = 0
    makeup_jobs: int = 0
    sheets: int = 0
    cards: int = 0  # card units born: at the cut, and replacements
    replacements: int = 0
    qa_inspections: int = 0
    qa_passes: int = 0
    voids: int = 0
    sets_packed: int = 0
    sets_packed_with_override: int = 0
    lost_cards: int = 0
    lost_never_found: int = 0
    offline_uploads: int = 0
    late_scans: int = 0
    scans: int = 0


# --- random draws ----------------------------------------------------------------------------------------


class Draws:
    """One seeded stream of uniforms and normals, drawn in blocks (a scalar numpy draw costs more than the math)."""

    def __init__(self, generator: np.random.Generator) -> None:
        self._generator = generator
        self._uniforms: list[float] = []
        self._normals: list[float] = []
        self._u = 0
        self._n = 0

    def uniform(self) -> float:
        if self._u == len(self._uniforms):
            self._uniforms = self._generator.random(_DRAW_BLOCK).tolist()
            self._u = 0
        value = self._uniforms[self._u]
        self._u += 1
        return value

    def normal(self) -> float:
        if self._n == len(self._normals):
            self._normals = self._generator.standard_normal(_DRAW_BLOCK).tolist()
            self._n = 0
        value = self._normals[self._n]
        self._n += 1
        return value

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(sigma * self.normal())

    def between(self, low: float, high: float) -> float:
        return low + (high - low) * self.uniform()

    def exponential(self, mean: float) -> float:
        return -mean * math.log1p(-self.uniform())

    def chance(self, probability: float) -> bool:
        return self.uniform() < probability

    def pick(self, choices: Sequence[_T]) -> _T:
        return choices[min(int(self.uniform() * len(choices)), len(choices) - 1)]


# --- what moves through the plant ------------------------------------------------------------------------


@dataclass(eq=False, kw_only=True, slots=True)
class _Job:
    job_id: str
    product: ProductSpec
    number: int  # arrival order: the tie-break after the due date
    due_minute: float
    mix: JobMix
    makeup: bool = False
    sheet_operations: tuple[OperationSpec, ...] = ()
    card_operations: tuple[OperationSpec, ...] = ()
    pack_operation: OperationSpec | None = None

    def __post_init__(self) -> None:
        # The DAG in its topological order, per entity: an entity is in one operation at a time, so its
        # operations run one after the other in that order.
        self.sheet_operations = self.product.operations_for("sheet")
        self.card_operations = self.product.operations_for("card_unit")
        self.pack_operation = self.product.operations_for("assembly")[0]


@dataclass(eq=False, kw_only=True, slots=True)
class _Set:
    assembly_id: str
    sheet_number: int
    job: _Job
    expected: int
    gathered: int = 0
    holds_replacement: bool = False
    lost_for_good: list["_Card"] = field(default_factory=list)
    write_off_due: bool = False


@dataclass(eq=False, kw_only=True, slots=True)
class _Sheet:
    sheet_id: str
    job: _Job
    number: int
    step: int = 0
    pressed_at: str = ""  # the press that printed it (an older press leaves more defects)
    die_damaged: bool = False
    replacements_to_print: list["_Card"] = field(default_factory=list)


@dataclass(eq=False, kw_only=True, slots=True)
class _Card:
    card_unit_id: str
    job: _Job
    set: _Set
    position: int
    step: int = 0
    attempts: int = 0
    die_damaged: bool = False
    press_factor: float = 1.0
    memorabilia_id: str | None = None
    last_failure: str = ""
    lost: bool = False


Entity = _Sheet | _Card | _Set


@dataclass(eq=False, kw_only=True, slots=True)
class _Unit:
    """One parallel unit of a station: one operator per shift, busy with one operation at a time."""

    station: StationSpec
    calendar: StationCalendar
    operators: tuple[str, str]  # early shift, late shift
    shift_split: int  # minute of the day the late shift takes over
    busy: bool = False
    current_job: _Job | None = None
    last_job: _Job | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class _Outage:
    station_id: str
    start: float
    upload: float


class _StationQueue:
    """Work waiting at a station type, per job: jobs by due date (make-up first), a job's work by sheet and position.

    A unit finishing a job's work takes more of the same job while there is some (no changeover), unless make-up
    work waits; otherwise it takes the earliest-due job's next piece of work.
    """

    def __init__(self) -> None:
        self._by_job: dict[_Job, list[tuple[int, int, Entity, OperationSpec]]] = {}
        self._jobs: list[tuple[float, int, _Job]] = []
        self.size = 0

    def push(self, job: _Job, entry: tuple[int, int, Entity, OperationSpec]) -> None:
        work = self._by_job.get(job)
        if work is None:
            work = self._by_job[job] = []
            heapq.heappush(self._jobs, (job.due_minute, job.number, job))
        heapq.heappush(work, entry)
        self.size += 1

    def holds(self, job: _Job) -> bool:
        return job in self._by_job

    def pop(self, preferred: _Job | None, elsewhere: Sequence[_Job] = ()) -> tuple[Entity, OperationSpec]:
        """The next work for a unit last set up for `preferred`; a changeover avoids jobs `elsewhere` (running on
        the type's other units) while another job waits, so two presses do not both set up for one job."""
        jobs = self._jobs
        while jobs[0][2] not in self._by_job:  # a job whose work here ran out earlier
            heapq.heappop(jobs)
        job = jobs[0][2]
        if preferred is not None and preferred is not job and not job.makeup and preferred in self._by_job:
            job = preferred
        elif job is not preferred and job in elsewhere and not job.makeup:
            job = next((j for _, _, j in sorted(jobs) if j in self._by_job and j not in elsewhere), job)
        work = self._by_job[job]
        _, _, entity, operation = heapq.heappop(work)
        if not work:
            del self._by_job[job]
        self.size -= 1
        return entity, operation


# --- the model -------------------------------------------------------------------------------------------


class PlantModel:
    """The plant floor over simulated time; `run_until(minute)` plays everything up to that minute."""

    def __init__(
        self,
        factory: Factory,
        floor: Floor,
        *,
        seed: int,
        days: float,
        start: datetime = DEFAULT_START,
        scenario: Scenario | None = None,
        first_memorabilia_number: int = 1,
        around_the_clock: bool = False,
        setup_scale: float = 1.0,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulation starts at a timezone-aware moment")
        self.factory = factory
        self.scenario = scenario or Scenario()
        self.start = start.astimezone(UTC)
        self.horizon = days * MINUTES_PER_DAY
        self.now = 0.0
        self.stats = ModelStats()
        self._floor = floor
        self._setup_scale = setup_scale
        self._around_the_clock = around_the_clock
        self._start_minute_of_day = self.start.hour * 60 + self.start.minute + self.start.second / 60
        streams = np.random.SeedSequence(seed).spawn(7)
        self._arrivals, self._pace, self._quality, self._losses, self._roster, self._outage_draws, self._anomalies = (
            Draws(np.random.default_rng(stream)) for stream in streams
        )
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = 0
        self._queues: dict[str, _StationQueue] = {}
        self._units: dict[str, list[_Unit]] = {}
        self._wakes: dict[str, float] = {}
        self._pace_of: dict[tuple[str, str], float] = {}
        self._operator_speed: dict[str, float] = {}
        self._operator_strictness: dict[str, float] = {}
        self._memorabilia_stock: deque[str] = deque()
        self._next_memorabilia = first_memorabilia_number
        self._makeup_pool: dict[str, list[_Card]] = {}
        self._job_numbers = 0
        self._offline_buffers: dict[str, list[Scan]] = {}
        self._outages: dict[str, deque[_Outage]] = {}
        self._truth: list[TruthRow] = []
        self._open_truth: dict[str, TruthRow] = {}  # lost cards not yet settled, by card unit id
        self._office = self._calendar(
            OperatingHours(
                weekdays=(0, 1, 2, 3, 4),
                start_minute=self.scenario.office_hours[0],
                end_minute=self.scenario.office_hours[1],
            )
        )
        self._build_stations()
        self._anomaly_setup()
        self._schedule_outages()
        self._schedule_arrivals()
        self._at(self._office.next_open(self.scenario.makeup_every_minutes), self._plan_makeup)

    # --- the clock ---------------------------------------------------------------------------------------

    def moment(self, minute: float) -> datetime:
        """The wall-clock moment of a simulated minute, to the millisecond (what a scanner's clock reports)."""
        return self.start + timedelta(milliseconds=round(minute * 60_000))

    def _at(self, minute: float, action: Callable[[], None]) -> None:
        self._sequence += 1
        heapq.heappush(self._events, (minute, self._sequence, action))

    def run_until(self, minute: float) -> None:
        """Play every happening up to `minute` (inclusive), in time order, ties in the order they were planned."""
        events = self._events
        while events and events[0][0] <= minute:
            at, _, action = heapq.heappop(events)
            self.now = at
            action()
        self.now = max(self.now, minute)

    def finish(self) -> None:
        """End of the run: scanners still offline sync now, and open truth rows are closed."""
        for station_id in sorted(self._offline_buffers):
            self._upload(station_id)
        self._truth.extend(self._open_truth.values())
        self._open_truth.clear()

    @property
    def truth(self) -> tuple[TruthRow, ...]:
        return tuple(self._truth)

    @property
    def next_memorabilia_number(self) -> int:
        return self._next_memorabilia

    def _calendar(self, hours: OperatingHours) -> StationCalendar:
        if self._around_the_clock:
            return StationCalendar.around_the_clock()
        return StationCalendar.for_hours(hours, self.start)

    def _minute_of_day(self, minute: float) -> float:
        return (self._start_minute_of_day + minute) % MINUTES_PER_DAY

    # --- the floor's layout ------------------------------------------------------------------------------

    def _build_stations(self) -> None:
        operator_number = 100
        for station in self.factory.stations:
            calendar = self._calendar(station.operating_hours)
            hours = station.operating_hours
            split = (hours.start_minute + hours.end_minute) // 2
            for _ in range(station.parallel_units):
                shifts = (f"OP-{operator_number + 1}", f"OP-{operator_number + 2}")
                operator_number += 2
                unit = _Unit(station=station, calendar=calendar, operators=shifts, shift_split=split)
                self._units.setdefault(station.station_type, []).append(unit)
                for operator in shifts:
                    self._operator_speed[operator] = self._roster.lognormal(1.0, self.scenario.operator_speed_sigma)
                    self._operator_strictness[operator] = self._roster.lognormal(
                        1.0, self.scenario.operator_strictness_sigma
                    )
        for station_type, units in self._units.items():
            # The faster station first: a free fast press takes the next sheet before the slow one.
            units.sort(key=lambda unit: (-unit.station.rated_capacity, unit.station.station_id))
            self._queues[station_type] = _StationQueue()
        for product in self.factory.products:
            for operation in product.operations:
                stations = self.factory.stations_of_type(operation.station_type)
                fastest = max(station.rated_capacity for station in stations)
                for station in stations:
                    # As the scheduler reads the configuration: rated capacity is the station's, across its units.
                    scale = station.parallel_units * fastest / station.rated_capacity
                    self._pace_of[(station.station_id, operation.operation_id)] = operation.standard_minutes * scale

    def _mix(self, product_id: str) -> JobMix:
        return self.scenario.mix.get(product_id, FALLBACK_MIX)

    # --- anomalies and outages ---------------------------------------------------------------------------

    def _anomaly_setup(self) -> None:
        scenario = self.scenario
        self._die_window: tuple[float, float] | None = None
        self._drift: tuple[str, float] | None = None
        self._elevated_operator: str | None = None
        if not scenario.inject_anomalies or not math.isfinite(self.horizon):
            return
        if self.factory.has_station(scenario.foil_die_station):
            calendar = self._calendar(self.factory.station(scenario.foil_die_station).operating_hours)
            working = calendar.open_minutes_between(0.0, self.horizon)
            begin = calendar.after_open_minutes(0.0, working * scenario.foil_die_window[0])
            end = calendar.after_open_minutes(0.0, working * scenario.foil_die_window[1])
            self._die_window = (begin, end)
            self._truth.append(
                TruthRow(
                    anomaly_type="foil_die_failure",
                    station_id=scenario.foil_die_station,
                    start=self.moment(begin),
                    end=self.moment(end),
                    detail=(
                        f"damaged foil die: a card of a sheet foiled at {scenario.foil_die_station} in this window "
                        f"carries a foil defect with probability {scenario.foil_die_failure_rate:.2f}, which QA "
                        f"catches {_DIE_CATCH_RATE:.0%} of the time and rework fixes {_DIE_REWORK_FIX:.0%} of the time"
                    ),
                )
            )
        if self.factory.has_station(scenario.drift_station):
            calendar = self._calendar(self.factory.station(scenario.drift_station).operating_hours)
            working = calendar.open_minutes_between(0.0, self.horizon)
            onset = calendar.after_open_minutes(0.0, working * scenario.drift_onset)
            self._drift = (scenario.drift_station, onset)
            self._truth.append(
                TruthRow(
                    anomaly_type="station_drift",
                    station_id=scenario.drift_station,
                    start=self.moment(onset),
                    end=self.moment(self.horizon),
                    detail=(
                        f"{scenario.drift_station} slows steadily from its normal pace at the onset to "
                        f"{scenario.drift_final_factor:.2f}x its normal operation time at the end of the run"
                    ),
                )
            )
        qa = next(op for op in self.factory.products[0].operations if op.kind == "qa")
        benches = self._units[qa.station_type]
        unit = self._anomalies.pick(benches)
        shift = int(self._anomalies.uniform() * 2) % 2
        self._elevated_operator = unit.operators[shift]
        self._truth.append(
            TruthRow(
                anomaly_type="operator_elevated_failure",
                station_id=unit.station.station_id,
                operator_id=self._elevated_operator,
                start=self.moment(0.0),
                end=self.moment(self.horizon),
                detail=(
                    f"QA inspector {self._elevated_operator} ({'early' if shift == 0 else 'late'} shift at "
                    f"{unit.station.station_id}) fails cards {scenario.elevated_operator_factor:.1f}x as often "
                    "as their own norm"
                ),
            )
        )

    def _schedule_outages(self) -> None:
        scenario = self.scenario
        if not scenario.offline_scanners or not math.isfinite(self.horizon):
            return
        for station_id in scenario.offline_stations:
            if not self.factory.has_station(station_id):
                continue
            calendar = self._calendar(self.factory.station(station_id).operating_hours)
            working = calendar.open_minutes_between(0.0, self.horizon)
            day = calendar.open_minutes_between(0.0, MINUTES_PER_DAY * 7) / 5 or MINUTES_PER_DAY
            count = max(1, round(working / (scenario.offline_every_days * day)))
            outages: deque[_Outage] = deque()
            for index in range(count):
                # One outage in each equal slice of the run's working time, somewhere in its middle.
                slice_start = working * index / count
                offset = slice_start + working / count * self._outage_draws.between(0.2, 0.7)
                begin = calendar.after_open_minutes(0.0, offset)
                hours = self._outage_draws.between(*scenario.offline_hours)
                upload = calendar.add_work(begin, hours * 60)
                if upload >= self.horizon:
                    continue
                outages.append(_Outage(station_id=station_id, start=begin, upload=upload))
                self._at(upload, partial(self._upload, station_id))
            self._outages[station_id] = outages

    def _offline(self, station_id: str, minute: float) -> _Outage | None:
        """The outage a station's scanner is in at `minute`, if any (scans then wait in its buffer)."""
        outages = self._outages.get(station_id)
        if not outages:
            return None
        while outages and outages[0].upload <= minute:
            outages.popleft()
        if outages and outages[0].start <= minute:
            return outages[0]
        return None

    def _after(self, station_id: str, minute: float) -> float:
        """When what just happened at a station is known downstream: after the offline scanner's upload.

        Work that depends on a scan still in an offline buffer would be refused (its predecessor is not in the
        log yet), so the floor holds it until the scanner syncs; a minute later it moves on.
        """
        outage = self._offline(station_id, self.now)
        return max(minute, outage.upload + 1.0) if outage is not None else minute

    def _upload(self, station_id: str) -> None:
        scans = self._offline_buffers.pop(station_id, [])
        if not scans:
            return
        self.stats.offline_uploads += 1
        self.stats.late_scans += len(scans)
        self._floor.upload(station_id, scans)
        self._truth.append(
            TruthRow(
                anomaly_type="offline_scanner",
                station_id=station_id,
                start=scans[0].occurred_at,
                end=self.moment(self.now),
                detail=(
                    f"the scanner at {station_id} was offline; {len(scans)} scans from "
                    f"{scans[0].occurred_at:%Y-%m-%d %H:%M} to {scans[-1].occurred_at:%H:%M} were uploaded as one "
                    f"batch at {self.moment(self.now):%Y-%m-%d %H:%M}"
                ),
            )
        )

    # --- scans -------------------------------------------------------------------------------------------

    def _scan(
        self,
        scan_id: str,
        barcode: str,
        unit: _Unit,
        operator: str,
        *,
        by_manager: bool = False,
        result: str | None = None,
        failure_reason: str | None = None,
        failure_codes: tuple[str, ...] = (),
        memorabilia_id: str | None = None,
        assembly_id: str | None = None,
        override_reason: str | None = None,
    ) -> None:
        station_id = unit.station.station_id
        scan = Scan(
            scan_id=scan_id,
            barcode=barcode,
            station_id=station_id,
            operator_id=operator,
            occurred_at=self.moment(self.now),
            result=result,
            failure_reason=failure_reason,
            failure_codes=failure_codes,
            memorabilia_id=memorabilia_id,
            assembly_id=assembly_id,
            override_reason=override_reason,
        )
        self.stats.scans += 1
        # A manager's override is keyed on the manager's own tablet, which stays online.
        if not by_manager and self._outages and self._offline(station_id, self.now) is not None:
            self._offline_buffers.setdefault(station_id, []).append(scan)
            return
        self._floor.record(scan, by_manager=by_manager)

    # --- demand ------------------------------------------------------------------------------------------

    def _schedule_arrivals(self) -> None:
        for _ in range(self.scenario.initial_jobs):
            self._at(0.0, partial(self._on_job_arrival, planned=False))
        self._plan_next_arrival(0.0)

    def _plan_next_arrival(self, after: float) -> None:
        office_minutes_per_day = self.scenario.office_hours[1] - self.scenario.office_hours[0]
        mean_gap = office_minutes_per_day / self.scenario.jobs_per_day
        arrival = self._office.add_work(after, self._arrivals.exponential(mean_gap))
        if arrival < self.horizon:
            self._at(arrival, partial(self._on_job_arrival, planned=True))

    def _on_job_arrival(self, *, planned: bool) -> None:
        if planned:
            self._plan_next_arrival(self.now)
        products = self.factory.products
        weights = [self._mix(product.product_id).share for product in products]
        pick = self._arrivals.uniform() * sum(weights)
        product = products[-1]
        for candidate, weight in zip(products, weights, strict=True):
            if pick < weight:
                product = candidate
                break
            pick -= weight
        mix = self._mix(product.product_id)
        sets = round(self._arrivals.lognormal(mix.median_sets, mix.sets_sigma))
        sets = min(max(sets, mix.min_sets), mix.max_sets, 999)
        lead = mix.lead_days[0] + int(self._arrivals.uniform() * (mix.lead_days[1] - mix.lead_days[0] + 1))
        customer = self._arrivals.pick(CUSTOMERS)
        self._open_job(product, sets, customer, lead, makeup=False)

    def _open_job(
        self,
        product: ProductSpec,
        sets: int,
        customer: str,
        lead_days: int,
        *,
        makeup: bool,
        replacements: Sequence[_Card] = (),
    ) -> None:
        """Create the job through the office and queue its sheets; a make-up job's sheets carry replacements."""
        today = self.moment(self.now).date()
        due = today + timedelta(days=lead_days)
        created = self._floor.create_job(
            product=product.product_id, sets=sets, customer=customer, due_date=due.isoformat(), at=self.moment(self.now)
        )
        if created is None:
            return  # the office's refusal is in the run's summary; the floor never sees the job
        job_id, sheet_ids = created
        self._job_numbers += 1
        # Make-up work jumps every queue: a set waiting for its replacement is holding a customer's order.
        due_minute = self._minute_of(due) - (MINUTES_PER_DAY * 365 if makeup else 0.0)
        job = _Job(
            job_id=job_id,
            product=product,
            number=self._job_numbers,
            due_minute=due_minute,
            mix=self._mix(product.product_id),
            makeup=makeup,
        )
        self.stats.jobs += 1
        self.stats.makeup_jobs += makeup
        first = job.sheet_operations[0]
        for number, sheet_id in enumerate(sheet_ids, start=1):
            self.stats.sheets += 1
            sheet = _Sheet(sheet_id=sheet_id, job=job, number=number)
            sheet.replacements_to_print.extend(replacements[(number - 1) * product.n_up : number * product.n_up])
            self._release(sheet, first, self.now)

    def _minute_of(self, day: date) -> float:
        moment = datetime(day.year, day.month, day.day, 22, 0, tzinfo=UTC)
        return (moment - self.start).total_seconds() / 60

    # --- queues and dispatch -----------------------------------------------------------------------------

    def _release(self, entity: Entity, operation: OperationSpec, at: float) -> None:
        if at > self.now:
            self._at(at, partial(self._release, entity, operation, at))
            return
        self._sequence += 1
        if isinstance(entity, _Sheet):
            order = entity.number * 100
        elif isinstance(entity, _Card):
            order = entity.set.sheet_number * 100 + entity.position
        else:
            order = entity.sheet_number * 100
        self._queues[operation.station_type].push(entity.job, (order, self._sequence, entity, operation))
        self._dispatch(operation.station_type)

    def _on_wake(self, station_type: str) -> None:
        self._wakes.pop(station_type, None)
        self._dispatch(station_type)

    def _dispatch(self, station_type: str) -> None:
        queue = self._queues[station_type]
        units = self._units[station_type]
        now = self.now
        while queue.size:
            free = [unit for unit in units if not unit.busy]
            if not free:
                return
            ready = [unit for unit in free if unit.calendar.is_open(now)]
            if not ready:
                opening = min(unit.calendar.next_open(now) for unit in free)
                planned = self._wakes.get(station_type)
                if planned is None or planned > opening or planned < now:
                    self._wakes[station_type] = opening
                    self._at(opening, partial(self._on_wake, station_type))
                return
            # A unit set up for a job keeps running it while the job has work here (a campaign saves setups).
            unit = next((u for u in ready if u.last_job is not None and queue.holds(u.last_job)), ready[0])
            busy_jobs = [u.current_job for u in units if u.current_job is not None]
            elsewhere = busy_jobs if unit.station.setup_minutes else []
            entity, operation = queue.pop(unit.last_job, elsewhere)
            self._start(unit, entity, operation)

    # --- operations --------------------------------------------------------------------------------------

    def _operator(self, unit: _Unit) -> str:
        return unit.operators[0 if self._minute_of_day(self.now) < unit.shift_split else 1]

    def _start(self, unit: _Unit, entity: Entity, operation: OperationSpec) -> None:
        unit.busy = True
        unit.current_job = entity.job
        operator = self._operator(unit)
        station_id = unit.station.station_id
        scenario = self.scenario
        setup = 0.0
        if unit.last_job is not entity.job and unit.station.setup_minutes > 0:
            setup = self._pace.lognormal(unit.station.setup_minutes * self._setup_scale, scenario.setup_sigma)
        pace = self._pace_of[(station_id, operation.operation_id)]
        sigma = scenario.sheet_sigma if operation.entity == "sheet" else scenario.card_sigma
        expected = pace * self._operator_speed[operator]
        work = self._pace.lognormal(expected, sigma)
        if self._drift is not None and self._drift[0] == station_id and self.now > self._drift[1]:
            progress = min(1.0, (self.now - self._drift[1]) / max(self.horizon - self._drift[1], 1.0))
            work *= 1.0 + (scenario.drift_final_factor - 1.0) * progress
        timed = operation.kind not in ("assembly", "pack")
        slow = timed and scenario.inject_anomalies and self._anomalies.chance(scenario.slow_operation_rate)
        if slow:
            machine_work = operation.entity == "sheet"
            factor = scenario.slow_operation_factor if machine_work else scenario.slow_card_operation_factor
            work = expected * self._anomalies.between(*factor)
        end = unit.calendar.add_work(self.now, max(setup + work, _MIN_MINUTES))
        if timed:
            barcode = _barcode(entity)
            attempt = entity.attempts + 1 if isinstance(entity, _Card) else 1
            self._scan(f"{barcode}:{operation.operation_id}:{attempt}:start", barcode, unit, operator)
            if slow:
                self._truth.append(
                    TruthRow(
                        anomaly_type="slow_operation",
                        station_id=station_id,
                        operator_id=operator,
                        entity_id=barcode,
                        operation_id=operation.operation_id,
                        start=self.moment(self.now),
                        end=self.moment(end),
                        detail=(
                            f"{operation.operation_id} of {barcode} injected at "
                            f"{work / operation.standard_minutes:.1f}x its standard {operation.standard_minutes:g} min"
                            f" (+{setup:.1f} min setup); {(end - self.now) / operation.standard_minutes:.1f}x elapsed"
                        ),
                    )
                )
        if isinstance(entity, _Sheet) and operation.kind == "process":
            if operation is entity.job.sheet_operations[0]:
                entity.pressed_at = station_id
            window = self._die_window
            if station_id == scenario.foil_die_station and window is not None and window[0] <= self.now < window[1]:
                entity.die_damaged = True
        self._at(end, partial(self._on_finish, unit, entity, operation, operator))

    def _on_finish(self, unit: _Unit, entity: Entity, operation: OperationSpec, operator: str) -> None:
        unit.busy = False
        unit.current_job = None
        unit.last_job = entity.job
        if isinstance(entity, _Sheet):
            self._finish_sheet(unit, entity, operation, operator)
        elif isinstance(entity, _Card):
            self._finish_card(unit, entity, operation, operator)
        else:
            self._finish_pack(unit, entity, operator)
        self._dispatch(unit.station.station_type)

    def _finish_sheet(self, unit: _Unit, sheet: _Sheet, operation: OperationSpec, operator: str) -> None:
        self._scan(f"{sheet.sheet_id}:{operation.operation_id}:1:end", sheet.sheet_id, unit, operator)
        station_id = unit.station.station_id
        if operation.kind == "cut":
            self._cut(unit, sheet)
            return
        sheet.step += 1
        self._release(sheet, sheet.job.sheet_operations[sheet.step], self._after(station_id, self.now))

    def _cut(self, unit: _Unit, sheet: _Sheet) -> None:
        job = sheet.job
        product = job.product
        card_ops = job.card_operations
        station_id = unit.station.station_id
        ready = self._after(station_id, self.now)
        the_set = _Set(assembly_id=f"A-{sheet.sheet_id}", sheet_number=sheet.number, job=job, expected=product.n_up)
        press_factor = self.scenario.weak_press_factor if sheet.pressed_at == self.scenario.weak_press else 1.0
        for position in range(1, product.n_up + 1):
            card = _Card(
                card_unit_id=f"{sheet.sheet_id}-{position:02d}",
                job=job,
                set=the_set,
                position=position,
                press_factor=press_factor,
                die_damaged=sheet.die_damaged and self._quality.chance(self.scenario.foil_die_failure_rate),
            )
            self.stats.cards += 1
            self._hand_off(card, card_ops[0], ready, station_id)
        for original in sheet.replacements_to_print:
            replacement_id = self._floor.create_replacement(
                original.card_unit_id, printed_on_sheet_id=sheet.sheet_id, at=self.moment(self.now)
            )
            if replacement_id is None:
                continue
            original.set.holds_replacement = True
            replacement = _Card(
                card_unit_id=replacement_id, job=original.job, set=original.set, position=original.position
            )
            self.stats.cards += 1
            self.stats.replacements += 1
            self._hand_off(replacement, card_ops[0], ready, station_id)

    def _hand_off(self, card: _Card, operation: OperationSpec, ready: float, station_id: str) -> None:
        """Cards change hands after the cut and after QA; now and then one goes astray."""
        if not self._losses.chance(self.scenario.lost_card_rate):
            self._release(card, operation, ready)
            return
        card.lost = True
        self.stats.lost_cards += 1
        if self._losses.chance(self.scenario.lost_found_share):
            calendar = self._units[operation.station_type][0].calendar
            found = calendar.add_work(ready, self._losses.between(*self.scenario.lost_found_hours) * 60)
            self._truth.append(
                TruthRow(
                    anomaly_type="lost_card",
                    station_id=station_id,
                    entity_id=card.card_unit_id,
                    operation_id=operation.operation_id,
                    start=self.moment(self.now),
                    end=self.moment(found),
                    detail=f"lost after {station_id}; found {(found - self.now) / 60:.1f} h later and carried on",
                )
            )
            self._release(card, operation, found)
            return
        self.stats.lost_never_found += 1
        card.set.lost_for_good.append(card)
        self._open_truth[card.card_unit_id] = TruthRow(
            anomaly_type="lost_card",
            station_id=station_id,
            entity_id=card.card_unit_id,
            operation_id=operation.operation_id,
            start=self.moment(self.now),
            end=None,
            detail=f"lost after {station_id}; never found",
        )
        self._check_set(card.set, station_id)

    def _finish_card(self, unit: _Unit, card: _Card, operation: OperationSpec, operator: str) -> None:
        station_id = unit.station.station_id
        kind = operation.kind
        attempt = card.attempts + 1
        scan_id = f"{card.card_unit_id}:{operation.operation_id}:{attempt}:end"
        if kind == "qa":
            self._inspect(unit, card, operation, operator, scan_id)
            return
        if kind == "assembly":
            self._scan(scan_id, card.card_unit_id, unit, operator, assembly_id=card.set.assembly_id)
            card.set.gathered += 1
            self._check_set(card.set, station_id)
            return
        if kind == "memorabilia":
            card.memorabilia_id = self._take_memorabilia()
            self._scan(scan_id, card.card_unit_id, unit, operator, memorabilia_id=card.memorabilia_id)
        else:
            self._scan(scan_id, card.card_unit_id, unit, operator)
        self._advance(card, station_id)

    def _advance(self, card: _Card, station_id: str) -> None:
        card.step += 1
        operations = card.job.card_operations
        following = operations[card.step]
        ready = self._after(station_id, self.now)
        if operations[card.step - 1].kind == "qa":
            self._hand_off(card, following, ready, station_id)
        else:
            self._release(card, following, ready)

    def _take_memorabilia(self) -> str:
        if self._memorabilia_stock:
            return self._memorabilia_stock.popleft()
        item = f"M-{self._next_memorabilia:06d}"
        self._next_memorabilia += 1
        return item

    # --- QA ----------------------------------------------------------------------------------------------

    def _failure_probability(self, unit: _Unit, card: _Card, operator: str) -> float:
        scenario = self.scenario
        probability = card.job.mix.base_failure_rate * card.press_factor * self._operator_strictness[operator]
        if unit.station.station_id == scenario.strict_bench:
            probability *= scenario.strict_bench_factor
        if operator == self._elevated_operator:
            probability *= scenario.elevated_operator_factor
        if card.position in (1, card.set.expected):
            probability *= scenario.edge_position_factor
        minute = self._minute_of_day(self.now)
        hours = unit.station.operating_hours
        if (
            minute >= hours.end_minute - 120
            or hours.start_minute <= minute < hours.start_minute + 60
            or unit.shift_split <= minute < unit.shift_split + 60
        ):
            probability *= scenario.late_hour_factor
        if card.attempts:
            probability *= scenario.rework_failure_factor
        return min(probability, 0.95)

    def _inspect(self, unit: _Unit, card: _Card, operation: OperationSpec, operator: str, scan_id: str) -> None:
        station_id = unit.station.station_id
        self.stats.qa_inspections += 1
        card.attempts += 1
        die_failure = card.die_damaged and self._quality.chance(_DIE_CATCH_RATE)
        failed = die_failure or self._quality.chance(self._failure_probability(unit, card, operator))
        if not failed:
            self.stats.qa_passes += 1
            self._scan(scan_id, card.card_unit_id, unit, operator, result="PASS")
            self._advance(card, station_id)
            return
        if die_failure:
            code = self._quality.pick(tuple(FOIL_DEFECTS))
            reason = FOIL_DEFECTS[code]
        else:
            defects = dict(PRINT_DEFECTS)
            defects.update(NUMBERED_DEFECTS if card.job.product.serialized else FOIL_DEFECTS)
            code = self._quality.pick(tuple(defects))
            reason = defects[code]
        card.last_failure = reason
        self._scan(
            scan_id, card.card_unit_id, unit, operator, result="FAIL", failure_reason=reason, failure_codes=(code,)
        )
        ready = self._after(station_id, self.now)
        if card.attempts >= self.factory.qa_max_attempts:
            review = unit.calendar.add_work(ready, self._quality.between(*self.scenario.void_review_minutes))
            self._at(review, partial(self._on_void_review, card))
            return
        if card.die_damaged and self._quality.chance(_DIE_REWORK_FIX):
            card.die_damaged = False
        rework = unit.calendar.add_work(ready, self._quality.lognormal(self.scenario.rework_minutes, 0.5))
        self._release(card, operation, rework)

    def _on_void_review(self, card: _Card) -> None:
        voided = self._floor.void_card_unit(
            card.card_unit_id,
            reason=f"failed QA {card.attempts} times (last: {card.last_failure})",
            at=self.moment(self.now),
        )
        if not voided:
            return  # the card stays on the plant's books as failed; its set waits (the refusal is reported)
        self.stats.voids += 1
        if card.memorabilia_id is not None:
            # The item comes out of the scrapped card and goes back to stock, first in line.
            self._memorabilia_stock.appendleft(card.memorabilia_id)
        self._makeup_pool.setdefault(card.job.product.product_id, []).append(card)

    def _plan_makeup(self) -> None:
        """Every so often the planner puts the voided cards waiting for replacement onto make-up sheets."""
        self._at(self._office.next_open(self.now + self.scenario.makeup_every_minutes), self._plan_makeup)
        for product in self.factory.products:
            waiting = self._makeup_pool.pop(product.product_id, [])
            if waiting:
                sheets = min(math.ceil(len(waiting) / product.n_up), 999)
                now, later = waiting[: sheets * product.n_up], waiting[sheets * product.n_up :]
                if later:  # more than one job's worth: the rest waits for the next round
                    self._makeup_pool[product.product_id] = later
                self._open_job(product, sheets, MAKEUP_CUSTOMER, lead_days=1, makeup=True, replacements=now)

    # --- sets --------------------------------------------------------------------------------------------

    def _check_set(self, the_set: _Set, station_id: str) -> None:
        lost = len(the_set.lost_for_good)
        if the_set.gathered == the_set.expected:
            self._release(the_set, self._pack_operation(the_set), self._after(station_id, self.now))
        elif lost and not the_set.write_off_due and the_set.gathered + lost == the_set.expected:
            the_set.write_off_due = True
            calendar = self._units[self._pack_operation(the_set).station_type][0].calendar
            at = calendar.add_work(
                self._after(station_id, self.now), self._losses.between(*self.scenario.write_off_hours) * 60
            )
            self._at(at, partial(self._on_write_off, the_set))

    def _pack_operation(self, the_set: _Set) -> OperationSpec:
        assert the_set.job.pack_operation is not None
        return the_set.job.pack_operation

    def _on_write_off(self, the_set: _Set) -> None:
        """A manager gives up on a set's lost cards: voids them and sends the set to pack short."""
        for card in the_set.lost_for_good:
            if self._floor.void_card_unit(
                card.card_unit_id, reason="lost on the floor and not found; written off", at=self.moment(self.now)
            ):
                self.stats.voids += 1
            row = self._open_truth.pop(card.card_unit_id, None)
            if row is not None:
                self._truth.append(
                    TruthRow(
                        anomaly_type=row.anomaly_type,
                        station_id=row.station_id,
                        entity_id=row.entity_id,
                        operation_id=row.operation_id,
                        start=row.start,
                        end=None,
                        detail=(
                            f"{row.detail}; voided at {self.moment(self.now):%Y-%m-%d %H:%M} and set "
                            f"{the_set.assembly_id} packed short with a manager's override"
                        ),
                    )
                )
        self._release(the_set, self._pack_operation(the_set), self.now)

    def _finish_pack(self, unit: _Unit, the_set: _Set, operator: str) -> None:
        override: str | None = None
        if the_set.lost_for_good:
            positions = ", ".join(f"{card.position:02d}" for card in the_set.lost_for_good)
            override = f"position {positions} lost on the floor; shipping the set short"
        elif the_set.holds_replacement:
            override = "holds replacements printed on make-up sheets for voided cards"
        self._scan(
            f"{the_set.assembly_id}:pack:1:end",
            the_set.assembly_id,
            unit,
            operator,
            by_manager=override is not None,
            override_reason=override,
        )
        self.stats.sets_packed += 1
        self.stats.sets_packed_with_override += override is not None


def _barcode(entity: Entity) -> str:
    if isinstance(entity, _Sheet):
        return entity.sheet_id
    if isinstance(entity, _Card):
        return entity.card_unit_id
    return entity.assembly_id
