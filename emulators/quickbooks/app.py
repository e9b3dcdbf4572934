"""The FastAPI application: v3 routes under /v3/company/{realmId}/, OAuth2, and the /_admin/ endpoints."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, fields
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response

from emulators.common import EmulatorState, FaultAndLogMiddleware, admin_router, maybe_drop
from emulators.quickbooks import company_settings, entities, faults, service
from emulators.quickbooks.entities import Options
from emulators.quickbooks.oauth import OAuth
from emulators.quickbooks.oauth import router as oauth_router
from emulators.quickbooks.store import BY_PATH, ENTITIES, HAS_ACTIVE, Company, Config, Reply, Store
from emulators.quickbooks.throttle import Limits, Throttle

MEDIA_TYPE = "application/json;charset=utf-8"
SEED_ORDER = (
    "Account",
    "Item",
    "Customer",
    "Vendor",
    "Employee",
    "Invoice",
    "SalesReceipt",
    "RefundReceipt",
    "Payment",
)
# Company facts a ``companies[]`` seed may give at its top level (the rest: "CompanyInfo", "Preferences").
INFO_SHORTHANDS = ("Country", "LegalName", "DefaultTimeZone", "CompanyAddr", "Email", "FiscalYearStartMonth")


def _answer(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    out = {"intuit_tid": uuid.uuid4().hex}
    if headers:
        out.update(headers)
    return Response(
        json.dumps(body, separators=(",", ":")), status_code=status, media_type=MEDIA_TYPE, headers=out
    )


def _fault(err: faults.QboError) -> Response:
    return _answer(err.body, err.status, err.headers)


def _json(raw: bytes, entity: str) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise faults.malformed_body(f"the body is not valid JSON for {entity}") from exc


def create_app(
    client_id: str = "demo-client-id",
    client_secret: str = "demo-client-secret",
    throttle_window_s: float = 60.0,
) -> FastAPI:
    store = Store()
    baseline = Config(window_s=throttle_window_s)
    store.config = Config(**asdict(baseline))
    log = EmulatorState()
    oauth = OAuth(store, client_id, client_secret)
    limits = Limits(store.config)

    app = FastAPI(title="QuickBooks Online emulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    app.state.oauth = oauth

    def company_for(request: Request, realm_id: str) -> Company:
        header = request.headers.get("authorization", "")
        if not header[:7].lower() == "bearer ":
            raise faults.authentication("Token invalid")
        realm, why = oauth.authenticate(header[7:].strip())
        if realm is None:
            raise faults.authentication(why)
        if realm != realm_id:
            raise faults.authorization()
        company = store.companies.get(realm_id)
        if company is None:
            raise faults.authorization()
        return company

    def entity_named(name: str) -> str:
        entity = BY_PATH.get(name.lower())
        if entity is None:
            raise faults.QboError(
                404,
                faults.fault_body(
                    "ValidationFault", "Unsupported Operation", f"Unsupported entity: {name}", "500"
                ),
            )
        return entity

    api = APIRouter(prefix="/v3/company/{realm_id}")

    @api.api_route("/query", methods=["GET", "POST"])
    async def query(realm_id: str, request: Request) -> Response:
        try:
            company = company_for(request, realm_id)
            text = request.query_params.get("query")
            if text is None and request.method == "POST":
                text = (await request.body()).decode()
            with store.lock:
                body = service.query_answer(company, text or "")
            return _answer(body)
        except faults.QboError as err:
            return _fault(err)

    @api.get("/cdc")
    async def cdc(realm_id: str, request: Request) -> Response:
        try:
            company = company_for(request, realm_id)
            params = request.query_params
            with store.lock:
                body = service.cdc(store, company, params.get("entities", ""), params.get("changedSince", ""))
            return _answer(body)
        except faults.QboError as err:
            return _fault(err)

    @api.post("/batch")
    async def batch(realm_id: str, request: Request) -> Response:
        return await _write(realm_id, request, None, None)

    @api.get("/companyinfo/{info_id}")
    async def company_info(realm_id: str, info_id: str, request: Request) -> Response:
        try:
            company = company_for(request, realm_id)
            if info_id != realm_id:
                raise faults.object_not_found("CompanyInfo", info_id)
            with store.lock:
                return _answer(service.singleton(company, "CompanyInfo"))
        except faults.QboError as err:
            return _fault(err)

    @api.get("/preferences")
    async def preferences(realm_id: str, request: Request) -> Response:
        try:
            company = company_for(request, realm_id)
            with store.lock:
                return _answer(service.singleton(company, "Preferences"))
        except faults.QboError as err:
            return _fault(err)

    @api.get("/{entity_name}/{entity_id}")
    async def read(realm_id: str, entity_name: str, entity_id: str, request: Request) -> Response:
        try:
            company = company_for(request, realm_id)
            entity = entity_named(entity_name)
            with store.lock:
                body = service.read(company, entity, entity_id)
            return _answer(body)
        except faults.QboError as err:
            return _fault(err)

    @api.post("/{entity_name}")
    async def write(realm_id: str, entity_name: str, request: Request) -> Response:
        return await _write(realm_id, request, entity_name, request.query_params.get("operation"))

    async def _write(
        realm_id: str, request: Request, entity_name: str | None, operation: str | None
    ) -> Response:
        """Writes and batch. A repeated ``requestid`` answers the first answer again, errors included
        (Intuit blog 2015-04-06: "the service sends the same response as it did for the original
        request"), unless ``requestid_replay`` is off."""
        try:
            company = company_for(request, realm_id)
            entity = entity_named(entity_name) if entity_name else "batch"
            raw = await request.body()
            params = request.query_params
            request_id = params.get("requestid") or None
            if request_id is not None:
                service.check_request_id(request_id, batch=entity_name is None)
            options = Options.parse(params.getlist("include"))
            with store.lock:
                reply = company.replies.get(request_id) if request_id else None
                if reply is None or not store.config.requestid_replay:
                    reply = _carry_out(company, entity_name, entity, operation, raw, options, request_id)
                    if request_id and request_id not in company.replies:
                        company.replies[request_id] = reply
            response = _answer(reply.body, reply.status, reply.headers)
            if reply.status == 200:
                maybe_drop(request)  # a replayed answer can be lost on the way too
            return response
        except faults.QboError as err:
            return _fault(err)

    def _carry_out(
        company: Company,
        entity_name: str | None,
        entity: str,
        operation: str | None,
        raw: bytes,
        options: Options,
        request_id: str | None,
    ) -> Reply:
        try:
            payload = _json(raw, entity)
            if entity_name is None:
                return Reply(200, service.batch(store, company, payload, request_id))
            return Reply(200, service.operate(store, company, entity, operation, payload, options))
        except faults.QboError as err:
            return Reply(err.status, err.body, err.headers)

    app.include_router(api)
    app.include_router(oauth_router(oauth))

    # ---------------------------------------------------------------- admin

    def reset() -> None:
        store.reset(Config(**asdict(baseline)))
        limits.configure(store.config)
        oauth.reset()

    def seed(body: dict[str, Any]) -> dict[str, Any]:
        with store.lock:
            try:
                return _seed(store, body)
            except faults.QboError as err:
                raise HTTPException(status_code=err.status, detail=err.body) from err

    def snapshot() -> dict[str, Any]:
        with store.lock:
            realms = {}
            for company in store.companies.values():
                counts = {e: sum(1 for r in company.entities[e].values() if not r.deleted) for e in ENTITIES}
                inactive = {
                    e: sum(
                        1
                        for r in company.entities[e].values()
                        if not r.deleted and r.body.get("Active") is False
                    )
                    for e in HAS_ACTIVE
                }
                deleted = {e: sum(1 for r in company.entities[e].values() if r.deleted) for e in ENTITIES}
                realms[company.realm_id] = {
                    "CompanyName": company.name,
                    "HomeCurrency": company.home_currency,
                    "MultiCurrencyEnabled": company.multicurrency,
                    "counts": counts,
                    "inactive": inactive,
                    "deleted": deleted,
                    "requestids": len(company.replies),
                }
            return {"realms": realms, "grants": oauth.active_grants(), "config": asdict(store.config)}

    app.include_router(admin_router(log, reset=reset, seed=seed, snapshot=snapshot))
    extra = APIRouter(prefix="/_admin")

    @extra.get("/config")
    def get_config() -> dict[str, Any]:
        return asdict(store.config)

    @extra.post("/config")
    def set_config(body: dict[str, Any]) -> dict[str, Any]:
        known = {f.name: f.type for f in fields(Config)}
        unknown = sorted(set(body) - set(known))
        if unknown:
            raise HTTPException(status_code=400, detail=f"unknown settings: {unknown}")
        with store.lock:
            current = asdict(store.config)
            for key, value in body.items():
                current[key] = _setting(current[key], value)
            store.config = Config(**current)
            limits.configure(store.config)
            return asdict(store.config)

    @extra.get("/preferences/{realm_id}")
    def get_preferences(realm_id: str) -> dict[str, Any]:
        company = store.companies.get(realm_id)
        if company is None:
            raise HTTPException(status_code=404, detail="unknown realm")
        with store.lock:
            return {"Preferences": company.preferences_body(), "CompanyInfo": company.company_info()}

    @extra.post("/preferences/{realm_id}")
    def set_preferences(realm_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Change a company's settings like its owner would in QBO's settings pages:
        ``{"Preferences": {...}, "CompanyInfo": {...}}``, merged into what the company has."""
        company = store.companies.get(realm_id)
        if company is None:
            raise HTTPException(status_code=404, detail="unknown realm")
        unknown = sorted(set(body) - {"Preferences", "CompanyInfo"})
        if unknown:
            raise HTTPException(status_code=400, detail=f"unknown sections: {unknown}")
        with store.lock:
            try:
                company_settings.configure(company, None, None, body.get("Preferences"), body.get("CompanyInfo"))
            except faults.QboError as err:
                raise HTTPException(status_code=err.status, detail=err.body) from err
            return {"Preferences": company.preferences_body(), "CompanyInfo": company.company_info()}

    @extra.get("/entities/{realm_id}/{entity_name}")
    def list_entities(realm_id: str, entity_name: str) -> dict[str, Any]:
        entity = BY_PATH.get(entity_name.lower())
        company = store.companies.get(realm_id)
        if entity is None or company is None:
            raise HTTPException(status_code=404, detail="unknown realm or entity")
        with store.lock:
            records = list(company.entities[entity].values())
            return {
                entity: [r.body for r in records if not r.deleted],
                "deleted": [r.body["Id"] for r in records if r.deleted],
            }

    @extra.post("/token")
    def token(body: dict[str, Any]) -> dict[str, Any]:
        """Tokens for a realm without the browser step (tests, benchmark); the realm is created if new."""
        company = store.add_company(body.get("realmId"), body.get("CompanyName"))
        return oauth.issue(company.realm_id) | {"realmId": company.realm_id}

    app.include_router(extra)

    def throttled(_: Request) -> Response:
        return _answer(faults.throttled_body(), 429)

    app.add_middleware(FaultAndLogMiddleware, state=log, throttled=throttled)
    app.add_middleware(Throttle, limits=limits, log=log)
    return app


def _setting(current: Any, value: Any) -> Any:
    if isinstance(current, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    return type(current)(value) if current is not None else value


def _seed(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Companies first, then entities (in dependency order) into ``realmId`` or the default company.

    A ``companies[]`` entry: ``realmId``, ``CompanyName``, ``HomeCurrency``, ``MultiCurrencyEnabled``,
    ``TaxRates`` ({tax code id: percent}), ``Preferences`` and ``CompanyInfo`` (merged into the
    company's, e.g. ``{"SalesFormsPrefs": {"AllowDiscount": false}}``), and the CompanyInfo shorthands
    ``Country``, ``LegalName``, ``DefaultTimeZone``, ``CompanyAddr``, ``Email``, ``FiscalYearStartMonth``.
    Seeding into an existing company changes only what the entry gives.
    """
    realms = []
    for spec in body.get("companies") or []:
        info = dict(spec.get("CompanyInfo") or {})
        info.update({k: spec[k] for k in INFO_SHORTHANDS if k in spec})
        multicurrency = spec.get("MultiCurrencyEnabled")
        company = store.add_company(
            spec.get("realmId"),
            spec.get("CompanyName"),
            spec.get("HomeCurrency"),
            None if multicurrency is None else bool(multicurrency),
            spec.get("TaxRates"),
            spec.get("Preferences"),
            info,
        )
        realms.append(company.realm_id)
    realm_id = body.get("realmId") or (realms[0] if realms else None)
    wanted = [e for e in ENTITIES if body.get(e)]
    if not wanted:
        return {"companies": realms, "realmId": realm_id, "created": {}}
    company = store.add_company(realm_id) if realm_id else store.connect_realm()
    created: dict[str, list[str]] = {}
    seeding = Options(seeding=True)
    for entity in SEED_ORDER:
        rows = body.get(entity) or []
        if entity == "Customer":  # parents before their sub-customers
            rows = sorted(
                rows,
                key=lambda c: (
                    int(c.get("Level") or (1 if c.get("ParentRef") else 0)) if isinstance(c, dict) else 0
                ),
            )
        for payload in rows:
            if not isinstance(payload, dict):
                raise faults.malformed_body(entity)
            made = entities.create(store, company, entity, payload, seeding)
            created.setdefault(entity, []).append(made["Id"])
    return {"companies": realms, "realmId": company.realm_id, "created": created}
