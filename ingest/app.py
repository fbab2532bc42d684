"""The HTTP service (CONTRACTS section 5): one FastAPI app over one event store, one lake and one scan service.

`create_app(data_dir)` is the composition root of the service: the lifespan opens the store (which recovers and
resumes sealing), the lake (keeping the floor's station queues and job progress live) and a keeper that refreshes
the stored read models, and on shutdown — after uvicorn has drained the requests in flight — seals every
acknowledged event and closes the store.
"""

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import Receive, Scope, Send

from ingest.api import card_units, jobs, reads, scans
from ingest.api.plant import PlantServices
from ingest.api.scans import SCAN_DESCRIPTION, SCAN_SUMMARY, scan_lane
from ingest.errors import MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES, BodyLimit, install_error_handlers
from ingest.queries import PlantReads
from ingest.schemas import ErrorOut, ScanIn, ScanOut, ScansIn, refusals
from ingest.service import GroupCommit, ScanService
from ingest.tokens import TokenBook
from projections import open_lake
from projections.data_dir import DataDir
from projections.keeper import DEFAULT_PERIOD_S, ReadModelKeeper
from projections.store import EventStore

log = logging.getLogger("cardtrace.ingest")


class IngestApp(FastAPI):
    """The FastAPI app, with POST /scan handed straight to its lane (`ingest.api.scans.scan_lane`): a floor's scan
    is the one request frequent enough for the generic middleware stack to matter."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/scan" and scope["method"] == "POST":
            scope["app"] = self
            await scan_lane(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(data_dir: DataDir, *, refresh_period_s: float = DEFAULT_PERIOD_S) -> FastAPI:
    """The app for one data directory; nothing is opened until the lifespan starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        factory = data_dir.load_factory()
        store = EventStore(data_dir, seal_in_process=True)  # sealing never takes the GIL from the scans
        lake = open_lake(data_dir)
        commit = GroupCommit(store)
        keeper = ReadModelKeeper(data_dir, refresh_period_s).start()
        try:  # station queues and job progress live from the start, not from the first screen that asks
            lake.keep_floor_live()
        except Exception:  # a read model's fault must not keep the floor's scans out: those reads fail alone
            log.exception("could not keep the floor live; station queues and job progress will retry on each read")
        try:
            app.state.plant = PlantServices(
                data_dir=data_dir,
                store=store,
                lake=lake,
                scans=ScanService(store, factory),
                commit=commit,
                reads=PlantReads(lake, store, factory),
            )
            yield
        finally:
            # uvicorn has stopped accepting and drained the requests in flight: seal what they acknowledged.
            app.state.plant = None
            keeper.stop()
            try:
                commit.close()
                store.seal_now()
            finally:
                lake.close()
                store.close()

    app = IngestApp(
        title="cardtrace",
        version="0.1.0",
        summary="Production tracking for a trading-card printing plant: scans in, state and history out.",
        description=(
            "Every endpoint but `/health` needs `Authorization: Bearer <token>` (`cardtrace token issue`). "
            'Errors are `{"error": code, "detail": text}`. Read endpoints take `as_of` (occurred time) and '
            "`known_at` (recorded time) for time travel."
        ),
        lifespan=lifespan,
    )
    app.state.tokens = TokenBook(data_dir)
    app.state.plant = None
    install_error_handlers(app)
    app.add_middleware(BodyLimit, default=MAX_BODY_BYTES, per_path={"/scans": MAX_BATCH_BODY_BYTES})
    for router in (scans.router, jobs.router, card_units.router, reads.router):
        app.include_router(router)
    _document_scan_routes(app)
    return app


def _document_scan_routes(app: FastAPI) -> None:
    """POST /scan is served by its lane and POST /scans parses each scan on its own (a bad one must not
    block the rest), so FastAPI infers neither body: both are composed here from the same pydantic models."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for model in (ScanIn, ScansIn, ScanOut, ErrorOut):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in schema.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components[model.__name__] = schema
        document["paths"]["/scan"] = {"post": _scan_operation()}
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _scan_operation() -> dict[str, Any]:
    def body(name: str, description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }

    responses = {str(status): body("ErrorOut", doc["description"]) for status, doc in refusals(404, 409).items()}
    return {
        "tags": ["scans"],
        "summary": SCAN_SUMMARY,
        "description": SCAN_DESCRIPTION,
        "operationId": "post_scan_scan_post",
        "security": [{"HTTPBearer": []}],
        "requestBody": {"required": True, **body("ScanIn", "One scan")},
        "responses": {
            "201": body("ScanOut", "Recorded now"),
            "200": body("ScanOut", "A replay: the original outcome"),
            **responses,
        },
    }
