"""Whether a QBO payment makes a review request due (pure rules, no I/O).

A customer is asked for a review once, when their **first invoice** becomes fully paid through
payments. In order:

1. **One per customer, ever.** A customer whose request went out (or may have: a send in doubt)
   gets no other. A payment whose own request went out says so, voided or not.
2. **The payment counts.** A payment deleted or voided in QBO settles nothing (a voided payment
   has zero amounts and gives the invoices back their balances), nor does one applied to no invoice.
3. **The first invoice.** The customer's earliest invoice in QBO by TxnDate, ties by Id, whoever
   created it; deleted invoices and zero-amount ones (a voided invoice is zeroed) are no purchase
   and do not count. A payment of later invoices only never triggers a request.
4. **Fully paid by this payment.** The first invoice's Balance must be 0: a partial payment is
   not enough. Of the payments applied to it, the one QBO recorded last settled it: an earlier
   partial payment seen again (edited, say) does not count as settling it.
5. **Paid while connected, with the box ticked.** A payment recorded before the integration was
   connected is not asked about; nor one recorded while ``auto_send_review`` was off: ticking the
   box later sends nothing for past payments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

DUE = "due"
_NEVER = datetime.min.replace(tzinfo=UTC)
# A claim in these states means the customer's one request went out, or may have.
TAKEN = ("sent", "undelivered", "sending")


@dataclass(frozen=True)
class Invoice:
    id: str
    customer_id: str | None
    doc_number: str | None
    txn_date: date | None
    total: Decimal
    balance: Decimal
    payment_ids: tuple[str, ...] = ()
    deleted: bool = False

    @property
    def label(self) -> str:
        return f"invoice {self.doc_number or self.id}" + (f" (Id {self.id})" if self.doc_number else "")

    def counts(self) -> bool:
        """An invoice that can be a first purchase: not deleted, something to pay (voided ones are zeroed)."""
        return not self.deleted and self.total > 0


@dataclass(frozen=True)
class Payment:
    id: str
    customer_id: str | None
    total: Decimal
    invoice_ids: tuple[str, ...] = ()
    deleted: bool = False
    voided: bool = False
    created_at: datetime | None = None  # when QBO recorded it: the moment the setting is read at

    @property
    def cancelled(self) -> str | None:
        if self.deleted:
            return "deleted"
        if self.voided:
            return "voided"
        return None


@dataclass(frozen=True)
class Claim:
    """The customer's review request as the store holds it."""

    customer_id: str
    payment_id: str
    state: str  # sending, sent, undelivered, not_sent
    message_id: str | None = None
    channel: str | None = None
    address: str | None = None
    settled_at: datetime | None = None

    def describe(self) -> str:
        how = f" by {self.channel.lower() if self.channel == 'Email' else self.channel}" if self.channel else ""
        to = f" to {self.address}" if self.address else ""
        message = f" (message {self.message_id})" if self.message_id else ""
        if self.state == "sending":
            return f"a review request{how}{to} for payment {self.payment_id} may have gone out (being confirmed)"
        if self.state == "undelivered":
            return f"a review request{how}{to} for payment {self.payment_id} was kept but not delivered by the CRM"
        return f"a review request went out{how}{to} for payment {self.payment_id}{message}"


@dataclass(frozen=True)
class Verdict:
    payment_id: str
    status: str  # due, skipped, loaded, failed
    reason: str
    customer_id: str | None = None
    invoice_id: str | None = None

    @property
    def due(self) -> bool:
        return self.status == DUE


def first_invoice(invoices: Iterable[Invoice]) -> Invoice | None:
    """The customer's earliest invoice by TxnDate, ties by Id (numerically, as QBO numbers them)."""
    counted = [i for i in invoices if i.counts()]
    return min(counted, key=lambda i: (i.txn_date or date.max, len(i.id), i.id), default=None)


def settling_payment(invoice: Invoice, payments: Mapping[str, Payment]) -> Payment | None:
    """Of the known payments applied to the invoice, the one QBO recorded last (ties by Id)."""
    applied = [payments[p] for p in invoice.payment_ids if p in payments and not payments[p].cancelled]
    return max(applied, key=lambda p: (p.created_at or _NEVER, len(p.id), p.id), default=None)


def decide(
    payment: Payment,
    invoices: Iterable[Invoice],
    payments: Mapping[str, Payment],
    *,
    connected_at: datetime,
    auto_send_at_payment: bool,
    claim: Claim | None = None,
) -> Verdict:
    """The verdict on one payment. ``invoices`` are the customer's (all of them, from the mirror),
    ``payments`` the customer's known payments by id (this one included), ``claim`` the customer's
    review request if any (or the one made for this payment)."""
    pid = payment.id
    customer = payment.customer_id or (claim.customer_id if claim else None)
    if claim is not None and claim.state in TAKEN:
        note = claim.describe()
        if claim.payment_id == pid:
            if claim.state == "sending":
                # The load settles a send in doubt first: asks the CRM, and sends only if provably not sent.
                return Verdict(pid, DUE, "review request in doubt: the CRM is asked before anything is sent",
                               customer, None)
            if payment.cancelled:
                return Verdict(pid, "loaded", f"{note}; the payment was {payment.cancelled} in QuickBooks after "
                                              "it went out (nothing to undo)", customer)
            return Verdict(pid, "loaded" if claim.state == "sent" else "skipped", note, customer)
        return Verdict(pid, "skipped", f"at most one review request per customer: {note}", customer)
    if payment.cancelled:
        return Verdict(pid, "skipped", f"payment {payment.cancelled} in QuickBooks: no review request "
                                       "(any request it made due was cancelled before it went out)", customer)
    if not payment.invoice_ids:
        return Verdict(pid, "skipped", "payment applied to no invoice", customer)
    first = first_invoice(invoices)
    mirrored = {i.id for i in invoices}
    missing = [i for i in payment.invoice_ids if i not in mirrored]
    if first is None or (missing and first.id not in payment.invoice_ids):
        if missing:
            return Verdict(pid, "failed", f"invoice(s) {', '.join(missing)} of this payment not mirrored yet "
                                          "(read again next run)", customer)
        return Verdict(pid, "skipped", "the customer has no invoice with an amount to pay", customer)
    if first.id not in payment.invoice_ids:
        paid = ", ".join(i.label for i in invoices if i.id in payment.invoice_ids) or "other invoices"
        return Verdict(pid, "skipped", f"pays {paid}, not the customer's first invoice ({first.label}): only "
                                       "the first invoice's payment asks for a review", customer, first.id)
    if first.balance > 0:
        return Verdict(pid, "skipped", f"partial payment: the customer's first invoice ({first.label}) still has "
                                       f"{first.balance:.2f} of {first.total:.2f} open", customer, first.id)
    settler = settling_payment(first, {**payments, pid: payment})
    if settler is not None and settler.id != pid:
        return Verdict(pid, "skipped", f"partial payment: the customer's first invoice ({first.label}) was "
                                       f"paid in full by payment {settler.id}", customer, first.id)
    if payment.created_at is not None and payment.created_at < connected_at:
        return Verdict(pid, "skipped", "payment recorded in QuickBooks before the integration was connected",
                       customer, first.id)
    if not auto_send_at_payment:
        when = f" ({payment.created_at.isoformat()})" if payment.created_at else ""
        return Verdict(pid, "skipped", f"auto_send_review was off when the payment was recorded{when}: ticking "
                                       "it later sends nothing for past payments", customer, first.id)
    return Verdict(pid, DUE, f"first invoice ({first.label}) paid in full", customer, first.id)
