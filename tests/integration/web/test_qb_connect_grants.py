"""Grants per integration, the company confirmed before it is recorded, the OAuth values kept out of
logs, and the location checked with the CRM: through the QB Connect page, against the QuickBooks
emulator's own record of live grants (``/_admin/state``) and the HighLevel emulator."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import structlog
from fastapi.testclient import TestClient

from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.store import db, integrations, tracking
from tests.integration.web.conftest import LOCATION, OTHER_LOCATION, PREFIX, csrf_of, flash_of
from tests.integration.web.test_qb_connect import connect, consent

COMPANY_A, COMPANY_B = "9130350000000111", "9130350000000222"


def grants(qbo: str) -> int:
    """Live grants at the QuickBooks emulator (Intuit's side)."""
    return requests.get(f"{qbo}/_admin/state", timeout=5).json()["grants"]


def companies(qbo: str, *, grant: str) -> None:
    """Two companies at Intuit; the consent page grants ``grant`` (as if the user chose it)."""
    requests.post(f"{qbo}/_admin/seed", json={"companies": [
        {"realmId": COMPANY_A, "CompanyName": "Alder & Sons"}, {"realmId": COMPANY_B, "CompanyName": "Birch Ltd"}]},
        timeout=5).raise_for_status()
    requests.post(f"{qbo}/_admin/config", json={"default_realm": grant}, timeout=5).raise_for_status()


def answers(qbo: str, realm: str, access_token: str) -> int:
    url = f"{qbo}/v3/company/{realm}/companyinfo/{realm}"
    return requests.get(url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                        timeout=5).status_code


def disconnect(client: TestClient, integration_id: int) -> None:
    answer = client.post(f"{PREFIX}/integrations/{integration_id}/disconnect",
                         data={"csrf_token": csrf_of(client), "confirm": "yes"})
    assert answer.status_code == 303
    assert flash_of(client).startswith("ok: Disconnected"), flash_of(client)


# -- 9: each integration holds its own grant ---------------------------------------------------
def test_disconnecting_one_location_of_a_company_leaves_the_other_syncing(
    admin: TestClient, db_url: str, qbo: str, token_store
) -> None:
    first = connect(admin, db_url, LOCATION)
    second = connect(admin, db_url, OTHER_LOCATION)
    assert first.realm_id == second.realm_id and first.id != second.id
    assert grants(qbo) == 2
    assert token_store.load(first.id)["refresh_token"] != token_store.load(second.id)["refresh_token"]

    # The second location's load is running when the first one is disconnected.
    with db.connect(db_url) as conn:
        run_id = tracking.start_run(conn, second.id, "contacts", tracking.RunContext.manual("test"))
        conn.commit()
    job = Job(db_url=db_url, integration=second, run_id=run_id, ctx=tracking.RunContext.manual("test"),
              flow="contacts")
    assert job.qbo.count("Customer") >= 0
    second_access = token_store.load(second.id)["access_token"]

    disconnect(admin, first.id)
    assert grants(qbo) == 1
    assert token_store.load(first.id) is None
    assert answers(qbo, second.realm_id, second_access) == 200
    assert job.qbo.count("Customer") >= 0  # the running load goes on
    fresh = Job(db_url=db_url, integration=second, run_id=run_id, ctx=tracking.RunContext.manual("test"),
                flow="contacts")
    assert fresh.qbo.count("Customer") >= 0  # and so does the next one
    with db.connect(db_url) as conn:
        assert integrations.get(conn, second.id).status == "connected"
        assert integrations.get(conn, first.id).status == "disconnected"


def test_reconnecting_revokes_the_grant_it_replaces(admin: TestClient, db_url: str, qbo: str, token_store) -> None:
    integration = connect(admin, db_url)
    old_access = token_store.load(integration.id)["access_token"]
    assert grants(qbo) == 1
    with db.connect(db_url) as conn:
        integrations.set_status(conn, integration.id, "needs_reauth", "invalid_grant")
        conn.commit()

    again = connect(admin, db_url, confirmed="yes")  # the card's Reconnect button
    assert again.id == integration.id
    assert grants(qbo) == 1  # the new grant replaced the old one instead of piling up
    assert answers(qbo, integration.realm_id, old_access) == 401
    assert answers(qbo, integration.realm_id, token_store.load(integration.id)["access_token"]) == 200


def test_moving_a_location_to_another_company_warns_first_then_revokes_the_old_grant(
    admin: TestClient, db_url: str, qbo: str, token_store
) -> None:
    companies(qbo, grant=COMPANY_A)
    old = connect(admin, db_url)
    assert old.realm_id == COMPANY_A and old.company_name == "Alder & Sons"
    old_access = token_store.load(old.id)["access_token"]

    # Connecting the location again first says what it is connected to, and starts nothing.
    answer = admin.post(f"{PREFIX}/connect", data={"csrf_token": csrf_of(admin), "location_id": LOCATION})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{PREFIX}/connect/confirm?location_id={LOCATION}"
    assert "qbc_oauth" not in answer.cookies
    warning = admin.get(answer.headers["location"]).text
    assert "Location ve9EPM428h8vShlRW1KT is already connected" in warning
    assert "Alder &amp; Sons (realm 9130350000000111)" in warning and "Connect anyway" in warning
    assert '<input type="hidden" name="confirmed" value="yes">' in warning

    companies(qbo, grant=COMPANY_B)
    new = connect(admin, db_url, confirmed="yes")
    assert new.realm_id == COMPANY_B and new.id != old.id
    with db.connect(db_url) as conn:
        retired = integrations.get(conn, old.id)
    assert retired.status == "disconnected" and retired.disconnected_by == "admin"
    assert retired.status_reason == f"replaced by Birch Ltd (realm {COMPANY_B})"
    assert token_store.load(old.id) is None
    assert answers(qbo, COMPANY_A, old_access) == 401
    assert grants(qbo) == 1


# -- 10: the company is confirmed with the new grant --------------------------------------------
def test_a_callback_naming_another_company_is_refused_and_its_grant_revoked(
    admin: TestClient, db_url: str, qbo: str
) -> None:
    companies(qbo, grant=COMPANY_A)
    callback = urlsplit(consent(admin))
    query = {k: v[0] for k, v in parse_qs(callback.query).items()}
    assert query["realmId"] == COMPANY_A
    forged = f"{callback.path}?{urlencode(query | {'realmId': COMPANY_B})}"
    assert admin.get(forged).status_code == 303
    message = flash_of(admin)
    assert message.startswith(f"error: Connecting location {LOCATION} failed: QuickBooks did not confirm company "
                              f"{COMPANY_B} with the new grant"), message
    assert "that grant is revoked" in message
    assert grants(qbo) == 0  # the code was exchanged, and the grant it gave ended at once
    with db.connect(db_url) as conn:
        assert integrations.list_all(conn) == []


def test_a_callback_with_a_malformed_company_id_exchanges_nothing(admin: TestClient, db_url: str, qbo: str) -> None:
    callback = urlsplit(consent(admin))
    query = {k: v[0] for k, v in parse_qs(callback.query).items()}
    forged = f"{callback.path}?{urlencode(query | {'realmId': '../../x'})}"
    assert admin.get(forged).status_code == 303
    assert "names no valid QuickBooks company" in flash_of(admin)
    assert grants(qbo) == 0
    assert requests.get(f"{qbo}/_admin/requests", params={"path": "/oauth2/v1/tokens/bearer"},
                        timeout=5).json()["count"] == 0


# -- 11: the OAuth code and state never reach a log or the login URL ----------------------------
def test_oauth_code_and_state_are_masked_on_every_path(
    admin: TestClient, anonymous: TestClient, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = []
    with structlog.testing.capture_logs() as access_log:
        # 1. Connected.
        callback = consent(admin)
        values = parse_qs(urlsplit(callback).query)
        secrets += [values["code"][0], values["state"][0]]
        assert admin.get(callback).status_code == 303
        # 2. Signed out meanwhile: the login redirect carries neither value.
        callback = consent(admin, OTHER_LOCATION)
        values = parse_qs(urlsplit(callback).query)
        secrets += [values["code"][0], values["state"][0]]
        signed_out = anonymous.get(callback)
        assert signed_out.status_code == 303
        location = signed_out.headers["location"]
        assert parse_qs(urlsplit(location).query)["next"] == [f"http://testserver{PREFIX}/"]
        # 3. Refused at Intuit, 4. without the slash.
        assert admin.get(f"{PREFIX}/callback?error=access_denied&state=st4te-refused-0123456789").status_code == 303
        assert admin.get(f"{PREFIX}?code=c0de-no-slash-0123456789&state=st4te-no-slash-0123456789").status_code == 307
        secrets += ["st4te-refused-0123456789", "c0de-no-slash-0123456789", "st4te-no-slash-0123456789"]
    requests_logged = [e for e in access_log if e.get("event") == "request finished"]
    assert any(e["path"] == f"{PREFIX}/callback" for e in requests_logged)
    # urllib3 is left out: here it also logs the test's own browser part (following Intuit's redirect).
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("urllib3"))
    logged = " ".join(str(e) for e in access_log) + ours
    for secret in secrets:
        assert secret not in logged
        assert secret not in location
    assert "code=%2A%2A%2A" in logged  # masked, not dropped: the request is still visible


# -- 12: the location, checked the same way everywhere and confirmed by the CRM ------------------
@pytest.mark.parametrize("location_id", ["<b>x</b>", "a b", "", "x" * 65, "ve9EPM428h8v/../../admin"])
def test_malformed_location_ids_are_refused_before_anything_else(
    admin: TestClient, db_url: str, highlevel: str, location_id: str
) -> None:
    requests.delete(f"{highlevel}/_admin/requests", timeout=5)
    answer = admin.post(f"{PREFIX}/connect", data={"csrf_token": csrf_of(admin), "location_id": location_id})
    assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/"
    assert "qbc_oauth" not in answer.cookies
    assert flash_of(admin).startswith("error: Cannot connect: Enter the HighLevel location id")
    assert requests.get(f"{highlevel}/_admin/requests", timeout=5).json()["count"] == 0


def test_a_location_the_crm_does_not_confirm_is_not_connected(
    admin: TestClient, db_url: str, highlevel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = admin.post(f"{PREFIX}/connect", data={"csrf_token": csrf_of(admin), "location_id": "unknownLocation00001"})
    assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/"
    assert "qbc_oauth" not in answer.cookies
    # The location's own token is needed; one the token cannot reach may not exist at all.
    assert "The CRM refused the token of connection &#39;highlevel_default&#39; for location unknownLocation00001" \
        in flash_of(admin)

    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", '{"conn_type": "postgres", "host": "db"}')
    answer = admin.post(f"{PREFIX}/connect", data={"csrf_token": csrf_of(admin), "location_id": LOCATION,
                                                   "crm_conn_id": "warehouse"})
    assert answer.status_code == 303 and "qbc_oauth" not in answer.cookies
    assert "is of type &#39;postgres&#39;, not &#39;highlevel&#39;" in flash_of(admin)

    # A token the CRM refuses for the location is refused too.
    monkeypatch.setenv("AIRFLOW_CONN_STALE_TOKEN", json.dumps(
        {"conn_type": "highlevel", "password": "pit-revoked", "extra": {"base_url": highlevel}}))
    answer = admin.post(f"{PREFIX}/connect", data={"csrf_token": csrf_of(admin), "location_id": LOCATION,
                                                   "crm_conn_id": "stale_token"})
    assert answer.status_code == 303 and "qbc_oauth" not in answer.cookies
    assert "The CRM refused the token of connection &#39;stale_token&#39;" in flash_of(admin)
    with db.connect(db_url) as conn:
        assert integrations.list_all(conn) == []


def test_a_location_connected_with_its_own_crm_connection_keeps_it(
    admin: TestClient, db_url: str, highlevel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.conftest import HL_TOKEN

    monkeypatch.setenv("AIRFLOW_CONN_HL_MAIN_STREET", json.dumps(
        {"conn_type": "highlevel", "password": HL_TOKEN, "extra": {"base_url": highlevel}}))
    integration = connect(admin, db_url, crm_conn_id="hl_main_street")
    assert integration.settings["crm_conn_id"] == "hl_main_street"
