"""The benchmark harness's bookkeeping: metric shapes, merging, the utilisation measure, arguments."""

from __future__ import annotations

import argparse
import json

from bench.contacts_bench import per_second, window_utilisation
from bench.harness import call_arguments, merge_results, normalise
from bench.report import verdict


def test_normalise_accepts_nested_and_flat_metrics():
    nested, extras = normalise("contacts", {
        "metrics": {"contacts.rate": {"value": 0.95, "unit": "ratio", "notes": "n"}},
        "scenario_size": 10, "series": {"t": [1]},
    }, "2026-01-02")
    assert nested == {"contacts.rate": {"value": 0.95, "unit": "ratio", "scenario_size": 10,
                                        "date": "2026-01-02", "notes": "n"}}
    assert extras == {"scenario_size": 10, "series": {"t": [1]}}

    flat, extras = normalise("receipts", {"load_s": 3.5, "peak_mb": 12, "ok": True, "size": 50,
                                          "receipts.upserts_per_s": 7.0, "log": ["x"]}, "2026-01-02")
    assert flat["receipts.load_s"]["unit"] == "s" and flat["receipts.load_s"]["scenario_size"] == 50
    assert flat["receipts.peak_mb"]["unit"] == "MB"
    assert flat["receipts.upserts_per_s"]["unit"] == "per s"
    assert "receipts.ok" not in flat and "receipts.size" not in flat and extras["log"] == ["x"]


def test_merge_keeps_the_figures_of_scenarios_not_run(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"receipts.x": {"value": 1}, "contacts.y": {"value": 2}}))
    merged = merge_results({"contacts.y": {"value": 3}}, path)
    assert merged == {"contacts.y": {"value": 3}, "receipts.x": {"value": 1}}
    assert json.loads(path.read_text()) == merged


def test_utilisation_of_a_client_that_fills_every_window_is_one():
    # 100 per 2 s: a burst of 100 at the start of each of five windows.
    times = [w * 2.0 + i * 0.003 for w in range(5) for i in range(100)]
    assert window_utilisation(times, 2.0, 100) == 1.0
    # the same requests at half the pace: one window in two left empty
    assert abs(window_utilisation([t * 2 for t in times], 2.0, 100) - 500 / 900) < 1e-9
    assert per_second([10.0, 10.5, 12.1], 10.0) == [2, 0, 1]


def test_run_gets_only_the_options_it_names():
    args = argparse.Namespace(window_s=2.0, contacts=500, rows_100k=0, receipts=40, qbo_window_s=None)

    def receipts_run(database_url, transactions=1000, window_s=6.0):
        return {}

    def contacts_run(db_url, contacts=10, window_s=10.0, transform_rows=0):
        return {}

    # the HighLevel window is not QuickBooks' window
    assert call_arguments(receipts_run, "postgresql://x", args, "receipts") == {
        "database_url": "postgresql://x", "transactions": 40}
    args.qbo_window_s = 3.0
    assert call_arguments(receipts_run, "postgresql://x", args, "receipts")["window_s"] == 3.0
    assert call_arguments(contacts_run, "postgresql://y", args, "contacts") == {
        "db_url": "postgresql://y", "contacts": 500, "window_s": 2.0, "transform_rows": 0}


def test_verdict():
    assert verdict(1.0, ("<=", 1.01)) == "**met**"
    assert verdict(0.8, (">=", 0.9)) == "**missed**"
    assert verdict(None, (">=", 0.9)) == "no figure"
