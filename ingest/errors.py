"""Every refusal as `{"error": code, "detail": text}` with its status; never a 500 for anything a client sent.

Domain families map as core documents them (InvalidId/InvalidCommand 422, UnknownEntity 404, RuleViolation 409,
NotAuthorized 403); the store's ConcurrencyConflict is a 409 that is safe to retry, ScanIdReused a 422, a
DurabilityError a 503 (the write was not acknowledged). `BodyLimit` refuses a body over its limit with 413 before
anything parses it.
"""

import json
import logging
from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import DomainError, InvalidCommand, InvalidId, NotAuthorized, RuleViolation, UnknownEntity
from ingest.auth import Unauthenticated
from projections.store.errors import ConcurrencyConflict, DurabilityError, ScanIdReused

log = logging.getLogger("cardtrace.ingest")

MAX_BODY_BYTES: Final = 1024 * 1024
MAX_BATCH_BODY_BYTES: Final = 16 * 1024 * 1024  # 10,000 scans of up to ~1.6 KiB each


class MalformedBody(Exception):
    """A body that is not JSON at all: 400."""


class Unavailable(Exception):
    """A part the endpoint needs is not there (yet): 503."""


def status_of(error: Exception) -> int:
    """The HTTP status an error answers; shared by POST /scan and each item of POST /scans."""
    match error:
        case InvalidId() | InvalidCommand() | ScanIdReused():
            return 422
        case MalformedBody():
            return 400
        case UnknownEntity():
            return 404
        case RuleViolation() | ConcurrencyConflict():
            return 409
        case NotAuthorized():
            return 403
        case Unauthenticated():
            return 401
        case DurabilityError() | Unavailable():
            return 503
        case _:
            return 500


def code_of(error: Exception) -> str:
    match error:
        case DomainError():
            return error.code
        case ScanIdReused():
            return "scan_id_reused"
        case ConcurrencyConflict():
            return "concurrent_write"
        case DurabilityError():
            return "not_durable"
        case Unauthenticated():
            return "unauthenticated"
        case Unavailable():
            return "unavailable"
        case MalformedBody():
            return "malformed_json"
        case _:
            return "internal_error"


def detail_of(error: Exception) -> str:
    return error.message if isinstance(error, DomainError) else str(error)


def error_response(status: int, code: str, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps({"error": code, "detail": detail}, ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class InvalidInput(InvalidCommand):
    """A body that does not match its schema; the detail names each field and its problem."""

    code = "validation_error"


def describe_validation(errors: list[Any], prefix: str = "") -> str:
    """One line naming each field and its problem, e.g. `scans.3.occurred_at: Input should have timezone info`."""
    parts = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        field = ".".join([prefix, *location] if prefix else location) or "body"
        parts.append(f"{field}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def _describe(errors: list[Any]) -> tuple[int, str, str]:
    """Malformed JSON is a 400, a schema violation a 422."""
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = error.get("ctx", {}).get("error", "")
            return 400, "malformed_json", f"the body is not valid JSON: {reason}"
    return 422, "validation_error", describe_validation(errors)


_HTTP_CODES: Final = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 401: "unauthenticated"}


def refusal(error: Exception, where: str = "") -> Response:
    """The error response for any exception; an unexpected one is logged and answered 500 without details."""
    if isinstance(error, StarletteHTTPException):
        return error_response(
            error.status_code,
            _HTTP_CODES.get(error.status_code, "http_error"),
            str(error.detail),
            dict(error.headers) if error.headers else None,
        )
    if isinstance(error, RequestValidationError):
        status, code, detail = _describe(list(error.errors()))
        return error_response(status, code, detail)
    status = status_of(error)
    if status == 500:
        log.error("unexpected error on %s", where, exc_info=error)
        return error_response(500, "internal_error", "an unexpected error; it is logged on the server")
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {"Retry-After": "1"} if status == 503 else None
    return error_response(status, code_of(error), detail_of(error), headers)


def install_error_handlers(app: FastAPI) -> None:
    async def on_error(request: Request, error: Exception) -> Response:
        return refusal(error, f"{request.method} {request.url.path}")

    known_errors = (
        RequestValidationError,
        StarletteHTTPException,
        DomainError,
        ScanIdReused,
        ConcurrencyConflict,
        DurabilityError,
        Unauthenticated,
        Unavailable,
        MalformedBody,
        Exception,
    )
    for known in known_errors:
        app.add_exception_handler(known, on_error)


class BodyTooLarge(StarletteHTTPException):
    """Raised while a body streams past its limit; an HTTPException so every route (FastAPI's body parsing
    re-raises those) answers it with the same 413 error body."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the body exceeds {limit} bytes")


class BodyLimit:
    """413 for a body over its path's limit: at once when Content-Length declares it, else as soon as the bytes
    received pass it (a chunked upload), before anything parses the body."""

    def __init__(self, app: ASGIApp, *, default: int = MAX_BODY_BYTES, per_path: Mapping[str, int] | None = None):
        self._app = app
        self._default = default
        self._per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        limit = self._per_path.get(scope["path"], self._default)
        declared = _declared_length(scope)
        if declared is not None:
            if declared > limit:
                response = error_response(413, "too_large", f"the body ({declared} bytes) exceeds {limit} bytes")
                await response(scope, receive, send)
                return
            # The HTTP server delivers exactly the declared length: nothing more to count.
            await self._app(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self._app(scope, counted, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def limited_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past `limit` bytes (declared or streamed), for a route served ahead of
    the `BodyLimit` middleware."""
    declared = _declared_length(request.scope)
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
