"""Connecting works whether the page was opened as localhost, 127.0.0.1 or [::1], and Intuit is only
ever asked to send the browser back to localhost: it refuses IP addresses in redirect URIs
(developer.intuit.com, "Set app redirect URIs"). A page opened on a loopback IP moves the connect
flow to localhost first, where the session, the form token and the redirect URI all live."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qbo_crm_sync.store import db, integrations
from tests.integration.conftest import QBO_CLIENT_ID, QBO_CLIENT_SECRET, REDIRECT_URI
from tests.integration.web.conftest import LOCATION, PREFIX, csrf_of, flash_of

LOCALHOST = "http://localhost:8080"


def browser_at(web_app: FastAPI, make_token: Callable[..., str], base: str) -> TestClient:
    """A browser logged in to Airflow on ``base``: cookies are per host, so each host has its own."""
    client = TestClient(web_app, base_url=base, follow_redirects=False)
    client.cookies.set("_token", make_token("admin", "admin"))
    return client


def post_connect(client: TestClient, **headers: str) -> str:
    answer = client.post(f"{PREFIX}/connect", headers=headers,
                         data={"csrf_token": csrf_of(client), "location_id": LOCATION})
    assert answer.status_code == 303, flash_of(client)
    return answer.headers["location"]


def consent_redirect_uri(client: TestClient) -> tuple[str, str]:
    consent = post_connect(client)
    return parse_qs(urlsplit(consent).query)["redirect_uri"][0], consent


def connect_on_localhost(client: TestClient, confirm: str) -> str:
    """The confirm page on localhost, then its Connect button: the consent URL."""
    target = urlsplit(confirm)
    page = client.get(f"{target.path}?{target.query}")
    assert page.status_code == 200 and "Connect QuickBooks" in page.text, page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post(f"{PREFIX}/connect", data={"csrf_token": token, "location_id": LOCATION, "confirmed": "yes"})
    assert answer.status_code == 303
    return answer.headers["location"]


@pytest.mark.parametrize("base", ["http://127.0.0.1:8080", "http://[::1]:8080"])
def test_a_page_opened_on_a_loopback_ip_connects_through_localhost(
        web_app: FastAPI, make_token, db_url: str, web_env: str, base: str) -> None:
    assert urlsplit(REDIRECT_URI).hostname == "localhost"
    with browser_at(web_app, make_token, base) as on_ip:
        moved = post_connect(on_ip)
    assert moved == f"{LOCALHOST}{PREFIX}/connect/confirm?location_id={LOCATION}"
    with browser_at(web_app, make_token, LOCALHOST) as client:
        consent = connect_on_localhost(client, moved)
        assert parse_qs(urlsplit(consent).query)["redirect_uri"] == [REDIRECT_URI]
        approved = requests.get(consent, allow_redirects=False, timeout=5)
        assert approved.status_code == 302, approved.text
        back = urlsplit(approved.headers["location"])
        assert back.hostname == "localhost"
        assert client.get(f"{back.path}?{back.query}").status_code == 303
        assert flash_of(client).startswith("ok: Connected"), flash_of(client)
    with db.connect(db_url) as conn:
        assert [i.status for i in integrations.find(conn, location_id=LOCATION)] == ["connected"]
    assert requests.get(f"{web_env}/_admin/state", timeout=5).json()["grants"] == 1


def test_from_airflows_frame_the_whole_window_moves_to_localhost(web_app: FastAPI, make_token) -> None:
    with browser_at(web_app, make_token, "http://127.0.0.1:8080") as client:
        step = post_connect(client, **{"sec-fetch-dest": "iframe"})
        assert step == f"{PREFIX}/connect/localhost?location_id={LOCATION}"
        page = client.get(step, headers={"sec-fetch-dest": "iframe"})
    assert page.status_code == 200
    link = re.search(r'<a class="button" href="([^"]+)" target="_top" data-top data-follow>', page.text)
    assert link and link.group(1) == f"{LOCALHOST}{PREFIX}/connect/confirm?location_id={LOCATION}"


def test_a_redirect_uri_configured_on_a_loopback_ip_is_sent_as_localhost(
        web_app: FastAPI, make_token, web_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_QUICKBOOKS_DEFAULT", json.dumps({
        "conn_type": "quickbooks", "login": QBO_CLIENT_ID, "password": QBO_CLIENT_SECRET,
        "extra": {"base_url": web_env, "oauth_base_url": web_env,
                  "redirect_uri": "http://127.0.0.1:8080/qb-connect/callback"}}))
    for base in (LOCALHOST, "http://sync.example.com:8080"):
        with browser_at(web_app, make_token, base) as client:
            assert consent_redirect_uri(client)[0] == REDIRECT_URI


def test_the_configured_host_and_real_hosts_keep_the_configured_redirect_uri(web_app: FastAPI, make_token) -> None:
    with browser_at(web_app, make_token, LOCALHOST) as client:
        assert consent_redirect_uri(client)[0] == REDIRECT_URI
    # Intuit accepts only registered URIs: a page on another host never rewrites it.
    with browser_at(web_app, make_token, "http://sync.example.com:8080") as client:
        assert consent_redirect_uri(client)[0] == REDIRECT_URI
