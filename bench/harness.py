"""Runs the benchmark scenarios and keeps their figures: ``python -m bench`` (``make bench``).

A scenario is a module ``bench/<name>_bench.py`` with ``run(db_url, ...) -> dict``. Its answer
holds metrics either under ``"metrics"`` as ``{name: {"value", "unit", "notes"?, "scenario_size"?}}``
or flat (``{name: number}``); other keys (``series``, ``details``) feed the report only. A module
may declare ``TARGETS = {metric: (op, value)}``. Every run merges its metrics into
``bench/results.json`` (a scenario that was not run, or failed, keeps its last figures) and rewrites
``bench/REPORT.md`` and the charts from what is there.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"
SCENARIOS = ("contacts", "receipts", "invoices", "backfill")
_SIZE_PARAMS = ("transactions", "receipts", "size", "n", "count", "rows")
_DB_PARAMS = ("db_url", "database_url", "url")


@dataclass
class Outcome:
    name: str
    module: Any = None
    status: str = "not run"  # ok | failed | absent | not run
    error: str = ""
    elapsed_s: float = 0.0
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000, help="new QBO customers loaded into the CRM")
    parser.add_argument("--rows-100k", type=int, default=100_000,
                        help="rows for the contacts transform + validate timing (0 skips it)")
    parser.add_argument("--receipts", type=int, default=None,
                        help="CRM payments for the receipts scenario (default: the scenario's own)")
    parser.add_argument("--invoices", type=int, default=None,
                        help="CRM invoices for the invoices scenario, three changes each (default: the scenario's own)")
    parser.add_argument("--window-s", type=float, default=2.0,
                        help="HighLevel's 10 s burst window scaled down to this (the limit stays 100)")
    parser.add_argument("--qbo-window-s", type=float, default=None,
                        help="QuickBooks' 60 s window scaled down to this (default: the receipts scenario's own)")
    parser.add_argument("--backfill-rows", type=int, default=1_000_000,
                        help="rows of the generated QBO export for the CSV backfill scenario")
    parser.add_argument("--only", choices=SCENARIOS, help="run one scenario; the others keep their figures")
    return parser.parse_args(argv)


@contextmanager
def database() -> Iterator[tuple[str, str]]:
    """A migrated database and a description of it without credentials."""
    from qbo_crm_sync.store.migrate import migrate
    from tests.support import test_database

    url = os.environ.get("SYNC_BENCH_DATABASE_URL")
    if url:
        migrate(url)
        yield url, "SYNC_BENCH_DATABASE_URL"
        return
    where = ("a fresh database on SYNC_TEST_DATABASE_URL's server" if os.environ.get("SYNC_TEST_DATABASE_URL")
             else "an embedded PostgreSQL (pgserver) in a temporary directory")
    with test_database() as url:
        migrate(url)
        yield url, where


def load_scenario(name: str) -> Outcome:
    outcome = Outcome(name)
    try:
        outcome.module = importlib.import_module(f"bench.{name}_bench")
    except ModuleNotFoundError as exc:
        if exc.name == f"bench.{name}_bench":
            outcome.status = "absent"
            return outcome
        outcome.status, outcome.error = "failed", f"import: {type(exc).__name__}: {exc}"
    except Exception as exc:  # a broken scenario must not stop the others
        outcome.status, outcome.error = "failed", f"import: {type(exc).__name__}: {exc}"
    return outcome


def call_arguments(run: Any, db_url: str, args: argparse.Namespace, name: str) -> dict[str, Any]:
    """Pass each option a scenario's ``run`` names; its own defaults cover the rest."""
    params = inspect.signature(run).parameters
    wanted: dict[str, Any] = {}
    if name == "contacts":
        wanted |= {"contacts": args.contacts, "transform_rows": args.rows_100k, "window_s": args.window_s}
    elif name == "invoices":  # writes to QuickBooks (its window) and reads the CRM (HighLevel's)
        if args.invoices is not None:
            wanted["invoices"] = args.invoices
        if args.qbo_window_s is not None:
            wanted["window_s"] = args.qbo_window_s
        wanted["crm_window_s"] = args.window_s
    elif name == "backfill":
        wanted |= {"rows": args.backfill_rows}
    else:  # the receipts flow writes to QuickBooks: its window is QuickBooks' own
        if args.receipts is not None:
            wanted |= dict.fromkeys(_SIZE_PARAMS, args.receipts)
        if args.qbo_window_s is not None:
            wanted["window_s"] = args.qbo_window_s
    kwargs = {k: v for k, v in wanted.items() if k in params}
    db_param = next((p for p in _DB_PARAMS if p in params), None)
    if db_param:
        kwargs[db_param] = db_url
    return kwargs


def run_scenario(outcome: Outcome, db_url: str, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    try:
        answer = outcome.module.run(**call_arguments(outcome.module.run, db_url, args, outcome.name))
        outcome.metrics, outcome.extras = normalise(outcome.name, answer, today())
        outcome.status = "ok"
    except Exception as exc:  # report it, keep going with the next scenario
        outcome.status = "failed"
        outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.extras["traceback"] = traceback.format_exc(limit=8)
    outcome.elapsed_s = time.perf_counter() - started


def normalise(scenario: str, answer: dict[str, Any], date: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Split a scenario's answer into results.json entries and everything else."""
    if not isinstance(answer, dict):
        raise TypeError(f"{scenario}: run() answered {type(answer).__name__}, not a dict")
    size = answer.get("scenario_size", answer.get("size"))
    raw = answer.get("metrics") if isinstance(answer.get("metrics"), dict) else answer
    metrics: dict[str, dict[str, Any]] = {}
    extras = {k: v for k, v in answer.items() if k != "metrics"} if raw is not answer else {}
    for name, entry in raw.items():
        if name in ("size", "scenario_size"):
            continue
        if isinstance(entry, dict) and "value" in entry:
            value, unit, notes = entry["value"], entry.get("unit", ""), entry.get("notes", "")
            entry_size = entry.get("scenario_size", size)
        elif isinstance(entry, int | float) and not isinstance(entry, bool):
            value, unit, notes, entry_size = entry, _unit_of(name), "", size
        else:
            if raw is answer:
                extras[name] = entry
            continue
        full = name if "." in name else f"{scenario}.{name}"
        metrics[full] = {"value": value, "unit": unit, "scenario_size": entry_size, "date": date, "notes": notes}
    return metrics, extras


def _unit_of(name: str) -> str:
    for suffix, unit in (("_per_s", "per s"), ("_ms", "ms"), ("_mb", "MB"), ("_s", "s"), ("_pct", "%")):
        if name.endswith(suffix) or f"{suffix}_" in name:
            return unit
    return "ratio" if "utilisation" in name or "ratio" in name else ""


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def merge_results(new: dict[str, dict[str, Any]], path: Path = RESULTS) -> dict[str, dict[str, Any]]:
    try:
        old = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        old = {}
    merged = {**old, **new}
    path.write_text(json.dumps(dict(sorted(merged.items())), indent=2, ensure_ascii=False) + "\n")
    return merged


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Stopped from outside: unwind, so the emulator processes and the scratch database go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    names = [args.only] if args.only else list(SCENARIOS)
    outcomes = [load_scenario(name) for name in names]
    runnable = [o for o in outcomes if o.module is not None]
    where = "none needed"
    if runnable:
        with database() as (db_url, where):
            for outcome in runnable:
                say(f"running {outcome.name} …")
                run_scenario(outcome, db_url, args)
                say(f"{outcome.name}: {outcome.status} in {outcome.elapsed_s:.0f} s"
                    + (f" ({outcome.error})" if outcome.error else ""))
                if outcome.status == "failed":
                    print(outcome.extras.get("traceback", ""), file=sys.stderr)
    results = merge_results({k: v for o in outcomes for k, v in o.metrics.items()})

    from bench import report

    report.write(results, outcomes, args, where)
    for name, entry in results.items():
        say(f"  {name:<42} {entry['value']!s:>12} {entry['unit']:<18} ({entry['date']})")
    say(f"wrote {RESULTS.relative_to(BENCH_DIR.parent)} and {report.REPORT.relative_to(BENCH_DIR.parent)}")
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def say(text: str) -> None:
    print(text, flush=True)
