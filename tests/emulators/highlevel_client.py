"""A few words for talking to the HighLevel emulator in tests.

Two locations exist in every test (tests/emulators/conftest.py seeds them after each reset), each
with its own Private Integration Token: ``TOKEN`` opens ``LOC`` only, ``OTHER_TOKEN`` ``OTHER_LOC``.
"""

from __future__ import annotations

from typing import Any

import requests

LOC = "locTest0000000000001"
OTHER_LOC = "locTest0000000000002"
TOKEN = "pit-test-location-1"
OTHER_TOKEN = "pit-test-location-2"
TOKENS = {LOC: TOKEN, OTHER_LOC: OTHER_TOKEN}


def headers(version: str = "2021-07-28", token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Version": version}


def call(base: str, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
         version: str = "2021-07-28", token: str = TOKEN) -> requests.Response:
    return requests.request(method, f"{base}{path}", json=json, params=params, headers=headers(version, token),
                            timeout=10)


def seed(base: str, **body: Any) -> dict[str, list[str]]:
    answer = requests.post(f"{base}/_admin/seed", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()["ids"]


def seed_locations(base: str) -> None:
    """Both test locations with their tokens (what a reset forgets)."""
    seed(base, locations=[{"id": loc, "token": token} for loc, token in TOKENS.items()])


def configure(base: str, **settings: Any) -> dict[str, Any]:
    answer = requests.post(f"{base}/_admin/config", json=settings, timeout=10)
    answer.raise_for_status()
    return answer.json()


def entities(base: str, kind: str, location: str | None = None) -> list[dict[str, Any]]:
    params = {"locationId": location} if location else None
    answer = requests.get(f"{base}/_admin/entities/{kind}", params=params, timeout=10)
    answer.raise_for_status()
    return answer.json()["items"]
