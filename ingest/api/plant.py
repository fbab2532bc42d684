"""What the routes reach: the services the lifespan opened, through `request.app.state.plant`."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import anyio
from fastapi import Request
from fastapi.responses import Response

from ingest.errors import Unavailable
from ingest.queries import PlantReads
from ingest.service import GroupCommit, ScanService
from projections import Lake
from projections.data_dir import DataDir
from projections.store import EventStore

# Reads are Python work under one GIL (a lineage folded by the reference, the live floor, the feed, the JSON).
# Run at once in the thread pool, they only interleave in the interpreter's 5 ms slices and each finishes as
# late as the last; taking turns in arrival order, they finish in order (8 concurrent clients at 65,000 events,
# measured: card read p99 98 -> 42 ms, the feed 158 -> 54 ms). Two at a time, so one may wait on SQLite or
# DuckDB (which let go of the GIL) while the other runs. Plans do not take turns: a solve runs for seconds
# without the GIL, and would hold a turn all that time.
READS_AT_ONCE: Final = 2


@dataclass(frozen=True, kw_only=True, slots=True)
class PlantServices:
    """What the routes reach through `request.app.state.plant`."""

    data_dir: DataDir
    store: EventStore
    lake: Lake
    scans: ScanService
    commit: GroupCommit
    reads: PlantReads
    read_turns: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(READS_AT_ONCE))


def plant_of(request: Request) -> PlantServices:
    services: PlantServices | None = getattr(request.app.state, "plant", None)
    if services is None:
        raise Unavailable("the service is starting or stopping")
    return services


async def answer(request: Request, read: Callable[[PlantReads], Response]) -> Response:
    """A read's answer, computed and encoded in a worker thread in its turn (see `READS_AT_ONCE`)."""
    plant = plant_of(request)
    return await anyio.to_thread.run_sync(read, plant.reads, limiter=plant.read_turns)
