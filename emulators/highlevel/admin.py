"""HighLevel-specific /_admin/ endpoints: seeding in the API's own shapes, limits, entity listings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from emulators.highlevel.contacts import new_contact
from emulators.highlevel.invoices import new_invoice
from emulators.highlevel.payments import new_order, new_subscription, new_transaction
from emulators.highlevel.store import KINDS, Store

_MAKERS = {"transactions": new_transaction, "orders": new_order, "subscriptions": new_subscription,
           "invoices": new_invoice}


def seed(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Load entities without counting against any budget; ids and dates are assigned when missing."""
    ids: dict[str, list[str]] = {}
    with store.lock:
        for loc in body.get("locations") or []:
            store.locations[loc["id"]] = {"name": loc["id"]} | loc
        default_loc = body["locations"][0]["id"] if len(body.get("locations") or []) == 1 else None
        for fields in body.get("contacts") or []:
            loc = fields.get("locationId") or default_loc
            if not loc:
                raise HTTPException(422, "every seeded contact needs a locationId")
            ids.setdefault("contacts", []).append(new_contact(store, loc, dict(fields))["id"])
        for kind, make in _MAKERS.items():
            for fields in body.get(kind) or []:
                row = dict(fields)
                row["altId"] = row.get("altId") or row.pop("locationId", None) or default_loc
                if not row["altId"]:
                    raise HTTPException(422, f"every seeded {kind[:-1]} needs an altId")
                ids.setdefault(kind, []).append(make(store, row)["_id"])
    return {"seeded": {k: len(v) for k, v in ids.items()}, "ids": ids}


def extra_router(store: Store, limits: Any, defaults: dict[str, Any]) -> APIRouter:
    router = APIRouter(prefix="/_admin")

    @router.get("/config")
    def get_config() -> dict[str, Any]:
        return limits.settings()

    @router.post("/config")
    def set_config(body: dict[str, Any]) -> dict[str, Any]:
        """Change the budgets: ``burst_limit``, ``throttle_window_s`` (or ``window_s``), ``daily_limit``."""
        return limits.configure(
            burst=body.get("burst_limit"),
            window_s=body.get("throttle_window_s", body.get("window_s")),
            daily=body.get("daily_limit"),
        ) | {"defaults": defaults}

    @router.get("/entities/{kind}")
    def entities(kind: str, locationId: str | None = None) -> dict[str, Any]:  # noqa: N803 - the API's name
        if kind == "locations":
            rows = list(store.locations.values())
        elif kind in KINDS:
            rows = store.listing(kind, locationId)
        else:
            raise HTTPException(404, f"unknown kind {kind}; one of locations, {', '.join(KINDS)}")
        return {"kind": kind, "count": len(rows), "items": rows}

    return router
