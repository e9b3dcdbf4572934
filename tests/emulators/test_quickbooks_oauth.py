"""OAuth2 against the QuickBooks emulator: code flow, rotation, revoke, and the 401/403 answers."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import requests

from tests.emulators.qbo_client import CLIENT, Qbo

REDIRECT = "http://localhost:9999/callback"


def _authorize(base: str, **params: str) -> requests.Response:
    query = {
        "client_id": CLIENT[0],
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting",
        "state": "xyz",
    } | params
    return requests.get(f"{base}/connect/oauth2", params=query, allow_redirects=False, timeout=5)


def _token(base: str, auth: tuple[str, str] = CLIENT, **form: str) -> requests.Response:
    return requests.post(
        f"{base}/oauth2/v1/tokens/bearer",
        data=form,
        auth=auth,
        headers={"Accept": "application/json"},
        timeout=5,
    )


def test_code_flow_rotation_and_revoke(qbo: str) -> None:
    requests.post(
        f"{qbo}/_admin/seed",
        json={"companies": [{"realmId": "4620816365000000001", "CompanyName": "Acme"}]},
        timeout=5,
    ).raise_for_status()
    redirect = _authorize(qbo)
    assert redirect.status_code == 302
    location = urlparse(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["state"] == "xyz" and params["realmId"] == "4620816365000000001"

    assert _token(
        qbo,
        ("demo-client-id", "wrong"),
        grant_type="authorization_code",
        code=params["code"],
        redirect_uri=REDIRECT,
    ).json() == {"error": "invalid_client"}
    tokens = _token(qbo, grant_type="authorization_code", code=params["code"], redirect_uri=REDIRECT)
    assert tokens.status_code == 200
    first = tokens.json()
    assert first["token_type"] == "bearer" and first["expires_in"] == 3600
    assert first["x_refresh_token_expires_in"] == 8_726_400
    # A code is single use.
    again = _token(qbo, grant_type="authorization_code", code=params["code"], redirect_uri=REDIRECT)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    api = f"{qbo}/v3/company/{params['realmId']}/companyinfo/{params['realmId']}"
    assert (
        requests.get(api, headers={"Authorization": f"Bearer {first['access_token']}"}, timeout=5).status_code
        == 200
    )

    second = _token(qbo, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    stale = _token(qbo, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert stale.status_code == 400 and stale.json() == {"error": "invalid_grant"}
    third = _token(qbo, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert third.status_code == 200

    revoke = requests.post(
        f"{qbo}/v2/oauth2/tokens/revoke",
        json={"token": third.json()["refresh_token"]},
        auth=CLIENT,
        timeout=5,
    )
    assert revoke.status_code == 200
    after = requests.get(api, headers={"Authorization": f"Bearer {third.json()['access_token']}"}, timeout=5)
    assert after.status_code == 401
    assert (
        _token(qbo, grant_type="refresh_token", refresh_token=third.json()["refresh_token"]).status_code
        == 400
    )


def test_code_bound_to_redirect_uri_and_unknown_client(qbo: str) -> None:
    assert _authorize(qbo, client_id="nobody").status_code == 400
    location = _authorize(qbo).headers["location"]
    code = parse_qs(urlparse(location).query)["code"][0]
    realm = parse_qs(urlparse(location).query)["realmId"][0]
    assert len(realm) == 19 and realm.isdigit()
    wrong = _token(qbo, grant_type="authorization_code", code=code, redirect_uri="http://evil/cb")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_expired_token_answers_intuit_401(qbo: str) -> None:
    requests.post(f"{qbo}/_admin/config", json={"access_token_ttl_s": 0}, timeout=5).raise_for_status()
    client = Qbo.connect(qbo)
    r = client.session.get(f"{client.v3}/customer/1", timeout=5)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="Intuit", error="invalid_token"'
    error = r.json()["fault"]["error"][0]
    assert r.json()["fault"]["type"] == "AUTHENTICATION"
    assert error["code"] == "3200" and error["detail"].startswith("Token expired")
    assert client.token not in r.text


def test_token_only_works_for_its_realm(qbo: str) -> None:
    mine = Qbo.connect(qbo, "1111111111111111111")
    Qbo.connect(qbo, "2222222222222222222")
    r = mine.session.get(f"{qbo}/v3/company/2222222222222222222/customer/1", timeout=5)
    assert r.status_code == 403
    assert r.json()["Fault"]["type"] == "AuthorizationFault"
    assert requests.get(f"{mine.v3}/customer/1", timeout=5).status_code == 401


def test_openid_discovery_names_the_emulators_endpoints(qbo: str) -> None:
    # Intuit's discovery documents (/.well-known/openid_configuration and openid_sandbox_configuration):
    # the field names Intuit uses, pointing at the host the request came to.
    for path in (
        "/.well-known/openid_configuration",
        "/.well-known/openid_sandbox_configuration/",
    ):
        doc = requests.get(f"{qbo}{path}", timeout=5).json()
        assert doc["authorization_endpoint"] == f"{qbo}/connect/oauth2"
        assert doc["token_endpoint"] == f"{qbo}/oauth2/v1/tokens/bearer"
        assert doc["revocation_endpoint"] == f"{qbo}/v2/oauth2/tokens/revoke"
        assert doc["userinfo_endpoint"] == f"{qbo}/v1/openid_connect/userinfo"
        assert doc["issuer"].startswith(qbo) and doc["jwks_uri"].startswith(qbo)
        assert "code" in doc["response_types_supported"] and "openid" in doc["scopes_supported"]
        assert requests.get(doc["jwks_uri"], timeout=5).json() == {"keys": []}


def test_intuit_oauth_client_works_against_the_discovery_document(qbo: str) -> None:
    """Intuit's own OAuth client (intuit-oauth), unpatched: its ``environment`` may be a discovery URL."""
    from intuitlib.client import AuthClient
    from intuitlib.enums import Scopes
    from intuitlib.exceptions import AuthClientError

    client = AuthClient(CLIENT[0], CLIENT[1], REDIRECT, f"{qbo}/.well-known/openid_sandbox_configuration/")
    url = client.get_authorization_url([Scopes.ACCOUNTING, Scopes.OPENID, Scopes.EMAIL])
    assert url.startswith(f"{qbo}/connect/oauth2?")
    redirect = requests.get(url, allow_redirects=False, timeout=5)
    params = {k: v[0] for k, v in parse_qs(urlparse(redirect.headers["location"]).query).items()}
    assert params["state"] == client.state_token

    client.get_bearer_token(params["code"], realm_id=params["realmId"])
    first_refresh = client.refresh_token
    assert client.access_token and client.expires_in == 3600
    info = client.get_user_info().json()
    assert info["sub"] and "@" in info["email"]
    api = f"{qbo}/v3/company/{params['realmId']}/companyinfo/{params['realmId']}"
    assert requests.get(api, headers={"Authorization": f"Bearer {client.access_token}"}, timeout=5).ok

    client.refresh()
    assert client.refresh_token != first_refresh
    assert client.revoke() is True
    try:
        client.refresh()
    except AuthClientError as exc:
        assert exc.status_code == 400
    else:
        raise AssertionError("a revoked grant refreshed")
    denied = requests.get(
        f"{qbo}/v1/openid_connect/userinfo", headers={"Authorization": f"Bearer {client.access_token}"}, timeout=5
    )
    assert denied.status_code == 401


def test_redirect_uris_naming_an_ip_address_are_refused_like_intuit(qbo: str) -> None:
    """Intuit's "Set app redirect URIs": IP addresses aren't allowed; localhost (no HTTPS) is."""
    for uri in ("http://127.0.0.1:9999/callback", "http://[::1]:9999/callback", "https://10.0.0.7/callback"):
        refused = _authorize(qbo, redirect_uri=uri)
        assert refused.status_code == 400, uri
        assert "location" not in refused.headers and "redirect_uri query parameter value is invalid" in refused.text
    assert _authorize(qbo, redirect_uri="http://localhost:9999/callback").status_code == 302
    assert _authorize(qbo, redirect_uri="https://sync.example.com/callback").status_code == 302
