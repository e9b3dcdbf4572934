"""bench/REPORT.md and its chart, written from bench/results.json and this run's outcomes."""

from __future__ import annotations

import argparse
import inspect
import operator
import os
import platform
from pathlib import Path
from typing import Any

import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPORT = BENCH_DIR / "REPORT.md"
CONTACTS_CHART = BENCH_DIR / "contacts_throughput.png"
_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}


def write(results: dict[str, dict[str, Any]], outcomes: list[Any], args: argparse.Namespace, where: str) -> None:
    by_name = {o.name: o for o in outcomes}
    contacts = by_name.get("contacts")
    if contacts is not None and contacts.status == "ok" and contacts.extras.get("series"):
        contacts_chart(contacts.extras["series"], CONTACTS_CHART)
    REPORT.write_text(render(results, outcomes, args, where))


def targets_of(outcomes: list[Any]) -> dict[str, tuple[str, float]]:
    found: dict[str, tuple[str, float]] = {}
    for o in outcomes:
        found |= getattr(o.module, "TARGETS", None) or {}
        found |= o.extras.get("targets") or {}
    return {k: (str(v[0]), float(v[1])) for k, v in found.items()}


def verdict(value: Any, target: tuple[str, float] | None) -> str:
    if target is None:
        return "no target"
    if not isinstance(value, int | float):
        return "no figure"
    return "**met**" if _OPS[target[0]](value, target[1]) else "**missed**"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    return (f"{os.cpu_count()} cores ({cpu}), {memory:.1f} GiB memory, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "—" if value is None else str(value)


def render(results: dict[str, dict[str, Any]], outcomes: list[Any], args: argparse.Namespace, where: str) -> str:
    from bench.harness import SCENARIOS, load_scenario

    # Describe every scenario with figures, not only those run this time.
    known = {o.name: o for o in outcomes}
    for name in SCENARIOS:
        if name not in known and any(k.startswith(f"{name}.") for k in results):
            known[name] = load_scenario(name)
    targets = targets_of(list(known.values()))
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); the figures are also in `bench/results.json`.",
        f"Machine: {machine()}. Database: {where}.",
        "",
        f"Options of the last run: `{_options(args)}`.",
        "",
        "## Targets",
        "",
        "| metric | value | unit | target | | size | date |",
        "|---|---:|---|---|---|---:|---|",
    ]
    for name, entry in results.items():
        target = targets.get(name)
        shown = f"{target[0]} {target[1]:g}" if target else ""
        lines.append(f"| `{name}` | {_fmt(entry['value'])} | {entry['unit']} | {shown} | "
                     f"{verdict(entry['value'], target) if target else ''} | {_fmt(entry['scenario_size'])} | "
                     f"{entry['date']} |")
    lines.append("")
    for name, outcome in known.items():
        lines += _scenario_section(name, outcome, results)
    return "\n".join(lines).rstrip() + "\n"


def _options(args: argparse.Namespace) -> str:
    shown = [f"--contacts {args.contacts}", f"--rows-100k {args.rows_100k}", f"--window-s {args.window_s:g}"]
    if args.receipts is not None:
        shown.append(f"--receipts {args.receipts}")
    if getattr(args, "invoices", None) is not None:
        shown.append(f"--invoices {args.invoices}")
    if args.qbo_window_s is not None:
        shown.append(f"--qbo-window-s {args.qbo_window_s:g}")
    if args.only:
        shown.append(f"--only {args.only}")
    return " ".join(shown)


def _scenario_section(name: str, outcome: Any, results: dict[str, dict[str, Any]]) -> list[str]:
    lines = [f"## {name}", ""]
    if outcome.module is not None and outcome.module.__doc__:
        lines += [inspect.cleandoc(outcome.module.__doc__), ""]
    if outcome.status == "failed":
        lines += [f"**The last run failed**: `{outcome.error}`. The figures below are from earlier runs.", ""]
    elif outcome.status == "absent":
        lines += ["This scenario is not present in this checkout.", ""]
    elif outcome.status == "ok":
        lines += [f"Last run took {outcome.elapsed_s:.0f} s.", ""]
    notes = [(k, v) for k, v in results.items() if k.startswith(f"{name}.") and v.get("notes")]
    if notes:
        lines += [f"- `{k}`: {v['notes']}." for k, v in notes] + [""]
    extra = getattr(outcome.module, "REPORT_NOTES", "")
    if extra:
        lines += [inspect.cleandoc(extra), ""]
    if name == "contacts" and CONTACTS_CHART.exists():
        lines += [f"![CRM contact writes against the throttle ceiling]({CONTACTS_CHART.name})", ""]
    return lines


def contacts_chart(series: dict[str, Any], path: Path) -> None:
    """Contact writes (creates, updates by id) the CRM accepted, per window and in the sliding window, against HighLevel's ceiling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    window_s, limit = float(series["window_s"]), int(series["limit"])
    accepted, throttled = series["accepted_t"], series["throttled_t"]
    fig, (rate_ax, total_ax) = plt.subplots(2, 1, figsize=(10, 7), sharex=True, height_ratios=(3, 2))

    buckets = [0] * (int(accepted[-1] // window_s) + 1 if accepted else 0)
    for t in accepted:
        buckets[int(t // window_s)] += 1
    rate_ax.bar([i * window_s for i in range(len(buckets))], buckets, width=window_s * 0.9, align="edge",
                color="#c6dbef", label=f"writes in each {window_s:g} s slice")
    sliding_t, sliding_n = _sliding_count(accepted, window_s)
    rate_ax.plot(sliding_t, sliding_n, color="#08519c", lw=1.2, label=f"writes in the last {window_s:g} s")
    rate_ax.axhline(limit, color="#cb181d", ls="--", lw=1.2, label=f"ceiling: {limit} per {window_s:g} s")
    if throttled:
        rate_ax.plot(throttled, [limit * 1.05] * len(throttled), "x", color="#cb181d", label="429 answers")
    rate_ax.set_ylabel(f"requests per {window_s:g} s")
    rate_ax.set_ylim(0, limit * 1.3)
    rate_ax.legend(loc="lower center", fontsize=8, ncol=2)
    rate_ax.set_title(f"Contacts load: {len(accepted):,} CRM contact writes against HighLevel's burst limit "
                      f"(100 per 10 s, scaled to {limit} per {window_s:g} s)", fontsize=10)

    # Budget left unused: at the end of each slice, what the limit admitted so far minus what was sent.
    ends = [(k + 1) * window_s for k in range(len(buckets))]
    sent = [sum(buckets[:k + 1]) for k in range(len(buckets))]
    unused = [limit * (k + 1) - n for k, n in enumerate(sent)]
    total_ax.step(ends, unused, where="post", color="#08519c", lw=1.2,
                  label=f"budget left unused so far: {limit} per slice minus writes sent (cumulative)")
    total_ax.set_ylim(bottom=-limit * 0.03, top=max(max(unused, default=0) * 1.2, limit))
    total_ax.set_ylabel("requests")
    total_ax.set_xlabel("seconds since the first write")
    total_ax.legend(loc="upper left", fontsize=8)
    for ax in (rate_ax, total_ax):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _sliding_count(times: list[float], window_s: float, step_s: float = 0.1) -> tuple[list[float], list[int]]:
    """Requests in the trailing ``window_s`` at each step: what the server's limiter compares to the limit."""
    if not times:
        return [], []
    out_t, out_n = [], []
    lo = hi = 0
    t = 0.0
    while t <= times[-1] + step_s:
        while hi < len(times) and times[hi] <= t:
            hi += 1
        while lo < hi and times[lo] <= t - window_s:
            lo += 1
        out_t.append(t)
        out_n.append(hi - lo)
        t += step_s
    return out_t, out_n
