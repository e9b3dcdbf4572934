"""A few words for talking to the HighLevel emulator in tests."""

from __future__ import annotations

from typing import Any

import requests

TOKEN = "demo-hl-token"
LOC = "locTest0000000000001"
OTHER_LOC = "locTest0000000000002"


def headers(version: str = "2021-07-28", token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Version": version}


def call(base: str, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
         version: str = "2021-07-28") -> requests.Response:
    return requests.request(method, f"{base}{path}", json=json, params=params, headers=headers(version), timeout=10)


def seed(base: str, **body: Any) -> dict[str, list[str]]:
    answer = requests.post(f"{base}/_admin/seed", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()["ids"]


def entities(base: str, kind: str, location: str | None = None) -> list[dict[str, Any]]:
    params = {"locationId": location} if location else None
    answer = requests.get(f"{base}/_admin/entities/{kind}", params=params, timeout=10)
    answer.raise_for_status()
    return answer.json()["items"]
