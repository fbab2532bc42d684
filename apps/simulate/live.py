"""A live trickle of scans in real time against a running `cardtrace serve`, for the demo.

The plant model runs on the wall clock: every second it plays up to now and sends what happened over HTTP.
The live plant is a small one: small jobs around the clock (a demo runs at any hour), short changeovers, no
injected faults and no offline scanners, so something moves on the floor every few seconds. It continues the
memorabilia numbering the simulation left in `<data>/simulation/state.json` and saves it back as it goes.
"""

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from apps.simulate.client import HttpClient, SimulationError
from apps.simulate.plant_model import PlantModel
from apps.simulate.runner import ScanRelay, SimulationState, read_state, write_state
from apps.simulate.scenario import LIVE_SCENARIO
from core.commands import Role
from projections.data_dir import DataDir

LIVE_SEED: Final = 20_240_601
TICK_SECONDS: Final = 1.0
SAVE_EVERY_SECONDS: Final = 30.0
LIVE_SETUP_SCALE: Final = 0.1  # a demo should not watch a 45-minute press changeover
WARMUP_MINUTES: Final = 60.0


@dataclass(frozen=True, kw_only=True, slots=True)
class LiveProgress:
    started: datetime
    jobs: int
    scans: int
    events: int
    refused: int
    error: str | None = None


def run_live(
    url: str,
    tokens: Mapping[Role, str],
    data_dir: DataDir,
    stop: threading.Event,
    *,
    seed: int = LIVE_SEED,
    tick_seconds: float = TICK_SECONDS,
    warmup_minutes: float = WARMUP_MINUTES,
    on_tick: Callable[[LiveProgress], None] | None = None,
) -> LiveProgress:
    """Trickle scans into the server at `url` until `stop` is set (or the server stops answering).

    The live plant opened `warmup_minutes` ago: that first stretch is played at once (its scans carry their own
    times in the last hour), so every station already has work when the real-time trickle begins.
    """
    previous = read_state(data_dir)
    client = HttpClient(url, tokens, timeout=30.0)
    relay = ScanRelay(client)
    started = datetime.now(UTC) - timedelta(minutes=warmup_minutes)
    origin = time.monotonic() - warmup_minutes * 60.0
    model = PlantModel(
        data_dir.load_factory(),
        relay,
        seed=seed,
        days=float("inf"),
        start=started,
        scenario=LIVE_SCENARIO,
        first_memorabilia_number=previous.next_memorabilia_number if previous else 1,
        around_the_clock=True,
        setup_scale=LIVE_SETUP_SCALE,
    )
    error: str | None = None
    saved = origin
    try:
        while not stop.is_set():
            model.run_until((time.monotonic() - origin) / 60.0)
            relay.flush()
            if time.monotonic() - saved > SAVE_EVERY_SECONDS:
                _save(data_dir, model, previous)
                saved = time.monotonic()
            if on_tick is not None:
                on_tick(_progress(model, relay, started, None))
            stop.wait(tick_seconds)
    except SimulationError as problem:
        error = problem.message
    finally:
        client.close()
        _save(data_dir, model, previous)
    return _progress(model, relay, started, error)


def _save(data_dir: DataDir, model: PlantModel, previous: SimulationState | None) -> None:
    until = model.moment(model.now)
    if previous is not None:
        until = max(until, previous.simulated_until)
    write_state(data_dir, SimulationState(simulated_until=until, next_memorabilia_number=model.next_memorabilia_number))


def _progress(model: PlantModel, relay: ScanRelay, started: datetime, error: str | None) -> LiveProgress:
    return LiveProgress(
        started=started,
        jobs=model.stats.jobs,
        scans=relay.scans,
        events=relay.events,
        refused=relay.refused,
        error=error,
    )
