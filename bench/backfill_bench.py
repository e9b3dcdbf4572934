"""CSV backfill at scale: a QuickBooks customer export of a million rows through the reader, the
contacts transform and the quality checks (no database, no CRM: that part is bound by HighLevel's
budget, see the README's cost figures).

    python -m bench.backfill_bench --rows 1000000

A CSV in the shape of QBO's customer list export (title lines, ``Customer full name``, ``Phone
numbers`` with labels, ``Email``, ``Full name``, one-cell ``Billing address``, balances and notes)
is generated with Faker into a temporary folder: names, streets and cities drawn from Faker pools and
recombined, mostly US phones in the usual spellings, about 10 % foreign ones, 3 % with extensions
(read by the phone library), about 5 % rows the checks reject. Then, as the DAG's load does it,
minus the database and the CRM: the whole file is scanned once (encoding, structure, row count),
and read in chunks that are mapped to customer columns (csv_fields), turned into contacts
(contacts_transform.to_contacts) and checked (the contacts suite, Great Expectations on the rows the
column-wise checks flag plus a sample). Figures: rows per second over that whole path, and the
peak resident set of the process.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

try:
    import qbo_crm_sync  # noqa: F401
except ImportError:  # run from the repository root without the test runner's pythonpath
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from bench.contacts_transform_bench import _PeakRss  # noqa: E402
from emulators.seed_data import qbo_customer_export  # noqa: E402

TARGETS = {"backfill.csv_rows_per_s": (">=", 20_000), "backfill.csv_peak_rss_mb": ("<=", 1024)}
CHUNK = 50_000
def run(rows: int = 1_000_000, chunk: int = CHUNK) -> dict[str, Any]:
    import pandas as pd

    from qbo_crm_sync.flows.backfill.csv_fields import SeenIds, to_rows
    from qbo_crm_sync.flows.backfill.csv_reader import inspect, read_chunks, scan
    from qbo_crm_sync.flows.contacts_transform import to_contacts
    from qbo_crm_sync.quality.contacts import CONTACTS_SUITE
    from qbo_crm_sync.quality.runner import validate

    with tempfile.TemporaryDirectory(prefix="backfill-bench-") as folder:
        path = Path(folder) / "customers.csv"
        generated = time.perf_counter()
        qbo_customer_export(path, rows)
        generate_s = time.perf_counter() - generated
        size_mb = path.stat().st_size / 2**20
        # One-off costs a real run pays once per process: Great Expectations' import and setup.
        validate(to_contacts(pd.DataFrame({"source_id": ["1"], "raw": [{"DisplayName": "x"}]}), "loc"), CONTACTS_SUITE)

        stages = {"scan": 0.0, "map": 0.0, "transform": 0.0, "validate": 0.0}
        passed = rejected = repeats = 0
        with _PeakRss() as peak:
            started, cpu_started = time.perf_counter(), time.process_time()
            layout = scan(inspect(path)).layout
            stages["scan"] = time.perf_counter() - started
            seen = SeenIds()
            for raw in read_chunks(layout, chunk):
                t0 = time.perf_counter()
                mapped = to_rows(raw, layout, seen)
                t1 = time.perf_counter()
                contacts = to_contacts(mapped.frame, "bench-location")
                t2 = time.perf_counter()
                verdicts = validate(contacts, CONTACTS_SUITE)
                t3 = time.perf_counter()
                stages["map"] += t1 - t0
                stages["transform"] += t2 - t1
                stages["validate"] += t3 - t2
                passed += len(verdicts.passed)
                rejected += len(verdicts.rejected)
                repeats += len(mapped.repeats)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
    reading = elapsed - sum(stages.values())
    split = ", ".join(f"{k} {v:.1f} s" for k, v in stages.items())
    return {
        "scenario_size": rows,
        "metrics": {
            "backfill.csv_rows_per_s": {
                "value": round(rows / elapsed), "unit": "rows/s",
                "notes": f"{rows:,} rows ({size_mb:.0f} MB, QBO export shape) scanned, read in chunks of {chunk:,}, "
                         f"mapped, transformed and checked in {elapsed:.1f} s wall ({cpu:.1f} CPU s): {split}, "
                         f"reading {reading:.1f} s; {passed:,} passed, {rejected:,} rejected"},
            "backfill.csv_peak_rss_mb": {
                "value": round(peak.mb, 1), "unit": "MB",
                "notes": f"peak resident set of the process during the run ({peak.start_mb:.0f} MB before it, "
                         "Great Expectations loaded); the file is never held whole"},
        },
        "details": {"generate_s": round(generate_s, 1), "stages_s": {k: round(v, 2) for k, v in stages.items()},
                    "passed": passed, "rejected": rejected, "repeated": repeats},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=CHUNK)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.rows, args.chunk), indent=2))


if __name__ == "__main__":
    main()


REPORT_NOTES = """
**What made it fast enough.** The contacts transform as first written (per-row dict walks, a
phonenumbers parse per distinct phone, json.dumps per payload hash) and Great Expectations over every
row ran about 7,400 rows/s at 100k. What changed, keeping every verdict and reason: the CSV path hands
the transform flat columns instead of a dict per row; text is tidied once per distinct value; North
American numbers in their usual spellings are read to E.164 by one regular expression (the unit tests
hold it to the library's answers; other numbers still go through phonenumbers); payload hashes are
built column-wise (each distinct value's canonical JSON piece written once, only the hashing per row); and large batches are prefiltered by the
suite's own checks computed column-wise, Great Expectations then judging the rows they flag plus a
spread sample of a thousand others and having to agree row for row (else the whole batch goes to Great
Expectations). The file is scanned once before any chunk (encoding, structure, row count), which costs
a few seconds per million rows and is what lets a broken file fail before anything is written.

**What the CRM side costs** (not in these figures, see the README): about one HighLevel request per
contact written; at half the burst budget (50 per 10 s) a million new contacts take about 2.3 days of
sending, and the daily budget (200,000, less the 20,000 kept for the scheduled flows) makes it about
5.6 days.
"""
