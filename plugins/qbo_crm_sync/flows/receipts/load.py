"""Receipts, load: customers resolved, receipts and refund receipts created through the QBO batch
log, each answer applied in one transaction."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from qbo_crm_sync.errors import AuthError
from qbo_crm_sync.flows import qbo_batch_log, qbo_customers
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.flows.receipts.mapping import money, with_decimals
from qbo_crm_sync.flows.receipts.shared import (
    BATCH_ITEMS,
    FLOW,
    PURPOSE,
    SEND_WORKERS,
    receipt_note,
    receipts_of,
)
from qbo_crm_sync.store import outbox, tracking
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.tracking import Outcome

log = logging.getLogger(__name__)


class _Applier:
    """Applies batch answers: one transaction per batch for row status, entity map, receipt row and outbox."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.totals: dict[str, int] = {}
        self.customer_notes: dict[str, str] = {}  # payment → how its customer was found, for the row's reason
        self._lock = threading.Lock()

    def __call__(self, conn: Connection, items: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        refunds = [(i, r) for i, r in zip(items, results, strict=True) if "RefundReceipt" in i]
        sales = [(i, r) for i, r in zip(items, results, strict=True) if "RefundReceipt" not in i]
        if sales:
            self._sales(conn, [i for i, _ in sales], [r for _, r in sales])
        if refunds:
            self._refunds(conn, [i for i, _ in refunds], [r for _, r in refunds])

    def _sales(self, conn: Connection, items: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        iid = self.job.integration.id
        docs = [i["SalesReceipt"]["DocNumber"] for i in items]
        known = {r["doc_number"]: r for r in conn.execute(
            query("receipts_by_doc_number"), {"integration_id": iid, "doc_numbers": docs}).fetchall()}
        outcomes: list[Outcome] = []
        mapped: list[dict[str, Any]] = []
        for item, result in zip(items, results, strict=True):
            sent = item["SalesReceipt"]
            row = known.get(sent["DocNumber"])
            if row is None:
                log.error("Batch answer for DocNumber %s matches no tracked payment", sent["DocNumber"])
                continue
            sid = row["source_id"]
            error = result.get("error")
            receipt = result.get("SalesReceipt")
            if error is None and receipt:
                customer_id = str((receipt.get("CustomerRef") or {}).get("value") or "")
                conn.execute(query("receipts_created"), {
                    "integration_id": iid, "source_id": sid, "receipt_id": str(receipt["Id"]),
                    "customer_id": customer_id, "qbo_total": money(receipt.get("TotalAmt")),
                    "deposit_account_id": _ref(receipt.get("DepositToAccountRef")), "item_id": _item_of(receipt),
                    "run_id": self.job.run_id})
                note = self.customer_notes.get(sid)
                outcomes.append(Outcome(sid, "loaded", "created sales receipt" + (f" (customer: {note})" if note else ""),
                                        target_id=str(receipt["Id"]), payload_hash=row["payload_hash"]))
                mapped.append({"integration_id": iid, "source_system": "highlevel", "source_type": "transaction",
                               "source_id": sid, "target_system": "quickbooks", "target_type": "salesreceipt",
                               "target_id": str(receipt["Id"]), "payload_hash": row["payload_hash"],
                               "sync_token": receipt.get("SyncToken")})
            else:
                conn.execute(query("receipts_refused"), {"integration_id": iid, "source_id": sid,
                                                         "run_id": self.job.run_id})
                outcomes.append(Outcome(sid, "failed", f"QuickBooks refused the receipt: {error}",
                                        payload_hash=row["payload_hash"]))
        self._settle(conn, outcomes, mapped)

    def _refunds(self, conn: Connection, items: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        iid = self.job.integration.id
        docs = [i["RefundReceipt"]["DocNumber"] for i in items]
        known = {r["doc_number"]: r for r in conn.execute(
            query("refunds_by_doc_number"), {"integration_id": iid, "doc_numbers": docs}).fetchall()}
        outcomes: list[Outcome] = []
        mapped: list[dict[str, Any]] = []
        for item, result in zip(items, results, strict=True):
            doc = item["RefundReceipt"]["DocNumber"]
            step = known.get(doc)
            if step is None:
                log.error("Batch answer for refund DocNumber %s matches no tracked refund", doc)
                continue
            sid, total = step["source_id"], Decimal(step["refunded_total"])
            error = result.get("error")
            refund = result.get("RefundReceipt")
            if error is None and refund:
                amount = money(refund.get("TotalAmt"))
                conn.execute(query("refunds_created"), {
                    "integration_id": iid, "doc_number": doc, "refund_receipt_id": str(refund["Id"]),
                    "qbo_total": amount, "run_id": self.job.run_id})
                outcomes.append(Outcome(
                    sid, "loaded", f"refunded {amount if amount is not None else step['amount']:.2f} in QBO: "
                    f"RefundReceipt {refund['Id']} against SalesReceipt {step['receipt_id']} "
                    f"(refunded {total:.2f} in all)", target_id=step["receipt_id"], payload_hash=step["payload_hash"]))
                mapped.append({"integration_id": iid, "source_system": "highlevel", "source_type": "transaction",
                               "source_id": f"{sid}/refund/{total:.2f}", "target_system": "quickbooks",
                               "target_type": "refund_receipt", "target_id": str(refund["Id"]),
                               "payload_hash": step["payload_hash"], "sync_token": refund.get("SyncToken")})
            else:
                conn.execute(query("refunds_refused"), {"integration_id": iid, "doc_number": doc,
                                                        "run_id": self.job.run_id})
                outcomes.append(Outcome(sid, "failed", f"QuickBooks refused the refund receipt: {error}",
                                        target_id=step["receipt_id"], payload_hash=step["payload_hash"]))
        self._settle(conn, outcomes, mapped)

    def _settle(self, conn: Connection, outcomes: list[Outcome], mapped: list[dict[str, Any]]) -> None:
        iid = self.job.integration.id
        counts = tracking.record(conn, self.job.run_id, iid, FLOW, outcomes)
        tracking.entity_map_put(conn, mapped)
        outbox.remove(conn, iid, FLOW, [o.source_id for o in outcomes if o.status in ("loaded", "dead")])
        self.add(counts)

    def add(self, counts: dict[str, int]) -> None:
        with self._lock:
            for status, n in counts.items():
                self.totals[status] = self.totals.get(status, 0) + n


def _ref(ref: Any) -> str | None:
    value = (ref or {}).get("value") if isinstance(ref, dict) else None
    return str(value) if value else None


def _item_of(receipt: dict[str, Any]) -> str | None:
    """The ItemRef of the receipt's first item line: what its refunds are booked against."""
    for line in receipt.get("Line") or []:
        if line.get("DetailType") == "SalesItemLineDetail":
            return _ref((line.get("SalesItemLineDetail") or {}).get("ItemRef"))
    return None


def _decode(item: dict[str, Any]) -> dict[str, Any]:
    return with_decimals(item)


def load(job: Job) -> dict[str, Any]:
    integration = job.integration
    with qbo_customers.advisory_lock(job.db_url, f"receipts:{integration.id}"):
        return _load_locked(job)


def _load_locked(job: Job) -> dict[str, Any]:
    from qbo_crm_sync.hooks.quickbooks import batch_item_id

    iid = job.integration.id
    applier = _Applier(job)
    locate = qbo_batch_log.by_doc_number(job.qbo)
    resent, settled = qbo_batch_log.resend_pending(job, PURPOSE, applier, _decode, locate=locate, once=True)
    if not settled:
        with job.connect() as conn:
            waiting = len(outbox.waiting(conn, iid, FLOW))
        log.warning("A receipt batch's outcome is still unknown: nothing new is sent until it is settled")
        return {"to_load": waiting, "deferred": waiting, "resent_batches": resent, **qbo_batch_log.request_counts(job)}
    with job.connect() as conn:
        items = outbox.waiting(conn, iid, FLOW)
        receipts = receipts_of(conn, iid, [i.source_id for i in items])
    if not items:
        log.info("Nothing to load")
        return {"to_load": 0, "resent_batches": resent, **applier.totals, **qbo_batch_log.request_counts(job)}

    refund_items = [i for i in items if "refund" in i.payload]
    sale_items = [i for i in items if "refund" not in i.payload]
    # Created already (e.g. by a re-sent batch): settle without writing again.
    outcomes = [Outcome(i.source_id, "loaded", "sales receipt already created",
                        target_id=receipts[i.source_id]["receipt_id"], payload_hash=i.payload_hash)
                for i in sale_items if receipts.get(i.source_id, {}).get("receipt_id")]
    todo = [i for i in sale_items if not receipts.get(i.source_id, {}).get("receipt_id")]
    names: dict[str, str | None] = {}
    for item in todo:
        names.setdefault(item.payload["email"], item.payload.get("name"))
    log.info("Loading %d receipts for %d customer email(s)", len(todo), len(names))
    resolved = qbo_customers.resolve(job, names) if names else {}

    batch_items: list[dict[str, Any]] = []
    for item in todo:
        resolution = resolved.get(item.payload["email"])
        if resolution is None or not resolution.customer_id:
            outcomes.append(Outcome(item.source_id, "failed",
                                    f"no QuickBooks customer: {resolution.how if resolution else 'no email'}",
                                    payload_hash=item.payload_hash))
            continue
        tries = (receipts.get(item.source_id) or {}).get("tries", 0)
        applier.customer_notes[item.source_id] = resolution.how
        body = {**item.payload["receipt"], "CustomerRef": {"value": resolution.customer_id}}
        batch_items.append({"bId": batch_item_id("receipt", iid, item.source_id, tries), "operation": "create",
                            "SalesReceipt": body})
    with job.connect() as conn:
        applier.add(tracking.record(conn, job.run_id, iid, FLOW, outcomes))
        outbox.remove(conn, iid, FLOW, [o.source_id for o in outcomes if o.status in ("loaded", "dead")])
        conn.commit()
    refund_batch = _refund_steps(job, applier, refund_items, receipts)

    chunks = [batch_items[i:i + BATCH_ITEMS] for i in range(0, len(batch_items), BATCH_ITEMS)]
    # Refunds go after the receipts, in batches of their own.
    chunks += [refund_batch[i:i + BATCH_ITEMS] for i in range(0, len(refund_batch), BATCH_ITEMS)]
    # Each batch is sent once: after a lost answer it stays pending and the next load asks QBO what
    # landed (by DocNumber) before sending the rest again. Neither QBO's requestid replay nor its
    # duplicate-DocNumber refusal (off where custom transaction numbers are off) is relied on.
    unknown = 0
    with ThreadPoolExecutor(SEND_WORKERS, thread_name_prefix="qbo-receipts") as pool:
        futures = [pool.submit(qbo_batch_log.send, job, PURPOSE, chunk, applier, _decode, locate, True)
                   for chunk in chunks]
        for future in futures:
            try:
                unknown += 0 if future.result() else 1
            except AuthError:
                raise
    if unknown:
        log.warning("%d receipt batch(es) without an answer: re-sent first next run", unknown)
    return {"to_load": len(items), "loaded": applier.totals.get("loaded", 0),
            "failed": applier.totals.get("failed", 0), "dead": applier.totals.get("dead", 0),
            "refunds": len(refund_batch), "batches": len(chunks), "unknown_batches": unknown,
            "resent_batches": resent,
            "deferred": unknown * BATCH_ITEMS, **qbo_batch_log.request_counts(job)}


def _refund_steps(job: Job, applier: _Applier, items: list[outbox.Item],
                  receipts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Batch items for the queued refund steps, each for the difference between the CRM's refunded
    amount and what QBO holds already (read after every pending batch was settled, so a step whose
    first send landed is not refunded again). Steps with nothing left to refund are settled here."""
    from qbo_crm_sync.flows.receipts.mapping import refund_body
    from qbo_crm_sync.hooks.quickbooks import batch_item_id

    iid = job.integration.id
    outcomes: list[Outcome] = []
    batch: list[dict[str, Any]] = []
    done: list[str] = []
    with job.connect() as conn:
        for item in items:
            sid = item.source_id
            receipt = receipts.get(sid) or {}
            if not receipt.get("receipt_id"):
                outcomes.append(Outcome(sid, "skipped", "refunded in the CRM: no sales receipt in QBO to refund",
                                        payload_hash=item.payload_hash))
                done.append(sid)
                continue
            total = min(Decimal(item.payload["refund"]["refunded_total"]), Decimal(receipt["crm_amount"]))
            amount = total - Decimal(receipt["refunded_total"])
            if amount <= 0:
                outcomes.append(Outcome(sid, "loaded", receipt_note(receipt), target_id=receipt["receipt_id"],
                                        payload_hash=item.payload_hash))
                continue
            receipt = _with_receipt_refs(job, receipt)
            if not receipt.get("deposit_account_id"):
                outcomes.append(Outcome(sid, "failed", f"sales receipt {receipt['receipt_id']} names no deposit "
                                        "account to refund from", target_id=receipt["receipt_id"],
                                        payload_hash=item.payload_hash))
                continue
            body = refund_body(sid, receipt, total, amount, item.payload["refund"].get("txn_date"))
            step = conn.execute(query("refunds_put"), {
                "integration_id": iid, "source_id": sid, "refunded_total": total, "amount": amount,
                "doc_number": body["DocNumber"], "receipt_id": receipt["receipt_id"],
                "payload_hash": item.payload_hash, "run_id": job.run_id}).fetchone()
            assert step is not None
            batch.append({"bId": batch_item_id("refund", iid, sid, f"{total:.2f}", step["tries"]),
                          "operation": "create", "RefundReceipt": body})
        applier.add(tracking.record(conn, job.run_id, iid, FLOW, outcomes))
        outbox.remove(conn, iid, FLOW, [o.source_id for o in outcomes if o.status in ("loaded", "dead")] + done)
        conn.commit()
    if batch:
        log.info("Refunding %d payment(s) in QBO", len(batch))
    return batch


def _with_receipt_refs(job: Job, receipt: dict[str, Any]) -> dict[str, Any]:
    """The receipt's deposit account and item, read from QBO when not recorded (older receipts)."""
    from qbo_crm_sync.hooks.quickbooks import quote

    if receipt.get("deposit_account_id") and receipt.get("item_id"):
        return receipt
    found = job.qbo.query_one(f"SELECT * FROM SalesReceipt WHERE Id = {quote(str(receipt['receipt_id']))}")  # noqa: S608
    if not found:
        return receipt
    return {**receipt, "deposit_account_id": receipt.get("deposit_account_id") or _ref(found.get("DepositToAccountRef")),
            "item_id": receipt.get("item_id") or _item_of(found)}
