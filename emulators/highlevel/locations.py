"""Sub-accounts (locations): ``GET /locations/{locationId}``, what a client reads to confirm that a
location exists and that its token reaches it before syncing anything with it.

Shape from HighLevel's OpenAPI document ``apps/locations.json`` (GoHighLevel/highlevel-api-docs,
operation ``get-location``): Version 2021-07-28, 200 answers ``{"location": GetLocationByIdSchema}``;
the documented errors are 400, 401 and 422. That document is not among the specs this project keeps,
so the conformance suite does not check this route. An unknown location answers 400 "Location not
found", as the emulator answers every unknown id whose operation documents no 404 (errors.not_found).
Locations exist once seeded (``/_admin/seed`` ``locations``) or once an entity names them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from emulators.highlevel.calls import begin
from emulators.highlevel.errors import not_found
from emulators.highlevel.store import Store

router = APIRouter()

# What a seeded location lacks is answered as an empty string, as the API does for unset fields.
_FIELDS = ("companyId", "name", "domain", "address", "city", "state", "country", "postalCode", "website",
           "timezone", "email", "phone")


def location_body(location_id: str, stored: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {key: str(stored.get(key) or "") for key in _FIELDS}
    body["name"] = str(stored.get("name") or location_id)
    body["settings"] = {"allowDuplicateContact": bool(stored.get("allowDuplicateContact"))}
    return {"id": location_id, **body}


@router.get("/locations/{location_id}")
async def get_location(location_id: str, request: Request) -> JSONResponse:
    store: Store = request.app.state.hl.store
    call = await begin(request, location=location_id)
    with store.lock:
        stored = store.locations.get(location_id)
        if stored is None:
            raise call.fail(not_found("Location"))
        return call.ok({"location": location_body(location_id, stored)})
