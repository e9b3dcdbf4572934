"""Per-realm throttling the way QBO meters it: requests per second and per window, requests in flight,
batch calls; all answered 429 with Fault 3001.

Intuit's limits: 500 requests per minute and 10 in flight per realm and app (developer blog,
2016-08-08), 40 batch requests per minute, and 10 requests per second per realm and app (the limits and
throttles page; developer blog 2025-08-13). ``window_s`` stands for the minute and scales every limit
alike: with a 6 s window the per-second limit is 10 per 0.1 s, so a benchmark on a short window meets the
same shape of limits as a client against Intuit.

A pure ASGI wrapper outside the fault middleware, so injected latency counts as time in flight, the
way a slow server keeps real requests open.
"""

from __future__ import annotations

import json
import time
from typing import Any

from emulators.common import ConcurrencyLimiter, EmulatorState, SlidingWindowLimiter
from emulators.quickbooks.faults import throttled_body
from emulators.quickbooks.store import Config

PREFIX = "/v3/company/"


class Limits:
    """The limiters in force; replaced as a whole when the admin changes the configuration."""

    def __init__(self, config: Config) -> None:
        self.configure(config)

    def configure(self, config: Config) -> None:
        self.per_second = SlidingWindowLimiter(config.requests_per_second, config.window_s / 60)
        self.requests = SlidingWindowLimiter(config.requests_per_window, config.window_s)
        self.batches = SlidingWindowLimiter(config.batch_per_window, config.window_s)
        self.inflight = ConcurrencyLimiter(config.concurrent_limit)


class Throttle:
    def __init__(self, app: Any, limits: Limits, log: EmulatorState) -> None:
        self.app = app
        self.limits = limits
        self.log = log

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        realm = path[len(PREFIX) :].split("/", 1)[0]
        limits = self.limits
        inflight = limits.inflight
        if not inflight.enter(realm):
            await self._refuse(scope, send)
            return
        try:
            allowed = limits.per_second.hit(realm)[0] and limits.requests.hit(realm)[0]
            if allowed and path.endswith("/batch"):
                allowed = limits.batches.hit(realm)[0]
            if not allowed:
                await self._refuse(scope, send)
                return
            await self.app(scope, receive, send)
        finally:
            inflight.leave(realm)

    async def _refuse(self, scope: dict[str, Any], send: Any) -> None:
        self.log.requests.append(
            {
                "t": time.time(),
                "method": scope.get("method"),
                "path": scope.get("path"),
                "query": scope.get("query_string", b"").decode(),
                "status": 429,
            }
        )
        body = json.dumps(throttled_body()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
