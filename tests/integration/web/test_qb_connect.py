"""The QB Connect page over HTTP: Airflow authentication on every route, CSRF on every POST, the
OAuth2 code flow against the QuickBooks emulator, disconnect, settings."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from qbo_crm_sync.store import db, integrations, tracking
from qbo_crm_sync.web.app import create_app
from tests.integration.web.conftest import PREFIX, csrf_of, flash_of

LOCATION = "ve9EPM428h8vShlRW1KT"


def _all_routes() -> list[tuple[str, str]]:
    """Every (method, path) the plugin serves, with path parameters filled in."""
    found = []
    for route in create_app().routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods):
                found.append((method, PREFIX + route.path.replace("{integration_id}", "1")))
    return found


def _integration_count(db_url: str) -> int:
    with db.connect(db_url) as conn:
        return len(integrations.list_all(conn))


def _consent(client: TestClient, location_id: str = LOCATION) -> str:
    """Press "Connect QuickBooks" and let the emulator's consent page approve: the callback URL."""
    answer = client.post(f"{PREFIX}/connect", data={"csrf_token": csrf_of(client), "location_id": location_id})
    assert answer.status_code == 303, answer.text
    consent = requests.get(answer.headers["location"], allow_redirects=False, timeout=5)
    assert consent.status_code == 302, consent.text
    back = urlsplit(consent.headers["location"])
    assert back.path == f"{PREFIX}/callback"
    return f"{back.path}?{back.query}"


def _connect(client: TestClient, db_url: str) -> integrations.Integration:
    answer = client.get(_consent(client))
    assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/"
    with db.connect(db_url) as conn:
        (integration,) = integrations.find(conn, location_id=LOCATION)
    return integration


# -- authentication and authorization ----------------------------------------------------------
def test_the_app_serves_no_unlisted_routes() -> None:
    paths = {path for _, path in _all_routes()}
    assert paths == {f"{PREFIX}/", f"{PREFIX}/connect", f"{PREFIX}/callback",
                     f"{PREFIX}/integrations/1/disconnect", f"{PREFIX}/integrations/1/settings"}


@pytest.mark.parametrize("token", [None, "not-a-jwt", "revoked"])
def test_every_route_refuses_requests_without_a_valid_airflow_token(
    anonymous: TestClient, make_token, auth_manager, db_url: str, token: str | None
) -> None:
    if token == "revoked":
        token = make_token()
        auth_manager.revoke_token(token)  # what logging out does
    if token:
        anonymous.cookies.set("_token", token)
    for method, path in _all_routes():
        answer = anonymous.request(method, path, data={"location_id": LOCATION} if method == "POST" else None)
        if method == "GET":
            assert answer.status_code == 303, (method, path)
            login = urlsplit(answer.headers["location"])
            assert login.path.endswith("/auth/login")
            assert parse_qs(login.query)["next"] == [f"http://testserver{path}"]
        else:
            assert answer.status_code == 401, (method, path)
            assert "Log in to Airflow" in answer.text
    assert _integration_count(db_url) == 0


def test_a_bearer_token_works_like_the_cookie(anonymous: TestClient, make_token) -> None:
    answer = anonymous.get(f"{PREFIX}/", headers={"Authorization": f"Bearer {make_token()}"})
    assert answer.status_code == 200
    assert "Connect QuickBooks" in answer.text


def test_users_without_access_to_connections_are_forbidden(browser, db_url: str) -> None:
    viewer = browser("vera", role="viewer")
    for method, path in _all_routes():
        answer = viewer.request(method, path, data={"location_id": LOCATION} if method == "POST" else None)
        assert answer.status_code == 403, (method, path)
        assert "Not allowed" in answer.text
    assert browser("otto", role="op").get(f"{PREFIX}/").status_code == 200
    assert _integration_count(db_url) == 0


# -- the page ----------------------------------------------------------------------------------
def test_page_lists_integrations_with_their_runs_escaped(admin: TestClient, db_url: str) -> None:
    with db.connect(db_url) as conn:
        one = integrations.register(conn, LOCATION, "9130350000000001")
        two = integrations.register(conn, "otherLocation01", "9130350000000002")
        integrations.set_status(conn, two.id, "needs_reauth", "<script>alert(1)</script> grant revoked")
        run_id = tracking.start_run(conn, one.id, "contacts", tracking.RunContext.manual("test"))
        tracking.finish_run(conn, run_id, "partial", {"extracted": 12, "loaded": 10, "rejected": 2,
                                                      "dead": 0, "run_status": "partial"})
        conn.commit()
    page = admin.get(f"{PREFIX}/")
    assert page.status_code == 200
    text = page.text
    for expected in (LOCATION, "9130350000000001", "otherLocation01", "needs reauth", "contacts",
                     "partial", "extracted <b>12</b>", "loaded <b>10</b>", "rejected <b>2</b>",
                     "Connected since", "Reconnect"):
        assert expected in text, expected
    assert "dead <b>" not in text  # zero counts are left out
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; grant revoked" in text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_page_says_when_the_store_is_unreachable(admin: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNC_DATABASE_URL", "postgresql://nobody:s3cret-pw@127.0.0.1:1/none")
    page = admin.get(f"{PREFIX}/")
    assert page.status_code == 503
    assert "Cannot read the integrations" in page.text
    assert "s3cret-pw" not in page.text


# -- connect -----------------------------------------------------------------------------------
def test_connect_flow_registers_the_integration(admin: TestClient, db_url: str, token_store) -> None:
    callback = _consent(admin)
    assert admin.get(callback).status_code == 303
    with db.connect(db_url) as conn:
        (integration,) = integrations.find(conn, location_id=LOCATION)
    assert integration.status == "connected"
    assert token_store.load(integration.realm_id) is not None
    message = flash_of(admin)
    assert message.startswith("ok: Connected HighLevel location ve9EPM428h8vShlRW1KT to QuickBooks company "
                              f"{integration.realm_id}")
    page = admin.get(f"{PREFIX}/").text
    assert integration.realm_id in page and "access_token" not in page and "refresh_token" not in page
    # The api-server's access log masks the authorization code in the callback's query string.
    from airflow.api_fastapi.common.http_access_log import _redact_query_string

    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert code not in _redact_query_string(urlsplit(callback).query)


def test_the_callback_works_once(admin: TestClient, db_url: str) -> None:
    callback = _consent(admin)
    assert admin.get(callback).status_code == 303
    assert admin.get(callback).status_code == 303
    assert "No connection attempt of yours is waiting" in flash_of(admin)
    assert _integration_count(db_url) == 1


def test_state_mismatch_is_refused(admin: TestClient, db_url: str, token_store) -> None:
    callback = urlsplit(_consent(admin))
    query = parse_qs(callback.query)
    query["state"] = ["forged-" + query["state"][0]]
    forged = f"{callback.path}?code={query['code'][0]}&state={query['state'][0]}&realmId={query['realmId'][0]}"
    assert admin.get(forged).status_code == 303
    assert "state mismatch" in flash_of(admin)
    assert _integration_count(db_url) == 0
    assert token_store.load(query["realmId"][0]) is None


def test_a_callback_is_bound_to_the_browser_session_that_started_it(browser, db_url: str) -> None:
    alice = browser("alice")
    callback = _consent(alice)
    mallory = browser("mallory")
    assert mallory.get(callback).status_code == 303
    assert "No connection attempt of yours is waiting" in flash_of(mallory)
    # Even holding the pending-attempt cookie, another session or user does not pass.
    mallory.cookies.set("qbc_oauth", alice.cookies.get("qbc_oauth"), path=PREFIX)
    assert mallory.get(callback).status_code == 303
    assert "belongs to another session" in flash_of(mallory)
    assert _integration_count(db_url) == 0
    # The one who started it still can.
    assert alice.get(callback).status_code == 303
    assert flash_of(alice).startswith("ok: Connected")


def test_consent_refused_at_intuit_connects_nothing(admin: TestClient, db_url: str) -> None:
    callback = urlsplit(_consent(admin))
    state = parse_qs(callback.query)["state"][0]
    assert admin.get(f"{callback.path}?error=access_denied&state={state}").status_code == 303
    assert "QuickBooks did not grant access (access_denied)" in flash_of(admin)
    assert _integration_count(db_url) == 0


def test_connect_checks_the_location_id(admin: TestClient, db_url: str) -> None:
    answer = admin.post(f"{PREFIX}/connect", data={"csrf_token": csrf_of(admin), "location_id": "a b/<c>"})
    assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/"
    assert "Enter the HighLevel location id" in flash_of(admin)


# -- disconnect --------------------------------------------------------------------------------
def test_disconnect_revokes_the_tokens(admin: TestClient, db_url: str, token_store, qbo: str) -> None:
    integration = _connect(admin, db_url)
    access = token_store.load(integration.realm_id)["access_token"]
    company = f"{qbo}/v3/company/{integration.realm_id}/companyinfo/{integration.realm_id}"
    auth = {"Authorization": f"Bearer {access}", "Accept": "application/json"}
    assert requests.get(company, headers=auth, timeout=5).status_code == 200

    answer = admin.post(f"{PREFIX}/integrations/{integration.id}/disconnect", data={"csrf_token": csrf_of(admin)})
    assert answer.status_code == 303
    assert flash_of(admin).startswith(f"ok: Disconnected location {LOCATION}")
    assert requests.get(company, headers=auth, timeout=5).status_code == 401
    assert token_store.load(integration.realm_id) is None
    with db.connect(db_url) as conn:
        assert integrations.get(conn, integration.id).status == "disconnected"


def test_disconnecting_an_unknown_integration_says_so(admin: TestClient, db_url: str) -> None:
    answer = admin.post(f"{PREFIX}/integrations/999/disconnect", data={"csrf_token": csrf_of(admin)})
    assert answer.status_code == 303
    assert "No integration with id 999" in flash_of(admin)


# -- settings ----------------------------------------------------------------------------------
def _settings_form(**overrides: str) -> dict[str, str]:
    form = {"auto_send_review": "on", "deposit_account_id": "35", "tax_mode": "fold_into_lines",
            "item_mapping": '{"funnel": "12", "default": "1"}', "crm_conn_id": ""}
    return form | overrides


def test_settings_are_saved(admin: TestClient, db_url: str) -> None:
    with db.connect(db_url) as conn:
        integration = integrations.register(conn, LOCATION, "9130350000000001")
        conn.commit()
    answer = admin.post(f"{PREFIX}/integrations/{integration.id}/settings",
                        data=_settings_form(csrf_token=csrf_of(admin)))
    assert answer.status_code == 303
    assert flash_of(admin) == f"ok: Saved the settings of integration {integration.id}."
    with db.connect(db_url) as conn:
        settings = integrations.get(conn, integration.id).settings
    assert settings["auto_send_review"] is True and settings["include_test_mode"] is False
    assert settings["deposit_account_id"] == "35" and settings["crm_conn_id"] is None
    assert settings["tax_mode"] == "fold_into_lines"
    assert settings["item_mapping"] == {"funnel": "12", "default": "1"}
    page = admin.get(f"{PREFIX}/").text
    assert '<option value="fold_into_lines" selected>' in page
    assert '<input type="checkbox" name="auto_send_review" checked>' in page


def test_settings_validation_errors_are_shown(admin: TestClient, db_url: str) -> None:
    with db.connect(db_url) as conn:
        integration = integrations.register(conn, LOCATION, "9130350000000001")
        conn.commit()
    csrf = csrf_of(admin)
    path = f"{PREFIX}/integrations/{integration.id}/settings"

    answer = admin.post(path, data=_settings_form(csrf_token=csrf, item_mapping='{"funnel": 12',
                                                  tax_mode="<b>bogus</b>"))
    assert answer.status_code == 400
    assert "Not saved: fix the fields marked below." in answer.text
    assert "Item mapping is not valid JSON" in answer.text
    assert "Setting &#39;tax_mode&#39; must be &#39;auto&#39; or &#39;total_tax&#39; or &#39;fold_into_lines&#39;" in answer.text
    assert "{&#34;funnel&#34;: 12" in answer.text  # what was typed is shown again, escaped

    answer = admin.post(path, data=_settings_form(csrf_token=csrf, item_mapping='{"funnel": 12}'))
    assert answer.status_code == 400
    assert "Setting &#39;item_mapping&#39; must be an object mapping source type to QBO Item id" in answer.text

    with db.connect(db_url) as conn:
        assert integrations.get(conn, integration.id).settings == integrations.DEFAULT_SETTINGS


# -- CSRF --------------------------------------------------------------------------------------
def test_posts_without_this_sessions_csrf_token_are_refused(browser, db_url: str) -> None:
    with db.connect(db_url) as conn:
        integration = integrations.register(conn, LOCATION, "9130350000000001")
        conn.commit()
    admin = browser()
    other_session_token = csrf_of(browser())
    csrf_of(admin)  # admin has a session of its own
    posts = [(f"{PREFIX}/connect", {"location_id": LOCATION}),
             (f"{PREFIX}/integrations/{integration.id}/disconnect", {}),
             (f"{PREFIX}/integrations/{integration.id}/settings", _settings_form())]
    for path, form in posts:
        for token in (None, "", other_session_token):
            data = form | ({"csrf_token": token} if token is not None else {})
            answer = admin.post(path, data=data)
            assert answer.status_code == 403, (path, token)
            assert "Form expired" in answer.text
    # A browser that never opened the page has no session: its POSTs fail too.
    fresh = browser()
    assert fresh.post(posts[1][0], data={"csrf_token": other_session_token}).status_code == 403
    with db.connect(db_url) as conn:
        unchanged = integrations.get(conn, integration.id)
    assert unchanged.status == "connected" and unchanged.settings == integrations.DEFAULT_SETTINGS
