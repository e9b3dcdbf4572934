"""Payments: transactions, orders and subscriptions, listed with offset paging, newest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from emulators.highlevel import models as m
from emulators.highlevel.calls import begin
from emulators.highlevel.errors import ApiError, not_found, trace_id, validation_messages
from emulators.highlevel.store import Store, now_iso, object_id

router = APIRouter()

ORDER_SOURCE_TYPES = {"funnel", "website", "invoice", "calendar", "text2Pay", "document_contracts", "membership",
                      "mobile_app", "communities", "point_of_sale", "manual", "form", "survey", "payment_link",
                      "external"}


def new_transaction(store: Store, fields: dict[str, Any]) -> dict[str, Any]:
    """Store a transaction in the list answer's shape, filling what the API always writes."""
    stamp = now_iso()
    txn = {"_id": object_id(), "altType": "location", "currency": "USD", "status": "succeeded",
           "liveMode": False, "entitySourceType": "manual", "amountRefunded": 0,
           "createdAt": stamp, "updatedAt": stamp} | fields
    txn.setdefault("fulfilledAt", txn["createdAt"])
    return store.put("transactions", txn)


def new_order(store: Store, fields: dict[str, Any]) -> dict[str, Any]:
    stamp = now_iso()
    order = {"_id": object_id(), "altType": "location", "currency": "USD", "status": "completed",
             "liveMode": False, "sourceType": "funnel", "fulfillmentStatus": "unfulfilled",
             "createdAt": stamp, "updatedAt": stamp} | fields
    return store.put("orders", order)


def new_subscription(store: Store, fields: dict[str, Any]) -> dict[str, Any]:
    stamp = now_iso()
    sub = {"_id": object_id(), "altType": "location", "currency": "USD", "status": "active",
           "liveMode": False, "entitySourceType": "funnel", "createdAt": stamp, "updatedAt": stamp} | fields
    return store.put("subscriptions", sub)


def _in_days(created: str, start: str | None, end: str | None) -> bool:
    day = created[:10]
    return (not start or day >= start) and (not end or day <= end)


def _mode_ok(row: dict[str, Any], mode: str | None) -> bool:
    return mode not in ("live", "test") or bool(row.get("liveMode")) == (mode == "live")


def _text_ok(row: dict[str, Any], needle: str | None, keys: tuple[str, ...]) -> bool:
    return not needle or any(needle.lower() in str(row.get(k) or "").lower() for k in keys)


def _page(call: Any, rows: list[dict[str, Any]], limit: int, offset: int) -> JSONResponse:
    rows.sort(key=lambda r: (r.get("createdAt", ""), r["_id"]), reverse=True)
    return call.ok({"data": [dict(r) for r in rows[offset: offset + limit]], "totalCount": len(rows)})


def _listing(store: Store, kind: str, location: str, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    with store.lock:
        return [r for r in store.in_location(kind, location) if keep(r)]


@router.get("/payments/transactions")
async def list_transactions(request: Request) -> JSONResponse:
    call = await begin(request)
    q = call.query(m.TransactionsQuery)
    exact = {k: v for k, v in (("entitySourceType", q.entitySourceType), ("entitySourceSubType", q.entitySourceSubType),
                               ("subscriptionId", q.subscriptionId), ("entityId", q.entityId),
                               ("contactId", q.contactId)) if v}

    def keep(t: dict[str, Any]) -> bool:
        return (all(t.get(k) == v for k, v in exact.items()) and _mode_ok(t, q.paymentMode)
                and _in_days(t.get("createdAt", ""), q.startAt, q.endAt)
                and _text_ok(t, q.search, ("contactName", "contactEmail", "entitySourceName", "_id")))

    return _page(call, _listing(request.app.state.hl.store, "transactions", q.altId, keep), q.limit, q.offset)


@router.get("/payments/transactions/{transaction_id}")
async def get_transaction(transaction_id: str, request: Request) -> JSONResponse:
    call = await begin(request)
    q = call.query(m.EntityQuery)
    store: Store = request.app.state.hl.store
    with store.lock:
        txn = store.get("transactions", transaction_id)
        if not txn or txn.get("altId") != q.altId:
            raise call.fail(not_found("Transaction"))
        return call.ok(transaction_detail(txn))


def transaction_detail(txn: dict[str, Any]) -> dict[str, Any]:
    """The single-transaction answer nests source and provider where the list flattens them."""
    flat = {"entitySourceType", "entitySourceSubType", "entitySourceName", "entitySourceId", "entitySourceMeta",
            "paymentProviderType", "paymentProviderConnectedAccount", "contactName", "contactEmail", "fulfilledAt"}
    detail = {k: v for k, v in txn.items() if k not in flat}
    source = {"type": txn.get("entitySourceType"), "id": txn.get("entitySourceId") or txn.get("entityId") or ""}
    if txn.get("entitySourceSubType"):
        source["subType"] = txn["entitySourceSubType"]
    if txn.get("entitySourceName"):
        source["name"] = txn["entitySourceName"]
    if txn.get("entitySourceMeta"):
        source["meta"] = txn["entitySourceMeta"]
    detail["entitySource"] = source
    if txn.get("paymentProviderType"):
        detail["paymentProvider"] = {"type": txn["paymentProviderType"]}
    if txn.get("entitySourceType") == "invoice":
        detail.setdefault("invoiceId", txn.get("entitySourceId") or txn.get("entityId"))
    if txn.get("contactName") or txn.get("contactEmail"):
        detail["contactSnapshot"] = {"name": txn.get("contactName"), "email": txn.get("contactEmail")}
    detail["traceId"] = trace_id()
    return detail


@router.get("/payments/orders")
async def list_orders(request: Request) -> JSONResponse:
    call = await begin(request)
    q = call.query(m.OrdersQuery)

    def keep(o: dict[str, Any]) -> bool:
        return ((not q.status or o.get("status") == q.status)
                and (not q.paymentStatus or o.get("paymentStatus") == q.paymentStatus)
                and (not q.contactId or o.get("contactId") == q.contactId)
                and (not q.sourceId or o.get("sourceId") == q.sourceId)
                and _mode_ok(o, q.paymentMode) and _in_days(o.get("createdAt", ""), q.startAt, q.endAt)
                and _text_ok(o, q.search, ("contactName", "contactEmail", "sourceName", "_id")))

    return _page(call, _listing(request.app.state.hl.store, "orders", q.altId, keep), q.limit, q.offset)


@router.get("/payments/orders/{order_id}")
async def get_order(order_id: str, request: Request) -> JSONResponse:
    call = await begin(request)
    try:
        q = m.EntityQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:  # the live API answers this one with NestJS's full exception body
        messages = validation_messages(m.EntityQuery, exc)
        raise call.fail(ApiError(422, {
            "status": 422, "options": {}, "message": messages, "name": "UnprocessableEntityException",
            "error": "Unprocessable Entity", "statusCode": 422, "traceId": trace_id()})) from None
    store: Store = request.app.state.hl.store
    with store.lock:
        order = store.get("orders", order_id)
        if not order or order.get("altId") != q.altId:
            raise call.fail(not_found("Order"))
        return call.ok(order_detail(order))


def order_detail(order: dict[str, Any]) -> dict[str, Any]:
    """One order as ``GET /payments/orders/{id}`` answers it. The published AmountSummary names only
    subtotal and discount; orders answered by the live API also carry ``tax`` and ``shipping`` there
    (HighLevel's order receipts show both), so a seeded order's tax and shipping are reported, and
    absent ones are left out rather than shown as zero."""
    flat = {"subtotal", "discount", "tax", "shipping", "sourceType", "sourceSubType", "sourceName", "sourceId",
            "sourceMeta", "contactName", "contactEmail", "totalProducts", "onetimeProducts", "recurringProducts",
            "couponCode"}
    detail = {k: v for k, v in order.items() if k not in flat}
    detail["amountSummary"] = {"subtotal": order.get("subtotal", order.get("amount", 0)),
                               "discount": order.get("discount", 0)}
    detail["amountSummary"].update({k: order[k] for k in ("tax", "shipping") if k in order})
    source = {"type": order.get("sourceType"), "id": order.get("sourceId") or ""}
    if order.get("sourceSubType"):
        source["subType"] = order["sourceSubType"]
    if order.get("sourceName"):
        source["name"] = order["sourceName"]
    detail["source"] = source
    detail.setdefault("items", [])
    if order.get("contactName") or order.get("contactEmail"):
        detail["contactSnapshot"] = {"name": order.get("contactName"), "email": order.get("contactEmail")}
    detail["traceId"] = trace_id()
    return detail


@router.get("/payments/subscriptions")
async def list_subscriptions(request: Request) -> JSONResponse:
    call = await begin(request)
    q = call.query(m.SubscriptionsQuery)

    def keep(s: dict[str, Any]) -> bool:
        return ((not q.entityId or s.get("entityId") == q.entityId)
                and (not q.contactId or s.get("contactId") == q.contactId)
                and (not q.id or q.id in (s.get("_id"), s.get("subscriptionId")))
                and (not q.entitySourceType or s.get("entitySourceType") == q.entitySourceType)
                and _mode_ok(s, q.paymentMode) and _in_days(s.get("createdAt", ""), q.startAt, q.endAt)
                and _text_ok(s, q.search, ("contactName", "contactEmail", "entitySourceName", "_id")))

    return _page(call, _listing(request.app.state.hl.store, "subscriptions", q.altId, keep), q.limit, q.offset)
