"""Intuit's OAuth2 authorisation-code flow, on the emulator's own host.

GET /connect/oauth2 approves at once; POST /oauth2/v1/tokens/bearer trades codes and refresh tokens
(HTTP Basic client auth); POST /v2/oauth2/tokens/revoke ends a grant; GET /v1/openid_connect/userinfo
answers who connected. Refresh tokens rotate on every refresh and the superseded one is refused with
``invalid_grant``.

The OpenID discovery documents Intuit publishes (``/.well-known/openid_configuration`` and
``/.well-known/openid_sandbox_configuration``, with or without the trailing slash Intuit's own client
library asks for) name these endpoints on the host the request came to, with Intuit's field names
(issuer, authorization_endpoint, token_endpoint, userinfo_endpoint, revocation_endpoint, jwks_uri, ...),
so Intuit's OAuth client (intuit-oauth, whose ``environment`` may be a discovery URL) works unpatched.

Redirect URIs naming an IP address (``127.0.0.1``, ``[::1]`` or any other) are refused on the consent
page, with Intuit's "redirect_uri ... is invalid" page, before anything is approved; ``localhost`` is
a name and is accepted. Source: developer.intuit.com, "Set app redirect URIs": "IP addresses aren't
allowed", while "You can add localhost (no HTTPS) as a URI for sandbox environments". No Intuit source
says otherwise (RFC 8252 recommends loopback IP literals, but for native apps, and Intuit does not
follow it there), so there is no switch: this is the one reading. The emulator still accepts any other
redirect URI, where Intuit accepts only the ones registered with the app.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from emulators.quickbooks.store import Store

CODE_TTL_S = 600


@dataclass
class Grant:
    realm_id: str
    refresh_token: str
    refresh_expires: float
    access_tokens: set[str] = field(default_factory=set)
    revoked: bool = False


@dataclass
class Code:
    realm_id: str
    redirect_uri: str
    expires: float


class OAuth:
    """Codes, grants and tokens; ``authenticate`` maps a bearer token to its realm."""

    def __init__(self, store: Store, client_id: str, client_secret: str) -> None:
        self.store = store
        self.client_id = client_id
        self.client_secret = client_secret
        self.lock = threading.Lock()
        self.codes: dict[str, Code] = {}
        self.grants: list[Grant] = []
        self.by_refresh: dict[str, Grant] = {}
        self.superseded: set[str] = set()
        self.by_access: dict[str, tuple[Grant, float]] = {}

    def reset(self) -> None:
        with self.lock:
            self.codes.clear()
            self.grants.clear()
            self.by_refresh.clear()
            self.superseded.clear()
            self.by_access.clear()

    def issue(self, realm_id: str) -> dict[str, Any]:
        """A fresh grant for a realm (the code exchange, or an admin shortcut for tests)."""
        cfg = self.store.config
        with self.lock:
            grant = Grant(realm_id, secrets.token_urlsafe(32), time.time() + cfg.refresh_token_ttl_s)
            self.grants.append(grant)
            self.by_refresh[grant.refresh_token] = grant
            return self._tokens(grant)

    def _tokens(self, grant: Grant) -> dict[str, Any]:
        cfg = self.store.config
        access = secrets.token_urlsafe(48)
        grant.access_tokens.add(access)
        self.by_access[access] = (grant, time.time() + cfg.access_token_ttl_s)
        return {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": int(cfg.access_token_ttl_s),
            "refresh_token": grant.refresh_token,
            "x_refresh_token_expires_in": int(cfg.refresh_token_ttl_s),
        }

    def authenticate(self, token: str) -> tuple[str | None, str]:
        """(realm id, "") for a live token, else (None, why) for the 401 detail."""
        with self.lock:
            entry = self.by_access.get(token)
            if entry is None:
                return None, "Token invalid"
            grant, expires = entry
            if grant.revoked:
                return None, "Token revoked"
            if time.time() >= expires:
                return None, "Token expired"
            return grant.realm_id, ""

    def client_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.client_id) and secrets.compare_digest(
            password, self.client_secret
        )

    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, Any] | None:
        with self.lock:
            entry = self.codes.pop(code, None)  # single use, even when the exchange fails
        if entry is None or entry.expires < time.time() or entry.redirect_uri != redirect_uri:
            return None
        return self.issue(entry.realm_id)

    def refresh(self, refresh_token: str) -> dict[str, Any] | None:
        with self.lock:
            grant = self.by_refresh.get(refresh_token)
            if grant is None or grant.revoked or grant.refresh_expires < time.time():
                return None
            del self.by_refresh[refresh_token]
            self.superseded.add(refresh_token)
            grant.refresh_token = secrets.token_urlsafe(32)
            grant.refresh_expires = time.time() + self.store.config.refresh_token_ttl_s  # a rolling lifetime
            self.by_refresh[grant.refresh_token] = grant
            return self._tokens(grant)

    def revoke(self, token: str) -> None:
        with self.lock:
            grant = self.by_refresh.get(token)
            if grant is None and token in self.by_access:
                grant = self.by_access[token][0]
            if grant is None:
                return
            grant.revoked = True
            self.by_refresh.pop(grant.refresh_token, None)
            for access in grant.access_tokens:
                self.by_access.pop(access, None)

    def user(self, token: str) -> dict[str, Any] | None:
        """The OpenID userinfo claims of a live access token's grant, else None."""
        realm, _ = self.authenticate(token)
        if realm is None:
            return None
        company = self.store.companies.get(realm)
        email = ((company.info.get("Email") or {}) if company else {}).get("Address") or "books@example.com"
        return {
            "sub": str(uuid_for(realm)),
            "email": email,
            "emailVerified": True,
            "givenName": "Sandbox",
            "familyName": "Admin",
            "phoneNumber": "+1 6505550100",
            "phoneNumberVerified": False,
            "address": {
                "streetAddress": "2700 Coast Ave",
                "locality": "Mountain View",
                "region": "CA",
                "postalCode": "94043",
                "country": "US",
            },
        }

    def active_grants(self) -> int:
        with self.lock:
            return sum(1 for g in self.grants if not g.revoked)


def uuid_for(realm_id: str) -> str:
    digest = hashlib.sha256(f"qbo-emulator-user:{realm_id}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def discovery(base: str) -> dict[str, Any]:
    """Intuit's OpenID discovery document, pointing at this host."""
    return {
        "issuer": f"{base}/op/v1",
        "authorization_endpoint": f"{base}/connect/oauth2",
        "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
        "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
        "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
        "jwks_uri": f"{base}/op/v1/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }


def names_an_ip_address(uri: str) -> bool:
    """Whether a redirect URI's host is an IP literal, which Intuit refuses (see the module docstring)."""
    try:
        host = urlsplit(uri).hostname or ""
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


INVALID_REDIRECT_URI = (
    "<html><body><h1>400</h1><p>The redirect_uri query parameter value is invalid. Make sure it is listed "
    "in the Redirect URIs section on your app's keys tab and matches it exactly. IP addresses aren't "
    "allowed.</p></body></html>"
)


def _oauth_error(status: int, error: str, description: str | None = None) -> JSONResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return JSONResponse(body, status_code=status)


def router(oauth: OAuth) -> APIRouter:
    api = APIRouter()

    @api.get("/connect/oauth2")
    def authorize(request: Request) -> Response:
        params = request.query_params
        if params.get("client_id") != oauth.client_id:
            return HTMLResponse(
                "<html><body><h1>400</h1><p>Invalid client_id</p></body></html>", status_code=400
            )
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return HTMLResponse(
                "<html><body><h1>400</h1><p>Invalid redirect_uri</p></body></html>", status_code=400
            )
        if names_an_ip_address(redirect_uri):
            return HTMLResponse(INVALID_REDIRECT_URI, status_code=400)
        if params.get("response_type") != "code":
            page = f"<html><body><h1>400</h1><p>Unsupported response_type {escape(params.get('response_type', ''))}</p></body></html>"
            return HTMLResponse(page, status_code=400)
        company = oauth.store.connect_realm()
        code = secrets.token_urlsafe(24)
        with oauth.lock:
            oauth.codes[code] = Code(company.realm_id, redirect_uri, time.time() + CODE_TTL_S)
        query = {"code": code, "state": params.get("state", ""), "realmId": company.realm_id}
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{urlencode(query)}", status_code=302)

    @api.post("/oauth2/v1/tokens/bearer")
    async def tokens(request: Request) -> Response:
        if not oauth.client_ok(request):
            return _oauth_error(401, "invalid_client")
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            answer = oauth.exchange_code(form.get("code", ""), form.get("redirect_uri", ""))
        elif grant_type == "refresh_token":
            answer = oauth.refresh(form.get("refresh_token", ""))
        else:
            return _oauth_error(400, "unsupported_grant_type")
        if answer is None:
            return _oauth_error(400, "invalid_grant")
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @api.post("/v2/oauth2/tokens/revoke")
    async def revoke(request: Request) -> Response:
        if not oauth.client_ok(request):
            return _oauth_error(401, "invalid_client")
        raw = (await request.body()).decode()
        try:
            token = (
                json.loads(raw).get("token")
                if raw.strip().startswith("{")
                else parse_qs(raw).get("token", [None])[-1]
            )
        except (ValueError, AttributeError):
            token = None
        if not token:
            return _oauth_error(400, "invalid_request", "token is required")
        oauth.revoke(str(token))  # unknown tokens answer 200 too (RFC 7009)
        return Response(status_code=200)

    @api.get("/.well-known/openid_configuration")
    @api.get("/.well-known/openid_configuration/")
    @api.get("/.well-known/openid_sandbox_configuration")
    @api.get("/.well-known/openid_sandbox_configuration/")
    def openid_configuration(request: Request) -> JSONResponse:
        return JSONResponse(discovery(str(request.base_url).rstrip("/")))

    @api.get("/op/v1/jwks")
    def jwks() -> JSONResponse:
        return JSONResponse({"keys": []})  # no ID tokens are issued, so there is nothing to verify

    @api.get("/v1/openid_connect/userinfo")
    def userinfo(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        claims = oauth.user(header[7:].strip()) if header[:7].lower() == "bearer " else None
        if claims is None:
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
            )
        return JSONResponse(claims)

    return api
