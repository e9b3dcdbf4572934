"""Invoices: create a draft, list, read, send, void, record a payment.

Amounts are JSON numbers in major units (999 means 999.00), as the invoice schema writes them.
A recorded payment also lands in the payments API as a transaction whose source is the invoice.

Refusals use the messages the invoices OpenAPI document gives as examples under
``POST /invoices/{invoiceId}/void``: an unknown id (or another location's) is 400 "Unable to find an
invoice with the given invoice id" on every invoice operation, and a draft cannot be voided (400
"Can not void draft invoice. You can delete draft invoice!").

``PUT /invoices/{invoiceId}`` (UpdateInvoiceDto: items, discount, dates...) edits an invoice in place
and recomputes its totals; its status and payments stay. Judgement (the document names no refusal):
a paid or void invoice is not edited, and no edit may bring the total below what was paid.

A paid (or partly paid) invoice can be voided once the payments recorded on it are fully refunded:
HighLevel's release note "Void Sent/Overdue/Paid Invoices || Refunds for manual payments" (white-label
help centre, onlinebusinessautomator.com article 830) says a paid invoice's transaction "needs to be
fully refunded first". A refund happens in the CRM's UI (no public endpoint); the emulator offers it as
``POST /_admin/transactions/{id}/refund`` (admin.py). The invoice's ``amountPaid`` is left as it was.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from emulators.common import maybe_drop
from emulators.highlevel import models as m
from emulators.highlevel.calls import begin
from emulators.highlevel.errors import bad_request, unprocessable
from emulators.highlevel.payments import new_transaction
from emulators.highlevel.store import Store, now_iso, object_id
from emulators.highlevel.totals import dec, invoice_totals, money

router = APIRouter()

STATUSES = ("draft", "sent", "payment_processing", "paid", "void", "partially_paid")
UNKNOWN_INVOICE = "Unable to find an invoice with the given invoice id"
VOID_DRAFT = "Can not void draft invoice. You can delete draft invoice!"


def refresh_totals(invoice: dict[str, Any]) -> None:
    sums = invoice_totals(invoice.get("invoiceItems") or [], invoice.get("discount"))
    paid = dec(invoice.get("amountPaid"))
    invoice["totalSummary"] = {"subTotal": money(sums["subTotal"]), "discount": money(sums["discount"]),
                               "tax": money(sums["tax"])}
    invoice["total"] = money(sums["total"])
    invoice["amountPaid"] = money(paid)
    invoice["amountDue"] = money(max(sums["total"] - paid, Decimal(0)))


def tidy(value: Any) -> Any:
    """Whole numbers back as integers (999, not 999.0), as the API writes them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tidy(v) for v in value]
    return value


def _invoice_number(value: Any) -> int | str:
    text = str(value)
    return int(text) if text.isdigit() else text


def new_invoice(store: Store, fields: dict[str, Any]) -> dict[str, Any]:
    """Store an invoice in the API's answer shape; ``fields`` is a create body or a seeded invoice."""
    stamp = now_iso()
    location = fields["altId"]
    items = fields.get("invoiceItems") or fields.get("items") or []
    invoice: dict[str, Any] = {
        "_id": object_id(), "status": "draft", "liveMode": False, "amountPaid": 0, "altType": "location",
        "title": "INVOICE", "currency": "USD", "businessDetails": {}, "discount": {"type": "percentage", "value": 0},
        "automaticTaxesEnabled": False, "automaticTaxesCalculated": False, "createdAt": stamp, "updatedAt": stamp,
    } | {k: v for k, v in fields.items() if k != "items" and v is not None}
    invoice["invoiceItems"] = [{"_id": object_id(), "taxes": [], **item} for item in items]
    invoice["invoiceNumber"] = _invoice_number(invoice.get("invoiceNumber") or store.next_invoice_number(location))
    invoice.setdefault("issueDate", stamp[:10])
    invoice.setdefault("dueDate", invoice["issueDate"])
    invoice.setdefault("name", f"Invoice {invoice['invoiceNumber']}")
    invoice.setdefault("contactDetails", {})
    if invoice["status"] == "paid" and "amountPaid" not in fields:
        invoice["amountPaid"] = money(invoice_totals(invoice["invoiceItems"], invoice["discount"])["total"])
    refresh_totals(invoice)
    return store.put("invoices", invoice)


def _owned(call: Any, store: Store, invoice_id: str, location: str) -> dict[str, Any]:
    invoice = store.get("invoices", invoice_id)
    if not invoice or invoice.get("altId") != location:
        raise call.fail(bad_request(UNKNOWN_INVOICE))
    return invoice


@router.post("/invoices/")
async def create_invoice(request: Request) -> JSONResponse:
    call = await begin(request, body=True)
    dto = call.body(m.CreateInvoice)
    fields = dto.model_dump(exclude_unset=True, by_alias=True)
    fields["items"] = tidy([i.model_dump(exclude_unset=True, by_alias=True) for i in dto.items])
    fields["discount"] = tidy(dto.discount.model_dump(by_alias=True, exclude_none=True))
    store: Store = request.app.state.hl.store
    with store.lock:
        if dto.invoiceNumber and any(str(i.get("invoiceNumber")) == dto.invoiceNumber
                                     for i in store.in_location("invoices", dto.altId)):
            raise call.fail(bad_request(f"Invoice number {dto.invoiceNumber} already exists"))
        fields["status"] = "draft"
        answer = dict(new_invoice(store, fields))
    maybe_drop(request)
    return call.ok(answer)


@router.get("/invoices/")
async def list_invoices(request: Request) -> JSONResponse:
    call = await begin(request)
    q = call.query(m.InvoicesQuery)
    statuses = {s.strip() for s in (q.status or "").split(",") if s.strip()}
    bad = statuses - set(STATUSES)
    if bad:
        raise call.fail(unprocessable([f"status must be one of the following values: {', '.join(STATUSES)}"]))
    needle = (q.search or "").lower()
    store: Store = request.app.state.hl.store
    with store.lock:
        rows = [
            i for i in store.in_location("invoices", q.altId)
            if (not statuses or i["status"] in statuses)
            and (not q.contactId or (i.get("contactDetails") or {}).get("id") == q.contactId)
            and (not q.startAt or i["issueDate"][:10] >= q.startAt)
            and (not q.endAt or i["issueDate"][:10] <= q.endAt)
            and (q.paymentMode not in ("live", "test") or bool(i.get("liveMode")) == (q.paymentMode == "live"))
            and (not needle or any(needle in str(v).lower() for v in (
                i.get("name"), i.get("invoiceNumber"), (i.get("contactDetails") or {}).get("name"),
                (i.get("contactDetails") or {}).get("email"))))
        ]
        if q.sortField == "issueDate":
            rows.sort(key=lambda i: (i["issueDate"], i["createdAt"], i["_id"]), reverse=q.sortOrder != "ascend")
        else:
            rows.sort(key=lambda i: (i["createdAt"], i["_id"]), reverse=q.sortOrder != "ascend")
        offset, limit = int(q.offset), int(q.limit)
        page = [dict(i) for i in rows[offset: offset + limit]]
    return call.ok({"invoices": page, "total": len(rows)})


@router.get("/invoices/{invoice_id}")
async def get_invoice(invoice_id: str, request: Request) -> JSONResponse:
    call = await begin(request)
    q = call.query(m.EntityQuery)
    store: Store = request.app.state.hl.store
    with store.lock:
        return call.ok(dict(_owned(call, store, invoice_id, q.altId)))


@router.post("/invoices/{invoice_id}/send")
async def send_invoice(invoice_id: str, request: Request) -> JSONResponse:
    call = await begin(request, body=True)
    dto = call.body(m.SendInvoice)
    store: Store = request.app.state.hl.store
    with store.lock:
        invoice = _owned(call, store, invoice_id, dto.altId)
        if invoice["status"] in ("void", "paid"):
            raise call.fail(bad_request(f"Invoice is {invoice['status']} and cannot be sent"))
        if invoice["status"] == "draft":
            invoice["status"] = "sent"
        invoice["sentAt"] = invoice["updatedAt"] = now_iso()
        invoice["liveMode"] = dto.liveMode
        answer = {"invoice": dict(invoice), "smsData": {}, "emailData": {}}
    maybe_drop(request)
    return call.ok(answer)


@router.put("/invoices/{invoice_id}")
async def update_invoice(invoice_id: str, request: Request) -> JSONResponse:
    call = await begin(request, body=True)
    dto = call.body(m.UpdateInvoice)
    fields = dto.model_dump(exclude_unset=True, by_alias=True)
    fields["invoiceItems"] = tidy([i.model_dump(exclude_unset=True, by_alias=True) for i in dto.invoiceItems])
    if dto.discount is not None:
        fields["discount"] = tidy(dto.discount.model_dump(by_alias=True, exclude_none=True))
    store: Store = request.app.state.hl.store
    with store.lock:
        invoice = _owned(call, store, invoice_id, dto.altId)
        if invoice["status"] in ("void", "paid"):
            raise call.fail(bad_request(f"Invoice is {invoice['status']} and cannot be updated"))
        if dto.invoiceNumber and dto.invoiceNumber != str(invoice["invoiceNumber"]) and any(
                str(i.get("invoiceNumber")) == dto.invoiceNumber for i in store.in_location("invoices", dto.altId)):
            raise call.fail(bad_request(f"Invoice number {dto.invoiceNumber} already exists"))
        edited = dict(invoice) | {k: v for k, v in fields.items() if k not in ("altId", "altType", "contactId")}
        edited["invoiceItems"] = [{"_id": object_id(), "taxes": [], **item} for item in fields["invoiceItems"]]
        if dto.invoiceNumber:
            edited["invoiceNumber"] = _invoice_number(dto.invoiceNumber)
        refresh_totals(edited)
        if dec(edited["total"]) < dec(invoice["amountPaid"]):
            raise call.fail(bad_request(f"The invoice total {edited['total']} cannot be less than the amount "
                                        f"paid {invoice['amountPaid']}"))
        edited["updatedAt"] = now_iso()
        invoice.clear()
        invoice.update(edited)
        answer = dict(invoice)
    maybe_drop(request)
    return call.ok(answer)


def _unrefunded_payments(store: Store, invoice: dict[str, Any]) -> Decimal:
    """What the payments recorded on ``invoice`` still hold after their refunds."""
    held = Decimal(0)
    for txn in store.in_location("transactions", invoice["altId"]):
        if txn.get("entityType") == "invoice" and txn.get("entityId") == invoice["_id"]:
            held += max(dec(txn.get("amount")) - dec(txn.get("amountRefunded")), Decimal(0))
    return held


@router.post("/invoices/{invoice_id}/void")
async def void_invoice(invoice_id: str, request: Request) -> JSONResponse:
    call = await begin(request, body=True)
    dto = call.body(m.VoidInvoice)
    store: Store = request.app.state.hl.store
    with store.lock:
        invoice = _owned(call, store, invoice_id, dto.altId)
        if invoice["status"] == "draft":
            raise call.fail(bad_request(VOID_DRAFT))
        if invoice["status"] == "void":
            raise call.fail(bad_request("Invoice is already void"))
        if _unrefunded_payments(store, invoice) > 0:
            raise call.fail(bad_request("A paid invoice cannot be voided: refund its payments first"))
        invoice["status"] = "void"
        invoice["updatedAt"] = now_iso()
        answer = dict(invoice)
    maybe_drop(request)
    return call.ok(answer)


@router.post("/invoices/{invoice_id}/record-payment")
async def record_payment(invoice_id: str, request: Request) -> JSONResponse:
    call = await begin(request, body=True)
    dto = call.body(m.RecordPayment)
    store: Store = request.app.state.hl.store
    with store.lock:
        invoice = _owned(call, store, invoice_id, dto.altId)
        if invoice["status"] in ("void", "paid"):
            raise call.fail(bad_request(f"Invoice is {invoice['status']}, no payment can be recorded"))
        due = dec(invoice["amountDue"])
        amount = dec(dto.amount) if dto.amount is not None else due
        if amount <= 0:
            raise call.fail(unprocessable(["amount must be a positive number"]))
        if amount > due:
            raise call.fail(bad_request(f"Amount {money(amount)} is more than the amount due {money(due)}"))
        invoice["amountPaid"] = money(dec(invoice["amountPaid"]) + amount)
        refresh_totals(invoice)
        invoice["status"] = "paid" if dec(invoice["amountDue"]) == 0 else "partially_paid"
        stamp = now_iso()
        invoice["updatedAt"] = stamp
        contact = invoice.get("contactDetails") or {}
        method: dict[str, Any] = {"mode": dto.mode}
        if dto.mode == "card":
            method["card"] = dto.card.model_dump()
        elif dto.mode == "cheque":
            method["cheque"] = dto.cheque.model_dump()
        new_transaction(store, {
            "altId": invoice["altId"], "contactId": contact.get("id"), "contactName": contact.get("name"),
            "contactEmail": contact.get("email"), "currency": invoice["currency"], "amount": money(amount),
            "liveMode": invoice["liveMode"], "entityType": "invoice", "entityId": invoice["_id"],
            "entitySourceType": "invoice", "entitySourceId": invoice["_id"], "entitySourceName": invoice["name"],
            "paymentProviderType": "manual", "paymentMethod": method, "notes": dto.notes,
            "fulfilledAt": dto.fulfilledAt or stamp, "createdAt": stamp, "updatedAt": stamp,
        })
        answer = {"success": True, "invoice": dict(invoice)}
    maybe_drop(request)
    return call.ok(answer)
