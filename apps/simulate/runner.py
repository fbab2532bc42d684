"""`cardtrace simulate`: play the plant model over N simulated days through the ingest path, then sum it up.

The model advances one tick (an hour of simulated time) at a time; the scans of the tick go to the plant as one
batch (`submit_scans`), office commands (jobs, voids, replacements) go at once after the scans before them, and an
offline scanner's buffer goes as its own late batch when it syncs. At the end the store seals everything into the
lake, the ground truth of the injected anomalies lands in `<data>/simulation/truth.parquet`, and
`<data>/simulation/state.json` remembers where the simulated clock and the memorabilia numbering stopped, so a
later run (or the live demo) continues after it.
"""

import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from apps.simulate.client import CommandRefused, Delivery, HttpClient, InProcessClient, PlantClient, SimulationError
from apps.simulate.plant_model import DEFAULT_START, PlantModel
from apps.simulate.scenario import Scenario
from apps.simulate.truth import truth_path, write_truth
from core.routing import Scan
from projections.data_dir import DataDir

TICK_MINUTES: Final = 60.0
STATE_FILE: Final = "state.json"
MAX_REFUSAL_SAMPLES: Final = 20


@dataclass(frozen=True, kw_only=True, slots=True)
class SimulationState:
    """Where the last simulation (or live trickle) left the plant: its clock and its memorabilia numbering."""

    simulated_until: datetime
    next_memorabilia_number: int


def state_path(data_dir: DataDir) -> Path:
    return data_dir.simulation_dir / STATE_FILE


def read_state(data_dir: DataDir) -> SimulationState | None:
    path = state_path(data_dir)
    if not path.exists():
        return None
    document = json.loads(path.read_text(encoding="utf-8"))
    return SimulationState(
        simulated_until=datetime.fromisoformat(document["simulated_until"]),
        next_memorabilia_number=int(document["next_memorabilia_number"]),
    )


def write_state(data_dir: DataDir, state: SimulationState) -> None:
    path = state_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(
        json.dumps(
            {
                "simulated_until": state.simulated_until.isoformat(),
                "next_memorabilia_number": state.next_memorabilia_number,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    temporary.replace(path)


class ScanRelay:
    """The model's `Floor` over a `PlantClient`: scans wait for the tick's batch, office commands go at once.

    An office command first sends the scans before it (a void must follow the failing inspection it judges);
    a batch sends the floor's scans, then the managers' (overrides only ever follow floor work).
    """

    def __init__(self, client: PlantClient) -> None:
        self._client = client
        self._floor_scans: list[Scan] = []
        self._manager_scans: list[Scan] = []
        self.events = 0
        self.scans = 0
        self.refused = 0
        self.refused_commands = 0
        self.refusal_samples: list[str] = []

    def record(self, scan: Scan, *, by_manager: bool = False) -> None:
        (self._manager_scans if by_manager else self._floor_scans).append(scan)

    def upload(self, station_id: str, scans: Sequence[Scan]) -> None:
        self.flush()
        self._deliver(scans, by_manager=False)

    def flush(self) -> None:
        floor, self._floor_scans = self._floor_scans, []
        managers, self._manager_scans = self._manager_scans, []
        if floor:
            self._deliver(floor, by_manager=False)
        if managers:
            self._deliver(managers, by_manager=True)

    def _deliver(self, scans: Sequence[Scan], *, by_manager: bool) -> None:
        delivery: Delivery = self._client.submit_scans(scans, by_manager=by_manager)
        self.scans += len(scans)
        self.events += delivery.events
        self.refused += len(delivery.refused)
        for scan_id, reason in delivery.refused[: max(0, MAX_REFUSAL_SAMPLES - len(self.refusal_samples))]:
            self.refusal_samples.append(f"{scan_id}: {reason}")

    def create_job(
        self, *, product: str, sets: int, customer: str, due_date: str, at: datetime
    ) -> tuple[str, tuple[str, ...]] | None:
        self.flush()
        try:
            ticket = self._client.create_job(product=product, sets=sets, customer=customer, due_date=due_date, at=at)
        except CommandRefused as refusal:
            self._refuse(f"create job of {sets} {product}", refusal)
            return None
        self.events += ticket.events
        return ticket.job_id, ticket.sheets

    def void_card_unit(self, card_unit_id: str, *, reason: str, at: datetime) -> bool:
        self.flush()
        try:
            self.events += self._client.void_card_unit(card_unit_id, reason=reason, at=at)
        except CommandRefused as refusal:
            self._refuse(f"void {card_unit_id}", refusal)
            return False
        return True

    def create_replacement(self, card_unit_id: str, *, printed_on_sheet_id: str, at: datetime) -> str | None:
        self.flush()
        try:
            replacement, events = self._client.create_replacement(
                card_unit_id, printed_on_sheet_id=printed_on_sheet_id, at=at
            )
        except CommandRefused as refusal:
            self._refuse(f"replace {card_unit_id}", refusal)
            return None
        self.events += events
        return replacement

    def _refuse(self, what: str, refusal: CommandRefused) -> None:
        self.refused_commands += 1
        if len(self.refusal_samples) < MAX_REFUSAL_SAMPLES:
            self.refusal_samples.append(f"{what}: {refusal.message}")


@dataclass(frozen=True, kw_only=True, slots=True)
class SimulationSummary:
    days: float
    seed: int
    start: datetime
    end: datetime
    transport: str
    jobs: int
    makeup_jobs: int
    sheets: int
    cards: int
    replacements: int
    scans: int
    late_scans: int
    refused_scans: int
    refused_commands: int
    refusal_samples: tuple[str, ...]
    events: int
    qa_inspections: int
    qa_passes: int
    voids: int
    sets_packed: int
    sets_packed_with_override: int
    lost_cards: int
    lost_never_found: int
    anomalies: tuple[tuple[str, int], ...]  # injected anomaly type -> truth rows
    truth_file: Path
    seconds: float

    @property
    def qa_pass_rate(self) -> float:
        return self.qa_passes / self.qa_inspections if self.qa_inspections else 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def table(self) -> Table:
        table = Table(title=f"Simulated {self.days:g} days of the plant (seed {self.seed}, {self.transport})")
        table.add_column("what")
        table.add_column("how many", justify="right")
        rows: list[tuple[str, str]] = [
            ("simulated", f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M} UTC"),
            ("jobs (of them make-up jobs)", f"{self.jobs:,} ({self.makeup_jobs:,})"),
            ("sheets", f"{self.sheets:,}"),
            ("card units (of them replacements)", f"{self.cards:,} ({self.replacements:,})"),
            ("scans (of them uploaded late)", f"{self.scans:,} ({self.late_scans:,})"),
            ("scans refused", f"{self.refused_scans:,}"),
            ("office commands refused", f"{self.refused_commands:,}"),
            ("events recorded", f"{self.events:,}"),
            ("QA inspections, pass rate", f"{self.qa_inspections:,}, {self.qa_pass_rate:.1%}"),
            ("card units voided", f"{self.voids:,}"),
            ("sets packed (with a manager's override)", f"{self.sets_packed:,} ({self.sets_packed_with_override:,})"),
            ("cards lost (never found)", f"{self.lost_cards:,} ({self.lost_never_found:,})"),
        ]
        rows += [(f"injected: {kind}", f"{count:,}") for kind, count in self.anomalies]
        rows += [
            ("ground truth", str(self.truth_file)),
            ("wall time, events/s", f"{self.seconds:.1f} s, {self.events_per_second:,.0f}"),
        ]
        for what, value in rows:
            table.add_row(what, value)
        return table

    def render(self) -> str:
        buffer = io.StringIO()
        console = Console(file=buffer, width=110, force_terminal=False, color_system=None)
        console.print(self.table())
        for sample in self.refusal_samples:
            console.print(f"refused: {sample}", highlight=False, markup=False)
        return buffer.getvalue()


def simulate(
    data_dir: DataDir,
    days: int | float = 30,
    seed: int = 7,
    via: str | None = None,
    token: str | None = None,
    progress: bool = True,
    *,
    start: datetime | None = None,
    scenario: Scenario | None = None,
    tick_minutes: float = TICK_MINUTES,
) -> SimulationSummary:
    """Simulate `days` of the plant in `data_dir` (or through the server at `via`) and sum it up.

    The clock starts at `start`, else where the previous run in this data directory stopped, else at a fixed
    Monday 06:00 UTC; a seed then gives the same event log every time (apart from recorded_at).
    """
    if days <= 0:
        raise SimulationError(f"days must be > 0, got {days}")
    if (via is None) != (token is None):
        raise SimulationError("--via and --token go together")
    previous = read_state(data_dir)
    begin = start or (previous.simulated_until if previous else DEFAULT_START)
    client: PlantClient = HttpClient(via, token) if via is not None and token is not None else InProcessClient(data_dir)
    clock = time.perf_counter()
    try:
        relay = ScanRelay(client)
        model = PlantModel(
            data_dir.load_factory(),
            relay,
            seed=seed,
            days=float(days),
            start=begin,
            scenario=scenario,
            first_memorabilia_number=client.first_free_memorabilia_number(
                previous.next_memorabilia_number if previous else 1
            ),
        )
        _play(model, relay, tick_minutes, progress)
    finally:
        client.close()
    seconds = time.perf_counter() - clock
    truth_file = write_truth(data_dir, model.truth, append=previous is not None and truth_path(data_dir).exists())
    end = model.moment(model.horizon)
    write_state(data_dir, SimulationState(simulated_until=end, next_memorabilia_number=model.next_memorabilia_number))
    stats = model.stats
    kinds: dict[str, int] = {}
    for row in model.truth:
        kinds[row.anomaly_type] = kinds.get(row.anomaly_type, 0) + 1
    return SimulationSummary(
        days=float(days),
        seed=seed,
        start=model.start,
        end=end,
        transport=f"via {via}" if via else "in-process",
        jobs=stats.jobs,
        makeup_jobs=stats.makeup_jobs,
        sheets=stats.sheets,
        cards=stats.cards,
        replacements=stats.replacements,
        scans=relay.scans,
        late_scans=stats.late_scans,
        refused_scans=relay.refused,
        refused_commands=relay.refused_commands,
        refusal_samples=tuple(relay.refusal_samples),
        events=relay.events,
        qa_inspections=stats.qa_inspections,
        qa_passes=stats.qa_passes,
        voids=stats.voids,
        sets_packed=stats.sets_packed,
        sets_packed_with_override=stats.sets_packed_with_override,
        lost_cards=stats.lost_cards,
        lost_never_found=stats.lost_never_found,
        anomalies=tuple(sorted(kinds.items())),
        truth_file=truth_file,
        seconds=seconds,
    )


def _play(model: PlantModel, relay: ScanRelay, tick_minutes: float, progress: bool) -> None:
    ticks = max(1, int(-(-model.horizon // tick_minutes)))
    if not progress:
        for tick in range(1, ticks + 1):
            model.run_until(min(tick * tick_minutes, model.horizon))
            relay.flush()
        model.finish()
        relay.flush()
        return
    columns = (
        TextColumn("[bold]simulating[/] {task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[events]:>10,} events"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(_day_label(model, 0.0), total=ticks, events=0)
        for tick in range(1, ticks + 1):
            minute = min(tick * tick_minutes, model.horizon)
            model.run_until(minute)
            relay.flush()
            bar.update(task, advance=1, description=_day_label(model, minute), events=relay.events)
        model.finish()
        relay.flush()
        bar.update(task, events=relay.events)


def _day_label(model: PlantModel, minute: float) -> str:
    return f"{model.moment(minute):%a %Y-%m-%d %H:%M}"
