"""Connecting works whether the page was opened as localhost or 127.0.0.1: the OAuth round trip
comes back to the host whose cookies hold the session (the local stack's redirect URI names
localhost)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import requests
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qbo_crm_sync.store import db, integrations
from tests.integration.conftest import REDIRECT_URI
from tests.integration.web.conftest import LOCATION, PREFIX, csrf_of, flash_of


def browser_at(web_app: FastAPI, make_token: Callable[..., str], base: str) -> TestClient:
    client = TestClient(web_app, base_url=base, follow_redirects=False)
    client.cookies.set("_token", make_token("admin", "admin"))
    return client


def consent_redirect_uri(client: TestClient) -> tuple[str, str]:
    answer = client.post(f"{PREFIX}/connect", data={"csrf_token": csrf_of(client), "location_id": LOCATION})
    assert answer.status_code == 303, flash_of(client)
    asked = parse_qs(urlsplit(answer.headers["location"]).query)["redirect_uri"][0]
    return asked, answer.headers["location"]


def test_a_page_opened_on_127_0_0_1_comes_back_to_127_0_0_1(web_app: FastAPI, make_token, db_url: str) -> None:
    assert urlsplit(REDIRECT_URI).hostname == "localhost"
    with browser_at(web_app, make_token, "http://127.0.0.1:8080") as client:
        asked, consent = consent_redirect_uri(client)
        assert asked == "http://127.0.0.1:8080/qb-connect/callback"
        approved = requests.get(consent, allow_redirects=False, timeout=5)
        back = urlsplit(approved.headers["location"])
        assert back.hostname == "127.0.0.1"
        assert client.get(f"{back.path}?{back.query}").status_code == 303
        assert flash_of(client).startswith("ok: Connected"), flash_of(client)
    with db.connect(db_url) as conn:
        assert [i.status for i in integrations.find(conn, location_id=LOCATION)] == ["connected"]


def test_the_configured_host_and_real_hosts_keep_the_configured_redirect_uri(web_app: FastAPI, make_token) -> None:
    with browser_at(web_app, make_token, "http://localhost:8080") as client:
        assert consent_redirect_uri(client)[0] == REDIRECT_URI
    # Intuit accepts only registered URIs: a page on another host never rewrites it.
    with browser_at(web_app, make_token, "http://sync.example.com:8080") as client:
        assert consent_redirect_uri(client)[0] == REDIRECT_URI
