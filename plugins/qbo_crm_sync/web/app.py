"""The QB Connect page: integrations, their runs and settings; connect and disconnect QuickBooks.

Mounted by the Airflow plugin under /qb-connect and shown inside Airflow's own navigation. Every
route requires an Airflow user allowed to use the QuickBooks connection (see auth.py); every POST
carries a CSRF token bound to the browser session and answers with a redirect (post, redirect,
get), so reloading a page never sends a form again. Pages are server-rendered with autoescaping;
their one script (static/page.js) only leaves Airflow's frame where a page must have the whole
window. Handlers are plain functions on purpose: FastAPI runs them in its thread pool, where
blocking database and HTTP calls belong.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData

from qbo_crm_sync import integrations_registry
from qbo_crm_sync.errors import ConfigurationError, SyncError
from qbo_crm_sync.integrations_registry import LOOPBACK_IPS, LOOPBACK_NAME
from qbo_crm_sync.store import db, integrations
from qbo_crm_sync.store.integrations import validate_location_id
from qbo_crm_sync.web import overview, prefix, session, settings_form
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

# The page's route in Airflow's navigation (the plugin's external view): /plugin/<URL_ROUTE>.
URL_ROUTE = "qb-connect"
STATIC = Path(__file__).parent / "static"

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
)

# Framed by Airflow's own pages only; our one script; nothing fetched from elsewhere; no Referer
# (the callback URL has the code).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
                               "img-src 'self' data:; frame-ancestors 'self'; base-uri 'none'",
    "X-Frame-Options": "SAMEORIGIN",
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


def airflow_page(path: str) -> str:
    """A page of Airflow's UI, e.g. ``plugin/qb-connect``."""
    return f"{airflow_home_url().rstrip('/')}/{path.lstrip('/')}"


def framed(request: Request) -> bool:
    """Whether the browser loads this answer into a frame (Airflow's navigation shows the page in
    one); browsers say so in ``Sec-Fetch-Dest``."""
    return request.headers.get("sec-fetch-dest") in ("iframe", "frame")


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


def redirect(request: Request, kind: str, text: str, *, integration_id: int | None = None,
             form: dict[str, Any] | None = None) -> RedirectResponse:
    """Back to the page (post, redirect, get); a message about one integration is shown, and
    scrolled to, in that integration's card."""
    target = path_for(request, "index") + (f"#result-{integration_id}" if integration_id is not None else "")
    response = RedirectResponse(target, status_code=303)
    session.set_flash(request, response, kind, text, integration_id=integration_id, form=form)
    return response


# -- the page -------------------------------------------------------------------------------------
def render_index(request: Request, user: User) -> HTMLResponse:
    sid = session.session_id(request) or session.new_session_id()
    flash = session.read_flash(request)
    views: list[overview.IntegrationView] = []
    load_error, status_code = None, 200
    try:
        views = overview.load()
    except ConfigurationError as exc:
        load_error, status_code = str(exc), 503
    forms: dict[int, dict[str, settings_form.SettingsForm]] = {}
    for v in views:
        stored = settings_form.initial_values(v.integration.settings)
        forms[v.integration.id] = {part: settings_form.SettingsForm(values=stored, part=part)
                                   for part in settings_form.PARTS}
    if flash and flash.form and flash.integration_id in forms:
        refused = settings_form.SettingsForm.from_flash(flash.form, forms[flash.integration_id]["settings"].values)
        forms[flash.integration_id][refused.part] = refused
    airflow_base = airflow_home_url()
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
        airflow_url=airflow_base,
        run_url=lambda run: run.airflow_url(airflow_base),
        script_url=path_for(request, "script"),
    )
    session.keep_session(request, response, sid)
    session.clear_flash(request, response)
    return response


def render_form_page(request: Request, user: User, template: str, **context: Any) -> HTMLResponse:
    """A confirmation page: its form carries this session's CSRF token."""
    sid = session.session_id(request) or session.new_session_id()
    response = render(template, user=user, csrf_token=session.csrf_token(sid, user.id),
                      csrf_field=session.CSRF_FIELD, airflow_url=airflow_home_url(),
                      script_url=path_for(request, "script"),
                      url=lambda name, **params: path_for(request, name, **params), **context)
    session.keep_session(request, response, sid)
    return response


router = APIRouter()


@router.get("/", name="index", response_class=HTMLResponse)
def index(request: Request, user: Viewer) -> Response:
    return render_index(request, user)


@router.get("/static/page.js", name="script")
def script(user: Viewer) -> Response:
    return FileResponse(STATIC / "page.js", media_type="text/javascript")


# -- connect --------------------------------------------------------------------------------------
@router.get("/connect/confirm", name="confirm_connect", response_class=HTMLResponse)
def confirm_connect(request: Request, user: Editor) -> Response:
    """A location already connected to a company: say which, and what connecting again does."""
    try:
        location_id = validate_location_id(request.query_params.get("location_id"))
        live = integrations_registry.live_integrations(location_id)
    except SyncError as exc:
        return redirect(request, "error", str(exc))
    return render_form_page(request, user, "confirm_connect.html", location_id=location_id, live=live,
                            crm_conn_id=request.query_params.get("crm_conn_id", "")[:200])


def on_localhost(request: Request, name: str, **query: str) -> str | None:
    """The page ``name`` on localhost when this request came to a loopback IP literal and the OAuth
    round trip comes back to localhost, else None.

    A browser keeps cookies per host: a round trip started on ``127.0.0.1`` would come back from
    Intuit to ``localhost`` without this page's session. The connect flow therefore moves to
    localhost first, where the session, the CSRF token and the redirect URI all live.
    """
    callback = urlsplit(integrations_registry.quickbooks_settings().redirect_uri or "")
    here = request.url
    if (here.hostname not in LOOPBACK_IPS or callback.hostname != LOOPBACK_NAME
            or callback.scheme != here.scheme or callback.port != here.port):
        return None
    netloc = LOOPBACK_NAME + (f":{callback.port}" if callback.port else "")
    target = request.url_for(name).include_query_params(**{k: v for k, v in query.items() if v})
    return urlunsplit((callback.scheme, netloc, target.path, target.query, ""))


@router.get("/connect/localhost", name="to_localhost", response_class=HTMLResponse)
def to_localhost(request: Request, user: Editor) -> Response:
    """From Airflow's frame on a loopback IP: the whole window moves to the connect page on localhost
    (a frame on another host is refused by the framing rules)."""
    location_id = request.query_params.get("location_id", "")
    target = on_localhost(request, "confirm_connect", location_id=location_id,
                          crm_conn_id=request.query_params.get("crm_conn_id", "")[:200])
    if target is None:
        return RedirectResponse(path_for(request, "index"), status_code=303)
    return render_form_page(request, user, "to_localhost.html", target=target, location_id=location_id)


@router.post("/connect", name="connect")
def connect(request: Request, posted: PostedForm) -> Response:
    """Start the authorization-code flow: check the location with the CRM, warn when it is already
    connected, remember the attempt, send the browser to Intuit."""
    crm_conn_id = posted.text("crm_conn_id") or None
    try:
        location_id = validate_location_id(posted.text("location_id"))
        moved = on_localhost(request, "confirm_connect", location_id=location_id, crm_conn_id=crm_conn_id or "")
        if moved is not None:
            if framed(request):
                moved = request.url_for("to_localhost").include_query_params(
                    location_id=location_id, **({"crm_conn_id": crm_conn_id} if crm_conn_id else {}))
                moved = f"{moved.path}?{moved.query}"
            return RedirectResponse(moved, status_code=303)
        if posted.text("confirmed") != "yes" and integrations_registry.live_integrations(location_id):
            target = request.url_for("confirm_connect").include_query_params(
                location_id=location_id, **({"crm_conn_id": crm_conn_id} if crm_conn_id else {}))
            return RedirectResponse(target.path + "?" + target.query, status_code=303)
        crm = integrations_registry.check_location(location_id, crm_conn_id)
        consent_url, state = integrations_registry.begin(integrations_registry.quickbooks_settings())
    except SyncError as exc:
        return redirect(request, "error", f"Cannot connect: {exc}")
    # Intuit's consent page refuses to be framed: from Airflow's frame, a page of ours hands it
    # the whole window.
    in_airflow = framed(request)
    response = RedirectResponse(path_for(request, "continue_connect") if in_airflow else consent_url,
                                status_code=303)
    session.remember_pending(request, response, PendingConnect(
        state, crm.id, posted.sid, posted.user.id, crm.crm_conn_id, crm.name, in_airflow=in_airflow))
    log.info("QB Connect: %s started connecting location %s", posted.user.name, crm.id)
    return response


@router.get("/connect/continue", name="continue_connect", response_class=HTMLResponse)
def continue_connect(request: Request, user: Editor) -> Response:
    """The way out of Airflow's frame to Intuit's consent page, for the attempt this browser began."""
    pending = session.peek_pending(request)
    if pending is None or pending.user_id != user.id:
        return redirect(request, "error", "No connection attempt of yours is waiting; start again.")
    try:
        consent_url, _ = integrations_registry.begin(integrations_registry.quickbooks_settings(), pending.state)
    except SyncError as exc:
        return redirect(request, "error", f"Cannot connect: {exc}")
    return render_form_page(request, user, "continue.html", consent_url=consent_url,
                            location_id=pending.location_id)


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
    crm = integrations_registry.CrmLocation(pending.location_id, pending.location_name, pending.crm_conn_id)
    try:
        integration = integrations_registry.complete(
            pending.location_id, str(request.url), pending.state, integrations_registry.quickbooks_settings(),
            crm=crm, connected_by=user.name,
        )
    except SyncError as exc:
        return "error", f"Connecting location {pending.location_id} failed: {exc}"
    log.info("QB Connect: %s connected location %s to realm %s (integration %s)",
             user.name, integration.location_id, integration.realm_id, integration.id)
    return "ok", (f"Connected HighLevel location {integration.location_label} to QuickBooks company "
                  f"{integration.company_label} (integration {integration.id}).")


@router.get("/callback", name="callback")
def callback(request: Request, user: Editor) -> Response:
    """Where Intuit sends the browser back: check the state, exchange the code, say how it went."""
    pending = session.peek_pending(request)
    back = airflow_page(f"plugin/{URL_ROUTE}") if pending and pending.in_airflow else path_for(request, "index")
    response = RedirectResponse(back, status_code=303)
    kind, text = _finish_connect(request, user, session.take_pending(request, response))
    session.set_flash(request, response, kind, text)
    return response


# -- disconnect -----------------------------------------------------------------------------------
def _integration(integration_id: int) -> integrations.Integration:
    with db.connect() as conn:
        return integrations.require(conn, integration_id)


@router.get("/integrations/{integration_id}/disconnect", name="confirm_disconnect", response_class=HTMLResponse)
def confirm_disconnect(request: Request, integration_id: int, user: Editor) -> Response:
    try:
        integration = _integration(integration_id)
    except SyncError as exc:
        return redirect(request, "error", str(exc))
    return render_form_page(request, user, "confirm_disconnect.html", integration=integration)


@router.post("/integrations/{integration_id}/disconnect", name="disconnect")
def disconnect(request: Request, integration_id: int, posted: PostedForm) -> Response:
    if posted.text("confirm") != "yes":
        return RedirectResponse(path_for(request, "confirm_disconnect", integration_id=integration_id),
                                status_code=303)
    try:
        integration = integrations_registry.disconnect(integration_id, by=posted.user.name)
    except SyncError as exc:
        return redirect(request, "error", f"Disconnecting integration {integration_id} failed: {exc}")
    log.info("QB Connect: %s disconnected integration %s", posted.user.name, integration_id)
    return redirect(request, "ok", f"Disconnected location {integration.location_label} from "
                                   f"{integration.company_label}: its QuickBooks grant is revoked and it no "
                                   "longer syncs.", integration_id=integration_id)


# -- settings -------------------------------------------------------------------------------------
@router.post("/integrations/{integration_id}/settings", name="settings")
def save_settings(request: Request, integration_id: int, posted: PostedForm) -> Response:
    form = settings_form.parse(posted.form)
    if form.valid:
        try:
            integrations_registry.update_settings(integration_id, form.changes, by=posted.user.name)
        except integrations_registry.SettingRejected as exc:
            form.errors[exc.key] = str(exc)
        except SyncError as exc:
            return redirect(request, "error", f"Saving the settings of integration {integration_id} failed: {exc}")
    if not form.valid:
        return redirect(request, "error", "Not saved: fix the fields marked below.",
                        integration_id=integration_id, form=form.as_flash())
    log.info("QB Connect: %s changed settings of integration %s: %s", posted.user.name, integration_id,
             ", ".join(sorted(form.changes)))
    if form.part == "review":
        text = ("Review requests will be sent automatically." if form.changes["auto_send_review"]
                else "Review requests will not be sent automatically.")
    else:
        text = "Saved the settings."
    return redirect(request, "ok", f"Integration {integration_id}: {text}", integration_id=integration_id)


# -- refusals: a POST is answered with a redirect too, so that a reload sends nothing -------------
async def _login_required(request: Request, exc: Exception) -> Response:
    if request.url.path.endswith("/callback"):
        # Signed out while at Intuit: the code and state must not travel on in the login URL.
        response = RedirectResponse(login_url(request, next_url=str(request.url_for("index"))), status_code=303)
        session.set_flash(request, response, "error", "Your Airflow session ended while you were at Intuit; "
                                                      "nothing was connected. Connect again.")
        return response
    if request.method in ("GET", "HEAD"):
        return RedirectResponse(login_url(request), status_code=303)
    return RedirectResponse(login_url(request, next_url=str(request.url_for("index"))), status_code=303)


_NOT_ALLOWED = ("Your Airflow role does not allow using the QuickBooks connection (needs access to "
                "connections, e.g. the Op or Admin role).")


async def _access_denied(request: Request, exc: Exception) -> Response:
    if request.method == "POST":
        return redirect(request, "error", f"Not allowed: {_NOT_ALLOWED} Nothing was changed.")
    return render("refused.html", status_code=403, title="Not allowed", text=_NOT_ALLOWED,
                  airflow_url=airflow_home_url())


async def _not_configured(request: Request, exc: Exception) -> Response:
    # E.g. SYNC_FERNET_KEY missing: the page cannot even hand out a form token.
    return render("refused.html", status_code=503, title="QB Connect is not configured",
                  text=f"{exc} (on the Airflow API server).", airflow_url=airflow_home_url())


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    return redirect(request, "error", "Form expired: it did not come from your current QB Connect page (or "
                                      "the page was too old). Nothing was changed; try again.")


def create_app() -> FastAPI:
    # No /docs or /openapi.json: every route of this app needs a logged-in user.
    app = FastAPI(title="QB Connect", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(AccessDenied, _access_denied)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.add_exception_handler(ConfigurationError, _not_configured)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # noqa: ANN202 - Starlette's signature
        # Before anything can fail or answer: the access log must never show the OAuth values.
        prefix.mask_oauth_query(request.scope.get("query_string", b""))
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    app.include_router(router)
    return app
