from __future__ import annotations

import logging
import threading
import time

import pytest
import requests
from urllib3.exceptions import NewConnectionError, ProtocolError

from qbo_crm_sync.errors import ApiError, AuthError, ConnectionFailed, RateLimited, ServerError
from qbo_crm_sync.hooks.http import (
    HttpSender,
    OffsetPager,
    RetryPolicy,
    Throttle,
    error_for_status,
    retry_after_seconds,
)
from tests.unit.hooks.fakes import ScriptedAdapter, mount

FAST = RetryPolicy(max_attempts=4, initial_s=0.001, max_backoff_s=0.01)


def make_sender(replies, **kwargs) -> tuple[HttpSender, ScriptedAdapter, list[float]]:
    session = requests.Session()
    adapter = mount(session, ScriptedAdapter(replies))
    sleeps: list[float] = []
    sender = HttpSender(
        "Test", session=session, policy=kwargs.pop("policy", FAST), sleep=sleeps.append, **kwargs
    )
    return sender, adapter, sleeps


def send(sender: HttpSender, **kwargs):
    return sender.send(
        "POST", "https://api.example.test/v1/things?secret=s3cr3t", key="k", kind="write", **kwargs
    )


# ------------------------------------------------------------------------------------- retrying


def test_success_is_sent_once_and_counted():
    sender, adapter, sleeps = make_sender([(200, {"ok": True})])
    assert send(sender).json() == {"ok": True}
    assert len(adapter.requests) == 1 and sleeps == []
    assert sender.stats["write"] == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(status):
    sender, adapter, _ = make_sender([(status, {}), (status, {}), (200, {"ok": True})])
    assert send(sender).ok
    assert len(adapter.requests) == 3
    assert sender.stats["retries"] == 2


def test_429_honours_retry_after():
    sender, adapter, sleeps = make_sender([(429, {}, {"Retry-After": "3"}), (200, {})])
    assert send(sender).ok
    assert len(adapter.requests) == 2
    assert 3.0 <= sleeps[0] < 3.1


def test_429_with_a_long_retry_after_is_not_waited_out():
    sender, adapter, _ = make_sender([(429, {}, {"Retry-After": "86400"})])
    with pytest.raises(RateLimited) as caught:
        send(sender)
    assert caught.value.retry_after == 86400
    assert len(adapter.requests) == 1


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_other_4xx_are_never_retried(status):
    sender, adapter, _ = make_sender([(status, {"message": "no"})])
    with pytest.raises(ApiError) as caught:
        send(sender)
    assert caught.value.status == status
    assert len(adapter.requests) == 1


def test_attempts_are_bounded():
    sender, adapter, _ = make_sender([(503, {})])
    with pytest.raises(ServerError):
        send(sender)
    assert len(adapter.requests) == FAST.max_attempts


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError("reset"),
        requests.ReadTimeout("slow"),
        requests.exceptions.ChunkedEncodingError(ProtocolError("Connection broken: IncompleteRead")),
    ],
)
def test_connection_trouble_is_retried(exc):
    sender, adapter, _ = make_sender([exc, (200, {"ok": True})])
    assert send(sender).ok
    assert len(adapter.requests) == 2


def test_unsafe_write_is_not_resent_when_the_answer_was_lost():
    dropped = requests.exceptions.ChunkedEncodingError(ProtocolError("Connection broken: IncompleteRead"))
    sender, adapter, _ = make_sender([dropped, (200, {})])
    with pytest.raises(ConnectionFailed):
        send(sender, idempotent=False)
    assert len(adapter.requests) == 1


def test_unsafe_write_is_resent_when_it_never_left_or_was_throttled():
    refused = requests.ConnectionError(NewConnectionError(None, "refused"))
    sender, adapter, _ = make_sender([refused, (429, {}), (200, {})])
    assert send(sender, idempotent=False).ok
    assert len(adapter.requests) == 3


def test_401_reauthenticates_once_with_fresh_headers():
    tokens = iter(["old", "new"])
    current = {"token": next(tokens)}

    def reauth(response):
        assert response.status_code == 401
        current["token"] = next(tokens)

    sender, adapter, _ = make_sender([(401, {}), (200, {})])
    assert send(
        sender, headers=lambda: {"Authorization": f"Bearer {current['token']}"}, reauthenticate=reauth
    ).ok
    assert [r.headers["Authorization"] for r in adapter.requests] == ["Bearer old", "Bearer new"]


def test_second_401_is_an_auth_error():
    sender, adapter, _ = make_sender([(401, {})])
    with pytest.raises(AuthError):
        send(sender, reauthenticate=lambda _r: None)
    assert len(adapter.requests) == 2


def test_logs_carry_method_path_status_but_no_query_or_headers(caplog):
    sender, _, _ = make_sender([(503, {}), (200, {})])
    with caplog.at_level(logging.DEBUG, logger="qbo_crm_sync"):
        send(sender, headers=lambda: {"Authorization": "Bearer tok-123456"})
    text = caplog.text
    assert "POST /v1/things -> 503" in text and "POST /v1/things -> 200" in text
    assert "s3cr3t" not in text and "tok-123456" not in text and "secret=" not in text


def test_every_request_has_a_timeout():
    seen = []

    class Recorder(ScriptedAdapter):
        def send(self, request, **kwargs):
            seen.append(kwargs.get("timeout"))
            return super().send(request, **kwargs)

    session = requests.Session()
    mount(session, Recorder([(200, {})]))
    HttpSender("Test", session=session, timeout=(1, 2)).send("GET", "https://x.test/a", key="k", kind="read")
    assert seen == [(1, 2)]


# ---------------------------------------------------------------------------------------- mapping


def test_error_for_status_split():
    assert isinstance(error_for_status(429, "m", retry_after=2), RateLimited)
    assert isinstance(error_for_status(500, "m"), ServerError)
    assert isinstance(error_for_status(401, "m"), AuthError)
    err = error_for_status(422, "m")
    assert isinstance(err, ApiError) and err.status == 422


def test_retry_after_parsing():
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("garbage") is None
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= retry_after_seconds(date) <= 31


# --------------------------------------------------------------------------------------- throttle


def test_throttle_keeps_the_window_budget():
    throttle = Throttle(limit=5, window_s=0.3)
    started = time.monotonic()
    for _ in range(10):
        with throttle.slot("realm"):
            pass
    assert time.monotonic() - started >= 0.3
    # another key has its own budget
    begun = time.monotonic()
    for _ in range(5):
        with throttle.slot("other"):
            pass
    assert time.monotonic() - begun < 0.1


def test_throttle_caps_concurrency_across_threads():
    throttle = Throttle(limit=1000, window_s=1, concurrency=3)
    lock = threading.Lock()
    running = peak = 0

    def work():
        nonlocal running, peak
        with throttle.slot("realm"):
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.02)
            with lock:
                running -= 1

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 3


def test_throttle_window_counts_requests_until_their_answer():
    throttle = Throttle(limit=2, window_s=0.2)
    throttle.acquire("k")
    throttle.acquire("k")
    gate = threading.Event()

    def third():
        throttle.acquire("k")
        gate.set()

    t = threading.Thread(target=third)
    t.start()
    time.sleep(0.3)  # longer than the window, but both are still in flight
    assert not gate.is_set()
    throttle.release("k")
    assert not gate.wait(0.1)  # the finished one stays in the window for window_s
    assert gate.wait(0.5)
    t.join()


def test_throttle_pause_holds_everyone_back():
    throttle = Throttle(limit=100, window_s=1)
    throttle.pause("k", 0.2)
    started = time.monotonic()
    with throttle.slot("k"):
        pass
    assert time.monotonic() - started >= 0.19


# ----------------------------------------------------------------------------------------- paging


def test_offset_pager_stops_on_short_page_and_on_total():
    calls = []

    def fetch(offset, limit):
        calls.append(offset)
        data = list(range(25))
        return [{"n": n} for n in data[offset : offset + limit]], None

    assert [r["n"] for r in OffsetPager(fetch, 10)] == list(range(25))
    assert calls == [0, 10, 20]

    calls.clear()

    def fetch_total(offset, limit):
        calls.append(offset)
        return [{"n": n} for n in range(offset, min(offset + limit, 20))], 20

    assert len(list(OffsetPager(fetch_total, 10))) == 20
    assert calls == [0, 10]


def test_throttle_used_counts_in_flight_and_recent_answers():
    now = [100.0]
    throttle = Throttle(limit=10, window_s=2.0, clock=lambda: now[0])
    assert throttle.used("k") == 0
    for _ in range(3):
        throttle.acquire("k")
    throttle.release("k")  # answered at 100.0
    now[0] = 101.5
    throttle.release("k")  # answered at 101.5
    assert throttle.used("k") == 3
    now[0] = 102.5  # the first answer has left the window
    assert throttle.used("k") == 2
    throttle.acquire("k")  # another request starts meanwhile (and tidies the budget)
    # an answer that took 1 s was judged by the server in a window that still held the first one
    assert throttle.used("k", grace_s=1.0) == 4
    assert throttle.used("k") == 3


def test_throttle_paused_for_reports_what_is_left():
    now = [50.0]
    throttle = Throttle(limit=10, window_s=1.0, clock=lambda: now[0])
    assert throttle.paused_for("k") == 0.0
    throttle.pause("k", 3.0)
    now[0] = 51.0
    assert throttle.paused_for("k") == 2.0
    now[0] = 60.0
    assert throttle.paused_for("k") == 0.0
