"""HighLevel (LeadConnector) API v2 for one location: contacts, payments, invoices, messages.

Authentication is a Private Integration Token of the location (the Airflow connection's password).
The burst limit (100 requests per 10 s per location) is kept client-side and corrected from the
``X-RateLimit-*`` headers every answer carries. The daily limit (200,000 requests per location) is
read from the same headers (:attr:`HighLevelHook.daily`) so that long jobs can plan within it; a 429
that says the day's budget is spent raises :class:`DailyLimitReached`, which is not retried.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests

from qbo_crm_sync.errors import (
    ApiError,
    ConfigurationError,
    CrmAccessDenied,
    RateLimited,
    ServerError,
    SyncError,
)
from qbo_crm_sync.hooks import connection_forms
from qbo_crm_sync.hooks.http import (
    DEFAULT_TIMEOUT,
    HttpSender,
    OffsetPager,
    RequestStats,
    RetryPolicy,
    describe,
    retry_after_seconds,
    shared_throttle,
)

try:
    from airflow.sdk import BaseHook
except ImportError:  # pragma: no cover - Airflow 2 layout
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef]

log = logging.getLogger(__name__)

PAGE_SIZE = 100
SEARCH_PAGE_SIZE = 100
# The most contacts one POST /contacts/search answers (its ``pageLimit`` maximum).
SEARCH_PAGE_MAX = 500
# Messages of a conversation per page (the API's default is 20).
MESSAGES_PAGE_SIZE = 50


class DuplicateContact(ApiError):
    """HighLevel refused to create or update a contact because another one holds its email or phone
    (the location does not allow duplicates): 400 with ``meta.contactId`` and ``meta.matchingField``."""

    def __init__(self, message: str, *, contact_id: str, matching_field: str | None, detail: str | None) -> None:
        super().__init__(message, status=400, code="400", detail=detail, element=matching_field)
        self.contact_id = contact_id
        self.matching_field = matching_field


class DailyLimitReached(RateLimited):
    """The location's requests for the day are spent (429 with ``X-RateLimit-Daily-Remaining: 0``).

    HighLevel documents 200,000 requests "per day" without saying when the day turns; we take the
    UTC day (the emulator's reading), so ``retry_after`` runs to the next UTC midnight. It is longer
    than any retry waits, so the request fails at once instead of sleeping for hours."""


@dataclass(frozen=True)
class DailyBudget:
    """The day's budget as the last answer reported it."""

    limit: int
    remaining: int
    seen_at: float  # time.time() of that answer

    @property
    def resets_at(self) -> datetime:
        return next_day_start(datetime.fromtimestamp(self.seen_at, UTC))


def next_day_start(moment: datetime) -> datetime:
    """When the daily budget counted on ``moment``'s day starts again (the next UTC midnight)."""
    day = moment.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True)
class HighLevelSettings:
    token: str = field(repr=False)
    base_url: str = "https://services.leadconnectorhq.com"
    version: str = "2021-07-28"
    conversations_version: str = "2021-04-15"
    requests_per_window: int = 100
    window_s: float = 10.0
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_connection(cls, conn: Any) -> HighLevelSettings:
        """Read an Airflow connection: password = Private Integration Token, extra = base_url, window_s."""
        conn_id = getattr(conn, "conn_id", None) or "highlevel_default"
        if not conn.password:
            raise ConfigurationError(
                f"Airflow connection '{conn_id}' has no Private Integration Token (password)"
            )
        extra = conn.extra_dejson or {}
        values: dict[str, Any] = {"token": conn.password}
        base_url = extra.get("base_url") or (conn.host if conn.host and "://" in conn.host else None)
        if base_url:
            values["base_url"] = base_url.rstrip("/")
        for key, kind in (("window_s", float), ("requests_per_window", int)):
            if extra.get(key) not in (None, ""):
                try:
                    values[key] = kind(extra[key])
                except (TypeError, ValueError) as exc:
                    raise ConfigurationError(
                        f"Airflow connection '{conn_id}': extra {key} is not a number"
                    ) from exc
        return cls(**values)


def _message_of(body: Any) -> str:
    """HighLevel's ``message`` is a string or a list of strings (validation errors)."""
    if not isinstance(body, dict):
        return ""
    message = body.get("message") or body.get("error") or ""
    if isinstance(message, list):
        return "; ".join(str(m) for m in message)
    return str(message)


def _int_header(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


def error_for_response(response: requests.Response) -> SyncError:
    """The typed error for a non-2xx HighLevel answer."""
    status = response.status_code
    where = describe(response.request.method or "", response.request.url or "")
    try:
        body = response.json()
    except ValueError:
        body = None
    message = _message_of(body) or response.reason or "no message"
    text = f"HighLevel answered {status} to {where}: {message}"
    if status == 429 and _int_header(response, "X-RateLimit-Daily-Remaining") == 0:
        now = datetime.now(UTC)
        return DailyLimitReached(f"{text} (the location's daily request budget is spent)",
                                 retry_after=(next_day_start(now) - now).total_seconds())
    if status == 429:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if retry_after is None:
            interval = _int_header(response, "X-RateLimit-Interval-Milliseconds")
            retry_after = interval / 1000 if interval else None
        return RateLimited(text, retry_after=retry_after)
    if status >= 500:
        return ServerError(text)
    if status in (401, 403):
        return CrmAccessDenied(f"{text}. Check that the integration's CRM connection (crm_conn_id) holds "
                               "this location's Private Integration Token with the needed scopes.")
    meta = body.get("meta") if isinstance(body, dict) else None
    if status == 400 and isinstance(meta, dict) and meta.get("contactId"):
        return DuplicateContact(text, contact_id=str(meta["contactId"]),
                                matching_field=meta.get("matchingField"), detail=message)
    return ApiError(text, status=status, code=str(status), detail=message)


def is_not_found(exc: ApiError) -> bool:
    """The API answers unknown ids with 400 "... not found" (404 on some routes)."""
    return exc.status == 404 or (exc.status == 400 and "not found" in (exc.detail or "").lower())


def _search_time(value: datetime) -> str:
    """A time as the search filters take it: UTC ISO-8601 with milliseconds and ``Z``."""
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _day(value: date | datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value.isoformat()


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class HighLevelHook(BaseHook):
    """One HighLevel location (sub-account) over API v2."""

    conn_name_attr = "highlevel_conn_id"
    default_conn_name = "highlevel_default"
    conn_type = "highlevel"
    hook_name = "HighLevel (LeadConnector)"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return copy.deepcopy(connection_forms.HIGHLEVEL)

    def __init__(
        self,
        location_id: str,
        highlevel_conn_id: str = default_conn_name,
        settings: HighLevelSettings | None = None,
    ) -> None:
        super().__init__()
        self.location_id = location_id
        self.highlevel_conn_id = highlevel_conn_id
        self._settings = settings
        self.stats = RequestStats()
        self._sender: HttpSender | None = None
        # The location's daily budget as the latest answer told it (None until one came).
        self.daily: DailyBudget | None = None

    def __repr__(self) -> str:
        return f"HighLevelHook(location_id={self.location_id!r}, conn_id={self.highlevel_conn_id!r})"

    # -- plumbing

    @property
    def settings(self) -> HighLevelSettings:
        if self._settings is None:
            self._settings = HighLevelSettings.from_connection(self.get_connection(self.highlevel_conn_id))
        return self._settings

    def get_conn(self) -> HttpSender:
        if self._sender is None:
            s = self.settings
            self._sender = HttpSender(
                "HighLevel",
                throttle=shared_throttle(f"highlevel:{s.base_url}", s.requests_per_window, s.window_s),
                policy=s.retry,
                timeout=s.timeout,
                error_for=error_for_response,
                after=self._follow_rate_headers,
                stats=self.stats,
            )
        return self._sender

    def _follow_rate_headers(self, key: str, response: requests.Response) -> None:
        """Obey the server's view of the budget: its maximum, and a pause when nothing remains."""
        daily_limit = _int_header(response, "X-RateLimit-Limit-Daily")
        daily_remaining = _int_header(response, "X-RateLimit-Daily-Remaining")
        if daily_limit is not None and daily_remaining is not None:
            self.daily = DailyBudget(daily_limit, daily_remaining, time.time())
        throttle = self.get_conn().throttle
        if throttle is None:
            return
        maximum = _int_header(response, "X-RateLimit-Max")
        if maximum and maximum < throttle.limit_for(key):
            throttle.set_limit(key, maximum)
        remaining = _int_header(response, "X-RateLimit-Remaining")
        interval_ms = _int_header(response, "X-RateLimit-Interval-Milliseconds")
        # A full window that our own requests explain is already waited out by the throttle, until
        # exactly when our oldest request leaves it; pausing a whole window more from here would idle
        # for as long as the burst took to send. Only a server that counts more than we sent (another
        # client on this location) needs the pause, and the interval is the one safe length for it.
        if remaining is None or remaining > 0:
            return
        # The server judged this request on arrival, up to its round trip (plus reading the body) ago.
        ours = throttle.used(key, grace_s=response.elapsed.total_seconds() + 0.1)
        if ours < throttle.limit_for(key):
            throttle.pause(key, (interval_ms or self.settings.window_s * 1000) / 1000)

    def _request(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        version: str | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        s = self.settings
        data = None if body is None else json.dumps(body, default=_json_default).encode()

        def headers() -> dict[str, str]:
            sent = {"Authorization": f"Bearer {s.token}", "Version": version or s.version}
            if data is not None:
                sent["Content-Type"] = "application/json"
            return sent

        response = self.get_conn().send(
            method,
            f"{s.base_url.rstrip('/')}{path}",
            key=self.location_id,
            kind=kind,
            params={k: v for k, v in (params or {}).items() if v is not None},
            data=data,
            headers=headers,
            idempotent=idempotent,
        )
        if not response.content:
            return {}
        try:
            answer = response.json()
        except ValueError:
            raise ServerError(
                f"HighLevel answered {describe(method, response.url)} with a body that is not JSON"
            ) from None
        return answer if isinstance(answer, dict) else {"data": answer}

    def _alt(self) -> dict[str, str]:
        return {"altId": self.location_id, "altType": "location"}

    def _paged(
        self, path: str, params: dict[str, Any], items_key: str, total_key: str, page_size: int = PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        def fetch(offset: int, limit: int) -> tuple[Sequence[dict[str, Any]], int | None]:
            body = self._request(
                "GET", path, kind="read", params={**params, "limit": limit, "offset": offset}
            )
            total = body.get(total_key)
            return body.get(items_key) or [], int(total) if total is not None else None

        return iter(OffsetPager(fetch, page_size))

    # -- the location

    def get_location(self) -> dict[str, Any]:
        """This location's record, read with the connection's token: ``GET /locations/{locationId}``."""
        return self._request("GET", f"/locations/{self.location_id}", kind="read").get("location") or {}

    # -- contacts

    def upsert_contact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Create or update by the location's duplicate rule (email/phone); answer ``{new, contact, traceId}``."""
        return self._request(
            "POST", "/contacts/upsert", kind="write", body={**payload, "locationId": self.location_id}
        )

    def create_contact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Create a contact; answer it. A location that does not allow duplicates refuses one whose
        email or phone another contact holds (:class:`DuplicateContact`, naming that contact).

        Not retried once the request may have reached the API: a create whose answer was lost is
        found afterwards by its email or phone, never sent twice."""
        body = self._request("POST", "/contacts/", kind="write", idempotent=False,
                             body={**payload, "locationId": self.location_id})
        return body.get("contact") or {}

    def update_contact(self, contact_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Update the given fields of one contact (``tags`` replaces all of its tags); answer it.
        Refused with :class:`DuplicateContact` when another contact holds the new email or phone."""
        body = self._request("PUT", f"/contacts/{contact_id}", kind="write", body=fields)
        return body.get("contact") or {}

    def get_contact(self, contact_id: str) -> dict[str, Any] | None:
        """The contact, or None when it does not exist (any more)."""
        try:
            return self._request("GET", f"/contacts/{contact_id}", kind="read").get("contact")
        except ApiError as exc:
            if is_not_found(exc):
                return None
            raise

    def search_contacts(
        self,
        filters: list[dict[str, Any]] | None = None,
        query: str | None = None,
        page_limit: int = SEARCH_PAGE_SIZE,
        sort: list[dict[str, str]] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every contact matching ``filters`` (``{field, operator, value}``) and/or ``query``, in
        ``sort`` order (``[{field, direction}]``; the API's default is by dateAdded).

        Pages follow the ``searchAfter`` cursor of the last contact, which, unlike page numbers,
        is not capped at 10,000 results.
        """
        body: dict[str, Any] = {"locationId": self.location_id, "pageLimit": page_limit}
        if filters:
            body["filters"] = filters
        if query:
            body["query"] = query
        if sort:
            body["sort"] = sort
        while True:
            contacts = self._request("POST", "/contacts/search", kind="read", body=body).get("contacts") or []
            yield from contacts
            cursor = contacts[-1].get("searchAfter") if contacts else None
            if len(contacts) < page_limit or not cursor:
                return
            body = {**body, "searchAfter": cursor}

    def contacts_updated_since(self, since: datetime | None = None,
                               page_limit: int = SEARCH_PAGE_MAX) -> Iterator[dict[str, Any]]:
        """Every contact of the location changed at or after ``since`` (all of them when None),
        oldest change first, in pages of up to 500.

        ``dateUpdated`` is one of the search guide's filter fields and takes the ``range`` operator
        with ISO-8601 bounds; sorting by it keeps the ``searchAfter`` cursor moving forward."""
        filters = None
        if since is not None:
            filters = [{"field": "dateUpdated", "operator": "range", "value": {"gte": _search_time(since)}}]
        return self.search_contacts(filters, page_limit=page_limit,
                                    sort=[{"field": "dateUpdated", "direction": "asc"}])

    def find_duplicate(self, email: str | None = None, phone: str | None = None) -> dict[str, Any] | None:
        """The contact the location would treat as a duplicate of this email/phone, or None."""
        if not email and not phone:
            raise ValueError("find_duplicate needs an email or a phone")
        body = self._request(
            "GET",
            "/contacts/search/duplicate",
            kind="read",
            params={"locationId": self.location_id, "email": email, "number": phone},
        )
        return body.get("contact") or None

    def add_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]:
        """Add tags to a contact, keeping the ones it has; answer its tags."""
        body = self._request("POST", f"/contacts/{contact_id}/tags", kind="write", body={"tags": list(tags)})
        return list(body.get("tags") or [])

    # -- payments

    def _payments(self, path: str, start_at: date | datetime | str | None, end_at: date | datetime | str | None,
                  filters: dict[str, Any], location: bool = True) -> Iterator[dict[str, Any]]:
        params = {**self._alt(), "startAt": _day(start_at), "endAt": _day(end_at), **filters}
        if location:
            params["locationId"] = self.location_id
        return self._paged(path, params, "data", "totalCount")

    def transactions(self, start_at: date | datetime | str | None = None,
                     end_at: date | datetime | str | None = None, **filters: Any) -> Iterator[dict[str, Any]]:
        """Payment transactions (filters: entitySourceType, subscriptionId, paymentMode, contactId, ...)."""
        return self._payments("/payments/transactions", start_at, end_at, filters)

    def orders(self, start_at: date | datetime | str | None = None,
               end_at: date | datetime | str | None = None, **filters: Any) -> Iterator[dict[str, Any]]:
        # altType is not in the published spec but the live API rejects requests without it.
        return self._payments("/payments/orders", start_at, end_at, filters)

    def get_order(self, order_id: str) -> dict[str, Any]:
        """One order with its items and amount summary (the list answer has neither)."""
        return self._request("GET", f"/payments/orders/{order_id}", kind="read", params=self._alt())

    def subscriptions(self, start_at: date | datetime | str | None = None,
                      end_at: date | datetime | str | None = None, **filters: Any) -> Iterator[dict[str, Any]]:
        return self._payments("/payments/subscriptions", start_at, end_at, filters, location=False)

    def invoices(self, status: str | None = None, **filters: Any) -> Iterator[dict[str, Any]]:
        """Invoices of the location (there is no updated-since filter: callers compare content)."""
        params = {**self._alt(), "status": status, **filters}
        return self._paged("/invoices/", params, "invoices", "total")

    def invoice_page(self, offset: int = 0, limit: int = PAGE_SIZE, **filters: Any) -> tuple[list[dict[str, Any]], int]:
        """One page of ``GET /invoices/`` and the listing's ``total``: what a caller needs to weigh
        reading the whole listing against reading invoices one by one."""
        body = self._request("GET", "/invoices/", kind="read",
                             params={**self._alt(), **filters, "limit": limit, "offset": offset})
        return list(body.get("invoices") or []), int(body.get("total") or 0)

    def get_invoice(self, invoice_id: str) -> dict[str, Any]:
        body = self._request("GET", f"/invoices/{invoice_id}", kind="read", params=self._alt())
        return body.get("invoice") if isinstance(body.get("invoice"), dict) else body

    def find_invoice(self, invoice_id: str) -> dict[str, Any] | None:
        """The invoice, or None when the location has no invoice with that id (any more)."""
        try:
            return self.get_invoice(invoice_id)
        except ApiError as exc:
            # The API answers an unknown (or deleted) id with 400 "Unable to find an invoice ...".
            if exc.status == 404 or (exc.status == 400 and "unable to find" in (exc.detail or "").lower()):
                return None
            raise

    # The CRM user's side of an invoice's life (the sync itself only reads invoices): tests, the
    # demo and the benchmark act in the CRM through these, as a user's tools would.

    def create_invoice(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``POST /invoices/``: a new draft (CreateInvoiceDto without altId/altType)."""
        return self._request("POST", "/invoices/", kind="write", body={**self._alt(), **payload}, idempotent=False)

    def update_invoice(self, invoice_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """``PUT /invoices/{id}`` (UpdateInvoiceDto without altId/altType): items, discount, dates..."""
        return self._request("PUT", f"/invoices/{invoice_id}", kind="write", body={**self._alt(), **payload})

    def send_invoice(self, invoice_id: str, user_id: str, live_mode: bool = True,
                     action: str = "send_manually") -> dict[str, Any]:
        body = {**self._alt(), "userId": user_id, "action": action, "liveMode": live_mode}
        return self._request("POST", f"/invoices/{invoice_id}/send", kind="write", body=body, idempotent=False)

    def record_invoice_payment(self, invoice_id: str, amount: Decimal | None = None, mode: str = "cash",
                               notes: str = "") -> dict[str, Any]:
        """Record a manual payment (the whole amount due without ``amount``). Not idempotent: an
        answer lost on the way back is reported, not resent, so nothing is paid twice."""
        body: dict[str, Any] = {**self._alt(), "mode": mode, "card": {"brand": "", "last4": ""},
                                "cheque": {"number": ""}, "notes": notes}
        if amount is not None:
            body["amount"] = amount
        return self._request("POST", f"/invoices/{invoice_id}/record-payment", kind="write", body=body,
                             idempotent=False)

    def void_invoice(self, invoice_id: str) -> dict[str, Any]:
        return self._request("POST", f"/invoices/{invoice_id}/void", kind="write", body=self._alt(),
                             idempotent=False)

    # -- conversations

    def send_message(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a message (email/SMS) to a contact. Not idempotent: an answer lost on the way back
        is reported, not resent, so a contact never gets the same message twice."""
        return self._request(
            "POST",
            "/conversations/messages",
            kind="write",
            body=payload,
            version=self.settings.conversations_version,
            idempotent=False,
        )

    def conversations_of(self, contact_id: str) -> list[dict[str, Any]]:
        """The location's conversations with one contact (``GET /conversations/search``)."""
        body = self._request("GET", "/conversations/search", kind="read",
                             params={"locationId": self.location_id, "contactId": contact_id, "limit": 100},
                             version=self.settings.conversations_version)
        return [c for c in body.get("conversations") or [] if isinstance(c, dict)]

    def conversation_messages(self, conversation_id: str, page_limit: int = MESSAGES_PAGE_SIZE
                              ) -> Iterator[dict[str, Any]]:
        """A conversation's messages, newest first, page after page (``lastMessageId`` paging).

        HighLevel's reference shows the page inside a ``messages`` object; its OpenAPI document
        shows it at the top level: both are read."""
        params: dict[str, Any] = {"limit": page_limit}
        while True:
            body = self._request("GET", f"/conversations/{conversation_id}/messages", kind="read",
                                 params=params, version=self.settings.conversations_version)
            page = body.get("messages") if isinstance(body.get("messages"), dict) else body
            messages = [m for m in page.get("messages") or [] if isinstance(m, dict)]
            yield from messages
            last = page.get("lastMessageId") or (messages[-1].get("id") if messages else None)
            if not page.get("nextPage") or not messages or not last or last == params.get("lastMessageId"):
                return
            params = {**params, "lastMessageId": last}


__all__ = ["DailyBudget", "DailyLimitReached", "DuplicateContact", "HighLevelHook", "HighLevelSettings",
           "error_for_response", "is_not_found", "next_day_start"]
