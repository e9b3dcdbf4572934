"""What every real-API request goes through, in the API's order: bearer token, the location's
request budget, the ``Version`` header, then the body and query validated against the models."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from emulators.highlevel.errors import ApiError, bad_request, too_many_requests, unauthorized, unprocessable
from emulators.highlevel.errors import validation_messages as _messages

CONTACTS_VERSION = "2021-07-28"  # contacts, payments, invoices
CONVERSATIONS_VERSION = "2021-04-15"

M = TypeVar("M", bound=BaseModel)


@dataclass
class Call:
    request: Request
    location: str | None
    headers: dict[str, str]
    raw: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self, model: type[M]) -> M:
        if not isinstance(self.raw, dict):
            raise self._fail(bad_request("Request body must be a JSON object"))
        try:
            return model.model_validate(self.raw)
        except ValidationError as exc:
            raise self._fail(unprocessable(_messages(model, exc))) from None

    def query(self, model: type[M]) -> M:
        try:
            return model.model_validate(dict(self.request.query_params))
        except ValidationError as exc:
            raise self._fail(unprocessable(_messages(model, exc))) from None

    def fail(self, error: ApiError) -> ApiError:
        return self._fail(error)

    def _fail(self, error: ApiError) -> ApiError:
        error.headers = self.headers
        return error

    def ok(self, payload: Any, status: int = 200) -> JSONResponse:
        return JSONResponse(payload, status_code=status, headers=self.headers)


def _location_hint(request: Request, raw: Any) -> str | None:
    q = request.query_params
    hint = q.get("locationId") or q.get("altId")
    if not hint and isinstance(raw, dict):
        hint = raw.get("locationId") or raw.get("altId")
    return hint if isinstance(hint, str) and hint else None


async def begin(request: Request, *, version: str = CONTACTS_VERSION, body: bool = False,
                location: str | None = None, locate: Callable[[Any], str | None] | None = None) -> Call:
    """Authenticate, count the request against its location's budget, check the Version header.

    The location is ``location`` when the caller knows it (an entity's), else what ``locate`` finds
    in the body, else ``locationId``/``altId`` of the query or the body."""
    hl = request.app.state.hl
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or token.strip() != hl.token:
        raise unauthorized()
    raw: Any = None
    parse_error = False
    if body:
        data = await request.body()
        if data:
            try:
                raw = json.loads(data)
            except ValueError:
                parse_error = True
    loc = location or (locate(raw) if locate else None) or _location_hint(request, raw)
    allowed, headers = hl.limits.hit(loc or "_app")
    call = Call(request=request, location=loc, headers=headers, raw=raw)
    if not allowed:
        raise call.fail(too_many_requests())
    sent_version = request.headers.get("version")
    if not sent_version:
        raise call.fail(bad_request("Version header was not found", error="Bad Request"))
    if sent_version != version:
        raise call.fail(bad_request(f"Version header must be {version}", error="Bad Request"))
    if parse_error:
        raise call.fail(bad_request("Unexpected token in JSON body", error="Bad Request"))
    return call
