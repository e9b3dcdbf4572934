"""A thin client over the QuickBooks emulator for its tests: admin calls plus authorised v3 calls."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import requests

CLIENT = ("demo-client-id", "demo-client-secret")
SPACING_S = 1.15  # a second, and room for requests that arrive closer together than they were sent


class PacedSession(requests.Session):
    """A session that keeps to Intuit's 10 requests per second per realm, as a polite client does, so a
    test meets the per-second throttle only where it sets out to."""

    def __init__(self, per_second: int = 10) -> None:
        super().__init__()
        self.per_second = per_second
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        with self._lock:
            now = time.monotonic()
            while self._sent and now - self._sent[0] >= SPACING_S:
                self._sent.popleft()
            if len(self._sent) >= self.per_second:
                time.sleep(SPACING_S - (now - self._sent[0]))
                self._sent.popleft()
            self._sent.append(time.monotonic())
        return super().request(method, url, *args, **kwargs)


@dataclass
class Qbo:
    base: str
    realm: str
    token: str
    refresh_token: str
    session: requests.Session

    @classmethod
    def connect(cls, base: str, realm: str | None = None, **company: Any) -> Qbo:
        body: dict[str, Any] = {"realmId": realm} if realm else {}
        tokens = requests.post(f"{base}/_admin/token", json=body | company, timeout=5).json()
        session = PacedSession()
        session.headers.update(
            {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
        )
        return cls(base, tokens["realmId"], tokens["access_token"], tokens["refresh_token"], session)

    @property
    def v3(self) -> str:
        return f"{self.base}/v3/company/{self.realm}"

    def post(self, entity: str, body: Any, **params: Any) -> requests.Response:
        return self.session.post(f"{self.v3}/{entity}", json=body, params=params, timeout=10)

    def create(self, entity: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        r = self.post(entity.lower(), body, **params)
        assert r.status_code == 200, r.text
        name = next(k for k in r.json() if k != "time")
        return r.json()[name]

    def read(self, entity: str, entity_id: str) -> dict[str, Any]:
        r = self.session.get(f"{self.v3}/{entity.lower()}/{entity_id}", timeout=10)
        assert r.status_code == 200, r.text
        return r.json()[entity]

    def query_raw(self, text: str) -> requests.Response:
        return self.session.get(f"{self.v3}/query", params={"query": text, "minorversion": "75"}, timeout=10)

    def query(self, text: str) -> dict[str, Any]:
        r = self.query_raw(text)
        assert r.status_code == 200, r.text
        return r.json()["QueryResponse"]

    def seed(self, **entities: Any) -> dict[str, Any]:
        r = requests.post(f"{self.base}/_admin/seed", json={"realmId": self.realm, **entities}, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def set_preferences(self, **sections: Any) -> dict[str, Any]:
        """Change the company's settings (``Preferences=...``, ``CompanyInfo=...``) as its owner would."""
        r = requests.post(f"{self.base}/_admin/preferences/{self.realm}", json=sections, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()

    def admin_config(self, **settings: Any) -> dict[str, Any]:
        r = requests.post(f"{self.base}/_admin/config", json=settings, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()


def fault_code(response: requests.Response) -> str:
    return response.json()["Fault"]["Error"][0]["code"]


def invoice_body(customer_id: str, *lines: tuple[Any, Any], **extra: Any) -> dict[str, Any]:
    return {
        "CustomerRef": {"value": customer_id},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": qty, "UnitPrice": price},
            }
            for qty, price in lines
        ],
        **extra,
    }
