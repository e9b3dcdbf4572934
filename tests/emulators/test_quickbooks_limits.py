"""Throttling, injected faults and commit-then-drop on the QuickBooks emulator."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.emulators.qbo_client import Qbo, fault_code


def test_request_window_throttles_with_3001(qbo: str) -> None:
    books = Qbo.connect(qbo)
    books.admin_config(requests_per_window=5, window_s=1.0)
    answers = [books.query_raw("select count(*) from Customer") for _ in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    assert fault_code(answers[-1]) == "3001"
    assert "ThrottleExceeded" in answers[-1].json()["Fault"]["Error"][0]["Message"]
    # Seeding and other realms are not charged.
    books.seed(Customer=[{"DisplayName": "Seeded While Throttled"}])
    other = Qbo.connect(qbo, "7777777777777777777")
    assert other.query_raw("select count(*) from Customer").status_code == 200
    time.sleep(1.1)
    assert books.query_raw("select count(*) from Customer").json()["QueryResponse"] == {"totalCount": 1}


def test_batch_window_throttles_separately(qbo: str) -> None:
    books = Qbo.connect(qbo)
    books.admin_config(batch_per_window=2, window_s=30.0)
    batch = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Item"}]}
    codes = [books.post("batch", batch).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert books.query_raw("select * from Item").status_code == 200


def test_concurrency_limit(qbo: str) -> None:
    books = Qbo.connect(qbo)
    books.admin_config(concurrent_limit=2)
    requests.post(f"{qbo}/_admin/faults", json={"latency_ms": 400}, timeout=5).raise_for_status()

    def one(_: int) -> int:
        return requests.get(
            f"{books.v3}/item/1", headers={"Authorization": f"Bearer {books.token}"}, timeout=10
        ).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(one, range(6)))
    assert codes.count(200) >= 2 and codes.count(429) >= 1


def test_commit_then_drop(qbo: str) -> None:
    books = Qbo.connect(qbo)
    requests.post(
        f"{qbo}/_admin/faults", json={"drop_after_commit_rate": 1.0, "paths": ["/customer"]}, timeout=5
    ).raise_for_status()
    with pytest.raises(requests.exceptions.RequestException) as caught:
        books.post("customer", {"DisplayName": "Landed Anyway"}, requestid="drop-1")
    assert isinstance(caught.value, requests.ConnectionError | requests.exceptions.ChunkedEncodingError)
    # A replayed answer is lost on the way like a fresh one.
    with pytest.raises(requests.exceptions.RequestException):
        books.post("customer", {"DisplayName": "Landed Anyway"}, requestid="drop-1")
    requests.post(f"{qbo}/_admin/faults", json={"drop_after_commit_rate": 0.0}, timeout=5).raise_for_status()
    listed = requests.get(f"{qbo}/_admin/entities/{books.realm}/Customer", timeout=5).json()["Customer"]
    assert [c["DisplayName"] for c in listed] == ["Landed Anyway"]
    # The retry with the same requestid gets the original answer, not a second customer.
    retry = books.post("customer", {"DisplayName": "Landed Anyway"}, requestid="drop-1")
    assert retry.status_code == 200 and retry.json()["Customer"]["Id"] == listed[0]["Id"]


def test_error_rate_and_request_log(qbo: str) -> None:
    books = Qbo.connect(qbo)
    requests.post(f"{qbo}/_admin/faults", json={"error_rate": 1.0}, timeout=5).raise_for_status()
    assert books.query_raw("select * from Item").status_code == 503
    requests.post(
        f"{qbo}/_admin/faults", json={"error_rate": 0.0, "storm_s": 5}, timeout=5
    ).raise_for_status()
    storm = books.query_raw("select * from Item")
    assert storm.status_code == 429 and fault_code(storm) == "3001"
    log = requests.get(f"{qbo}/_admin/requests", params={"path": "/query"}, timeout=5).json()
    assert [r["status"] for r in log["requests"]] == [503, 429]


def test_requests_per_second_throttle_and_scale_with_the_window(qbo: str) -> None:
    # Intuit's limits: 10 requests per second per realm and app besides 500 per minute (the limits and
    # throttles page; developer blog 2025-08-13), answered 429 with Fault 3001. window_s stands for the
    # minute and scales the second alike: with a 600 s window the "second" lasts 10 s.
    books = Qbo.connect(qbo)
    books.admin_config(requests_per_second=2, window_s=600.0)
    first = [books.query_raw("select count(*) from Item").status_code for _ in range(2)]
    time.sleep(1.2)  # a real second later: still inside the scaled one
    third = books.query_raw("select count(*) from Item")
    assert first == [200, 200] and third.status_code == 429 and fault_code(third) == "3001"

    books.admin_config(requests_per_second=3, window_s=60.0)
    burst = [books.query_raw("select count(*) from Item").status_code for _ in range(5)]
    assert burst[:3] == [200, 200, 200] and 429 in burst[3:]
    time.sleep(1.1)
    assert books.query_raw("select count(*) from Item").status_code == 200
