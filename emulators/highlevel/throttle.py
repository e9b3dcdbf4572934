"""HighLevel's request budget: a burst of 100 per 10 s and 200,000 per day, each per location.

Every answer reports both budgets in the documented ``X-RateLimit-*`` headers.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from emulators.common import SlidingWindowLimiter

BURST_LIMIT = 100
DAILY_LIMIT = 200_000


class RateLimits:
    def __init__(self, window_s: float = 10.0, burst: int = BURST_LIMIT, daily: int = DAILY_LIMIT) -> None:
        self.burst = SlidingWindowLimiter(burst, window_s)
        self.daily_limit = daily
        self._days: dict[str, tuple[int, int]] = {}  # key -> (day number, requests that day)
        self._lock = threading.Lock()

    def configure(self, *, burst: int | None = None, window_s: float | None = None,
                  daily: int | None = None) -> dict[str, Any]:
        if burst is not None:
            self.burst.limit = int(burst)
        if window_s is not None:
            self.burst.window_s = float(window_s)
        if daily is not None:
            self.daily_limit = int(daily)
        return self.settings()

    def settings(self) -> dict[str, Any]:
        return {"burst_limit": self.burst.limit, "throttle_window_s": self.burst.window_s,
                "daily_limit": self.daily_limit}

    def reset(self) -> None:
        self.burst.reset()
        with self._lock:
            self._days.clear()

    def hit(self, key: str) -> tuple[bool, dict[str, str]]:
        """Count one request against ``key``; answer whether it may proceed and the headers to send."""
        day = int(time.time() // 86_400)
        with self._lock:
            seen_day, used = self._days.get(key, (day, 0))
            if seen_day != day:
                used = 0
            daily_ok = used < self.daily_limit
        if daily_ok:
            allowed, remaining, _ = self.burst.hit(key)
        else:
            allowed, remaining = False, 0
        if allowed:
            with self._lock:
                seen_day, used = self._days.get(key, (day, 0))
                used = (used if seen_day == day else 0) + 1
                self._days[key] = (day, used)
        return allowed, self._headers(remaining, max(self.daily_limit - used, 0))

    def exhausted_headers(self) -> dict[str, str]:
        """The headers of a 429 from a throttling storm (a fault the tests inject): the burst is spent,
        the day's budget is what it is. The storm is judged before the request's location is known,
        so the day's figure is the busiest location's; a 429 that reports a spent day
        (``X-RateLimit-Daily-Remaining: 0``) means the day, and clients stop for it."""
        day = int(time.time() // 86_400)
        with self._lock:
            used = max((n for d, n in self._days.values() if d == day), default=0)
        return self._headers(0, max(self.daily_limit - used, 0))

    def _headers(self, remaining: int, daily_remaining: int) -> dict[str, str]:
        return {
            "X-RateLimit-Limit-Daily": str(self.daily_limit),
            "X-RateLimit-Daily-Remaining": str(daily_remaining),
            "X-RateLimit-Interval-Milliseconds": str(int(self.burst.window_s * 1000)),
            "X-RateLimit-Max": str(self.burst.limit),
            "X-RateLimit-Remaining": str(remaining),
        }
