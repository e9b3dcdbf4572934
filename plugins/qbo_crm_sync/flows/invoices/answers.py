"""Invoices, applying QBO's batch answers: each batch's answers in one transaction, whatever step
they answer (create, update, void of an invoice; create or void of a payment), from a fresh send or
from a batch settled after its answer was lost (what QBO holds, found by number or Id)."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from qbo_crm_sync.errors import DuplicateDocNumber, StaleObject
from qbo_crm_sync.flows.invoices.mapping import fingerprint, next_doc_number, source_of_note, voided
from qbo_crm_sync.flows.invoices.shared import FLOW, PAYMENT_SOURCE_TYPE, SOURCE_TYPE
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.flows.qbo_batch_log import ref_value, same_customer
from qbo_crm_sync.flows.sales_mapping import money
from qbo_crm_sync.store import tracking
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.tracking import Outcome


def operation_of(item: dict[str, Any]) -> tuple[str, str]:
    """(entity, step) of a batch item: step is create, update, void (an invoice) or unpay (a payment void)."""
    entity = "Invoice" if "Invoice" in item else "Payment"
    op = item.get("operation", "create")
    if op == "update" and "void" in str(item.get("optionsData") or ""):
        return entity, "unpay"
    return entity, op


def owns(sent: dict[str, Any], held: dict[str, Any]) -> bool:
    """A transaction QBO holds under this flow's number is its own only when it is the same customer's
    and its PrivateNote names the same CRM invoice: a CRM invoice number can be one the accountant
    gave an invoice of their own."""
    wanted = source_of_note(sent.get("PrivateNote"))
    return same_customer(sent, held) and wanted is not None and source_of_note(held.get("PrivateNote")) == wanted


def landed(item: dict[str, Any], held: dict[str, Any]) -> bool:
    """Whether QBO's copy already shows an update or void whose answer was lost."""
    entity, step = operation_of(item)
    if step in ("void", "unpay"):
        return voided(held)
    return entity == "Invoice" and fingerprint(held) == fingerprint(item[entity])


class Applier:
    """Applies batch answers; what needs another round (a stale SyncToken, a DocNumber taken by
    someone else) is collected for the caller instead of being recorded as failed, until the last round."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.iid = job.integration.id
        self.totals: dict[str, int] = {}
        self.customer_notes: dict[str, str] = {}
        self.stale: dict[str, set[str]] = {"Invoice": set(), "Payment": set()}  # QBO ids
        self.taken: set[str] = set()  # CRM invoice ids whose DocNumber is another invoice's
        self.failed: set[str] = set()
        self.recorded: set[str] = set()
        self.last_round = False
        self._lock = threading.Lock()

    def __call__(self, conn: Connection, items: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        outcomes: list[Outcome] = []
        mapped: list[dict[str, Any]] = []
        moved: list[str] = []  # invoices whose SyncToken a payment moved
        states = self._states(conn, items)
        for item, result in zip(items, results, strict=True):
            entity, step = operation_of(item)
            sent = item[entity]
            state = states.get((entity, step, _key(entity, step, sent)))
            if state is None:
                continue  # not this flow's (cannot happen with its own items); nothing to record
            error = result.get("error")
            held = result.get(entity) if error is None else None
            handler = getattr(self, f"_{entity.lower()}_{step}")
            handler(conn, sent, held, error, state, outcomes, mapped, moved)
        outcomes = _merged(outcomes)
        with self._lock:
            self.recorded.update(o.source_id for o in outcomes)
            self.failed.update(o.source_id for o in outcomes if o.status == "failed")
        counts = tracking.record(conn, self.job.run_id, self.iid, FLOW, outcomes)
        tracking.entity_map_put(conn, mapped)
        if moved:
            conn.execute(query("invoices_token_stale"), {"integration_id": self.iid, "source_ids": moved})
        self.add(counts)

    def add(self, counts: dict[str, int]) -> None:
        with self._lock:
            for status, n in counts.items():
                self.totals[status] = self.totals.get(status, 0) + n

    # -- which tracked row an answer belongs to

    def _states(self, conn: Connection, items: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
        keys: dict[str, set[str]] = {"note": set(), "invoice_id": set(), "ref": set(), "payment_id": set()}
        for item in items:
            entity, step = operation_of(item)
            kind = _kind(entity, step)
            keys[kind].add(_key(entity, step, item[entity]))
        out: dict[tuple[str, str, str], dict[str, Any]] = {}
        invoices: dict[str, dict[str, Any]] = {}
        if keys["note"]:
            for r in conn.execute(query("invoices_get"), {"integration_id": self.iid,
                                                          "source_ids": sorted(keys["note"])}).fetchall():
                invoices[r["source_id"]] = dict(r)
                out[("Invoice", "create", r["source_id"])] = dict(r)
        if keys["invoice_id"]:
            for r in conn.execute(query("invoices_by_qbo_id"), {"integration_id": self.iid,
                                                                "invoice_ids": sorted(keys["invoice_id"])}).fetchall():
                out[("Invoice", "update", r["invoice_id"])] = out[("Invoice", "void", r["invoice_id"])] = dict(r)
        steps = []
        if keys["ref"]:
            steps += conn.execute(query("invoice_payments_by_ref"), {"integration_id": self.iid,
                                                                     "ref_nums": sorted(keys["ref"])}).fetchall()
        if keys["payment_id"]:
            steps += conn.execute(query("invoice_payments_by_id"), {"integration_id": self.iid,
                                                                    "payment_ids": sorted(keys["payment_id"])}).fetchall()
        parents = {r["source_id"] for r in steps} - set(invoices)
        if parents:
            for r in conn.execute(query("invoices_get"), {"integration_id": self.iid,
                                                          "source_ids": sorted(parents)}).fetchall():
                invoices[r["source_id"]] = dict(r)
        for r in steps:
            parent = invoices.get(r["source_id"])
            if parent is not None:
                row = {**parent, "step": dict(r)}
                out[("Payment", "create", r["ref_num"])] = row
                if r["payment_id"]:
                    out[("Payment", "unpay", r["payment_id"])] = row
        return out

    # -- invoices

    def _invoice_create(self, conn: Connection, sent: dict[str, Any], held: dict[str, Any] | None, error: Any,
                        state: dict[str, Any], outcomes: list[Outcome], mapped: list[dict[str, Any]],
                        moved: list[str]) -> None:
        sid = state["source_id"]
        if held is not None:
            doc = str(held.get("DocNumber") or sent["DocNumber"])
            conn.execute(query("invoices_created"), {
                "integration_id": self.iid, "source_id": sid, "invoice_id": str(held["Id"]),
                "customer_id": ref_value(held.get("CustomerRef")) or ref_value(sent.get("CustomerRef")),
                "qbo_total": money(held.get("TotalAmt")), "doc_number": doc, "run_id": self.job.run_id})
            notes = [n for n in (state.get("doc_note"), self.customer_notes.get(sid)) if n]
            outcomes.append(Outcome(sid, "loaded", f"created QuickBooks invoice {held['Id']} (DocNumber {doc}, total "
                                    f"{money(held.get('TotalAmt')) or 0:.2f})" + "".join(f"; {n}" for n in notes),
                                    target_id=str(held["Id"]), payload_hash=state["payload_hash"]))
            mapped.append(self._map_row(sid, str(held["Id"]), fingerprint(sent), held.get("SyncToken")))
            return
        if isinstance(error, DuplicateDocNumber):
            # Not this sync's (a write of its own would have been found and applied as created).
            taken = str(sent["DocNumber"])
            base = state["doc_number"] if not state["doc_taken"] else taken.rsplit("-", 1)[0]
            alternative = next_doc_number(taken, base, sid)
            note = (f"DocNumber {base} belongs to another QuickBooks invoice (not made by this sync): "
                    f"this one is numbered {alternative}")
            conn.execute(query("invoices_doc_taken"), {"integration_id": self.iid, "source_id": sid,
                                                        "doc_number": alternative, "doc_note": note})
            with self._lock:
                self.taken.add(sid)
            if self.last_round:
                outcomes.append(Outcome(sid, "failed", f"{note}; {taken} was refused too, the next run tries "
                                        f"{alternative}", payload_hash=state["payload_hash"]))
            return
        self._refused(conn, sid)
        outcomes.append(Outcome(sid, "failed", f"QuickBooks refused the invoice: {error}",
                                payload_hash=state["payload_hash"]))

    def _invoice_update(self, conn: Connection, sent: dict[str, Any], held: dict[str, Any] | None, error: Any,
                        state: dict[str, Any], outcomes: list[Outcome], mapped: list[dict[str, Any]],
                        moved: list[str]) -> None:
        sid, qbo_id = state["source_id"], state["invoice_id"]
        if held is not None:
            conn.execute(query("invoices_written"), {"integration_id": self.iid, "source_id": sid, "voided": False,
                                                     "qbo_total": money(held.get("TotalAmt")), "run_id": self.job.run_id})
            outcomes.append(Outcome(sid, "loaded", f"updated QuickBooks invoice {qbo_id}: lines, dates and discount as "
                                    f"in the CRM (total {money(held.get('TotalAmt')) or 0:.2f})", target_id=qbo_id,
                                    payload_hash=state["payload_hash"]))
            mapped.append(self._map_row(sid, qbo_id, fingerprint(sent), held.get("SyncToken")))
        elif not self._stale("Invoice", qbo_id, error):
            self._refused(conn, sid)
            outcomes.append(Outcome(sid, "failed", f"QuickBooks refused the update of invoice {qbo_id}: {error}",
                                    target_id=qbo_id, payload_hash=state["payload_hash"]))

    def _invoice_void(self, conn: Connection, sent: dict[str, Any], held: dict[str, Any] | None, error: Any,
                      state: dict[str, Any], outcomes: list[Outcome], mapped: list[dict[str, Any]],
                      moved: list[str]) -> None:
        sid, qbo_id = state["source_id"], state["invoice_id"]
        if held is not None:
            conn.execute(query("invoices_written"), {"integration_id": self.iid, "source_id": sid, "voided": True,
                                                     "qbo_total": money(held.get("TotalAmt")), "run_id": self.job.run_id})
            why = "deleted" if state["crm_status"] == "deleted" else "voided"
            outcomes.append(Outcome(sid, "loaded", f"voided QuickBooks invoice {qbo_id} ({why} in the CRM)",
                                    target_id=qbo_id, payload_hash=state["payload_hash"]))
            mapped.append(self._map_row(sid, qbo_id, None, held.get("SyncToken")))
        elif not self._stale("Invoice", qbo_id, error):
            self._refused(conn, sid)
            outcomes.append(Outcome(sid, "failed", f"QuickBooks refused to void invoice {qbo_id}: {error}",
                                    target_id=qbo_id, payload_hash=state["payload_hash"]))

    # -- payments

    def _payment_create(self, conn: Connection, sent: dict[str, Any], held: dict[str, Any] | None, error: Any,
                        state: dict[str, Any], outcomes: list[Outcome], mapped: list[dict[str, Any]],
                        moved: list[str]) -> None:
        sid, step = state["source_id"], state["step"]
        if held is not None:
            row = self._payment_made(conn, step, held, voided=False)
            outcomes.append(Outcome(sid, "loaded", f"recorded QuickBooks payment {held['Id']} of {step['amount']:.2f} "
                                    f"against invoice {state['invoice_id']} (paid {row['paid_total']:.2f} of "
                                    f"{state['crm_total']:.2f} in QuickBooks)", target_id=state["invoice_id"],
                                    payload_hash=state["payload_hash"]))
            mapped.append({**self._map_row(f"{sid}/paid/{step['paid_total']:.2f}", str(held["Id"]), None,
                                           held.get("SyncToken")), "source_type": PAYMENT_SOURCE_TYPE,
                           "target_type": "payment"})
            moved.append(sid)
        else:
            outcomes.append(Outcome(sid, "failed", f"QuickBooks refused the payment of {step['amount']:.2f}: {error}",
                                    target_id=state["invoice_id"], payload_hash=state["payload_hash"]))

    def _payment_unpay(self, conn: Connection, sent: dict[str, Any], held: dict[str, Any] | None, error: Any,
                       state: dict[str, Any], outcomes: list[Outcome], mapped: list[dict[str, Any]],
                       moved: list[str]) -> None:
        sid, step = state["source_id"], state["step"]
        if held is not None:
            self._payment_made(conn, step, held, voided=True)
            outcomes.append(Outcome(sid, "loaded", f"voided QuickBooks payment {step['payment_id']} "
                                    f"({step['amount']:.2f}) so that invoice {state['invoice_id']} can be voided",
                                    target_id=state["invoice_id"], payload_hash=state["payload_hash"]))
            moved.append(sid)
        elif not self._stale("Payment", step["payment_id"], error):
            conn.execute(query("invoice_payment_refused"), {"integration_id": self.iid, "ref_num": step["ref_num"],
                                                            "run_id": self.job.run_id})
            outcomes.append(Outcome(sid, "failed", f"QuickBooks refused to void payment {step['payment_id']}: {error}",
                                    target_id=state["invoice_id"], payload_hash=state["payload_hash"]))

    # -- helpers

    def _payment_made(self, conn: Connection, step: dict[str, Any], held: dict[str, Any], voided: bool) -> dict[str, Any]:
        row = conn.execute(query("invoice_payment_made"), {
            "integration_id": self.iid, "ref_num": step["ref_num"], "payment_id": str(held["Id"]),
            "sync_token": None if held.get("SyncToken") is None else str(held["SyncToken"]), "voided": voided,
            "run_id": self.job.run_id}).fetchone()
        return dict(row) if row else {"paid_total": Decimal(0)}

    def _refused(self, conn: Connection, sid: str) -> None:
        """A refusal counts a try of the invoice: its next write gets a new bId, so QBO looks again
        (a repeated requestid would answer the refusal again, even once its cause is gone)."""
        conn.execute(query("invoices_refused"), {"integration_id": self.iid, "source_id": sid,
                                                 "run_id": self.job.run_id})

    def _stale(self, entity: str, qbo_id: str, error: Any) -> bool:
        """A stale SyncToken before the last round: kept for a re-read and one more try."""
        if isinstance(error, StaleObject) and not self.last_round:
            with self._lock:
                self.stale[entity].add(str(qbo_id))
            return True
        return False

    def _map_row(self, source_id: str, target_id: str, written: str | None, token: Any) -> dict[str, Any]:
        return {"integration_id": self.iid, "source_system": "highlevel", "source_type": SOURCE_TYPE,
                "source_id": source_id, "target_system": "quickbooks", "target_type": "invoice",
                "target_id": target_id, "payload_hash": written, "sync_token": token}


def _merged(outcomes: list[Outcome]) -> list[Outcome]:
    """One outcome per invoice and batch (two payments voided together are one change of its state):
    a failure wins, the reasons are joined."""
    by_sid: dict[str, Outcome] = {}
    for o in outcomes:
        first = by_sid.get(o.source_id)
        if first is None:
            by_sid[o.source_id] = o
            continue
        status = "failed" if "failed" in (first.status, o.status) else o.status
        by_sid[o.source_id] = Outcome(o.source_id, status, f"{first.reason}; {o.reason}",
                                      o.target_id or first.target_id, o.payload_hash or first.payload_hash)
    return list(by_sid.values())


def _kind(entity: str, step: str) -> str:
    if entity == "Invoice":
        return "note" if step == "create" else "invoice_id"
    return "ref" if step == "create" else "payment_id"


def _key(entity: str, step: str, sent: dict[str, Any]) -> str:
    kind = _kind(entity, step)
    if kind == "note":
        return source_of_note(sent.get("PrivateNote")) or ""
    if kind == "ref":
        return str(sent.get("PaymentRefNum") or "")
    return str(sent.get("Id") or "")
