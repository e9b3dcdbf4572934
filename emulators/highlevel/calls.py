"""What every real-API request goes through, in this order: the bearer token (401), the token's
location's request budget (429), the ``Version`` header (400), the location the request touches
(403 unless it is the token's own), then the body and query validated against the models (422).

The request budget is counted per location, the token's own: a Private Integration Token belongs
to one location, so its budget is that location's whichever location it asks about."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from emulators.highlevel.errors import (
    ApiError,
    bad_request,
    foreign_location,
    too_many_requests,
    unauthorized,
    unprocessable,
)
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


def _locations_named(request: Request, raw: Any) -> list[str]:
    """``locationId`` and ``altId`` of the query, else of the body: the locations a request names."""
    q = request.query_params
    named = [q.get("locationId"), q.get("altId")]
    if not any(named) and isinstance(raw, dict):
        named = [raw.get("locationId"), raw.get("altId")]
    return [n for n in named if isinstance(n, str) and n]


async def begin(request: Request, *, version: str = CONTACTS_VERSION, body: bool = False,
                location: str | None = None, locate: Callable[[Any], str | None] | None = None) -> Call:
    """Authenticate, count the request against the token's location, check the Version header and
    that the request stays within the token's location.

    The location a request touches is ``location`` when the caller knows it (an entity's), else what
    ``locate`` finds in the body, else ``locationId``/``altId`` of the query or the body. A request
    that names no location (an unknown entity id) is answered within the token's location."""
    hl = request.app.state.hl
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    owner = hl.store.owner_of(token.strip()) if scheme.lower() == "bearer" else None
    if owner is None:
        raise unauthorized(hl.behaviour.unauthorized_body)
    raw: Any = None
    parse_error = False
    if body:
        data = await request.body()
        if data:
            try:
                raw = json.loads(data)
            except ValueError:
                parse_error = True
    found = location or (locate(raw) if locate else None)
    named = [found] if found else _locations_named(request, raw)
    loc = named[0] if named else None
    allowed, headers = hl.limits.hit(owner)
    call = Call(request=request, location=loc or owner, headers=headers, raw=raw)
    if not allowed:
        raise call.fail(too_many_requests())
    sent_version = request.headers.get("version")
    if not sent_version:
        raise call.fail(bad_request("Version header was not found", error="Bad Request"))
    if sent_version not in hl.behaviour.versions(version):
        raise call.fail(bad_request(f"Version header must be {version}", error="Bad Request"))
    if any(n != owner for n in named):
        raise call.fail(foreign_location(hl.behaviour.foreign_location))
    if parse_error:
        raise call.fail(bad_request("Unexpected token in JSON body", error="Bad Request"))
    return call
