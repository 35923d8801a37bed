"""The web API's JSON answers and errors: typed answers, `ApiError` and the
`{"error": {...}}` body it becomes, the HTTP status of a StorydError, and request-body JSON
decoding (storyd.web.app)."""

from __future__ import annotations

from typing import Any

import msgspec
from quart import Response

from storyd.core.replies import ErrorBody
from storyd.errors import ConfigError, NotFoundError, RefusedError, StorydError, StoryFileError


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(obj), status=status, content_type="application/json")


def typed_response(kind: Any, obj: Any) -> Response:
    """`obj` converted through `kind`, its route's declared answer type (ROUTES in
    storyd.web.openapi), then sent: what goes out is what the OpenAPI document says."""
    return json_response(msgspec.convert(obj, kind, from_attributes=True))


class ErrorReply(msgspec.Struct, frozen=True, kw_only=True):
    """Every refused HTTP request's body: `{"error": {"code", "message"[, "fields"]}}`."""

    error: ErrorBody


def error_response(status: int, code: str, message: str,
                   fields: dict[str, str] | None = None) -> Response:
    body = ErrorBody(code=code, message=message, fields=fields or msgspec.UNSET)
    return json_response(ErrorReply(error=body), status)


def storyd_status(exc: StorydError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, StoryFileError):
        return 422
    if isinstance(exc, RefusedError):
        return 409
    if isinstance(exc, ConfigError):
        return 400
    return 503


def decode_json(raw: bytes | str) -> Any:
    """JSON from a request body; ApiError 400 for anything that is not (too deep included)."""
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise ApiError(400, "bad_json", f"request body is not JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "bad_json", "request body is nested too deeply") from None


def friendly(exc: msgspec.ValidationError) -> str:
    """msgspec's validation message in plainer words where it has a stock phrase."""
    return (str(exc).replace("Expected `str` of length >= 1", "must not be empty")
            .replace("Expected `str` of length <= ", "must be at most ")
            .replace("Expected `array` of length <= ", "must have at most "))
