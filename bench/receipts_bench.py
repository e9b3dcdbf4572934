"""Receipts at scale: CRM payments → QBO sales receipts against QuickBooks' real limits.

Both emulators run as processes on free ports; an integration is connected through the real OAuth
code flow. ``transactions`` live payments from ``contacts`` CRM contacts are seeded into HighLevel;
half of those contacts already exist as QBO customers. The QBO emulator enforces QuickBooks'
limits (500 requests and 40 batch requests per window, 10 in flight) with the window shortened from
60 s to ``window_s`` (the client is told the same window, so the ratio of work to budget is
unchanged). One receipts cycle runs the flow's steps in order, as the DAG's tasks would.

Figures come from the QBO emulator's request log, i.e. what Intuit would meter: every request that
reached it, when, and what it answered.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import requests

LOCATION = "locBenchReceipts000001"
REAL_WINDOW_S = 60.0
BATCH_LIMIT = 40  # batch requests per window (QuickBooks: 40 per minute per realm)
REQUEST_LIMIT = 500
SEED_CHUNK = 2_000
SWEEP_HOURS = 6  # the refund look-back's default period

TARGETS = {
    "receipts.qbo_requests_per_receipt": ("<=", 0.05),
    "receipts.qbo_reads_per_receipt": ("<=", 0.01),
    "receipts.throttle_utilisation": (">=", 0.90),
}


def run(db_url: str | None = None, transactions: int = 10_000, contacts: int = 2_000,
        window_s: float = 6.0) -> dict[str, Any]:
    """Run the scenario on a migrated database (a fresh one when ``db_url`` is None)."""
    from tests.support import emulator_process, test_database

    if db_url is None:
        from qbo_crm_sync.store.migrate import migrate

        with test_database() as url:
            migrate(url)
            return run(url, transactions, contacts, window_s)
    with emulator_process("emulators.quickbooks", "--throttle-window-s", str(window_s)) as qbo_url, \
            emulator_process("emulators.highlevel") as hl_url:
        load = _scenario(db_url, qbo_url, hl_url, transactions, contacts, window_s)
    return _metrics(load, transactions, contacts, window_s)


def _scenario(db_url: str, qbo_url: str, hl_url: str, transactions: int, contacts: int,
              window_s: float) -> dict[str, Any]:
    from cryptography.fernet import Fernet

    from emulators.seed_data import hl_payers, hl_transactions
    from qbo_crm_sync.flows import receipts as flow
    from qbo_crm_sync.local.sandbox import Sandbox, quickbooks_settings

    box = Sandbox.connect(db_url, qbo_url, hl_url, LOCATION, Fernet.generate_key().decode(),
                          qbo_settings=quickbooks_settings(qbo_url, window_s=window_s))

    seed_started = time.perf_counter()
    payers = hl_payers(contacts, seed=21)
    existing, seen = [], set()
    for name, email in payers[: contacts // 2]:
        display = name if name.casefold() not in seen else f"{name} {email.split('@')[0]}"
        seen.add(display.casefold())
        existing.append({"DisplayName": display, "PrimaryEmailAddr": {"Address": email}})
    box.seed_qbo("Customer", existing, timeout=300)
    rows = hl_transactions(LOCATION, transactions, payers=payers, seed=21, corpus=False)
    for start in range(0, len(rows), SEED_CHUNK):
        box.seed_crm("transactions", rows[start:start + SEED_CHUNK], timeout=300)
    seed_s = time.perf_counter() - seed_started

    job = box.job(flow.FLOW, "bench_receipts")
    box.clear_requests(qbo_url)
    counts, steps = box.run_cycle(flow, label="bench_receipts", job=job)
    qbo_state = requests.get(f"{qbo_url}/_admin/state", timeout=30).json()["realms"][box.realm]["counts"]
    qbo_log = box.requests_log(qbo_url)

    # The refund look-back once every receipt exists: one sweep re-reads the days of every payment
    # still open to refunds, and that is what it costs in CRM reads.
    from qbo_crm_sync.flows.receipts.extract import refund_sweep

    box.clear_requests(hl_url)
    sweep_started = time.perf_counter()
    sweep = refund_sweep(box.job(flow.FLOW, "bench_refund_sweep"))
    sweep["seconds"] = time.perf_counter() - sweep_started
    sweep["crm_reads"] = box.requests_to(hl_url, "/payments/transactions")
    return {"counts": counts, "steps": steps, "seed_s": seed_s, "log": qbo_log, "sweep": sweep,
            "qbo_counts": qbo_state, "hook_stats": job.qbo.stats.as_dict()}


def batch_utilisation(times: list[float], window_s: float, limit: int) -> float:
    """Accepted batch requests over [first, last] against the most a sliding limit admits there:
    ``limit * (span / window_s + 1)`` (a full window at each end), so 1.0 means every window full."""
    if len(times) < 2:
        return 0.0
    span = max(times) - min(times)
    return len(times) / (limit * (span / window_s + 1))


def _metrics(load: dict[str, Any], transactions: int, contacts: int, window_s: float) -> dict[str, Any]:
    counts, log = load["counts"], load["log"]
    api = [r for r in log if r["path"].startswith("/v3/company/")]
    reads = [r for r in api if r["method"] == "GET"]  # queries, CDC and reads: what Intuit meters
    batches = [r for r in api if r["path"].endswith("/batch")]
    accepted = sorted(r["t"] for r in batches if r["status"] == 200)
    loaded = int(counts.get("loaded", 0))
    scale = f"QuickBooks' {BATCH_LIMIT} batch requests per {REAL_WINDOW_S:g} s scaled to {BATCH_LIMIT} per {window_s:g} s"
    metrics = {
        "receipts.qbo_requests_per_receipt": {
            "value": round(len(api) / loaded, 4) if loaded else None, "unit": "requests/receipt",
            "scenario_size": transactions,
            "notes": f"{len(api)} QBO API requests (429s and retries included) for {loaded} receipts "
                     f"({len(batches)} batch, {len(reads)} metered reads, {len(api) - len(batches) - len(reads)} other)",
        },
        "receipts.qbo_reads_per_receipt": {
            "value": round(len(reads) / loaded, 5) if loaded else None, "unit": "reads/receipt",
            "scenario_size": transactions,
            "notes": f"{len(reads)} queries/CDC/reads for {loaded} receipts and {contacts} contacts "
                     f"({contacts // 2} already QBO customers)",
        },
        "receipts.throttle_utilisation": {
            "value": round(batch_utilisation(accepted, window_s, BATCH_LIMIT), 4), "unit": "ratio",
            "scenario_size": transactions,
            "notes": f"{len(accepted)} accepted batch requests over their span against the batch ceiling ({scale})",
        },
        "receipts.refund_lookback_crm_reads_per_day": {
            "value": load["sweep"]["crm_reads"] * 24 / SWEEP_HOURS, "unit": "CRM reads/day",
            "scenario_size": loaded,
            "notes": f"one look-back sweep over {loaded} receipted payments read {load['sweep'].get('refund_sweep_read')} "
                     f"transactions in {load['sweep']['crm_reads']} CRM requests ({load['sweep']['seconds']:.1f} s); "
                     f"a sweep every {SWEEP_HOURS:g} h (the default refund_sweep_hours) makes "
                     f"{24 / SWEEP_HOURS:g} a day, of HighLevel's 200,000 per day",
        },
        "receipts.load_elapsed_s": {
            "value": round(load["steps"]["load"], 2), "unit": "s", "scenario_size": transactions,
            "notes": f"load step wall clock; at the real 60 s window about "
                     f"{load['steps']['load'] * REAL_WINDOW_S / window_s / 60:.0f} min",
        },
    }
    return {
        **{name: m["value"] for name, m in metrics.items()},
        "metrics": metrics,
        "targets": TARGETS,
        "scenario_size": transactions,
        "details": {
            "date": datetime.now(UTC).date().isoformat(),
            "transactions": transactions, "contacts": contacts, "existing_customers": contacts // 2,
            "window_s": window_s, "real_window_s": REAL_WINDOW_S, "window_scale": REAL_WINDOW_S / window_s,
            "counts": {k: v for k, v in counts.items() if isinstance(v, int | float | str)},
            "steps_s": {k: round(v, 3) for k, v in load["steps"].items()},
            "elapsed_s": round(sum(load["steps"].values()), 2),
            "seed_s": round(load["seed_s"], 2),
            "qbo_counts": load["qbo_counts"],
            "hook_stats": load["hook_stats"],
            "throttled_429": sum(1 for r in api if r["status"] == 429),
        },
    }


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=2_000)
    parser.add_argument("--window-s", type=float, default=6.0)
    args = parser.parse_args(argv)
    result = run(None, args.transactions, args.contacts, args.window_s)
    print(json.dumps({k: v["value"] for k, v in result["metrics"].items()} | {"details": result["details"]},
                     indent=2, default=str))


if __name__ == "__main__":
    main()
