"""HighLevel-specific /_admin/ endpoints: seeding in the API's own shapes, locations and their
tokens, limits and behaviour switches, entity listings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from emulators.highlevel.behaviour import Behaviour
from emulators.highlevel.contacts import new_contact
from emulators.highlevel.invoices import new_invoice
from emulators.highlevel.payments import new_order, new_subscription, new_transaction
from emulators.highlevel.store import KINDS, LocationError, Store

_MAKERS = {"transactions": new_transaction, "orders": new_order, "subscriptions": new_subscription,
           "invoices": new_invoice}


def _known(store: Store, location: str | None, what: str) -> str:
    if not location:
        raise HTTPException(422, f"every seeded {what} needs a location")
    if location not in store.locations:
        raise HTTPException(422, f"location {location} does not exist: seed it first (locations: [{{id, token}}])")
    return location


def seed(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Load entities without counting against any budget; ids and dates are assigned when missing.

    ``locations: [{id, token?, name?, contactMatching?, allowDuplicateContact?}]`` come first; the
    answer's ``tokens`` holds each seeded location's token. Entities of a location that was never
    seeded are refused: the API never creates a location either."""
    ids: dict[str, list[str]] = {}
    tokens: dict[str, str] = {}
    with store.lock:
        for loc in body.get("locations") or []:
            try:
                location_id, token = store.add_location(dict(loc))
            except LocationError as exc:
                raise HTTPException(422, str(exc)) from None
            tokens[location_id] = token
        default_loc = body["locations"][0]["id"] if len(body.get("locations") or []) == 1 else None
        for fields in body.get("contacts") or []:
            loc = _known(store, fields.get("locationId") or default_loc, "contact")
            ids.setdefault("contacts", []).append(new_contact(store, loc, dict(fields))["id"])
        for kind, make in _MAKERS.items():
            for fields in body.get(kind) or []:
                row = dict(fields)
                row["altId"] = _known(store, row.get("altId") or row.pop("locationId", None) or default_loc, kind[:-1])
                ids.setdefault(kind, []).append(make(store, row)["_id"])
    return {"seeded": {k: len(v) for k, v in ids.items()}, "ids": ids, "tokens": tokens}


def extra_router(store: Store, limits: Any, behaviour: Behaviour, defaults: dict[str, Any]) -> APIRouter:
    router = APIRouter(prefix="/_admin")

    @router.get("/config")
    def get_config() -> dict[str, Any]:
        return limits.settings() | behaviour.settings()

    @router.post("/config")
    def set_config(body: dict[str, Any]) -> dict[str, Any]:
        """Change the budgets (``burst_limit``, ``throttle_window_s`` or ``window_s``, ``daily_limit``)
        and the switches of behaviour.py (``unauthorized_body``, ``foreign_location``, ``version_check``)."""
        try:
            switches = behaviour.configure(body)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return limits.configure(
            burst=body.get("burst_limit"),
            window_s=body.get("throttle_window_s", body.get("window_s")),
            daily=body.get("daily_limit"),
        ) | switches | {"defaults": defaults}

    @router.post("/locations/{location_id}")
    def set_location(location_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a location or change its settings: ``token``, ``name``, ``contactMatching``
        (``["email", "phone"]`` by default, ``["phone", "email"]``, ``["email"]`` or ``["phone"]``),
        ``allowDuplicateContact``. Answers the location and its token."""
        try:
            _, token = store.add_location(body | {"id": location_id})
        except LocationError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"location": dict(store.locations[location_id]), "token": token}

    @router.get("/tokens")
    def tokens(locationId: str | None = None) -> dict[str, Any]:  # noqa: N803 - the API's name
        """Every location's token, or ``?locationId=`` one location's."""
        with store.lock:
            owned = {loc: token for token, loc in store.tokens.items()}
        if locationId is None:
            return {"tokens": owned}
        if locationId not in owned:
            raise HTTPException(404, f"location {locationId} does not exist")
        return {"locationId": locationId, "token": owned[locationId]}

    @router.post("/transactions/{transaction_id}/refund")
    def refund(transaction_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Refund a payment as a CRM user does in the UI (HighLevel publishes no refund endpoint):
        ``{"amount": n}`` (default: what is left); the transaction's ``amountRefunded`` and status follow."""
        from emulators.highlevel.store import now_iso
        from emulators.highlevel.totals import dec, money

        with store.lock:
            txn = store.get("transactions", transaction_id)
            if txn is None:
                raise HTTPException(404, f"transaction {transaction_id} does not exist")
            left = dec(txn.get("amount")) - dec(txn.get("amountRefunded"))
            amount = dec((body or {}).get("amount")) if (body or {}).get("amount") is not None else left
            if amount <= 0 or amount > left:
                raise HTTPException(422, f"refund must be more than 0 and at most {money(left)}")
            txn["amountRefunded"] = money(dec(txn.get("amountRefunded")) + amount)
            txn["status"] = "refunded" if amount == left else "partially_refunded"
            txn["updatedAt"] = now_iso()
            return dict(txn)

    @router.get("/entities/{kind}")
    def entities(kind: str, locationId: str | None = None) -> dict[str, Any]:  # noqa: N803 - the API's name
        if kind == "locations":
            rows = [dict(loc) for loc in store.locations.values()]
        elif kind in KINDS:
            rows = store.listing(kind, locationId)
        else:
            raise HTTPException(404, f"unknown kind {kind}; one of locations, {', '.join(KINDS)}")
        return {"kind": kind, "count": len(rows), "items": rows}

    return router
