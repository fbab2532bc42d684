"""The cut every read endpoint takes: `as_of` and `known_at`, ISO 8601 with a timezone."""

from typing import Annotated

from fastapi import Query

from ingest.queries import TimeTravel
from ingest.schemas import Timestamp


async def time_travel(
    as_of: Annotated[
        Timestamp | None,
        Query(description="Occurred time: what was true then (as known now)", examples=["2026-11-02T14:00:00+00:00"]),
    ] = None,
    known_at: Annotated[
        Timestamp | None,
        Query(description="Recorded time: what the system knew then", examples=["2026-11-02T14:00:00+00:00"]),
    ] = None,
) -> TimeTravel:
    return TimeTravel(as_of=as_of, known_at=known_at)
