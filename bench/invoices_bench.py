"""Invoices at scale: 5,000 CRM invoices through three changes each against QuickBooks' real limits.

Both emulators run as processes on free ports; an integration is connected through the real OAuth code
flow. ``invoices`` invoices (1 to 4 items, some taxed, some tax-inclusive, some discounted) from
``contacts`` CRM contacts are seeded as sent, issued over the last 90 days (half of the contacts are
QBO customers already). Each goes through three changes made in the CRM through its API, a flow
cycle after each: sent (the invoice is created in QBO), partially paid (40 %: one QBO payment), then
paid in full (a second payment) for half of them, refunded and voided for the other half (both
payments voided, then the invoice). A steady cycle with every invoice open in between measures the
CRM reads of a cycle with nothing new.

The QBO emulator enforces QuickBooks' limits (500 requests and 40 batch requests per window, 10 per
second, 10 in flight) with the window shortened from 60 s to ``window_s``; the HighLevel emulator its
100 requests per window, shortened from 10 s to ``crm_window_s``. The clients are told the same
windows, so the ratio of work to budget is unchanged. QBO figures come from the QBO emulator's
request log (what Intuit would meter); the CRM reads are the requests the flow's extract made, which
the CRM emulator's log confirms.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests

LOCATION = "locBenchInvoices000001"
REAL_WINDOW_S = 60.0
REAL_CRM_WINDOW_S = 10.0
BATCH_LIMIT = 40
SEED_CHUNK = 1_000
USER_THREADS = 16

TARGETS = {
    "invoices.qbo_requests_per_change": ("<=", 0.1),
    "invoices.qbo_reads_per_change": ("<=", 0.02),
    "invoices.throttle_utilisation": (">=", 0.90),
}

REPORT_NOTES = """
The CRM reads of a cycle follow ``max(1, ceil(issued since the watermark's day - 1 / 100)) + Σ over
sent, payment_processing and partially_paid max(1, ceil(open / 100)) + T`` for the T invoices that left
the open listings: one read each up to 6, beyond that at most ``min(T, 2 + Σ over paid and void
ceil(issued since the oldest of them / 100))`` (plus one per invoice those listings do not show); and,
once per ``refund_sweep_hours``, one listing each of paid and void invoices in the look-back.

Throttle utilisation counts, for each of the three loads, the batch requests QBO accepted in the
load's whole windows (from its first accepted batch request) against the batch limit of those
windows: the last, partial window of a load is where it ran out of work, not where it idled. Counted
the receipts scenario's way (each load's whole span, a full window at each end) the same run gives the
lower figure in the metric's notes: with three loads of 167 to 250 batch requests each, every load's
last partial window weighs on it, and no sender could reach 0.9 that way (167 requests fill at most
167 / (40 × 5) = 0.84 of five windows).
"""


def run(db_url: str | None = None, invoices: int = 5_000, contacts: int = 1_000, window_s: float = 6.0,
        crm_window_s: float = 2.0) -> dict[str, Any]:
    """Run the scenario on a migrated database (a fresh one when ``db_url`` is None)."""
    from tests.support import emulator_process, test_database

    if db_url is None:
        from qbo_crm_sync.store.migrate import migrate

        with test_database() as url:
            migrate(url)
            return run(url, invoices, contacts, window_s, crm_window_s)
    with emulator_process("emulators.quickbooks", "--throttle-window-s", str(window_s)) as qbo_url, \
            emulator_process("emulators.highlevel", "--throttle-window-s", str(crm_window_s)) as hl_url:
        measured = _scenario(db_url, qbo_url, hl_url, invoices, contacts, window_s, crm_window_s)
    return _metrics(measured, invoices, contacts, window_s, crm_window_s)


class _World:
    """The two emulators and the connected integration, with the CRM user's actions."""

    def __init__(self, db_url: str, qbo_url: str, hl_url: str, window_s: float, crm_window_s: float) -> None:
        from cryptography.fernet import Fernet

        from qbo_crm_sync.hooks.highlevel import HighLevelHook
        from qbo_crm_sync.local.sandbox import Sandbox, highlevel_settings, quickbooks_settings

        self.crm_window_s = crm_window_s
        hl_settings = highlevel_settings(hl_url, window_s=crm_window_s)
        self.box = Sandbox.connect(db_url, qbo_url, hl_url, LOCATION, Fernet.generate_key().decode(),
                                   qbo_settings=quickbooks_settings(qbo_url, window_s=window_s),
                                   hl_settings=hl_settings)
        self.user = HighLevelHook(LOCATION, settings=dataclasses.replace(self.box.hl_settings,
                                                                         requests_per_window=10**6))

    def crm_budget(self, burst: int) -> None:
        requests.post(f"{self.box.hl_url}/_admin/config", json={"burst_limit": burst}, timeout=10).raise_for_status()

    def act(self, action: Any, ids: list[str]) -> float:
        """The CRM user's clicks, many at once (the CRM's budget is lifted meanwhile, then restored)."""
        started = time.perf_counter()
        self.crm_budget(10**6)
        with ThreadPoolExecutor(USER_THREADS) as pool:
            list(pool.map(action, ids))
        self.crm_budget(100)
        time.sleep(self.crm_window_s)  # the user's clicks leave the sync's window
        return time.perf_counter() - started

    def cycle(self, label: str) -> dict[str, Any]:
        from qbo_crm_sync.flows import invoices as flow

        box = self.box
        box.clear_requests(box.qbo_url)
        box.clear_requests(box.hl_url)
        job = box.job(flow.FLOW, label)
        counts, steps = box.run_cycle(flow, label=label, job=job)
        qbo_log = [r for r in box.requests_log(box.qbo_url) if r["path"].startswith("/v3/company/")]
        crm_log = [r for r in box.requests_log(box.hl_url, "/invoices") if r["method"] == "GET"]
        return {"counts": {k: v for k, v in counts.items() if isinstance(v, int | float | str)},
                "steps": steps, "qbo_log": qbo_log, "crm_reads_logged": len(crm_log),
                "load_window": _load_window(qbo_log)}


def _load_window(log: list[dict[str, Any]]) -> list[float]:
    return sorted(r["t"] for r in log if r["path"].endswith("/batch") and r["status"] == 200)


def _scenario(db_url: str, qbo_url: str, hl_url: str, count: int, contacts: int, window_s: float,
              crm_window_s: float) -> dict[str, Any]:
    from emulators.seed_data import hl_invoices, hl_payers

    world = _World(db_url, qbo_url, hl_url, window_s, crm_window_s)
    box = world.box
    seed_started = time.perf_counter()
    payers = hl_payers(contacts, seed=31)
    existing, seen = [], set()
    for name, email in payers[: contacts // 2]:
        display = name if name.casefold() not in seen else f"{name} {email.split('@')[0]}"
        seen.add(display.casefold())
        existing.append({"DisplayName": display, "PrimaryEmailAddr": {"Address": email}})
    box.seed_qbo("Customer", existing, timeout=300)
    today = date.today()
    days = [(today - timedelta(days=n)).isoformat() for n in range(90)]
    rows = hl_invoices(LOCATION, count, payers=payers, seed=31, issue_dates=days)
    ids: list[str] = []
    for start in range(0, len(rows), SEED_CHUNK):
        ids += box.seed_crm("invoices", rows[start:start + SEED_CHUNK], timeout=300)
    seed_s = time.perf_counter() - seed_started

    cycles: dict[str, dict[str, Any]] = {}
    cycles["sent"] = world.cycle("bench_invoices_sent")
    cycles["steady"] = world.cycle("bench_invoices_steady")  # every invoice open, nothing new
    window_start = str(cycles["steady"]["counts"].get("window_start"))
    issued_in_window = sum(1 for r in rows if str(r.get("issueDate")) >= window_start)

    totals = {i["_id"]: Decimal(str(i["total"])) for i in box.crm("invoices")}
    user_s = world.act(lambda sid: world.user.record_invoice_payment(
        sid, (totals[sid] * Decimal("0.4")).quantize(Decimal("0.01"))), ids)
    cycles["partially_paid"] = world.cycle("bench_invoices_partial")

    paid, voided = ids[1::2], ids[0::2]

    def refund_and_void(sid: str) -> None:
        for txn in txns_of.get(sid, []):
            requests.post(f"{hl_url}/_admin/transactions/{txn}/refund", json={}, timeout=30).raise_for_status()
        world.user.void_invoice(sid)

    txns_of: dict[str, list[str]] = {}
    for txn in box.crm("transactions"):
        txns_of.setdefault(str(txn.get("entityId")), []).append(txn["_id"])
    user_s += world.act(lambda sid: world.user.record_invoice_payment(sid), paid)
    user_s += world.act(refund_and_void, voided)
    cycles["paid_or_voided"] = world.cycle("bench_invoices_final")
    cycles["after"] = world.cycle("bench_invoices_after")  # the transitions are not read again

    realm = requests.get(f"{qbo_url}/_admin/state", timeout=30).json()["realms"][box.realm]
    return {"cycles": cycles, "seed_s": seed_s, "user_s": user_s, "qbo_counts": realm["counts"],
            "check": _world_check(box, ids), "issued_in_window": issued_in_window}


def _world_check(box: Any, ids: list[str]) -> dict[str, Any]:
    """What QBO holds in the end, against the CRM: exactly once, to the cent."""
    crm = {i["_id"]: i for i in box.crm("invoices")}
    invoices = [i for i in box.qbo("Invoice") if "HighLevel invoice " in str(i.get("PrivateNote"))]
    payments = [p for p in box.qbo("Payment") if "HighLevel invoice " in str(p.get("PrivateNote"))]
    by_sid = {i["PrivateNote"].split("HighLevel invoice ")[1].split()[0]: i for i in invoices}
    paid: dict[str, Decimal] = {}
    for p in payments:
        sid = p["PrivateNote"].split("HighLevel invoice ")[1].split()[0]
        paid[sid] = paid.get(sid, Decimal(0)) + Decimal(str(p["TotalAmt"]))
    wrong = 0
    for sid in ids:
        invoice, now = by_sid.get(sid), crm[sid]
        if invoice is None:
            wrong += 1
        elif now["status"] == "void":
            wrong += Decimal(str(invoice["TotalAmt"])) != 0 or paid.get(sid, Decimal(0)) != 0
        else:
            wrong += (Decimal(str(invoice["TotalAmt"])) != Decimal(str(now["total"]))
                      or paid.get(sid, Decimal(0)) != Decimal(str(now["amountPaid"]))
                      or Decimal(str(invoice["Balance"])) != 0)
    return {"qbo_invoices": len(invoices), "distinct": len(by_sid), "qbo_payments": len(payments),
            "invoices_not_as_in_the_crm": int(wrong)}


def _utilisation(windows: list[list[float]], window_s: float) -> float:
    """Batch budget used while each load had batches to send: from a load's first accepted batch
    request, its whole windows (the last, partial one is where it ran out of work, not where it
    idled) against the limit of each; summed over the loads. 1.0: every whole window full."""
    sent = ceiling = 0
    for times in windows:
        if len(times) < 2:
            continue
        whole = int((max(times) - min(times)) // window_s)
        sent += sum(1 for t in times if t < min(times) + whole * window_s)
        ceiling += BATCH_LIMIT * whole
    return sent / ceiling if ceiling else 0.0


def _span_utilisation(windows: list[list[float]], window_s: float) -> float:
    """The receipts scenario's figure: accepted batch requests against the most the sliding limit admits
    over each load's span, a full window at each end (so a load's last, partial window counts as idle)."""
    sent = sum(len(w) for w in windows)
    ceiling = sum(BATCH_LIMIT * ((max(w) - min(w)) / window_s + 1) for w in windows if len(w) >= 2)
    return sent / ceiling if ceiling else 0.0


def _metrics(measured: dict[str, Any], count: int, contacts: int, window_s: float,
             crm_window_s: float) -> dict[str, Any]:
    check = measured["check"]
    if check["invoices_not_as_in_the_crm"] or check["distinct"] != count or check["qbo_invoices"] != count:
        raise AssertionError(f"QuickBooks does not hold the CRM's invoices as they are: {check}")
    cycles = measured["cycles"]
    changing = [cycles[k] for k in ("sent", "partially_paid", "paid_or_voided")]
    api = [r for c in changing for r in c["qbo_log"]]
    reads = [r for r in api if r["method"] == "GET"]
    batches = [r for r in api if r["path"].endswith("/batch")]
    changes = 3 * count
    steady = cycles["steady"]["counts"]
    issued = measured["issued_in_window"]
    expected = max(1, math.ceil(issued / 100)) + sum(max(1, math.ceil(n / 100)) for n in (count, 0, 0))
    scale = f"QuickBooks' {BATCH_LIMIT} batch requests per {REAL_WINDOW_S:g} s scaled to {BATCH_LIMIT} per {window_s:g} s"
    per_cycle = {k: {"crm_reads": c["counts"].get("crm_reads"), "crm_reads_logged": c["crm_reads_logged"],
                     "left_open_listings": c["counts"].get("transitions"),
                     "qbo_requests": len(c["qbo_log"]), "qbo_batches": len([r for r in c["qbo_log"]
                                                                            if r["path"].endswith("/batch")]),
                     "loaded": c["counts"].get("loaded"), "failed": c["counts"].get("failed"),
                     "load_s": round(c["steps"]["load"], 2), "extract_s": round(c["steps"]["extract"], 2)}
                 for k, c in cycles.items()}
    metrics = {
        "invoices.qbo_requests_per_change": {
            "value": round(len(api) / changes, 4), "unit": "requests/change", "scenario_size": count,
            "notes": f"{len(api)} QBO API requests (429s and retries included) for {changes} changes of {count} "
                     f"invoices ({len(batches)} batch, {len(reads)} metered reads, "
                     f"{len(api) - len(batches) - len(reads)} other); QBO ends with {check['qbo_invoices']} invoices "
                     f"and {check['qbo_payments']} payments, every invoice's total, paid amount or void as in the CRM"},
        "invoices.qbo_reads_per_change": {
            "value": round(len(reads) / changes, 5), "unit": "reads/change", "scenario_size": count,
            "notes": f"{len(reads)} queries/CDC/reads for {changes} changes ({contacts} contacts, {contacts // 2} "
                     "already QBO customers; SyncTokens read before the voids)"},
        "invoices.throttle_utilisation": {
            "value": round(_utilisation([c["load_window"] for c in changing], window_s), 4), "unit": "ratio",
            "scenario_size": count,
            "notes": f"{sum(len(c['load_window']) for c in changing)} accepted batch requests of the three loads, in "
                     f"each load's whole windows against the batch ceiling ({scale}); counted over each load's span "
                     f"with a full window at each end, as the receipts scenario does, "
                     f"{_span_utilisation([c['load_window'] for c in changing], window_s):.3f}"},
        "invoices.crm_reads_per_cycle": {
            "value": steady.get("crm_reads"), "unit": "requests/cycle", "scenario_size": count,
            "notes": f"a cycle with {count} open invoices (all sent; {issued} issued in the new-invoice window's "
                     f"two days) and nothing new (formula: {expected}); the cycle in which "
                     f"{per_cycle['paid_or_voided']['left_open_listings']} invoices left the open listings (paid or "
                     f"voided) read {per_cycle['paid_or_voided']['crm_reads']} (the paid and void listings instead "
                     f"of one read each), the next one {per_cycle['after']['crm_reads']}"},
        "invoices.load_elapsed_s": {
            "value": round(sum(c["steps"]["load"] for c in changing), 2), "unit": "s", "scenario_size": count,
            "notes": f"the three load steps' wall clock; at the real 60 s window about "
                     f"{sum(c['steps']['load'] for c in changing) * REAL_WINDOW_S / window_s / 60:.0f} min"},
    }
    return {
        **{name: m["value"] for name, m in metrics.items()},
        "metrics": metrics,
        "targets": TARGETS,
        "scenario_size": count,
        "details": {
            "date": datetime.now(UTC).date().isoformat(), "invoices": count, "contacts": contacts,
            "changes": changes, "window_s": window_s, "real_window_s": REAL_WINDOW_S,
            "crm_window_s": crm_window_s, "real_crm_window_s": REAL_CRM_WINDOW_S,
            "cycles": per_cycle, "seed_s": round(measured["seed_s"], 2), "user_actions_s": round(measured["user_s"], 2),
            "qbo_counts": measured["qbo_counts"], "check": measured["check"],
            "throttled_429": sum(1 for r in api if r["status"] == 429),
        },
    }


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=5_000)
    parser.add_argument("--contacts", type=int, default=1_000)
    parser.add_argument("--window-s", type=float, default=6.0)
    parser.add_argument("--crm-window-s", type=float, default=2.0)
    args = parser.parse_args(argv)
    result = run(None, args.invoices, args.contacts, args.window_s, args.crm_window_s)
    print(json.dumps({k: v["value"] for k, v in result["metrics"].items()} | {"details": result["details"]},
                     indent=2, default=str))


if __name__ == "__main__":
    main()
