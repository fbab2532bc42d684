"""Reads of sheets, sets, station queues, capacity, the event feed, and the service's health."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from ingest.api.plant import answer, plant_of
from ingest.api.reading import time_travel
from ingest.api.render import feed_response, json_response
from ingest.auth import permitted
from ingest.queries import MAX_FORECAST_DAYS, TimeTravel
from ingest.schemas import (
    AssemblyOut,
    CapacityOut,
    EventsOut,
    ForecastOut,
    HealthOut,
    SheetOut,
    StationQueueOut,
    refusals,
)
from ingest.tokens import Credential

router = APIRouter()

Reader = Annotated[Credential, Depends(permitted("read"))]
Cut = Annotated[TimeTravel, Depends(time_travel)]


@router.get("/sheets/{sheet_id}", response_model=SheetOut, tags=["reads"], summary="A sheet", responses=refusals(404))
async def get_sheet(
    sheet_id: Annotated[str, Path(max_length=40, examples=["J1044-S003"])], request: Request, when: Cut, _: Reader
) -> Response:
    return await answer(request, lambda reads: json_response(reads.sheet(sheet_id, when)))


@router.get(
    "/assemblies/{assembly_id}",
    response_model=AssemblyOut,
    tags=["reads"],
    summary="A sheet's set: present and missing positions, status",
    responses=refusals(404),
)
async def get_assembly(
    assembly_id: Annotated[str, Path(max_length=40, examples=["A-J1044-S003"])],
    request: Request,
    when: Cut,
    _: Reader,
) -> Response:
    return await answer(request, lambda reads: json_response(reads.assembly(assembly_id, when)))


@router.get(
    "/stations/{station_id}/queue",
    response_model=StationQueueOut,
    tags=["reads"],
    summary="What waits at a station (shared with its type) and what is in progress there",
    responses=refusals(404),
)
async def get_station_queue(
    station_id: Annotated[str, Path(max_length=64, examples=["QA-BENCH-3"])], request: Request, when: Cut, _: Reader
) -> Response:
    return await answer(request, lambda reads: json_response(reads.station_queue(station_id, when)))


@router.get(
    "/capacity",
    response_model=CapacityOut,
    tags=["capacity"],
    summary="Queued work per station against a day of its capacity",
    responses=refusals(),
)
async def get_capacity(request: Request, when: Cut, _: Reader) -> Response:
    return await answer(request, lambda reads: json_response(reads.capacity(when)))


@router.get(
    "/capacity/forecast",
    response_model=ForecastOut,
    tags=["capacity"],
    summary="Scheduled against available hours per station and day, the bottleneck and the jobs at risk",
    responses=refusals(),
)
def get_forecast(
    request: Request,
    when: Cut,
    _: Reader,
    days: Annotated[int, Query(ge=1, le=MAX_FORECAST_DAYS, description="Days ahead")] = 7,
) -> Response:
    return json_response(plant_of(request).reads.forecast(days, when))


@router.get(
    "/events",
    response_model=EventsOut,
    tags=["reads"],
    summary="The ordered event feed a downstream consumer follows",
    responses=refusals(),
)
async def get_events(
    request: Request,
    when: Cut,
    _: Reader,
    after: Annotated[int, Query(ge=0, le=2**62, description="Events with a sequence_num above this")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    return await answer(request, lambda reads: feed_response(reads.events(after, limit, when)))


@router.get(
    "/health",
    response_model=HealthOut,
    tags=["operations"],
    summary="Journal and lake state: last sequence, sealed high-water mark, seal lag (no token needed)",
    responses=refusals(authenticated=False),
)
def get_health(request: Request) -> Response:
    health = plant_of(request).reads.health()
    if request.app.state.tokens.problem is not None:  # tokens work as they were; the file needs an operator
        # No token is needed here, so the file's path and content stay in the server's log.
        problem = "the token file cannot be read: tokens known before still work (the server's log says why)"
        health = {**health, "status": "degraded", "tokens": {"problem": problem}}
    return json_response(health)
