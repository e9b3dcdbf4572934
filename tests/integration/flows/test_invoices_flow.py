"""CRM invoices → QBO invoices through their whole life, over both emulators and a real PostgreSQL.

Every step is checked in the QuickBooks emulator's state (the invoice's TotalAmt and Balance, the
payments linked to it, voids, the customer), and every step is run again to show a replay writes
nothing more.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from emulators.seed_data import hl_invoice, hl_invoices, hl_payers
from qbo_crm_sync.flows import invoices, qbo_batch_log, receipts
from qbo_crm_sync.hooks.highlevel import HighLevelHook
from qbo_crm_sync.store import db, tracking
from tests.integration.flows.conftest import LOCATION, Env, run_cycle

D = Decimal


def item(name: str, amount: Any, qty: Any = 1, rate: Any = None, inclusive: bool = False,
         product: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "amount": amount, "qty": qty, "currency": "USD"}
    if rate is not None:
        out["taxes"] = [{"_id": f"tax-{rate}", "name": f"Tax {rate}%", "rate": rate}]
    if inclusive:
        out["taxInclusive"] = True
    if product:
        out["productId"] = product
    return out


class Crm:
    """The CRM user's side, through the HighLevel API (refunds through the emulator's admin, as the
    CRM offers them in its UI only)."""

    def __init__(self, env: Env) -> None:
        self.env = env
        # A user's clicks do not share the sync's request budget in these tests.
        requests.post(f"{env.hl_url}/_admin/config", json={"burst_limit": 100_000}, timeout=5).raise_for_status()
        self.hook = HighLevelHook(LOCATION, settings=dataclasses.replace(env.hl_settings, requests_per_window=100_000))

    def seed(self, rows: list[dict[str, Any]]) -> list[str]:
        return self.env.seed_crm("invoices", rows)

    def get(self, sid: str) -> dict[str, Any]:
        return self.hook.get_invoice(sid)

    def send(self, sid: str) -> None:
        self.hook.send_invoice(sid, user_id="user-1")

    def pay(self, sid: str, amount: Any = None) -> None:
        self.hook.record_invoice_payment(sid, None if amount is None else D(str(amount)))

    def edit(self, sid: str, **changes: Any) -> dict[str, Any]:
        now = self.get(sid)
        body = {"name": now["name"], "currency": now["currency"], "issueDate": now["issueDate"],
                "dueDate": now["dueDate"], "discount": now["discount"],
                "invoiceItems": [{k: v for k, v in i.items() if k != "_id"} for i in now["invoiceItems"]]}
        return self.hook.update_invoice(sid, body | changes)

    def refund_and_void(self, sid: str) -> None:
        for txn in self.env.crm("transactions"):
            if txn.get("entityId") == sid:
                requests.post(f"{self.env.hl_url}/_admin/transactions/{txn['_id']}/refund", json={},
                              timeout=5).raise_for_status()
        self.hook.void_invoice(sid)


def one(items: list[dict[str, Any]], number: int | str = 2001, status: str = "sent",
        payer: tuple[str, str] = ("Rosa Diaz", "rosa@example.com"), **extra: Any) -> dict[str, Any]:
    return hl_invoice(LOCATION, number, payer, items, status=status, **extra)


def cycle(env: Env) -> dict[str, Any]:
    return run_cycle(env, invoices)


def ours(env: Env, entity: str = "Invoice") -> list[dict[str, Any]]:
    return [r for r in env.qbo(entity) if "HighLevel invoice " in str(r.get("PrivateNote", ""))]


def qbo_invoice(env: Env, sid: str) -> dict[str, Any]:
    (found,) = [r for r in ours(env) if f"HighLevel invoice {sid} " in r["PrivateNote"]]
    return found


def payments_of(env: Env, sid: str) -> list[dict[str, Any]]:
    return [p for p in ours(env, "Payment") if f"HighLevel invoice {sid} " in p["PrivateNote"]]


def money(value: Any) -> Decimal:
    return D(str(value)).quantize(D("0.01"))


def events(env: Env, sid: str) -> list[tuple[str, str]]:
    with db.connect(env.db_url) as conn:
        rows = conn.execute("SELECT status, reason FROM sync.row_event WHERE flow = 'invoices' AND source_id = %s "
                            "ORDER BY id", (sid,)).fetchall()
    return [(r["status"], r["reason"]) for r in rows]


def held_token(env: Env, sid: str) -> str | None:
    """The SyncToken the entity map holds for the CRM invoice's QBO invoice (None: read before the next write)."""
    with db.connect(env.db_url) as conn:
        row = conn.execute("SELECT sync_token FROM sync.entity_map WHERE integration_id = %s AND source_type = "
                           "'invoice' AND target_type = 'invoice' AND source_id = %s",
                           (env.integration.id, sid)).fetchone()
    assert row is not None
    return row["sync_token"]


def assert_replay_writes_nothing(env: Env) -> None:
    writes = env.requests_to(env.qbo_url, "/batch")
    for _ in range(2):
        cycle(env)
    assert env.requests_to(env.qbo_url, "/batch") == writes


def test_sent_then_discount_then_partly_paid_then_paid(env: Env) -> None:
    crm = Crm(env)
    issued, due = date.today().isoformat(), (date.today() + timedelta(days=30)).isoformat()
    (sid,) = crm.seed([one([item("Design", 150, 2, 7.25), item("Plants", 38.99, 3)], status="draft",
                           issue_date=issued, due_date=due)])
    cycle(env)
    assert ours(env) == []
    assert env.row_status("invoices")[sid]["reason"] == "draft in the CRM: not synced until it is sent"

    crm.send(sid)
    cycle(env)
    invoice, crm_now = qbo_invoice(env, sid), crm.get(sid)
    assert money(invoice["TotalAmt"]) == money(crm_now["total"]) == D("438.72")  # 300 + 116.97 + 21.75 tax
    assert money(invoice["Balance"]) == D("438.72")
    assert invoice["DocNumber"] == "2001" and invoice["TxnDate"] == issued and invoice["DueDate"] == due
    assert held_token(env, sid) == invoice["SyncToken"] == "0"
    (customer,) = env.qbo("Customer")
    assert invoice["CustomerRef"]["value"] == customer["Id"]
    assert customer["PrimaryEmailAddr"]["Address"] == "rosa@example.com"
    # Tax folded into the lines (a US company's default), onto the taxed line only: Design becomes one
    # unit with its quantity named; the untaxed Plants keep their quantity and price.
    design, plants = [ln for ln in invoice["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    assert design["Description"] == "Design (2 × 150.00)" and money(design["Amount"]) == D("321.75")
    assert plants["Description"] == "Plants" and money(plants["Amount"]) == D("116.97")
    assert plants["SalesItemLineDetail"]["Qty"] == 3 and money(plants["SalesItemLineDetail"]["UnitPrice"]) == D("38.99")
    assert_replay_writes_nothing(env)

    crm.edit(sid, discount={"type": "percentage", "value": 10})
    cycle(env)
    invoice, crm_now = qbo_invoice(env, sid), crm.get(sid)
    assert money(invoice["TotalAmt"]) == money(crm_now["total"]) == D("394.84")
    assert [money(ln["Amount"]) for ln in invoice["Line"] if ln["DetailType"] == "DiscountLineDetail"] == \
        [money(crm_now["totalSummary"]["discount"])]
    assert held_token(env, sid) == invoice["SyncToken"] == "1"
    assert_replay_writes_nothing(env)
    assert held_token(env, sid) == qbo_invoice(env, sid)["SyncToken"] == "1"

    crm.pay(sid, 100)
    cycle(env)
    (first,) = payments_of(env, sid)
    assert money(first["TotalAmt"]) == D("100.00")
    assert first["Line"][0]["LinkedTxn"] == [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]
    assert first["CustomerRef"]["value"] == customer["Id"]
    assert money(qbo_invoice(env, sid)["Balance"]) == D("294.84")
    # The payment moved the invoice's SyncToken in QBO: the old one is forgotten, never kept stale.
    assert qbo_invoice(env, sid)["SyncToken"] == "2" and held_token(env, sid) is None
    assert_replay_writes_nothing(env)

    crm.pay(sid)
    counts = cycle(env)
    paid = payments_of(env, sid)
    assert sorted(money(p["TotalAmt"]) for p in paid) == [D("100.00"), D("294.84")]
    assert sum(money(p["TotalAmt"]) for p in paid) == money(crm.get(sid)["total"])
    assert money(qbo_invoice(env, sid)["Balance"]) == 0
    assert money(env.qbo("Customer")[0]["Balance"]) == 0
    recon = counts["reconciliation"]
    assert [(r["crm_total"], r["qbo_total"], r["crm_paid"], r["qbo_paid"], r["mismatch"]) for r in recon] == \
        [("394.84", "394.84", "394.84", "394.84", False)]
    assert_replay_writes_nothing(env)
    assert len(payments_of(env, sid)) == 2 and len(ours(env)) == 1
    assert qbo_invoice(env, sid)["SyncToken"] == "3" and held_token(env, sid) is None

    history = events(env, sid)
    assert [s for s, _ in history] == ["skipped", "loaded", "loaded", "loaded", "loaded"]
    assert history[1][1].startswith(f"created QuickBooks invoice {invoice['Id']} (DocNumber 2001")
    assert history[2][1].startswith(f"updated QuickBooks invoice {invoice['Id']}")
    assert history[3][1].startswith("recorded QuickBooks payment") and "paid 100.00 of 394.84" in history[3][1]
    assert "paid 394.84 of 394.84" in history[4][1]
    with db.connect(env.db_url) as conn:
        mapped = conn.execute("SELECT target_id, sync_token, payload_hash FROM sync.entity_map "
                              "WHERE source_type = 'invoice' AND source_id = %s", (sid,)).fetchone()
        steps = conn.execute("SELECT paid_total, amount FROM sync.invoice_payment WHERE source_id = %s "
                             "ORDER BY paid_total", (sid,)).fetchall()
    assert mapped["target_id"] == invoice["Id"] and mapped["payload_hash"]
    assert [(s["paid_total"], s["amount"]) for s in steps] == [(D("100.00"), D("100.00")),
                                                                (D("394.84"), D("294.84"))]


def test_sent_then_voided(env: Env) -> None:
    crm = Crm(env)
    (sid,) = crm.seed([one([item("Irrigation check", 89)])])
    cycle(env)
    assert money(qbo_invoice(env, sid)["TotalAmt"]) == D("89.00")
    crm.hook.void_invoice(sid)
    cycle(env)
    voided = qbo_invoice(env, sid)
    assert money(voided["TotalAmt"]) == 0 and money(voided["Balance"]) == 0
    assert voided["PrivateNote"].startswith("Voided")
    assert env.row_status("invoices")[sid]["reason"] == f"voided QuickBooks invoice {voided['Id']} (voided in the CRM)"
    assert money(env.qbo("Customer")[0]["Balance"]) == 0
    assert_replay_writes_nothing(env)


def test_paid_then_voided_voids_the_payments_first(env: Env) -> None:
    crm = Crm(env)
    (sid,) = crm.seed([one([item("Hedge trimming (hour)", 45.5, 4, 7.25)])])
    cycle(env)
    crm.pay(sid, 50)
    cycle(env)
    crm.pay(sid)
    cycle(env)
    assert len(payments_of(env, sid)) == 2 and money(qbo_invoice(env, sid)["Balance"]) == 0

    crm.refund_and_void(sid)
    since = time.time()
    counts = cycle(env)
    invoice = qbo_invoice(env, sid)
    assert money(invoice["TotalAmt"]) == 0 and invoice["PrivateNote"].startswith("Voided")
    for paid in payments_of(env, sid):
        assert money(paid["TotalAmt"]) == 0 and paid["PrivateNote"].startswith("Voided") and paid["Line"] == []
    assert [s for s, _ in events(env, sid)][-3:] == ["loaded"] * 3
    assert [r for _, r in events(env, sid)][-1].startswith(f"voided QuickBooks invoice {invoice['Id']}")
    # The payments moved the invoice's SyncToken: it is read once before the void, which is not refused.
    sent = requests.get(f"{env.qbo_url}/_admin/requests", params={"since": since}, timeout=5).json()["requests"]
    assert len([r for r in sent if r["path"].endswith("/batch")]) == 2  # the payments' voids, then the invoice's
    assert len([r for r in sent if r["path"].endswith("/query") and "Invoice" in r["query"]]) == 1
    # Two changes of state: both payments voided (one batch), then the invoice.
    assert counts["rows_loaded"] == 2 and not any(r["mismatch"] for r in counts["reconciliation"])
    assert_replay_writes_nothing(env)


def test_an_invoice_edited_in_quickbooks_meanwhile(env: Env) -> None:
    crm = Crm(env)
    (sid,) = crm.seed([one([item("Design", 150)])])
    cycle(env)
    invoice = qbo_invoice(env, sid)
    accountant = env.job("accountant").qbo
    accountant.update("Invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"],
                                  "CustomerMemo": {"value": "Call before delivery"}}, request_id="memo-1", sparse=True)
    crm.edit(sid, invoiceItems=[item("Design", 150, 2)])
    since = time.time()
    cycle(env)
    now = qbo_invoice(env, sid)
    assert money(now["TotalAmt"]) == D("300.00") and now["CustomerMemo"] == {"value": "Call before delivery"}
    assert now["SyncToken"] == "2" and held_token(env, sid) == "2"  # read again after the refusal, then moved
    sent = requests.get(f"{env.qbo_url}/_admin/requests", params={"since": since}, timeout=5).json()["requests"]
    batches = [r for r in sent if r["path"].endswith("/batch")]
    assert len(batches) == 2  # refused as stale, then sent again after one read
    assert sum(1 for r in sent if r["path"].endswith("/query") and "Id+IN" in r["query"]) == 1
    assert env.row_status("invoices")[sid]["status"] == "loaded"


@pytest.mark.parametrize("tax_mode", ["fold_into_lines", "total_tax"])
def test_discounts_taxes_and_rounding_traps_total_to_the_cent(env: Env, tax_mode: str) -> None:
    with db.connect(env.db_url) as conn:
        conn.execute("UPDATE sync.integration SET settings = settings || %s::jsonb WHERE id = %s",
                     (f'{{"tax_mode": "{tax_mode}"}}', env.integration.id))
        conn.commit()
    env.integration = dataclasses.replace(env.integration, settings={**env.integration.settings, "tax_mode": tax_mode})
    crm = Crm(env)
    rows = [
        one([item("Lawn care (per visit)", 33.33, 3, 7.25)], number=3001),  # 3 × 33.33 at 7.25 %
        one([item("Design", 120, 2, 8.25), item("Travel", 35.5)], number=3002,
            discount={"type": "percentage", "value": 12.5}),
        one([item("Design", 120, 2, 8.25, product="p1"), item("Travel", 35.5, product="p2")], number=3003,
            discount={"type": "fixed", "value": 50, "validOnProductIds": ["p2"]}),
        one([item("Seed pack bundle", 21.4, 3, 7, inclusive=True), item("Mulch", 38.99, 2, 8.875)],
            number=3004, discount={"type": "percentage", "value": 10}),
        one([item("Visit", 19.99, 1.5, 6.5), item("Hours", 33.33, 7, 7.25), item("Parts", 0.07, 13, 8.875)],
            number=3005, discount={"type": "fixed", "value": 3.33}),
    ]
    ids = crm.seed(rows)
    counts = cycle(env)
    assert {env.row_status("invoices")[i]["status"] for i in ids} == {"loaded"}
    for sid in ids:
        crm_now, invoice = crm.get(sid), qbo_invoice(env, sid)
        assert money(invoice["TotalAmt"]) == money(crm_now["total"]), (crm_now["invoiceNumber"], invoice)
        tax = money(invoice["TxnTaxDetail"].get("TotalTax", 0))
        assert tax == (money(crm_now["totalSummary"]["tax"]) if tax_mode == "total_tax" else 0)
        discount_lines = [ln for ln in invoice["Line"] if ln["DetailType"] == "DiscountLineDetail"]
        assert [money(ln["Amount"]) for ln in discount_lines] == (
            [money(crm_now["totalSummary"]["discount"])] if crm_now["totalSummary"]["discount"] else [])
    assert not any(r["mismatch"] for r in counts["reconciliation"])


def test_what_is_not_written_says_why(env: Env) -> None:
    requests.post(f"{env.qbo_url}/_admin/preferences/{env.realm}", timeout=5,
                  json={"Preferences": {"CurrencyPrefs": {"MultiCurrencyEnabled": False}}}).raise_for_status()
    crm = Crm(env)
    ids = crm.seed([
        one([item("Design", 100)], number=4001, createdAt="2020-01-06T10:00:00.000Z"),
        one([item("Design", 100)], number=4002, status="draft"),
        one([item("Design", 100)], number=4003, currency="EUR"),
        one([item("Design", 100)], number=4004, live=False),
        one([item("Design", 100)], number=4005, payer=("Walk In", "")),
        one([item("Design", 100)], number=4006, status="void"),
    ])
    cycle(env)
    status = env.row_status("invoices")
    assert [(status[i]["status"], status[i]["reason"]) for i in ids] == [
        ("skipped", "created in the CRM before the integration was connected"),
        ("skipped", "draft in the CRM: not synced until it is sent"),
        ("rejected", "currency: differs from the QuickBooks company's home currency USD (multicurrency is off in "
                     "QuickBooks)"),
        ("skipped", "test-mode invoice (the integration's include_test_mode setting is off)"),
        ("rejected", "no email on the CRM contact: a QuickBooks customer cannot be matched (add one in the CRM)"),
        ("skipped", "voided in the CRM before it was synced: nothing in QuickBooks to void"),
    ]
    assert ours(env) == []


def test_another_currency_with_multicurrency_on(env: Env) -> None:
    requests.post(f"{env.qbo_url}/_admin/preferences/{env.realm}", timeout=5,
                  json={"Preferences": {"CurrencyPrefs": {"MultiCurrencyEnabled": True}}}).raise_for_status()
    (sid,) = Crm(env).seed([one([item("Design", 99.99, 2)], currency="EUR")])
    cycle(env)
    invoice = qbo_invoice(env, sid)
    assert invoice["CurrencyRef"]["value"] == "EUR" and money(invoice["TotalAmt"]) == D("199.98")


def test_a_doc_number_the_accountant_already_used(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    (theirs,) = env.seed_qbo("Customer", [{"DisplayName": "Walk-in Sales"}])
    (their_invoice,) = env.seed_qbo("Invoice", [{
        "DocNumber": "5001", "CustomerRef": {"value": theirs}, "PrivateNote": "typed in by the accountant",
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 10,
                  "SalesItemLineDetail": {"Qty": 1, "UnitPrice": 10}}]}])
    requests.post(f"{env.qbo_url}/_admin/config", json={"requestid_replay": False}, timeout=5).raise_for_status()
    crm = Crm(env)
    (sid,) = crm.seed([one([item("Design", 150)], number=5001)])
    real = qbo_batch_log._deliver

    def deliver_then_crash(job, batch_id, items, apply, *rest):  # noqa: ANN001, ANN002
        if items and items[0].get("Invoice", {}).get("DocNumber", "5001") != "5001":
            job.qbo.batch(items)  # the create with the alternative number lands ...
            raise RuntimeError("worker killed before the local commit")  # ... unknown locally
        return real(job, batch_id, items, apply, *rest)

    monkeypatch.setattr(qbo_batch_log, "_deliver", deliver_then_crash)
    with pytest.raises(RuntimeError):
        cycle(env)
    monkeypatch.setattr(qbo_batch_log, "_deliver", real)
    cycle(env)  # found by its DocNumber and the CRM id in its note, not created again
    mine = qbo_invoice(env, sid)
    assert mine["DocNumber"] != "5001" and mine["DocNumber"].startswith("5001-") and len(mine["DocNumber"]) <= 21
    row = env.row_status("invoices")[sid]
    assert row["status"] == "loaded" and (f"DocNumber 5001 belongs to another QuickBooks invoice (not made by this "
                                          f"sync): this one is numbered {mine['DocNumber']}") in row["reason"]
    (accountants,) = [i for i in env.qbo("Invoice") if i["Id"] == their_invoice]
    assert accountants["DocNumber"] == "5001" and accountants["SyncToken"] == "0"
    assert len(ours(env)) == 1
    crm.pay(sid)
    cycle(env)
    assert [money(p["TotalAmt"]) for p in payments_of(env, sid)] == [D("150.00")]
    assert_replay_writes_nothing(env)


def test_same_crm_data_through_both_flows_pays_the_invoice_once(env: Env) -> None:
    crm = Crm(env)
    (sid,) = crm.seed([one([item("Design", 150)])])
    cycle(env)
    crm.pay(sid)
    (txn,) = [t for t in env.crm("transactions") if t.get("entityId") == sid]
    assert txn["entitySourceType"] == "invoice"
    for _ in range(2):
        run_cycle(env, receipts)
        cycle(env)
    assert env.qbo("SalesReceipt") == []
    (paid,) = [p for p in env.qbo("Payment")]
    assert money(paid["TotalAmt"]) == D("150.00")
    assert paid["Line"][0]["LinkedTxn"][0]["TxnId"] == qbo_invoice(env, sid)["Id"]
    receipt_row = env.row_status("receipts")[txn["_id"]]
    assert receipt_row["status"] == "skipped" and "invoice flow" in receipt_row["reason"]


def _lifecycle_world(env: Env, count: int) -> tuple[Crm, list[str]]:
    crm = Crm(env)
    return crm, crm.seed(hl_invoices(LOCATION, count, payers=hl_payers(6, seed=11), seed=11))


def _settle(env: Env, faults: dict[str, Any]) -> None:
    """One cycle with QBO faults on, then cycles without until everything is loaded."""
    env.faults(env.qbo_url, paths=["/batch", "/query"], **faults)
    cycle(env)
    env.faults(env.qbo_url, drop_after_commit_rate=0, error_rate=0, storm_s=0)
    cycle(env)


def _assert_world(env: Env, crm: Crm, ids: list[str]) -> None:
    assert len(ours(env)) == len(ids) == len({i["DocNumber"] for i in ours(env)})
    for sid in ids:
        now, invoice = crm.get(sid), qbo_invoice(env, sid)
        paid = payments_of(env, sid)
        if now["status"] == "void":
            assert money(invoice["TotalAmt"]) == 0 and invoice["PrivateNote"].startswith("Voided")
            assert all(money(p["TotalAmt"]) == 0 for p in paid)
            continue
        assert money(invoice["TotalAmt"]) == money(now["total"])
        assert sum(money(p["TotalAmt"]) for p in paid) == money(now["amountPaid"])
        assert money(invoice["Balance"]) == money(now["total"]) - money(now["amountPaid"])
        assert len({p["PaymentRefNum"] for p in paid}) == len(paid)
    assert {(r["status"], r["reason"]) for r in env.row_status("invoices").values() if r["status"] != "loaded"} == set()
    emails = [c["PrimaryEmailAddr"]["Address"].lower() for c in env.qbo("Customer")]
    assert len(emails) == len(set(emails)) == 6


@pytest.mark.parametrize("replay", [True, False], ids=["qbo-replays", "no-replay"])
def test_lost_answers_at_every_step_change_nothing_twice(env: Env, replay: bool) -> None:
    requests.post(f"{env.qbo_url}/_admin/config", json={"requestid_replay": replay}, timeout=5).raise_for_status()
    crm, ids = _lifecycle_world(env, 24)
    drop = {"drop_after_commit_rate": 0.5}
    _settle(env, drop)
    _assert_world(env, crm, ids)
    for sid in ids:
        crm.pay(sid, money(crm.get(sid)["total"]) * D("0.4"))
    _settle(env, drop)
    _assert_world(env, crm, ids)
    for n, sid in enumerate(ids):
        if n % 2:
            crm.pay(sid)
        else:
            crm.refund_and_void(sid)
    _settle(env, drop)
    _assert_world(env, crm, ids)
    assert_replay_writes_nothing(env)


@pytest.mark.parametrize("faults", [{"error_rate": 0.3}, {"storm_s": 2}], ids=["5xx-burst", "429-storm"])
def test_server_errors_and_throttling_lose_nothing(env: Env, faults: dict[str, Any]) -> None:
    crm, ids = _lifecycle_world(env, 18)
    _settle(env, faults)
    for n, sid in enumerate(ids):
        if n % 3:
            crm.pay(sid)
        else:
            crm.hook.void_invoice(sid)
    _settle(env, faults)
    _assert_world(env, crm, ids)


def test_crash_between_a_payment_and_its_commit(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    requests.post(f"{env.qbo_url}/_admin/config", json={"requestid_replay": False}, timeout=5).raise_for_status()
    crm, ids = _lifecycle_world(env, 12)
    cycle(env)
    for sid in ids:
        crm.pay(sid)
    run_cycle(env, invoices, steps=("extract", "transform"))
    real = qbo_batch_log._deliver

    def deliver_then_crash(job, batch_id, items, apply, *rest):  # noqa: ANN001, ANN002
        if items and "Payment" in items[0]:
            job.qbo.batch(items)  # the payments land in QBO ...
            raise RuntimeError("worker killed before the local commit")  # ... the commit does not
        return real(job, batch_id, items, apply, *rest)

    monkeypatch.setattr(qbo_batch_log, "_deliver", deliver_then_crash)
    with pytest.raises(RuntimeError):
        invoices.load(env.job("invoices"))
    monkeypatch.setattr(qbo_batch_log, "_deliver", real)
    assert len(ours(env, "Payment")) == 12  # in QBO, unknown locally
    since = time.time()
    counts = invoices.load(env.job("invoices"))  # the load task cleared and run again
    assert counts["resent_batches"] == 1
    sent = requests.get(f"{env.qbo_url}/_admin/requests", params={"since": since}, timeout=5).json()["requests"]
    assert [r for r in sent if r["path"].endswith("/batch")] == []  # found by PaymentRefNum, not sent again
    _assert_world(env, crm, ids)


def test_two_overlapping_loads(env: Env) -> None:
    crm, ids = _lifecycle_world(env, 30)
    run_cycle(env, invoices, steps=("extract", "transform"))
    errors: list[BaseException] = []

    def load(label: str) -> None:
        try:
            invoices.load(env.job("invoices", label))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(f"overlap{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    _assert_world(env, crm, ids)


def test_crm_reads_per_cycle_follow_the_open_invoices(env: Env) -> None:
    crm = Crm(env)
    issued = (date.today() - timedelta(days=10)).isoformat()
    ids = crm.seed(hl_invoices(LOCATION, 130, seed=3, issue_dates=[issued]))
    cycle(env)  # the first cycle also reads the paid/void look-back

    def reads() -> int:
        env.clear_requests(env.hl_url)
        counts = cycle(env)
        assert counts["crm_reads"] == len([r for r in env.requests_log(env.hl_url, "/invoices")
                                           if r["method"] == "GET"])
        return counts["crm_reads"]

    # 1 new-invoice page + 2 pages of sent + 1 each of payment_processing and partially_paid.
    assert reads() == 5
    for sid in ids[:3]:
        crm.pay(sid)
    crm.hook.void_invoice(ids[3])
    crm.pay(ids[4], 1)  # still open: partially paid
    assert reads() == 5 + 4  # each invoice that left the open listings is read once
    assert reads() == 5
    assert [money(p["TotalAmt"]) for p in payments_of(env, ids[4])] == [D("1.00")]
    assert len(ours(env, "Payment")) == 4 and money(qbo_invoice(env, ids[3])["TotalAmt"]) == 0
    for sid in ids[10:30]:  # a bulk payment run: the paid and void listings cost less than 20 reads
        crm.pay(sid)
    assert reads() == 5 + 2
    assert all(money(qbo_invoice(env, sid)["Balance"]) == 0 for sid in ids[10:30])


def test_a_backdated_invoice_paid_between_two_cycles_is_found_by_the_look_back(env: Env) -> None:
    crm = Crm(env)
    cycle(env)
    long_ago = (date.today() - timedelta(days=40)).isoformat()
    (sid,) = crm.seed([one([item("Design", 75)], status="draft", issue_date=long_ago)])
    crm.send(sid)
    crm.pay(sid)  # sent and paid within one cycle: never listed as open
    cycle(env)
    assert ours(env) == []
    with db.connect(env.db_url) as conn:  # the look-back is due (refund_sweep_hours)
        conn.execute("UPDATE sync.watermark SET value = %s WHERE stream = 'crm_invoice_sweep'",
                     (datetime.now(UTC) - timedelta(days=1),))
        conn.commit()
    cycle(env)
    assert money(qbo_invoice(env, sid)["Balance"]) == 0 and len(payments_of(env, sid)) == 1


def test_a_void_quickbooks_refuses_fails_then_dies(env: Env) -> None:
    crm = Crm(env)
    (sid,) = crm.seed([one([item("Design", 150)])])
    cycle(env)
    invoice = qbo_invoice(env, sid)
    # The accountant records the customer's cheque against the invoice in QuickBooks itself ...
    accountant = env.job("accountant").qbo
    theirs = accountant.create("Payment", {
        "CustomerRef": invoice["CustomerRef"], "TotalAmt": 150, "PrivateNote": "cheque 1187",
        "Line": [{"Amount": 150, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]},
        request_id="cheque-1187")
    held = qbo_invoice(env, sid)
    assert money(held["Balance"]) == 0
    # ... then the CRM user voids it: QBO refuses to void an invoice with a payment linked to it.
    crm.hook.void_invoice(sid)
    asked: set[str] = set()
    for attempt in range(1, tracking.MAX_ATTEMPTS + 2):
        since = time.time()
        cycle(env)
        # Each failing run asks QBO again (a new requestid: QBO would replay the first refusal).
        sent = requests.get(f"{env.qbo_url}/_admin/requests", params={"since": since}, timeout=5).json()["requests"]
        batches = [r["query"] for r in sent if r["path"].endswith("/batch")]
        assert len(batches) == (0 if attempt > tracking.MAX_ATTEMPTS else 2 if attempt == 1 else 1), attempt
        assert not set(batches) & asked
        asked.update(batches)
        row = env.row_status("invoices")[sid]
        assert (row["status"], row["attempts"]) == (
            ("failed", attempt) if attempt < tracking.MAX_ATTEMPTS else ("dead", tracking.MAX_ATTEMPTS)), attempt
        assert row["reason"].startswith(f"QuickBooks refused to void invoice {invoice['Id']}: ")
        assert "This invoice has a payment linked to it and cannot be voided" in row["reason"]
        assert "(Fault 6000)" in row["reason"]
        now = qbo_invoice(env, sid)
        assert now == held  # not voided, not touched
        assert len(ours(env)) == 1 and [p["Id"] for p in env.qbo("Payment")] == [theirs["Id"]]
    # A dead row is not offered again: the last cycle wrote nothing and recorded no attempt.
    history = events(env, sid)
    assert [s for s, _ in history] == ["loaded", *["failed"] * (tracking.MAX_ATTEMPTS - 1), "dead"]
    assert_replay_writes_nothing(env)


def test_a_refused_update_is_asked_again_not_replayed(env: Env) -> None:
    crm = Crm(env)
    (sid,) = crm.seed([one([item("Design", 150)])])
    cycle(env)
    invoice = qbo_invoice(env, sid)
    (line,) = [ln for ln in invoice["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    item_id = line["SalesItemLineDetail"]["ItemRef"]["value"]
    accountant = env.job("accountant").qbo
    held_item = accountant.read("Item", item_id)
    held_item = accountant.update("Item", {"Id": item_id, "SyncToken": held_item["SyncToken"], "Active": False},
                                  request_id="item-off", sparse=True)
    crm.edit(sid, invoiceItems=[item("Design", 150, 2)])
    cycle(env)
    row = env.row_status("invoices")[sid]
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["reason"].startswith(f"QuickBooks refused the update of invoice {invoice['Id']}: Object Not Found")
    assert "(Fault 610)" in row["reason"] and f"(Item {item_id})" in row["reason"]
    assert qbo_invoice(env, sid) == invoice
    # The accountant makes the item active again: the invoice (and its SyncToken) did not change, so
    # only a new requestid makes QBO look again instead of replaying its refusal.
    accountant.update("Item", {"Id": item_id, "SyncToken": held_item["SyncToken"], "Active": True},
                      request_id="item-on", sparse=True)
    cycle(env)
    now = qbo_invoice(env, sid)
    assert money(now["TotalAmt"]) == D("300.00") and now["SyncToken"] == "1" and len(ours(env)) == 1
    row = env.row_status("invoices")[sid]
    assert row["status"] == "loaded" and row["reason"].startswith(f"updated QuickBooks invoice {invoice['Id']}")
    assert_replay_writes_nothing(env)
