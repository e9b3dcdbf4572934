"""The QB Connect page: integrations, their runs and settings; connect and disconnect QuickBooks.

Mounted by the Airflow plugin under /qb-connect. Every route requires an Airflow user allowed to
use the QuickBooks connection (see auth.py); every POST carries a CSRF token bound to the browser
session. Pages are server-rendered with autoescaping and no scripts. Handlers are plain functions
on purpose: FastAPI runs them in its thread pool, where blocking database and HTTP calls belong.
"""

from __future__ import annotations

import hmac
import logging
import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData

from qbo_crm_sync import integrations_registry
from qbo_crm_sync.errors import ConfigurationError, SyncError
from qbo_crm_sync.store import db, integrations
from qbo_crm_sync.web import overview, session, settings_form
from qbo_crm_sync.web.auth import (
    AccessDenied,
    Editor,
    LoginRequired,
    User,
    Viewer,
    airflow_home_url,
    login_url,
)
from qbo_crm_sync.web.session import PendingConnect

log = logging.getLogger(__name__)

# HighLevel location ids are short opaque strings; anything else is a typo or worse.
LOCATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
)

# No scripts, no frames, nothing fetched from elsewhere; no Referer (the callback URL has the code).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class CsrfRejected(Exception):
    """A POST without the form token of this browser session."""


def _when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


_templates.filters["when"] = _when


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(name).render(**context), status_code=status_code)


def path_for(request: Request, name: str, **params: Any) -> str:
    return request.url_for(name, **params).path


# -- POST guard -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Posted:
    user: User
    sid: str
    form: FormData

    def text(self, key: str) -> str:
        value = self.form.get(key)
        return value.strip() if isinstance(value, str) else ""


async def posted_form(request: Request, user: Editor) -> Posted:
    """The submitted form, once its CSRF token proves it comes from this session's own page."""
    form = await request.form()
    sid = session.session_id(request)
    token = form.get(session.CSRF_FIELD)
    if sid is None or not session.csrf_valid(sid, user.id, token if isinstance(token, str) else None):
        raise CsrfRejected()
    return Posted(user, sid, form)


PostedForm = Annotated[Posted, Depends(posted_form)]


def back_to_index(request: Request, kind: str, text: str) -> RedirectResponse:
    response = RedirectResponse(path_for(request, "index"), status_code=303)
    session.set_flash(request, response, kind, text)
    return response


# -- the page -------------------------------------------------------------------------------------
def render_index(
    request: Request, user: User, *, status_code: int = 200,
    invalid: dict[int, settings_form.SettingsForm] | None = None,
) -> HTMLResponse:
    sid = session.session_id(request) or session.new_session_id()
    flash = session.read_flash(request)
    views: list[overview.IntegrationView] = []
    load_error = None
    try:
        views = overview.load()
    except ConfigurationError as exc:
        load_error, status_code = str(exc), 503
    forms = {
        v.integration.id: (invalid or {}).get(v.integration.id)
        or settings_form.SettingsForm(values=settings_form.initial_values(v.integration.settings))
        for v in views
    }
    response = render(
        "index.html",
        status_code=status_code,
        user=user,
        csrf_token=session.csrf_token(sid, user.id),
        csrf_field=session.CSRF_FIELD,
        flash=flash,
        load_error=load_error,
        views=views,
        forms=forms,
        tax_modes=settings_form.tax_mode_choices(),
        url=lambda name, **params: path_for(request, name, **params),
        airflow_url=airflow_home_url(),
    )
    session.keep_session(request, response, sid)
    session.clear_flash(request, response)
    return response


router = APIRouter()


@router.get("/", name="index", response_class=HTMLResponse)
def index(request: Request, user: Viewer) -> Response:
    return render_index(request, user)


@router.post("/connect", name="connect")
def connect(request: Request, posted: PostedForm) -> Response:
    """Start the authorization-code flow: remember the attempt, send the browser to Intuit."""
    location_id = posted.text("location_id")
    if not LOCATION_ID.fullmatch(location_id):
        return back_to_index(request, "error", "Enter the HighLevel location id (letters, digits, - and _).")
    try:
        consent_url, state = integrations_registry.begin(integrations_registry.quickbooks_settings())
    except SyncError as exc:
        return back_to_index(request, "error", f"Cannot start connecting QuickBooks: {exc}")
    response = RedirectResponse(consent_url, status_code=303)
    session.remember_pending(request, response, PendingConnect(state, location_id, posted.sid, posted.user.id))
    log.info("QB Connect: %s started connecting location %s", posted.user.name, location_id)
    return response


def _finish_connect(request: Request, user: User, pending: PendingConnect | None) -> tuple[str, str]:
    if pending is None:
        return "error", ("No connection attempt of yours is waiting here: it finished already, expired "
                         f"after {session.PENDING_TTL_S // 60} minutes or began in another browser. "
                         "Start again with Connect QuickBooks.")
    if pending.sid != session.session_id(request) or pending.user_id != user.id:
        return "error", "This connection attempt belongs to another session; start again."
    answer = request.query_params
    if "error" in answer:
        return "error", f"QuickBooks did not grant access ({answer['error'][:80]}); nothing was connected."
    if not hmac.compare_digest(answer.get("state", ""), pending.state):
        return "error", ("The answer from QuickBooks does not belong to this connection attempt (state "
                         "mismatch); nothing was connected. Start again.")
    try:
        integration = integrations_registry.complete(
            pending.location_id, str(request.url), pending.state, integrations_registry.quickbooks_settings()
        )
    except SyncError as exc:
        return "error", f"Connecting location {pending.location_id} failed: {exc}"
    log.info("QB Connect: %s connected location %s to realm %s (integration %s)",
             user.name, integration.location_id, integration.realm_id, integration.id)
    return "ok", (f"Connected HighLevel location {integration.location_id} to QuickBooks company "
                  f"{integration.realm_id} (integration {integration.id}).")


def _keep_code_out_of_logs(request: Request) -> None:
    """Register the authorization code with the api-server's secrets masker, which its access log
    (written once this response is sent) applies to query strings."""
    code = request.query_params.get("code")
    if code:
        with suppress(ImportError):
            from airflow._shared.secrets_masker import mask_secret

            mask_secret(code)


@router.get("/callback", name="callback")
def callback(request: Request, user: Editor) -> Response:
    """Where Intuit sends the browser back: check the state, exchange the code, say how it went."""
    _keep_code_out_of_logs(request)
    response = RedirectResponse(path_for(request, "index"), status_code=303)
    kind, text = _finish_connect(request, user, session.take_pending(request, response))
    session.set_flash(request, response, kind, text)
    return response


@router.post("/integrations/{integration_id}/disconnect", name="disconnect")
def disconnect(request: Request, integration_id: int, posted: PostedForm) -> Response:
    try:
        integration = integrations_registry.disconnect(integration_id)
    except SyncError as exc:
        return back_to_index(request, "error", f"Disconnecting integration {integration_id} failed: {exc}")
    log.info("QB Connect: %s disconnected integration %s", posted.user.name, integration_id)
    return back_to_index(request, "ok", f"Disconnected location {integration.location_id}: its QuickBooks "
                                        "tokens are revoked and it no longer syncs.")


@router.post("/integrations/{integration_id}/settings", name="settings")
def save_settings(request: Request, integration_id: int, posted: PostedForm) -> Response:
    form = settings_form.parse(posted.form)
    if not form.valid:
        return render_index(request, posted.user, status_code=400, invalid={integration_id: form})
    try:
        with db.connect() as conn:
            integrations.update_settings(conn, integration_id, form.changes)
            conn.commit()
    except SyncError as exc:
        return back_to_index(request, "error", f"Saving the settings of integration {integration_id} failed: {exc}")
    log.info("QB Connect: %s changed settings of integration %s", posted.user.name, integration_id)
    return back_to_index(request, "ok", f"Saved the settings of integration {integration_id}.")


# -- refusals -------------------------------------------------------------------------------------
async def _login_required(request: Request, exc: Exception) -> Response:
    if request.method in ("GET", "HEAD"):
        return RedirectResponse(login_url(request), status_code=303)
    return render("refused.html", status_code=401, title="Not logged in",
                  text="Log in to Airflow, then try again.", airflow_url=airflow_home_url())


async def _access_denied(request: Request, exc: Exception) -> Response:
    return render("refused.html", status_code=403, title="Not allowed",
                  text="Your Airflow role does not allow using the QuickBooks connection (needs access "
                       "to connections, e.g. the Op or Admin role).", airflow_url=airflow_home_url())


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    return render("refused.html", status_code=403, title="Form expired",
                  text="This form did not come from your current QB Connect page (or the page is too "
                       "old). Reload the page and try again.", airflow_url=airflow_home_url())


def create_app() -> FastAPI:
    # No /docs or /openapi.json: every route of this app needs a logged-in user.
    app = FastAPI(title="QB Connect", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(AccessDenied, _access_denied)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # noqa: ANN202 - Starlette's signature
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    app.include_router(router)
    return app
