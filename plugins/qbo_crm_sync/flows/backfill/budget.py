"""The CRM's request budget as a backfill spends it, next to the scheduled flows.

HighLevel allows each location 100 requests per 10 s and 200,000 per day. A backfill of a million
customers needs about a million writes: five days of the whole daily budget, so the budget is
planned, not hit:

- **Burst share.** The backfill's own throttle admits ``burst_share`` of the burst limit (half by
  default: 50 per 10 s). The scheduled flows, in their own task processes, keep the rest; when the
  server counts more than the backfill sent, the hook pauses (another client is busy).
- **Daily reserve.** Before each slice of writes the backfill reads the day's remaining budget from
  the last answer's ``X-RateLimit-Daily-Remaining`` and writes only what leaves ``daily_reserve``
  requests for the scheduled flows. When nothing is left above the reserve it stops cleanly (its
  position saved) and names the time the budget returns (the next UTC midnight: see
  hooks/highlevel.py ``DailyLimitReached`` for that reading); it then resumes by itself (the task
  waits deferred until then) or on the next trigger.
- **ETA** from the measured requests per row and request rate, and what the days' budgets allow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.hooks.highlevel import DailyBudget, HighLevelHook, next_day_start

# Requests a slice of writes costs besides the writes: the mirror's refresh, a catch-up search per
# 200 writes (flows/contacts/load.py), and a margin for retries and other clients' requests.
SLICE_OVERHEAD = 5
CATCH_UP_EVERY = 200
# The longest a slice may hold the integration's writer lock, so the scheduled load waits no longer.
SLICE_SECONDS = 60


@dataclass(frozen=True)
class BudgetRules:
    burst_share: float = 0.5
    daily_reserve: int = 20_000

    def requests_per_window(self, limit: int) -> int:
        return max(1, math.floor(limit * self.burst_share))


def share_the_burst(job: Job, rules: BudgetRules) -> HighLevelHook:
    """Give the job a CRM hook whose throttle takes only the backfill's share of the burst budget."""
    current = job.crm
    settings = current.settings
    hook = HighLevelHook(job.integration.location_id, highlevel_conn_id=current.highlevel_conn_id,
                         settings=replace(settings,
                                          requests_per_window=rules.requests_per_window(settings.requests_per_window)))
    job.crm_hook = hook
    return hook


def rate_ceiling(hook: HighLevelHook) -> float:
    """Requests per second the hook's throttle admits."""
    return hook.settings.requests_per_window / hook.settings.window_s


def affordable(daily: DailyBudget | None, rules: BudgetRules, requests_per_row: float) -> int | None:
    """How many queued contacts may be written now without eating into the reserve (None: unknown)."""
    if daily is None:
        return None
    spare = daily.remaining - rules.daily_reserve - SLICE_OVERHEAD
    if spare <= 0:
        return 0
    per_row = max(requests_per_row, 1.0) * (1 + 1 / CATCH_UP_EVERY)
    return max(0, math.floor(spare / per_row))


def slice_size(hook: HighLevelHook) -> int:
    return max(CATCH_UP_EVERY, math.floor(rate_ceiling(hook) * SLICE_SECONDS))


def finish_estimate(now: datetime, requests_left: float, rate_per_s: float, daily: DailyBudget | None,
                    rules: BudgetRules) -> datetime | None:
    """When ``requests_left`` requests are spent at ``rate_per_s``, within each day's budget above
    the reserve (today's as last reported, then whole days)."""
    if rate_per_s <= 0:
        return None
    if requests_left <= 0:
        return now
    if daily is None:
        return now + timedelta(seconds=requests_left / rate_per_s)
    today = max(daily.remaining - rules.daily_reserve, 0)
    per_day = max(daily.limit - rules.daily_reserve, 0)
    if requests_left <= today:
        return now + timedelta(seconds=requests_left / rate_per_s)
    if per_day == 0:
        return None
    day_capacity = min(per_day, rate_per_s * 86_400)
    left = requests_left - today
    reset = next_day_start(now)
    full_days = math.floor(left / day_capacity)
    rest = left - full_days * day_capacity
    return reset + timedelta(days=full_days, seconds=rest / rate_per_s)


def describe_eta(eta: datetime | None, now: datetime | None = None) -> str:
    if eta is None:
        return "unknown"
    now = now or datetime.now(UTC)
    seconds = max((eta - now).total_seconds(), 0)
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    span = f"{days} d {hours} h" if days else (f"{hours} h {minutes} min" if hours else f"{minutes} min")
    return f"{eta.astimezone(UTC):%Y-%m-%d %H:%M} UTC (in {span})"
