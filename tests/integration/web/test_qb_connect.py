"""The QB Connect page over HTTP: Airflow authentication on every route, CSRF on every POST, every
POST answered with a redirect, the OAuth2 code flow against the QuickBooks emulator, disconnect,
settings."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from qbo_crm_sync.store import db, integrations, tracking
from qbo_crm_sync.web.app import create_app
from tests.integration.web.conftest import LOCATION, OTHER_CONN_ID, OTHER_LOCATION, PREFIX, csrf_of, flash_of


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


def consent(client: TestClient, location_id: str = LOCATION, **form: str) -> str:
    """Press "Connect QuickBooks" and let the emulator's consent page approve: the callback URL."""
    if location_id == OTHER_LOCATION:
        form.setdefault("crm_conn_id", OTHER_CONN_ID)
    answer = client.post(f"{PREFIX}/connect", data={"csrf_token": csrf_of(client), "location_id": location_id,
                                                     **form})
    assert answer.status_code == 303, answer.text
    assert not answer.headers["location"].startswith(PREFIX), flash_of(client)
    approved = requests.get(answer.headers["location"], allow_redirects=False, timeout=5)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["location"])
    assert back.path == f"{PREFIX}/callback"
    return f"{back.path}?{back.query}"


def connect(client: TestClient, db_url: str, location_id: str = LOCATION, **form: str) -> integrations.Integration:
    answer = client.get(consent(client, location_id, **form))
    assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/"
    assert flash_of(client).startswith("ok: Connected"), flash_of(client)
    with db.connect(db_url) as conn:
        (integration,) = [i for i in integrations.find(conn, location_id=location_id) if i.status == "connected"]
    return integration


# -- authentication and authorization ----------------------------------------------------------
def test_the_app_serves_no_unlisted_routes() -> None:
    paths = {(method, path) for method, path in _all_routes()}
    assert paths == {("GET", f"{PREFIX}/"), ("GET", f"{PREFIX}/static/page.js"), ("POST", f"{PREFIX}/connect"),
                     ("GET", f"{PREFIX}/connect/confirm"), ("GET", f"{PREFIX}/connect/continue"),
                     ("GET", f"{PREFIX}/connect/localhost"),
                     ("GET", f"{PREFIX}/callback"), ("GET", f"{PREFIX}/integrations/1/disconnect"),
                     ("POST", f"{PREFIX}/integrations/1/disconnect"), ("POST", f"{PREFIX}/integrations/1/settings")}


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
        assert answer.status_code == 303, (method, path)
        login = urlsplit(answer.headers["location"])
        assert login.path.endswith("/auth/login")
        # A form is not sent again after logging in: its page is.
        expected = f"http://testserver{path}" if method == "GET" and not path.endswith("/callback") \
            else f"http://testserver{PREFIX}/"
        assert parse_qs(login.query)["next"] == [expected], (method, path)
    assert _integration_count(db_url) == 0


def test_a_bearer_token_works_like_the_cookie(anonymous: TestClient, make_token) -> None:
    answer = anonymous.get(f"{PREFIX}/", headers={"Authorization": f"Bearer {make_token()}"})
    assert answer.status_code == 200
    assert "Connect QuickBooks" in answer.text


def test_users_without_access_to_connections_are_forbidden(browser, db_url: str) -> None:
    viewer = browser("vera", role="viewer")
    for method, path in _all_routes():
        answer = viewer.request(method, path, data={"location_id": LOCATION} if method == "POST" else None)
        if method == "GET":
            assert answer.status_code == 403, (method, path)
            assert "Not allowed" in answer.text
        else:
            assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/", (method, path)
    assert browser("otto", role="op").get(f"{PREFIX}/").status_code == 200
    assert _integration_count(db_url) == 0


# -- the page ----------------------------------------------------------------------------------
def test_page_lists_integrations_with_their_runs_escaped(admin: TestClient, db_url: str) -> None:
    with db.connect(db_url) as conn:
        one = integrations.register(conn, LOCATION, "9130350000000001", company_name="Ñandú <Landscaping>")
        two = integrations.register(conn, "otherLocation01", "9130350000000002")
        integrations.set_status(conn, two.id, "needs_reauth", "<script>alert(1)</script> grant revoked")
        run_id = tracking.start_run(conn, one.id, "contacts", tracking.RunContext.manual("test"))
        tracking.finish_run(conn, run_id, "partial", {"extracted": 12, "loaded": 10, "rejected": 2,
                                                      "dead": 0, "run_status": "partial"})
        conn.commit()
    page = admin.get(f"{PREFIX}/")
    assert page.status_code == 200
    text = page.text
    for expected in (LOCATION, "9130350000000001", "Ñandú &lt;Landscaping&gt;", "otherLocation01", "needs reauth",
                     "contacts", "partial", "extracted <b>12</b>", "loaded <b>10</b>", "rejected <b>2</b>",
                     "Connected since", "Reconnect"):
        assert expected in text, expected
    assert "dead <b>" not in text  # zero counts are left out
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; grant revoked" in text
    # Shown inside Airflow's own pages only; no other framing, no script from elsewhere.
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy and "script-src 'self';" in policy and "default-src 'none'" in policy
    assert page.headers["cache-control"] == "no-store"


def test_each_count_shows_once_and_airflow_runs_link_to_their_dag_run(admin: TestClient, db_url: str) -> None:
    with db.connect(db_url) as conn:
        one = integrations.register(conn, LOCATION, "9130350000000001")
        ctx = tracking.RunContext(dag_id="qbo_customers_to_crm", dag_run_id="scheduled__2026-01-01T00:05:00+00:00",
                                  task_id="sync.load")
        run_id = tracking.start_run(conn, one.id, "contacts", ctx)
        # The load step counts what it loaded; the report step counts the run's row outcomes.
        tracking.finish_run(conn, run_id, "success", {"extracted": 40, "to_load": 35, "loaded": 35,
                                                      "rows_loaded": 35, "rows_rejected": 5, "crm_requests": 7})
        manual = tracking.start_run(conn, one.id, "receipts", tracking.RunContext.manual("cli"))
        tracking.finish_run(conn, manual, "success", {})
        conn.commit()
    text = admin.get(f"{PREFIX}/").text
    assert text.count("loaded <b>35</b>") == 1 and "rows loaded" not in text
    assert "rejected <b>5</b>" in text and "crm requests <b>7</b>" in text
    assert ('href="/dags/qbo_customers_to_crm/runs/scheduled__2026-01-01T00%3A05%3A00%2B00%3A00" target="_top" '
            'data-top') in text
    assert text.count("in Airflow</a>") == 1  # a run made outside Airflow has no Airflow page


def test_the_page_answers_without_the_trailing_slash(admin: TestClient) -> None:
    answer = admin.get(PREFIX)
    assert answer.status_code == 307 and answer.headers["location"] == f"{PREFIX}/"
    assert admin.get(PREFIX, follow_redirects=True).status_code == 200


def test_page_says_when_the_store_is_unreachable(admin: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNC_DATABASE_URL", "postgresql://nobody:s3cret-pw@127.0.0.1:1/none")
    page = admin.get(f"{PREFIX}/")
    assert page.status_code == 503
    assert "Cannot read the integrations" in page.text
    assert "s3cret-pw" not in page.text


# -- connect -----------------------------------------------------------------------------------
def test_connect_flow_registers_the_integration_with_the_company_name(
    admin: TestClient, db_url: str, token_store, qbo: str
) -> None:
    integration = connect(admin, db_url)
    assert integration.status == "connected" and integration.connected_by == "admin"
    assert token_store.load(integration.id) is not None
    company = requests.get(f"{qbo}/_admin/state", timeout=5).json()["realms"][integration.realm_id]["CompanyName"]
    assert integration.company_name == company and integration.location_name == "Main Street Dental"
    page = admin.get(f"{PREFIX}/").text
    assert f"<b>{company}</b> · realm" in page and integration.realm_id in page
    assert "access_token" not in page and "refresh_token" not in page


def test_connect_message_names_the_company(admin: TestClient, db_url: str, qbo: str) -> None:
    assert admin.get(consent(admin)).status_code == 303
    message = flash_of(admin)
    with db.connect(db_url) as conn:
        (integration,) = integrations.find(conn, location_id=LOCATION)
    assert message == (f"ok: Connected HighLevel location Main Street Dental ({LOCATION}) to QuickBooks company "
                       f"{integration.company_name} (realm {integration.realm_id}) (integration {integration.id}).")


def test_the_callback_works_once(admin: TestClient, db_url: str) -> None:
    callback = consent(admin)
    assert admin.get(callback).status_code == 303
    assert admin.get(callback).status_code == 303
    assert "No connection attempt of yours is waiting" in flash_of(admin)
    assert _integration_count(db_url) == 1


def test_state_mismatch_is_refused(admin: TestClient, db_url: str, qbo: str) -> None:
    grants = requests.get(f"{qbo}/_admin/state", timeout=5).json()["grants"]
    callback = urlsplit(consent(admin))
    query = parse_qs(callback.query)
    forged = f"{callback.path}?code={query['code'][0]}&state=forged-{query['state'][0]}&realmId={query['realmId'][0]}"
    assert admin.get(forged).status_code == 303
    assert "state mismatch" in flash_of(admin)
    assert _integration_count(db_url) == 0
    assert requests.get(f"{qbo}/_admin/state", timeout=5).json()["grants"] == grants  # the code was never used


def test_a_callback_is_bound_to_the_browser_session_that_started_it(browser, db_url: str) -> None:
    alice = browser("alice")
    callback = consent(alice)
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
    callback = urlsplit(consent(admin))
    state = parse_qs(callback.query)["state"][0]
    assert admin.get(f"{callback.path}?error=access_denied&state={state}").status_code == 303
    assert "QuickBooks did not grant access (access_denied)" in flash_of(admin)
    assert _integration_count(db_url) == 0


def test_connecting_from_airflows_frame_hands_intuit_the_whole_window_and_comes_back(
    admin: TestClient, db_url: str
) -> None:
    """Inside Airflow's navigation (browsers say Sec-Fetch-Dest: iframe) the consent page cannot be
    framed: the answer is a page of ours that leaves the frame, and the callback returns to the
    page's place in Airflow's navigation."""
    csrf = csrf_of(admin)
    framed = {"Sec-Fetch-Dest": "iframe"}
    answer = admin.post(f"{PREFIX}/connect", data={"csrf_token": csrf, "location_id": LOCATION}, headers=framed)
    assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/connect/continue"
    page = admin.get(answer.headers["location"], headers=framed)
    assert page.status_code == 200
    consent_url = re.search(r'<a class="button" href="([^"]+)" target="_top" data-top data-follow>', page.text)
    assert consent_url, page.text
    assert f'<script src="{PREFIX}/static/page.js" defer></script>' in page.text
    approved = requests.get(consent_url.group(1).replace("&amp;", "&"), allow_redirects=False, timeout=5)
    back = urlsplit(approved.headers["location"])
    done = admin.get(f"{back.path}?{back.query}")
    assert done.status_code == 303 and done.headers["location"] == "/plugin/qb-connect"
    assert flash_of(admin).startswith("ok: Connected")


def test_the_frame_script_is_served_to_signed_in_users(admin: TestClient) -> None:
    script = admin.get(f"{PREFIX}/static/page.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "data-top" in script.text


# -- disconnect --------------------------------------------------------------------------------
def test_disconnect_asks_first_then_revokes_and_records_who(browser, db_url: str, token_store, qbo: str) -> None:
    admin = browser("dana")
    integration = connect(admin, db_url)
    access = token_store.load(integration.id)["access_token"]
    company = f"{qbo}/v3/company/{integration.realm_id}/companyinfo/{integration.realm_id}"
    auth = {"Authorization": f"Bearer {access}", "Accept": "application/json"}
    assert requests.get(company, headers=auth, timeout=5).status_code == 200

    # The page links to a confirmation; a POST without the confirmation changes nothing.
    assert f'href="{PREFIX}/integrations/{integration.id}/disconnect">Disconnect…</a>' in admin.get(f"{PREFIX}/").text
    unconfirmed = admin.post(f"{PREFIX}/integrations/{integration.id}/disconnect", data={"csrf_token": csrf_of(admin)})
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["location"] == f"{PREFIX}/integrations/{integration.id}/disconnect"
    question = admin.get(unconfirmed.headers["location"])
    assert question.status_code == 200 and "Disconnect location Main Street Dental" in question.text
    assert integration.company_name in question.text and "Yes, disconnect and revoke" in question.text
    assert requests.get(company, headers=auth, timeout=5).status_code == 200

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', question.text).group(1)
    answer = admin.post(f"{PREFIX}/integrations/{integration.id}/disconnect", data={"csrf_token": csrf, "confirm": "yes"})
    assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/#result-{integration.id}"
    assert flash_of(admin).startswith(f"ok: Disconnected location Main Street Dental ({LOCATION})")
    assert requests.get(company, headers=auth, timeout=5).status_code == 401
    assert token_store.load(integration.id) is None
    with db.connect(db_url) as conn:
        gone = integrations.get(conn, integration.id)
    assert gone.status == "disconnected" and gone.disconnected_by == "dana" and gone.disconnected_at is not None
    assert gone.status_reason == "disconnected by dana"
    assert "· by dana" in admin.get(f"{PREFIX}/").text


def test_disconnecting_an_unknown_integration_says_so(admin: TestClient, db_url: str) -> None:
    answer = admin.post(f"{PREFIX}/integrations/999/disconnect", data={"csrf_token": csrf_of(admin), "confirm": "yes"})
    assert answer.status_code == 303
    assert "No integration with id 999" in flash_of(admin)


# -- settings ----------------------------------------------------------------------------------
def _settings_form(**overrides: str) -> dict[str, str]:
    form = {"part": "settings", "deposit_account_id": "35", "tax_mode": "fold_into_lines",
            "item_mapping": '{"funnel": "12", "default": "1"}', "crm_conn_id": ""}
    return form | overrides


def _registered(db_url: str) -> integrations.Integration:
    with db.connect(db_url) as conn:
        integration = integrations.register(conn, LOCATION, "9130350000000001")
        conn.commit()
    return integration


def test_settings_are_saved_and_the_confirmation_is_at_the_form(admin: TestClient, db_url: str) -> None:
    integration = _registered(db_url)
    answer = admin.post(f"{PREFIX}/integrations/{integration.id}/settings",
                        data=_settings_form(csrf_token=csrf_of(admin)))
    # Back to the page, scrolled to the message in the integration's own card.
    assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/#result-{integration.id}"
    page = admin.get(f"{PREFIX}/").text
    assert (f'<div class="flash ok" id="result-{integration.id}" role="status">Integration {integration.id}: '
            "Saved the settings.</div>") in page
    with db.connect(db_url) as conn:
        settings = integrations.get(conn, integration.id).settings
    assert settings["include_test_mode"] is False and settings["auto_send_review"] is False
    assert settings["deposit_account_id"] == "35" and settings["crm_conn_id"] is None
    assert settings["tax_mode"] == "fold_into_lines"
    assert settings["item_mapping"] == {"funnel": "12", "default": "1"}
    page = admin.get(f"{PREFIX}/").text
    assert '<option value="fold_into_lines" selected>' in page
    assert "Saved the settings" not in page  # shown once


def test_refused_settings_come_back_with_their_messages_after_a_redirect(admin: TestClient, db_url: str) -> None:
    integration = _registered(db_url)
    csrf = csrf_of(admin)
    path = f"{PREFIX}/integrations/{integration.id}/settings"

    answer = admin.post(path, data=_settings_form(csrf_token=csrf, item_mapping='{"funnel": 12',
                                                  tax_mode="<b>bogus</b>"))
    assert answer.status_code == 303  # a reload of the page that follows sends nothing again
    page = admin.get(answer.headers["location"]).text
    assert f'id="result-{integration.id}" role="status">Not saved: fix the fields marked below.' in page
    assert "Item mapping is not valid JSON" in page
    assert "Setting &#39;tax_mode&#39; must be &#39;auto&#39; or &#39;total_tax&#39; or &#39;fold_into_lines&#39;" in page
    assert "{&#34;funnel&#34;: 12" in page  # what was typed is shown again, escaped
    assert f'<details class="settings" id="settings-{integration.id}" open>' in page

    answer = admin.post(path, data=_settings_form(csrf_token=csrf, item_mapping='{"funnel": 12}'))
    page = admin.get(answer.headers["location"]).text
    assert "Setting &#39;item_mapping&#39; must be an object mapping source type to QBO Item id" in page

    with db.connect(db_url) as conn:
        assert integrations.get(conn, integration.id).settings == integrations.DEFAULT_SETTINGS


def test_crm_conn_id_must_name_a_highlevel_connection(
    admin: TestClient, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", '{"conn_type": "postgres", "host": "db"}')
    integration = _registered(db_url)
    path = f"{PREFIX}/integrations/{integration.id}/settings"
    for conn_id, message in (("warehouse", "Airflow connection &#39;warehouse&#39; is of type &#39;postgres&#39;, "
                                           "not &#39;highlevel&#39;"),
                             ("no_such_conn", "Airflow connection &#39;no_such_conn&#39; is not defined")):
        answer = admin.post(path, data=_settings_form(csrf_token=csrf_of(admin), crm_conn_id=conn_id))
        page = admin.get(answer.headers["location"]).text
        assert message in page, conn_id
    with db.connect(db_url) as conn:
        assert integrations.get(conn, integration.id).settings["crm_conn_id"] is None


def test_review_checkbox_sits_under_each_integration_and_saves_only_itself(admin: TestClient, db_url: str) -> None:
    integration = _registered(db_url)
    with db.connect(db_url) as conn:
        integrations.update_settings(conn, integration.id, {"tax_mode": "fold_into_lines", "deposit_account_id": "35"})
        conn.commit()
    page = admin.get(f"{PREFIX}/").text
    card = page[page.index(f'id="integration-{integration.id}"'):]
    # Right under the integration's heading, before its facts, runs and the collapsed settings.
    assert card.index('name="auto_send_review"') < card.index("QuickBooks company") < card.index("<summary>Settings")
    assert "Send review requests automatically" in card
    assert card.count('name="auto_send_review"') == 1

    path = f"{PREFIX}/integrations/{integration.id}/settings"
    answer = admin.post(path, data={"csrf_token": csrf_of(admin), "part": "review", "auto_send_review": "on",
                                    "review_link": "https://g.page/r/MainSt/review"})
    assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/#result-{integration.id}"
    assert flash_of(admin) == f"ok: Integration {integration.id}: Review requests will be sent automatically."
    with db.connect(db_url) as conn:
        settings = integrations.get(conn, integration.id).settings
    assert settings["auto_send_review"] is True
    assert settings["tax_mode"] == "fold_into_lines" and settings["deposit_account_id"] == "35"  # untouched
    assert f'id="review-{integration.id}" data-autosave checked>' in admin.get(f"{PREFIX}/").text

    assert admin.post(path, data={"csrf_token": csrf_of(admin), "part": "review"}).status_code == 303
    with db.connect(db_url) as conn:
        assert integrations.get(conn, integration.id).settings["auto_send_review"] is False
    # The same CSRF check as every form.
    admin.post(path, data={"csrf_token": "forged", "part": "review", "auto_send_review": "on"})
    with db.connect(db_url) as conn:
        assert integrations.get(conn, integration.id).settings["auto_send_review"] is False


# -- CSRF --------------------------------------------------------------------------------------
def test_posts_without_this_sessions_csrf_token_are_refused(browser, db_url: str) -> None:
    integration = _registered(db_url)
    admin = browser()
    other_session_token = csrf_of(browser())
    csrf_of(admin)  # admin has a session of its own
    posts = [(f"{PREFIX}/connect", {"location_id": LOCATION}),
             (f"{PREFIX}/integrations/{integration.id}/disconnect", {"confirm": "yes"}),
             (f"{PREFIX}/integrations/{integration.id}/settings", _settings_form())]
    for path, form in posts:
        for token in (None, "", other_session_token):
            data = form | ({"csrf_token": token} if token is not None else {})
            answer = admin.post(path, data=data)
            assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/", (path, token)
            assert flash_of(admin).startswith("error: Form expired"), (path, token)
    # A browser that never opened the page has no session: its POSTs fail too.
    fresh = browser()
    fresh.post(posts[1][0], data={"csrf_token": other_session_token, "confirm": "yes"})
    with db.connect(db_url) as conn:
        unchanged = integrations.get(conn, integration.id)
    assert unchanged.status == "connected" and unchanged.settings == integrations.DEFAULT_SETTINGS


def test_a_missing_fernet_key_is_named_not_a_crash(admin: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNC_FERNET_KEY")
    page = admin.get(f"{PREFIX}/")
    assert page.status_code == 503
    assert "QB Connect is not configured" in page.text and "SYNC_FERNET_KEY is not set" in page.text
