"""CRM payments → QBO sales receipts, end to end over both emulators and a real PostgreSQL."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

from emulators.seed_data import hl_payers, hl_transactions
from qbo_crm_sync.flows import qbo_batch_log, receipts
from qbo_crm_sync.flows.receipts_mapping import doc_number
from qbo_crm_sync.store import db
from tests.integration.flows.conftest import LOCATION, Env, run_cycle


def seed_payments(env: Env, rows: list[dict[str, Any]]) -> list[str]:
    return env.seed_crm("transactions", rows)


def qbo_all(env: Env, entity: str) -> list[dict[str, Any]]:
    return env.qbo(entity)


def our_receipts(env: Env) -> list[dict[str, Any]]:
    return [r for r in qbo_all(env, "SalesReceipt") if str(r.get("PrivateNote", "")).startswith("HighLevel")]


def payment(txn_id: str, name: str | None, email: str | None, amount: Any, source: str = "funnel",
            **extra: Any) -> dict[str, Any]:
    t = {"_id": txn_id, "altId": LOCATION, "contactName": name, "contactEmail": email, "amount": amount,
         "currency": "USD", "status": "succeeded", "liveMode": True, "entitySourceType": source,
         "entitySourceName": "Order form", "entityType": "order", "contactId": f"c{txn_id[-6:]}"}
    t.update(extra)
    return {k: v for k, v in t.items() if v is not None}


def hexid(n: int) -> str:
    return f"{n:024x}"


def assert_exactly_once(env: Env, expected: int) -> None:
    docs = [r["DocNumber"] for r in our_receipts(env)]
    assert len(docs) == len(set(docs)) == expected
    emails = [(c.get("PrimaryEmailAddr") or {}).get("Address", "").lower() for c in qbo_all(env, "Customer")]
    emails = [e for e in emails if e]
    assert len(emails) == len(set(emails))


def test_one_receipt_per_eligible_payment_right_customer_and_totals(env: Env) -> None:
    rows = hl_transactions(LOCATION, 10, payers=hl_payers(4, seed=3), seed=3)
    ids = seed_payments(env, rows)
    counts = run_cycle(env, receipts)
    assert counts["extracted"] == len(rows)
    status = env.row_status("receipts")
    by_id = dict(zip(ids, rows, strict=True))
    loaded = [i for i in ids if status[i]["status"] == "loaded"]
    assert len(loaded) == 10
    made = {r["DocNumber"]: r for r in our_receipts(env)}
    assert len(made) == 10
    customers = {c["Id"]: c for c in qbo_all(env, "Customer")}
    for sid in loaded:
        receipt = made[doc_number(sid)]
        txn = by_id[sid]
        assert Decimal(str(receipt["TotalAmt"])) == Decimal(str(txn["amount"]))
        assert sid in receipt["PrivateNote"]
        customer = customers[receipt["CustomerRef"]["value"]]
        assert customer["PrimaryEmailAddr"]["Address"].lower() == txn["contactEmail"].lower()
    assert len(customers) == 4  # four payers, one customer each
    reasons = {by_id[i]["entitySourceName"]: status[i] for i in ids if status[i]["status"] != "loaded"}
    assert "invoice flow" in reasons["Invoice #1042"]["reason"]
    assert reasons["Test checkout"]["status"] == "skipped" and "test-mode" in reasons["Test checkout"]["reason"]
    assert reasons["Declined card"]["status"] == "skipped" and "failed" in reasons["Declined card"]["reason"]
    assert "refunded" in reasons["Returned order"]["reason"]
    assert reasons["Paris workshop"]["status"] == "rejected" and "home currency USD" in reasons["Paris workshop"]["reason"]
    assert reasons["London consultation"]["status"] == "rejected"
    assert reasons["Free sample"]["status"] == "skipped" and "zero" in reasons["Free sample"]["reason"]
    assert reasons["Adjustment"]["status"] == "rejected" and "negative" in reasons["Adjustment"]["reason"]
    assert reasons["Text-to-pay link"]["status"] == "skipped" and "text2Pay" in reasons["Text-to-pay link"]["reason"]
    assert reasons["Drop-in visit"]["status"] == "rejected" and "no email" in reasons["Drop-in visit"]["reason"]
    recon = {(r["day"], r["currency"]): r for r in counts["reconciliation"]}
    assert not any(r["mismatch"] for r in recon.values())  # every receipt's total equals its payment's
    usd = next(r for (_, cur), r in recon.items() if cur == "USD")
    assert usd["receipts"] == 10 and usd["outstanding_by_status"] == {"rejected": 2}  # negative, no email
    eur = next(r for (_, cur), r in recon.items() if cur == "EUR")
    assert eur["receipts"] == 0 and eur["outstanding_by_status"] == {"rejected": 1}

    writes = env.requests_to(env.qbo_url, "/batch")
    again = run_cycle(env, receipts)
    assert again.get("to_load", 0) == 0
    assert env.requests_to(env.qbo_url, "/batch") == writes
    assert_exactly_once(env, 10)


def test_bad_input_corpus_of_customers(env: Env) -> None:
    inactive_id, clash_id = env.seed_qbo("Customer", [
        {"DisplayName": "Dormant Dora", "PrimaryEmailAddr": {"Address": "dora@example.com"}, "Active": False},
        {"DisplayName": "Pat Smith", "PrimaryEmailAddr": {"Address": "other.pat@example.com"}},
    ])
    ids = seed_payments(env, [
        payment(hexid(1), "Siobhán O'Brien", "o'brien@example.com", 10),
        payment(hexid(2), "Acme: Widgets\tDept", "acme@example.com", 20, "website"),
        payment(hexid(3), "Sam One", "same@example.com", 30, "membership"),
        payment(hexid(4), "Samantha Two", "SAME@example.com ", 40, "calendar"),
        payment(hexid(5), "Dora D", "dora@example.com", 50),
        payment(hexid(6), "Pat Smith", "pat@example.com", 60),
        payment(hexid(7), "Sub Scriber", "sub@example.com", 12.34, "funnel", subscriptionId="sub_x1"),
        payment(hexid(8), "Penny Fraction", "penny@example.com", 1.005),
    ])
    run_cycle(env, receipts)
    status = env.row_status("receipts")
    assert [status[i]["status"] for i in ids] == ["loaded"] * 7 + ["rejected"]
    assert "cent" in status[ids[7]]["reason"]
    customers = {c["Id"]: c for c in qbo_all(env, "Customer")}
    by_doc = {r["DocNumber"]: r for r in our_receipts(env)}

    def customer_of(i: int) -> dict[str, Any]:
        return customers[by_doc[doc_number(ids[i])]["CustomerRef"]["value"]]

    assert customer_of(0)["PrimaryEmailAddr"]["Address"] == "o'brien@example.com"
    assert customer_of(1)["DisplayName"] == "Acme Widgets Dept"
    assert customer_of(2)["Id"] == customer_of(3)["Id"]  # same email, different names: one customer
    assert customer_of(4)["Id"] == inactive_id and customer_of(4)["Active"] is True
    assert customer_of(5)["Id"] != clash_id
    assert customer_of(5)["DisplayName"] == "Pat Smith (pat@example.com)"
    assert Decimal(str(by_doc[doc_number(ids[6])]["TotalAmt"])) == Decimal("12.34")
    assert_exactly_once(env, 7)


def test_unknown_answers_are_replayed_not_duplicated(env: Env) -> None:
    payers = hl_payers(12, seed=9)
    seed_payments(env, hl_transactions(LOCATION, 75, payers=payers, seed=9, corpus=False))
    env.faults(env.qbo_url, paths=["/batch"], drop_after_commit_rate=0.5)
    run_cycle(env, receipts)
    env.faults(env.qbo_url, drop_after_commit_rate=0)
    run_cycle(env, receipts)
    assert_exactly_once(env, 75)
    assert {r["status"] for r in env.row_status("receipts").values()} == {"loaded"}


def test_lost_answers_and_crash_between_write_and_commit(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_payments(env, hl_transactions(LOCATION, 40, payers=hl_payers(5, seed=4), seed=4, corpus=False))
    run_cycle(env, receipts, steps=("extract", "transform"))
    real_deliver = qbo_batch_log._deliver
    crashed = threading.Event()

    def deliver_then_crash(job, batch_id, items, apply):  # noqa: ANN001
        if items and "SalesReceipt" in items[0]:
            job.qbo.batch(items)  # the receipts land in QBO ...
            crashed.set()
            raise RuntimeError("worker killed before the local commit")  # ... the commit does not
        return real_deliver(job, batch_id, items, apply)

    monkeypatch.setattr(qbo_batch_log, "_deliver", deliver_then_crash)
    with pytest.raises(RuntimeError):
        receipts.load(env.job("receipts"))
    assert crashed.is_set()
    assert len(our_receipts(env)) == 40  # written in QBO, unknown locally
    monkeypatch.setattr(qbo_batch_log, "_deliver", real_deliver)
    with db.connect(env.db_url) as conn:
        pending = qbo_batch_log.pending(conn, env.integration.id, "receipts")
    assert len(pending) == 2
    counts = receipts.load(env.job("receipts"))  # a cleared load task
    assert counts["resent_batches"] == 2
    assert_exactly_once(env, 40)
    assert {r["status"] for r in env.row_status("receipts").values()} == {"loaded"}


@pytest.mark.parametrize("faults", [{"error_rate": 0.3}, {"storm_s": 2}], ids=["5xx-burst", "429-storm"])
def test_faults_lose_nothing(env: Env, faults: dict[str, Any]) -> None:
    seed_payments(env, hl_transactions(LOCATION, 45, payers=hl_payers(8, seed=6), seed=6, corpus=False))
    env.faults(env.qbo_url, paths=["/batch", "/query", "/cdc"], **faults)
    run_cycle(env, receipts)
    env.faults(env.qbo_url, error_rate=0, storm_s=0)
    run_cycle(env, receipts)
    assert_exactly_once(env, 45)
    assert {r["status"] for r in env.row_status("receipts").values()} == {"loaded"}


def test_two_overlapping_loads(env: Env) -> None:
    seed_payments(env, hl_transactions(LOCATION, 60, payers=hl_payers(20, seed=8), seed=8, corpus=False))
    run_cycle(env, receipts, steps=("extract", "transform"))
    jobs = [env.job("receipts", f"overlap{i}") for i in range(2)]
    errors: list[BaseException] = []

    def load(job: Any) -> None:
        try:
            receipts.load(job)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert_exactly_once(env, 60)
    assert len(qbo_all(env, "Customer")) == 20


def test_reconciliation_flags_a_receipt_whose_total_differs(env: Env) -> None:
    seed_payments(env, hl_transactions(LOCATION, 3, payers=hl_payers(2, seed=4), seed=4, corpus=False))
    counts = run_cycle(env, receipts)
    assert not any(r["mismatch"] for r in counts["reconciliation"])
    with db.connect(env.db_url) as conn:  # as if QBO had recomputed one receipt's total
        conn.execute("UPDATE sync.receipt SET qbo_total = qbo_total + 0.01 "
                     "WHERE source_id = (SELECT min(source_id) FROM sync.receipt WHERE receipt_id IS NOT NULL)")
        rows = receipts.reconciliation(conn, env.integration.id, counts["run_id"])
    assert [r["mismatch"] for r in rows] == [True]
    assert "MISMATCH" in receipts.render_reconciliation(rows)
