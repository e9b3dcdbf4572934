"""What both emulators share: the request log, fault injection, throttling and the /_admin/ router.

Admin endpoints live under ``/_admin/``, a path neither real API uses, so a client pointed at an
emulator can never reach them by accident through a real API path.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware


@dataclass
class FaultSettings:
    """Faults injected into real-API requests (never into /_admin/)."""

    error_rate: float = 0.0  # probability of answering 503 before doing anything
    latency_ms: int = 0  # added to every answer
    timeout_rate: float = 0.0  # probability of sleeping ``timeout_s`` before answering
    timeout_s: float = 30.0
    drop_after_commit_rate: float = 0.0  # probability of doing the write, then closing without answer
    storm_until: float = 0.0  # unix time until which every request is throttled (429)
    paths: list[str] = field(default_factory=list)  # path substrings the faults apply to; empty = all

    def applies_to(self, path: str) -> bool:
        return not self.paths or any(p in path for p in self.paths)


class SlidingWindowLimiter:
    """At most ``limit`` events per ``window_s`` seconds per key (a realm, a location)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> tuple[bool, int, float]:
        """Record one event; answer (allowed, remaining, seconds until the oldest event expires)."""
        now = time.monotonic()
        with self._lock:
            q = self._events.setdefault(key, deque())
            while q and now - q[0] >= self.window_s:
                q.popleft()
            reset = self.window_s - (now - q[0]) if q else self.window_s
            if len(q) >= self.limit:
                return False, 0, max(reset, 0.0)
            q.append(now)
            return True, self.limit - len(q), max(reset, 0.0)

    def reset(self) -> None:
        with self._lock:
            self._events.clear()


class ConcurrencyLimiter:
    """At most ``limit`` requests in flight per key."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._inflight: dict[str, int] = {}
        self._lock = threading.Lock()

    def enter(self, key: str) -> bool:
        with self._lock:
            n = self._inflight.get(key, 0)
            if n >= self.limit:
                return False
            self._inflight[key] = n + 1
            return True

    def leave(self, key: str) -> None:
        with self._lock:
            self._inflight[key] = max(self._inflight.get(key, 1) - 1, 0)


class EmulatorState:
    """Request log and fault settings of one emulator process."""

    def __init__(self, log_size: int = 50_000) -> None:
        self.faults = FaultSettings()
        self.requests: deque[dict[str, Any]] = deque(maxlen=log_size)

    def should(self, rate: float) -> bool:
        return rate > 0 and random.random() < rate


class FaultAndLogMiddleware(BaseHTTPMiddleware):
    """Logs every real-API request and injects the configured faults before and after it."""

    def __init__(self, app: Any, state: EmulatorState, throttled: Callable[[Request], Response]) -> None:
        super().__init__(app)
        self.state = state
        self.throttled = throttled

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if path.startswith("/_admin/"):
            return await call_next(request)
        entry = {
            "t": time.time(),
            "method": request.method,
            "path": path,
            "query": str(request.url.query),
            "status": None,
        }
        self.state.requests.append(entry)
        f = self.state.faults
        if f.applies_to(path):
            if f.latency_ms:
                await asyncio.sleep(f.latency_ms / 1000)
            if f.storm_until and time.time() < f.storm_until:
                entry["status"] = 429
                return self.throttled(request)
            if self.state.should(f.error_rate):
                entry["status"] = 503
                return Response('{"message":"Service Unavailable"}', status_code=503, media_type="application/json")
            if self.state.should(f.timeout_rate):
                await asyncio.sleep(f.timeout_s)
        request.state.drop_after_commit = f.applies_to(path) and self.state.should(f.drop_after_commit_rate)
        response = await call_next(request)
        entry["status"] = response.status_code
        return response


def admin_router(
    state: EmulatorState,
    *,
    reset: Callable[[], None],
    seed: Callable[[dict[str, Any]], dict[str, Any]],
    snapshot: Callable[[], dict[str, Any]],
) -> APIRouter:
    """The /_admin/ endpoints: reset, seed, state, requests, faults."""
    router = APIRouter(prefix="/_admin")

    @router.post("/reset")
    def _reset() -> dict[str, str]:
        reset()
        state.requests.clear()
        state.faults = FaultSettings()
        return {"status": "reset"}

    @router.post("/seed")
    def _seed(body: dict[str, Any]) -> dict[str, Any]:
        return seed(body)

    @router.get("/state")
    def _state() -> dict[str, Any]:
        return snapshot()

    @router.get("/requests")
    def _requests(since: float = 0.0, path: str = "") -> dict[str, Any]:
        rows = [r for r in state.requests if r["t"] >= since and path in r["path"]]
        return {"count": len(rows), "requests": rows}

    @router.delete("/requests")
    def _clear_requests() -> dict[str, str]:
        state.requests.clear()
        return {"status": "cleared"}

    @router.get("/faults")
    def _get_faults() -> dict[str, Any]:
        return asdict(state.faults)

    @router.post("/faults")
    def _set_faults(body: dict[str, Any]) -> dict[str, Any]:
        """Set faults; ``storm_s`` throttles everything for that many seconds from now."""
        storm_s = float(body.pop("storm_s", 0) or 0)
        current = asdict(state.faults) | {k: v for k, v in body.items() if k in asdict(state.faults)}
        state.faults = FaultSettings(**current)
        if storm_s:
            state.faults.storm_until = time.time() + storm_s
        return asdict(state.faults)

    return router


def maybe_drop(request: Request) -> None:
    """Call after a write is committed: when the fault is armed, the answer will be lost."""
    if getattr(request.state, "drop_after_commit", False):
        request.scope["emulator.drop"] = True


class DropAfterCommit:
    """Outermost ASGI wrapper: for a request marked by ``maybe_drop``, announce a body that never
    comes and return, so the server closes the connection mid-answer. The client sees what a
    network failure after the server committed looks like: the write landed, the answer did not."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def guarded(message: dict[str, Any]) -> None:
            if not scope.get("emulator.drop"):
                await send(message)
            elif message["type"] == "http.response.start":
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})

        await self.app(scope, receive, guarded)


def serve(app: FastAPI, port: int, host: str = "127.0.0.1") -> None:
    import uvicorn

    uvicorn.run(DropAfterCommit(app), host=host, port=port, log_level="warning", timeout_keep_alive=30)
