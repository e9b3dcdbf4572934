"""HTTP plumbing shared by the API hooks: throttling, retries, error mapping, paging, request counts.

Only ``RetryableError`` (429, 5xx, connection trouble) is retried; every other 4xx is final.
Logs carry method, path, status and timing only: never headers, query strings or bodies, because
those are where tokens, secrets and personal data travel.
"""

from __future__ import annotations

import bisect
import email.utils
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential
from urllib3.exceptions import NewConnectionError

from qbo_crm_sync.errors import (
    ApiError,
    AuthError,
    ConnectionFailed,
    RateLimited,
    RetryableError,
    ServerError,
    SyncError,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 60.0)  # (connect, read) seconds


# --------------------------------------------------------------------------------------- throttle


@dataclass
class _KeyBudget:
    # Completion times of recent requests, oldest first; kept for two windows so ``used`` can
    # still see the ones a slow answer's window held.
    finished: deque[float] = field(default_factory=deque)
    in_flight: int = 0
    paused_until: float = 0.0
    limit: int | None = None  # the server's own figure for this key, when it announced one


class Throttle:
    """Client-side budget per key (a realm, a location): at most ``limit`` requests per ``window_s``
    seconds and at most ``concurrency`` in flight.

    A request occupies the window from the moment it is sent until ``window_s`` after its answer
    came back. The server counts it at arrival, which lies between those two instants, so the
    server never sees more than ``limit`` in any of its windows, whatever the network latency.
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        concurrency: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a throttle needs limit >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self.concurrency = concurrency
        self._clock = clock
        self._budgets: dict[str, _KeyBudget] = {}
        self._cond = threading.Condition()

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Wait for room in ``key``'s budget, hold it while the request runs."""
        self.acquire(key)
        try:
            yield
        finally:
            self.release(key)

    def acquire(self, key: str) -> float:
        """Block until a request may start; answer how many seconds were spent waiting."""
        started = self._clock()
        with self._cond:
            budget = self._budgets.setdefault(key, _KeyBudget())
            while True:
                now = self._clock()
                while budget.finished and now - budget.finished[0] >= 2 * self.window_s:
                    budget.finished.popleft()
                wait = self._wait_needed(budget, now)
                if wait == 0.0:
                    budget.in_flight += 1
                    return now - started
                self._cond.wait(timeout=wait)

    def release(self, key: str) -> None:
        with self._cond:
            budget = self._budgets[key]
            budget.in_flight -= 1
            budget.finished.append(self._clock())
            self._cond.notify_all()

    def pause(self, key: str, seconds: float) -> None:
        """Hold back every new request for ``key`` for ``seconds`` (the server asked us to)."""
        with self._cond:
            budget = self._budgets.setdefault(key, _KeyBudget())
            budget.paused_until = max(budget.paused_until, self._clock() + seconds)
            self._cond.notify_all()

    def paused_for(self, key: str) -> float:
        """Seconds left of a pause the server asked for (0.0 when none)."""
        with self._cond:
            budget = self._budgets.get(key)
            return max(budget.paused_until - self._clock(), 0.0) if budget else 0.0

    def set_limit(self, key: str, limit: int) -> None:
        """Use the server's announced maximum for ``key`` when it is below the configured one."""
        with self._cond:
            budget = self._budgets.setdefault(key, _KeyBudget())
            budget.limit = max(1, min(limit, self.limit))
            self._cond.notify_all()

    def used(self, key: str, grace_s: float = 0.0) -> int:
        """Requests of ``key`` in flight or answered within the last ``window_s + grace_s`` seconds.

        With ``grace_s`` = the age of an answer, these are all the requests the server can have
        counted in the window it judged that request in.
        """
        with self._cond:
            budget = self._budgets.get(key)
            if budget is None:
                return 0
            since = self._clock() - self.window_s - min(grace_s, self.window_s)
            return len(budget.finished) - bisect.bisect_right(budget.finished, since) + budget.in_flight

    def limit_for(self, key: str) -> int:
        with self._cond:
            budget = self._budgets.get(key)
            return budget.limit if budget and budget.limit else self.limit

    def _wait_needed(self, budget: _KeyBudget, now: float) -> float | None:
        """0.0 when a request may start now, else seconds to wait (None: until a request ends)."""
        if budget.paused_until > now:
            return budget.paused_until - now
        if self.concurrency is not None and budget.in_flight >= self.concurrency:
            return None
        oldest = bisect.bisect_right(budget.finished, now - self.window_s)  # first one still in the window
        if len(budget.finished) - oldest + budget.in_flight >= (budget.limit or self.limit):
            if oldest < len(budget.finished):
                return max(budget.finished[oldest] + self.window_s - now, 0.001)
            return None
        return 0.0


_shared_throttles: dict[tuple[str, int, float, int | None], Throttle] = {}
_shared_lock = threading.Lock()


def shared_throttle(name: str, limit: int, window_s: float, concurrency: int | None = None) -> Throttle:
    """One throttle per (name, limits) in this process, so every hook instance draws on one budget."""
    key = (name, limit, window_s, concurrency)
    with _shared_lock:
        throttle = _shared_throttles.get(key)
        if throttle is None:
            throttle = _shared_throttles[key] = Throttle(limit, window_s, concurrency)
        return throttle


# ------------------------------------------------------------------------------------------ stats


class RequestStats:
    """Requests sent, by kind ("read", "write", "batch", "token", ...), plus retries and throttle waits.

    Every attempt that reached the wire counts: that is what the API owner meters.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self.throttled_s = 0.0

    def add(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + n

    def add_wait(self, seconds: float) -> None:
        with self._lock:
            self.throttled_s += seconds

    def __getitem__(self, kind: str) -> int:
        with self._lock:
            return self._counts.get(kind, 0)

    def as_dict(self) -> dict[str, float]:
        with self._lock:
            return {**self._counts, "throttled_s": round(self.throttled_s, 3)}

    def __repr__(self) -> str:
        return f"RequestStats({self.as_dict()})"


# ---------------------------------------------------------------------------------- error mapping


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def error_for_status(
    status: int,
    message: str,
    *,
    retry_after: float | None = None,
    code: str | None = None,
    detail: str | None = None,
    element: str | None = None,
) -> SyncError:
    """The typed error for a non-2xx status when the body says nothing more specific."""
    if status == 429:
        return RateLimited(message, retry_after=retry_after)
    if status >= 500:
        return ServerError(message)
    if status == 401:
        return AuthError(message)
    return ApiError(message, status=status, code=code or str(status), detail=detail, element=element)


def describe(method: str, url: str) -> str:
    """``METHOD /path`` without the query string (which may carry filters or secrets)."""
    return f"{method} {urlsplit(url).path}"


def connection_failed(method: str, url: str, exc: requests.RequestException) -> ConnectionFailed:
    error = ConnectionFailed(f"{describe(method, url)} failed: {type(exc).__name__}")
    # Whether the request may have reached the server: only then is resending a write a risk.
    error.request_sent = not _never_sent(exc)  # type: ignore[attr-defined]
    return error


def _never_sent(exc: BaseException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectionRefusedError):
            return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException) and id(reason) not in seen:
            current = reason
            continue
        nested = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = nested or current.__cause__ or current.__context__
    return False


# ---------------------------------------------------------------------------------------- sender


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; ``Retry-After`` wins when the server sends it."""

    max_attempts: int = 8
    initial_s: float = 0.5
    max_backoff_s: float = 20.0
    max_retry_after_s: float = 120.0  # a longer Retry-After (a daily cap) is not worth waiting out


class _RetryAfterOrBackoff:
    def __init__(self, policy: RetryPolicy) -> None:
        self._backoff = wait_random_exponential(multiplier=policy.initial_s, max=policy.max_backoff_s)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return exc.retry_after + self._backoff(state) * 0.1  # a little jitter so clients spread out
        return self._backoff(state)


class HttpSender:
    """Sends one logical request: throttled, timed out, retried on retryable errors, mapped to types.

    ``error_for`` turns a non-2xx answer into a typed error (hooks read their API's error body);
    ``after`` sees every answer (HighLevel reads its rate-limit headers there).
    """

    def __init__(
        self,
        service: str,
        *,
        session: requests.Session | None = None,
        throttle: Throttle | None = None,
        policy: RetryPolicy | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        error_for: Callable[[requests.Response], SyncError] | None = None,
        after: Callable[[str, requests.Response], None] | None = None,
        stats: RequestStats | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.service = service
        if session is None:
            session = requests.Session()
            session.headers["Accept"] = "application/json"  # both APIs answer JSON
        self.session = session
        self.throttle = throttle
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.error_for = error_for or self.default_error_for
        self.after = after
        self.stats = stats or RequestStats()
        self.sleep = sleep  # between attempts; replaceable so tests can act while a retry waits

    def default_error_for(self, response: requests.Response) -> SyncError:
        req = response.request
        message = (
            f"{self.service} answered {response.status_code} to {describe(req.method or '', req.url or '')}"
        )
        return error_for_status(
            response.status_code,
            message,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )

    def send(
        self,
        method: str,
        url: str,
        *,
        key: str,
        kind: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Callable[[], dict[str, str]] | None = None,
        reauthenticate: Callable[[requests.Response], None] | None = None,
        idempotent: bool = True,
        extra_throttles: Sequence[Throttle] = (),
    ) -> requests.Response:
        """Send until a 2xx answer, a fatal error, or the attempts run out.

        ``headers`` is called per attempt so a token refreshed meanwhile is used. On a 401,
        ``reauthenticate`` (when given) runs once with that answer and the request is sent again at once.
        With ``idempotent=False`` only failures that prove the request was not processed
        (429, a connection never opened) are retried.
        """
        reauthenticated = False

        def attempt() -> requests.Response:
            nonlocal reauthenticated
            while True:
                response = self._send_once(
                    method, url, key, kind, params, json, data, headers, extra_throttles
                )
                if response.status_code == 401 and reauthenticate is not None and not reauthenticated:
                    reauthenticated = True
                    reauthenticate(response)
                    continue
                if response.ok:
                    return response
                raise self.error_for(response)

        def retryable(exc: BaseException) -> bool:
            if not isinstance(exc, RetryableError):
                return False
            if isinstance(exc, RateLimited) and (exc.retry_after or 0) > self.policy.max_retry_after_s:
                return False
            if idempotent or isinstance(exc, RateLimited):
                return True
            return isinstance(exc, ConnectionFailed) and not getattr(exc, "request_sent", True)

        retrying = Retrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=_RetryAfterOrBackoff(self.policy),
            sleep=lambda seconds: self.sleep(seconds),
            before_sleep=lambda state: self._before_retry(method, url, key, state),
            reraise=True,
        )
        return retrying(attempt)

    def _send_once(
        self,
        method: str,
        url: str,
        key: str,
        kind: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Any,
        headers: Callable[[], dict[str, str]] | None,
        extra_throttles: Sequence[Throttle],
    ) -> requests.Response:
        # Before taking a slot: building the headers may refresh a token, which is not an API call.
        sent_headers = headers() if headers else None
        with _all_slots([*extra_throttles, *([self.throttle] if self.throttle else [])], key, self.stats):
            started = time.monotonic()
            self.stats.add(kind)
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    headers=sent_headers,
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                elapsed_ms = (time.monotonic() - started) * 1000
                log.warning(
                    "%s %s -> %s after %.0f ms",
                    self.service,
                    describe(method, url),
                    type(exc).__name__,
                    elapsed_ms,
                )
                raise connection_failed(method, url, exc) from None
            elapsed_ms = (time.monotonic() - started) * 1000
            level = logging.DEBUG if response.ok else logging.WARNING
            log.log(
                level,
                "%s %s -> %s in %.0f ms",
                self.service,
                describe(method, url),
                response.status_code,
                elapsed_ms,
            )
            if self.after is not None:
                self.after(key, response)
            if response.status_code == 429 and self.throttle is not None:
                pause = retry_after_seconds(response.headers.get("Retry-After"))
                if pause:
                    self.throttle.pause(key, min(pause, self.policy.max_retry_after_s))
            return response

    def _before_retry(self, method: str, url: str, key: str, state: RetryCallState) -> None:
        self.stats.add("retries")
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s %s: %s; attempt %d, retrying in %.2f s",
            self.service,
            describe(method, url),
            type(exc).__name__,
            state.attempt_number,
            wait,
        )


@contextmanager
def _all_slots(throttles: Sequence[Throttle], key: str, stats: RequestStats) -> Iterator[None]:
    """Hold a slot in each throttle, taken in a fixed order so two callers never deadlock."""
    taken: list[Throttle] = []
    try:
        for throttle in throttles:
            stats.add_wait(throttle.acquire(key))
            taken.append(throttle)
        yield
    finally:
        for throttle in reversed(taken):
            throttle.release(key)


# ---------------------------------------------------------------------------------------- paging


@dataclass
class OffsetPager:
    """Offset paging: ask for ``page_size`` items from ``offset`` until a short page (or ``total``).

    ``fetch(offset, limit)`` returns the page's items and the total when the API reports one.
    """

    fetch: Callable[[int, int], tuple[Sequence[dict[str, Any]], int | None]]
    page_size: int
    start: int = 0
    pages: int = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        offset = self.start
        while True:
            items, total = self.fetch(offset, self.page_size)
            self.pages += 1
            yield from items
            offset += len(items)
            if len(items) < self.page_size or (total is not None and offset >= total):
                return
