"""Invoices, load: bring QBO to what each queued CRM invoice says, one step at a time, every write
through the QBO batch log (30 per request).

Under a per-integration lock, batches whose answer was lost are settled first (found in QBO by
DocNumber and the CRM id in PrivateNote, by PaymentRefNum, or by Id for updates and voids). Then,
in rounds, each queued invoice takes the next step it needs (:func:`next_step`); every invoice's
step of a round goes out in one stream of batches, whatever the step, so the batch budget is not
left idle between kinds of writes:

1. create: the customer resolved by email (flows/qbo_customers.py), DocNumber = the CRM number. A
   number QBO refuses as taken (Fault 6140) by an invoice this sync did not make gets a deterministic
   alternative (``1042-7KQ2``) in the next round, and the row's reason says so;
2. update: lines, dates or discount changed (the hash of what was last written, in the entity map,
   differs) → a sparse update with the held SyncToken;
3. pay: the CRM's paid amount is above what this sync's QBO payments add up to → one Payment for the
   difference, linked to the invoice, named by a PaymentRefNum per cumulative amount (``sync.invoice_payment``);
4. unpay, then void: voided (or deleted) in the CRM → this sync's payments are voided first (QBO
   refuses to void an invoice with a payment applied), then the invoice.

A SyncToken QBO refuses as stale (Fault 5010: the accountant edited the invoice, or a payment
moved it) is read again (one query per 100 invoices) and the write tried in the next round; a token
known to be stale (this sync's own payment moved it) is read before the write. Any other refusal
leaves the row ``failed`` with QBO's message, retried next run under a new bId (a repeated requestid
would only replay the refusal), ``dead`` after 5 attempts.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from qbo_crm_sync.flows import qbo_batch_log, qbo_customers
from qbo_crm_sync.flows.invoices.answers import Applier, landed, owns
from qbo_crm_sync.flows.invoices.mapping import payment_body, payment_ref, update_body
from qbo_crm_sync.flows.invoices.shared import (
    BATCH_ITEMS,
    FLOW,
    PURPOSE,
    SEND_WORKERS,
    SOURCE_TYPE,
    invoices_of,
    open_payments,
    payments_of,
    state_note,
)
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.flows.sales_mapping import with_decimals
from qbo_crm_sync.store import outbox, tracking
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.tracking import Outcome

log = logging.getLogger(__name__)

PHASES = ("create", "update", "pay", "unpay", "void")
# Enough for the longest life in one load (create or update, then pay; unpay, then void) with one
# retry of a stale SyncToken or a taken DocNumber on the way.
ROUNDS = 4

Todo = list[tuple[outbox.Item, dict[str, Any], list[dict[str, Any]]]]


def next_step(item: outbox.Item, state: dict[str, Any], steps: list[dict[str, Any]]) -> str | None:
    """The step QBO still needs for a queued invoice (None: QBO holds what the CRM says)."""
    want = item.payload
    if "void" in want:
        if not state.get("invoice_id") or state.get("qbo_voided"):
            return None
        return "unpay" if open_payments(steps) else "void"
    if not state.get("invoice_id"):
        return "create"
    if state.get("qbo_voided"):
        return None
    if want["fingerprint"] != state.get("written"):
        return "update"
    if Decimal(want["paid"]) > Decimal(state.get("paid_total") or 0):
        return "pay"
    return None


def load(job: Job) -> dict[str, Any]:
    with qbo_customers.advisory_lock(job.db_url, f"invoices:{job.integration.id}"):
        return _Load(job).run()


class _Load:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.iid = job.integration.id
        self.applier = Applier(job)
        self.locate = qbo_batch_log.by_doc_number(job.qbo, owned=owns, landed=landed)
        self.items: dict[str, outbox.Item] = {}
        self.customers: dict[str, str] = {}  # CRM invoice id -> QBO customer id
        self.unknown: set[str] = set()  # in a batch whose outcome is not known yet
        self.batches = 0
        self.unknown_batches = 0
        self.sent = dict.fromkeys(PHASES, 0)
        self.stale: dict[str, set[str]] = {"Invoice": set(), "Payment": set()}

    def run(self) -> dict[str, Any]:
        job = self.job
        resent, settled = qbo_batch_log.resend_pending(job, PURPOSE, self.applier, with_decimals,
                                                       locate=self.locate, once=True)
        with job.connect() as conn:
            items = outbox.waiting(conn, self.iid, FLOW)
        if not settled:
            log.warning("An invoice batch's outcome is still unknown: nothing new is sent until it is settled")
            return {"to_load": len(items), "deferred": len(items), "resent_batches": resent,
                    **qbo_batch_log.request_counts(job)}
        if not items:
            log.info("Nothing to load")
            return {"to_load": 0, "resent_batches": resent, **self.applier.totals, **qbo_batch_log.request_counts(job)}
        self.items = {i.source_id: i for i in items}
        for round_no in range(ROUNDS):
            self.applier.last_round = round_no == ROUNDS - 1
            # Refused as stale last round: read again before this round's try.
            self.stale, self.applier.stale = self.applier.stale, {"Invoice": set(), "Payment": set()}
            plan = self._plan()
            batch = [*self._creates(plan["create"]), *self._updates(plan["update"]), *self._payments(plan["pay"]),
                     *self._payment_voids(plan["unpay"]), *self._voids(plan["void"])]
            if not batch:
                break
            log.info("Round %d: %s", round_no + 1, {p: len(t) for p, t in plan.items() if t})
            self._send(batch)
        deferred = self._finish()
        result = {"to_load": len(items), "loaded": self.applier.totals.get("loaded", 0),
                  "failed": self.applier.totals.get("failed", 0), "dead": self.applier.totals.get("dead", 0),
                  **{f"sent_{p}": n for p, n in self.sent.items() if n}, "batches": self.batches,
                  "unknown_batches": self.unknown_batches, "resent_batches": resent, "deferred": deferred,
                  **qbo_batch_log.request_counts(job)}
        log.info("Loaded invoices: %s", {k: v for k, v in result.items() if v})
        return result

    # -- planning and sending

    def _plan(self) -> dict[str, Todo]:
        """The queued invoices by the step each needs next (those failed or in doubt wait)."""
        with self.job.connect() as conn:
            states = invoices_of(conn, self.iid, list(self.items))
            steps = payments_of(conn, self.iid, list(self.items))
        plan: dict[str, Todo] = {p: [] for p in PHASES}
        for sid, item in self.items.items():
            if sid in self.applier.failed or sid in self.unknown:
                continue
            state = states.get(sid) or {}
            phase = next_step(item, state, steps.get(sid, []))
            if phase is not None:
                plan[phase].append((item, state, steps.get(sid, [])))
        return plan

    def _send(self, batch: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Send (source id, phase, batch item) triples in batches of 30, four at a time; batches whose
        answer was lost are settled at once (what landed is found in QBO and applied, the rest sent again)."""
        chunks = [batch[i:i + BATCH_ITEMS] for i in range(0, len(batch), BATCH_ITEMS)]

        def deliver(chunk: list[tuple[str, str, dict[str, Any]]]) -> bool:
            return qbo_batch_log.send(self.job, PURPOSE, [i for _, _, i in chunk], self.applier, with_decimals,
                                      self.locate, once=True)

        in_doubt: set[str] = set()
        with ThreadPoolExecutor(SEND_WORKERS, thread_name_prefix="qbo-invoices") as pool:
            for chunk, settled in zip(chunks, pool.map(deliver, chunks), strict=True):
                if not settled:
                    self.unknown_batches += 1
                    in_doubt.update(sid for sid, _, _ in chunk)
        self.batches += len(chunks)
        for _, phase, _ in batch:
            self.sent[phase] += 1
        if in_doubt:
            log.warning("%d invoice batch(es) without an answer: finding out what landed", self.unknown_batches)
            _, settled = qbo_batch_log.resend_pending(self.job, PURPOSE, self.applier, with_decimals,
                                                      locate=self.locate, once=True)
            if not settled:
                self.unknown.update(in_doubt)

    def _fail(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        with self.job.connect() as conn:
            self.applier.add(tracking.record(conn, self.job.run_id, self.iid, FLOW, outcomes))
            conn.commit()
        self.applier.failed.update(o.source_id for o in outcomes if o.status == "failed")
        self.applier.recorded.update(o.source_id for o in outcomes)

    # -- the steps' batch items

    def _creates(self, todo: Todo) -> list[tuple[str, str, dict[str, Any]]]:
        from qbo_crm_sync.hooks.quickbooks import batch_item_id

        self._resolve_customers(todo)
        taken, self.applier.taken = self.applier.taken, set()
        if taken:
            log.info("%d invoice number(s) belong to other QuickBooks invoices: created with alternatives",
                     len(taken))
        out = []
        for item, state, _ in todo:
            customer = self.customers.get(item.source_id)
            if customer is None:
                continue
            body = {**item.payload["invoice"], "DocNumber": state["doc_number"], "CustomerRef": {"value": customer}}
            out.append((item.source_id, "create", {
                "bId": batch_item_id("invoice", self.iid, item.source_id, state["doc_number"], state["tries"]),
                "operation": "create", "Invoice": body}))
        return out

    def _resolve_customers(self, todo: Todo) -> None:
        wanted = [item for item, _, _ in todo if item.source_id not in self.customers]
        if not wanted:
            return
        names: dict[str, str | None] = {}
        for item in wanted:
            if item.payload.get("email"):
                names.setdefault(item.payload["email"], item.payload.get("name"))
        log.info("Creating %d invoice(s) for %d customer email(s)", len(wanted), len(names))
        resolved = qbo_customers.resolve(self.job, names) if names else {}
        missing = []
        for item in wanted:
            found = resolved.get(item.payload.get("email") or "")
            if found is None or not found.customer_id:
                missing.append(Outcome(item.source_id, "failed", "no QuickBooks customer: "
                                       f"{found.how if found else 'no email on the CRM contact'}",
                                       payload_hash=item.payload_hash))
            else:
                self.customers[item.source_id] = found.customer_id
                self.applier.customer_notes[item.source_id] = f"customer: {found.how}"
        self._fail(missing)

    def _updates(self, todo: Todo) -> list[tuple[str, str, dict[str, Any]]]:
        from qbo_crm_sync.hooks.quickbooks import batch_item_id

        return [(item.source_id, "update", {
            "bId": batch_item_id("update", self.iid, item.source_id, item.payload["fingerprint"], s["sync_token"],
                                 s["tries"]),
            "operation": "update", "Invoice": update_body(item.payload["invoice"], s["invoice_id"], s["sync_token"])})
            for item, s, _ in self._with_tokens(todo)]

    def _voids(self, todo: Todo) -> list[tuple[str, str, dict[str, Any]]]:
        from qbo_crm_sync.hooks.quickbooks import batch_item_id

        return [(item.source_id, "void", {
            "bId": batch_item_id("void", self.iid, s["invoice_id"], s["sync_token"], s["tries"]), "operation": "void",
            "Invoice": {"Id": s["invoice_id"], "SyncToken": str(s["sync_token"])}})
            for item, s, _ in self._with_tokens(todo)]

    def _with_tokens(self, todo: Todo) -> Todo:
        """``todo`` with a current SyncToken each: read (one query per 100) where it is unknown (this
        sync's payment moved it) or QBO refused it as stale last round; those QBO no longer has fail."""
        stale = self.stale["Invoice"]
        wanted = {str(s["invoice_id"]): item.source_id for item, s, _ in todo
                  if s.get("sync_token") is None or str(s["invoice_id"]) in stale}
        if not wanted:
            return todo
        held = self._current("Invoice", sorted(wanted))
        rows, gone = [], []
        for qbo_id, sid in wanted.items():
            if qbo_id not in held:
                gone.append(Outcome(sid, "failed", f"QuickBooks invoice {qbo_id} no longer exists (deleted in "
                                    "QuickBooks): this CRM invoice cannot follow it", target_id=qbo_id,
                                    payload_hash=self.items[sid].payload_hash))
                continue
            rows.append({"integration_id": self.iid, "source_system": "highlevel", "source_type": SOURCE_TYPE,
                         "source_id": sid, "target_system": "quickbooks", "target_type": "invoice",
                         "target_id": qbo_id, "sync_token": held[qbo_id].get("SyncToken")})
        with self.job.connect() as conn:
            tracking.entity_map_put(conn, rows)
            conn.commit()
        self._fail(gone)
        return [(item, {**s, "sync_token": held[str(s["invoice_id"])].get("SyncToken")}
                 if str(s["invoice_id"]) in wanted else s, steps)
                for item, s, steps in todo if str(s["invoice_id"]) in held or str(s["invoice_id"]) not in wanted]

    def _current(self, entity: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """QBO's copies of ``ids`` (a metered read per 100)."""
        from qbo_crm_sync.hooks.quickbooks import quote

        held: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), qbo_batch_log.ID_LIST_MAX):
            listed = ", ".join(quote(i) for i in ids[start:start + qbo_batch_log.ID_LIST_MAX])
            # A QBO query, not SQL: every literal goes through quote().
            for row in self.job.qbo.query(f"SELECT * FROM {entity} WHERE Id IN ({listed})"):  # noqa: S608
                held[str(row["Id"])] = row
        return held

    def _payments(self, todo: Todo) -> list[tuple[str, str, dict[str, Any]]]:
        from qbo_crm_sync.hooks.quickbooks import batch_item_id

        if not todo:
            return []
        deposit = self.job.integration.settings.get("deposit_account_id")
        out = []
        with self.job.connect() as conn:
            for item, state, _ in todo:
                paid_total = min(Decimal(item.payload["paid"]), Decimal(state["crm_total"]))
                amount = paid_total - Decimal(state["paid_total"])
                if amount <= 0:
                    continue
                ref = payment_ref(item.source_id, paid_total)
                step = conn.execute(query("invoice_payment_put"), {
                    "integration_id": self.iid, "source_id": item.source_id, "paid_total": paid_total,
                    "amount": amount, "ref_num": ref, "invoice_id": state["invoice_id"],
                    "run_id": self.job.run_id}).fetchone()
                assert step is not None
                body = payment_body(item.source_id, state, paid_total, Decimal(step["amount"]), ref,
                                    item.payload.get("pay_day"), deposit)
                out.append((item.source_id, "pay", {"bId": batch_item_id("payment", self.iid, ref, step["tries"]),
                                                    "operation": "create", "Payment": body}))
            conn.commit()
        return out

    def _payment_voids(self, todo: Todo) -> list[tuple[str, str, dict[str, Any]]]:
        from qbo_crm_sync.hooks.quickbooks import batch_item_id

        payments = [p for _, _, steps in todo for p in open_payments(steps)]
        stale = self.stale["Payment"]
        refresh = sorted(p["payment_id"] for p in payments if p["payment_id"] in stale or p["sync_token"] is None)
        if refresh:
            held = self._current("Payment", refresh)
            payments = [p | {"sync_token": held[p["payment_id"]].get("SyncToken")} if p["payment_id"] in held else p
                        for p in payments]
        return [(p["source_id"], "unpay", {
            "bId": batch_item_id("unpay", self.iid, p["payment_id"], p["sync_token"], p["tries"]), "operation": "update",
            "optionsData": "void", "Payment": {"Id": p["payment_id"], "SyncToken": str(p["sync_token"]), "sparse": True}})
            for p in payments if p["sync_token"] is not None]

    # -- the end

    def _finish(self) -> int:
        """Invoices QBO now holds as the CRM says leave the outbox (with an outcome when this load wrote
        nothing for them); the others stay for the next run. Answers how many are deferred."""
        with self.job.connect() as conn:
            states = invoices_of(conn, self.iid, list(self.items))
            steps = payments_of(conn, self.iid, list(self.items))
        done, quiet, deferred = [], [], 0
        for sid, item in self.items.items():
            if sid in self.unknown:
                deferred += 1
                continue
            if sid in self.applier.failed:
                continue
            state = states.get(sid) or {}
            if next_step(item, state, steps.get(sid, [])) is not None:
                deferred += 1
                continue
            done.append(sid)
            if sid not in self.applier.recorded:
                quiet.append(Outcome(sid, "loaded", _settled_note(item, state), target_id=state.get("invoice_id"),
                                     payload_hash=item.payload_hash))
        with self.job.connect() as conn:
            self.applier.add(tracking.record(conn, self.job.run_id, self.iid, FLOW, quiet))
            outbox.remove(conn, self.iid, FLOW, done)
            conn.commit()
        return deferred


def _settled_note(item: outbox.Item, state: dict[str, Any]) -> str:
    """Why nothing was written for an invoice QBO already holds as the CRM says."""
    note = state_note(state)
    if "void" in item.payload:
        return f"{note}: nothing more to void" if state.get("invoice_id") else "nothing in QuickBooks to void"
    if state.get("qbo_voided"):
        return f"{note}: the CRM shows it {item.payload.get('status')}; a voided QuickBooks invoice stays voided"
    paid, held = Decimal(item.payload["paid"]), Decimal(state.get("paid_total") or 0)
    if paid < held:
        return (f"{note}: the CRM shows {paid:.2f} paid, less than the {held:.2f} this sync recorded; a refund in "
                "the CRM is not followed (void the payment in QuickBooks by hand if it was refunded)")
    return f"{note}: already as in the CRM"
