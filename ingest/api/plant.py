"""What the routes reach: the services the lifespan opened, through `request.app.state.plant`."""

from dataclasses import dataclass

from fastapi import Request

from ingest.errors import Unavailable
from ingest.queries import PlantReads
from ingest.service import GroupCommit, ScanService
from projections import Lake
from projections.data_dir import DataDir
from projections.store import EventStore


@dataclass(frozen=True, kw_only=True, slots=True)
class PlantServices:
    """What the routes reach through `request.app.state.plant`."""

    data_dir: DataDir
    store: EventStore
    lake: Lake
    scans: ScanService
    commit: GroupCommit
    reads: PlantReads


def plant_of(request: Request) -> PlantServices:
    services: PlantServices | None = getattr(request.app.state, "plant", None)
    if services is None:
        raise Unavailable("the service is starting or stopping")
    return services
