"""The application: routes per area, the shared fault/log middleware and admin endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from emulators.common import EmulatorState, FaultAndLogMiddleware, admin_router
from emulators.highlevel import admin, contacts, conversations, invoices, payments
from emulators.highlevel import locations as location_routes
from emulators.highlevel.behaviour import Behaviour
from emulators.highlevel.errors import REASONS, ApiError
from emulators.highlevel.store import Store
from emulators.highlevel.throttle import RateLimits


@dataclass
class HighLevel:
    store: Store
    limits: RateLimits
    state: EmulatorState
    behaviour: Behaviour


def create_app(locations: dict[str, str] | None = None, throttle_window_s: float = 10.0) -> FastAPI:
    """The emulator; ``locations`` (id -> token) exist from the start and again after every reset."""
    hl = HighLevel(store=Store(), limits=RateLimits(window_s=throttle_window_s), state=EmulatorState(),
                   behaviour=Behaviour())
    defaults = hl.limits.settings()

    def initial_locations() -> None:
        for location_id, token in (locations or {}).items():
            hl.store.add_location({"id": location_id, "token": token})

    initial_locations()
    app = FastAPI(title="HighLevel API v2 emulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.hl = hl

    def throttled(_: Request) -> JSONResponse:
        return JSONResponse({"statusCode": 429, "message": "Too many requests"}, status_code=429,
                            headers=hl.limits.exhausted_headers())

    app.add_middleware(FaultAndLogMiddleware, state=hl.state, throttled=throttled)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if request.url.path.startswith("/_admin/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        message = f"Cannot {request.method} {request.url.path}" if exc.status_code in (404, 405) else exc.detail
        status = 404 if exc.status_code == 405 else exc.status_code
        return JSONResponse({"statusCode": status, "message": message, "error": REASONS.get(status, "Error")},
                            status_code=status)

    def reset() -> None:
        hl.store.reset()
        hl.limits.reset()
        hl.limits.configure(burst=defaults["burst_limit"], window_s=defaults["throttle_window_s"],
                            daily=defaults["daily_limit"])
        hl.behaviour.reset()
        initial_locations()

    app.include_router(admin_router(hl.state, reset=reset, seed=lambda body: admin.seed(hl.store, body),
                                    snapshot=lambda: hl.store.snapshot() | {"limits": hl.limits.settings()}))
    app.include_router(admin.extra_router(hl.store, hl.limits, hl.behaviour, defaults))
    for area in (contacts, payments, invoices, conversations, location_routes):
        app.include_router(area.router)
    return app
