"""POST /scan and POST /scans: the floor's one gesture, alone or as a scanner's offline buffer."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError
from starlette.types import Receive, Scope, Send

from core.routing import Scan
from ingest.api.plant import plant_of
from ingest.api.render import scan_json, scan_result_json, scan_status, text_response
from ingest.auth import actor_of, credential_of, permitted
from ingest.errors import (
    MAX_BODY_BYTES,
    InvalidInput,
    MalformedBody,
    describe_validation,
    error_response,
    limited_body,
    refusal,
)
from ingest.schemas import MAX_BATCH_SCANS, ScanIn, ScansOut, refusals
from ingest.tokens import Credential

router = APIRouter(tags=["scans"])

_scan_adapter: TypeAdapter[ScanIn] = TypeAdapter(ScanIn)


def to_scan(body: ScanIn) -> Scan:
    return Scan(
        scan_id=body.scan_id,
        barcode=body.barcode,
        station_id=body.station_id,
        operator_id=body.operator_id,
        occurred_at=body.occurred_at,
        result=body.result,
        failure_reason=body.failure_reason,
        failure_codes=tuple(body.failure_codes),
        memorabilia_id=body.memorabilia_id,
        assembly_id=body.assembly_id,
        pack_id=body.pack_id,
        override_reason=body.override_reason,
    )


SCAN_SUMMARY = "Record one scan"
SCAN_DESCRIPTION = (
    "The station's type and the entity's state decide what the scan means. 201: recorded now; 200: this scan_id "
    "was recorded before and this is its original answer (nothing new recorded). A rejected scan is answered the "
    "same way when it is sent again."
)


async def scan_lane(scope: Scope, receive: Receive, send: Send) -> None:
    """POST /scan, the floor's hot path, served ahead of the middleware stack (see `ingest.app.IngestApp`): the
    same token check, body limit, validation and error bodies as every route, without the layers that cost a
    scan more than its own decision. Its OpenAPI entry is composed from the same models (`ingest.app`)."""
    request = Request(scope, receive)
    try:
        response = await post_scan(request)
    except Exception as error:
        response = refusal(error, "POST /scan")
    await response(scope, receive, send)


async def post_scan(request: Request) -> Response:
    credential = credential_of(request, "scan")
    scan = parse_scan(await limited_body(request, MAX_BODY_BYTES))
    plant = plant_of(request)
    outcome = await plant.scans.submit_scan_async(scan, actor_of(credential), plant.commit, station=credential.station)
    return text_response(scan_json(outcome), scan_status(outcome))


def parse_scan(raw: bytes) -> Scan:
    try:
        return to_scan(_scan_adapter.validate_json(raw))
    except ValidationError as error:
        errors = list(error.errors())
        if any(problem["type"] == "json_invalid" for problem in errors):
            raise MalformedBody(f"the body is not valid JSON: {errors[0]['msg']}") from None
        raise InvalidInput(describe_validation(errors)) from None


@router.post(
    "/scans",
    response_model=ScansOut,
    summary="Record a batch of scans (an offline buffer)",
    description=(
        f"Up to {MAX_BATCH_SCANS} scans, applied in occurred_at order; each gets its own `status` (what POST /scan "
        "would have answered) and outcome, in the order sent. A bad scan never blocks the others: an invalid one "
        'is answered 422 in its place. The request itself is refused only when it is not `{"scans": [...]}`.'
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScansIn"}}},
        }
    },
    responses=refusals(),
)
async def post_scans(request: Request, credential: Annotated[Credential, Depends(permitted("scan"))]) -> Response:
    parsed = parse_batch(await request.body())
    if isinstance(parsed, Response):
        return parsed
    valid = [scan for _, scan in parsed if isinstance(scan, Scan)]
    service = plant_of(request).scans
    answers = iter(
        await run_in_threadpool(service.submit_scans, valid, actor_of(credential), station=credential.station)
    )
    results = ",".join(
        scan_result_json(scan_id, next(answers) if isinstance(scan, Scan) else scan) for scan_id, scan in parsed
    )
    return text_response(f'{{"results":[{results}]}}')


def parse_batch(raw: bytes) -> list[tuple[str, Scan | Exception]] | Response:
    """The batch's scans, each parsed on its own: a malformed one becomes its own 422, not the whole request's."""
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return error_response(400, "malformed_json", f"the body is not valid JSON: {error}")
    if not isinstance(document, dict) or set(document) != {"scans"} or not isinstance(document["scans"], list):
        return error_response(422, "validation_error", 'body: must be exactly {"scans": [scan, ...]}')
    entries: list[Any] = document["scans"]
    if not entries:
        return error_response(422, "validation_error", "scans: must hold at least one scan")
    if len(entries) > MAX_BATCH_SCANS:
        return error_response(
            413, "too_large", f"scans: {len(entries)} scans exceed the batch limit of {MAX_BATCH_SCANS}"
        )
    parsed: list[tuple[str, Scan | Exception]] = []
    for index, entry in enumerate(entries):
        scan_id = entry.get("scan_id") if isinstance(entry, dict) else None
        try:
            parsed.append((str(scan_id or ""), to_scan(_scan_adapter.validate_python(entry))))
        except ValidationError as error:
            detail = describe_validation(list(error.errors()), prefix=f"scans.{index}")
            parsed.append((str(scan_id or ""), InvalidInput(detail)))
    return parsed
