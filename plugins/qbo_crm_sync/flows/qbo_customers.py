"""Which QBO customer a CRM email belongs to, creating it when there is none: once per email.

Shared by the flows that write QBO transactions for CRM contacts (sales receipts, invoices). In
order, cheapest first:

1. the entity map (email → customer), filled by earlier resolutions;
2. a claim already resolved (a customer this code created);
3. the local mirror of the company's customers (``sync.qbo_customer_mirror``, inactive ones too),
   brought up to date by one CDC call per resolution, so matching thousands of emails costs one
   metered read instead of one query each;
4. for a create whose answer was lost (a claim without customer), a QBO query by email
   (``Active IN (true,false)``, the email escaped with quote());
5. otherwise create the customer through ``/batch``: DisplayName from the contact's name (QBO
   rules: ≤ 500 characters, no colon, tab or newline); when QBO answers Fault 6240 (the name is
   taken, inactive customers, vendors and employees included) the next try uses
   ``Name (email)``, then ``Name (email) 2``, ``3``… so a create never dies of a name clash.

Whichever way a customer was found, one rule follows: if the accountant has made it inactive, it
is reactivated with a sparse update (QBO refuses transactions for an inactive customer), and the
resolution says so.

One email never yields two customers: everything runs under a per-integration advisory lock, a
create needs the unique claim row of (integration, email), each create carries a deterministic
bId per (email, try), and a batch whose answer was lost is re-sent identically before anything
else (flows/qbo_batch_log.py), so QBO replays instead of creating again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from qbo_crm_sync.errors import ApiError, AuthError, DuplicateName, RetryableError, StaleObject
from qbo_crm_sync.flows import extraction, qbo_batch_log, qbo_changes
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.store import db, tracking, watermarks
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query

log = logging.getLogger(__name__)

PURPOSE = "customers"
MIRROR_STREAM = "qbo_customer_mirror"
NAME_MAX = 500
CDC_MAX_OBJECTS = qbo_changes.CDC_MAX_OBJECTS
CDC_MAX_AGE = qbo_changes.CDC_MAX_AGE
# CDC from a little before the last refresh: QBO's change index trails its writes.
OVERLAP = timedelta(minutes=5)
BATCH_ITEMS = 30
SEND_WORKERS = 4
CREATE_ROUNDS = 4
SOURCE_TYPE = "contact_email"

_BAD_NAME_CHARS = re.compile(r"[:\t\r\n]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Resolution:
    customer_id: str | None
    how: str  # how it was found, or why there is none


def email_key(value: Any) -> str | None:
    """The matching key of an email: trimmed and lower-cased; None when empty."""
    if not isinstance(value, str):
        return None
    key = value.strip().lower()
    return key or None


def display_name_for(name: Any, email: str | None) -> str | None:
    """A DisplayName QBO accepts: no colon, tab or newline, spaces collapsed, ≤ 500 characters;
    the email when the contact has no name."""
    text = _SPACES.sub(" ", _BAD_NAME_CHARS.sub(" ", name)).strip() if isinstance(name, str) else ""
    text = text or (email or "")
    return text[:NAME_MAX] or None


def disambiguated(name: str, email: str, number: int = 1) -> str:
    """``Name (email)`` (``Name (email) N`` from the second on), within QBO's 500 characters by
    shortening the name part."""
    suffix = f" ({email})" + (f" {number}" if number > 1 else "")
    return (name[: max(NAME_MAX - len(suffix), 1)] + suffix)[:NAME_MAX]


def next_display_name(taken: str, email: str) -> str:
    """The DisplayName to try after ``taken`` was refused as a duplicate: deterministic, so every
    retry of the same customer walks the same sequence."""
    marker = f" ({email})"
    if taken.endswith(marker):
        return disambiguated(taken[: -len(marker)], email, 2)
    head, _, number = taken.rpartition(" ")
    if head.endswith(marker) and number.isdigit():
        return disambiguated(head[: -len(marker)], email, int(number) + 1)
    return disambiguated(taken, email)


def _lock_name(integration_id: int) -> str:
    return f"qbo_customers:{integration_id}"


@contextmanager
def advisory_lock(db_url: str, name: str) -> Iterator[None]:
    """Hold a PostgreSQL session advisory lock on ``name`` for the duration of the block."""
    conn = db.connect(db_url, autocommit=True)
    try:
        conn.execute(query("qbo_customers_lock_timeout"))
        conn.execute(query("qbo_customers_lock"), {"name": name})
        try:
            yield
        finally:
            conn.execute(query("qbo_customers_unlock"), {"name": name})
    finally:
        conn.close()


# ------------------------------------------------------------------------------------ mirror


def mirror_put(conn: Connection, integration_id: int, customers: list[dict[str, Any]]) -> int:
    rows = [c for c in customers if c.get("Id")]
    if rows:
        conn.execute(query("qbo_customers_mirror_upsert"), {
            "integration_id": integration_id,
            "customer_ids": [str(c["Id"]) for c in rows],
            "emails": [email_key((c.get("PrimaryEmailAddr") or {}).get("Address")) for c in rows],
            "display_names": [c.get("DisplayName") for c in rows],
            "actives": [c.get("Active", True) is not False for c in rows],
            "sync_tokens": [None if c.get("SyncToken") is None else str(c["SyncToken"]) for c in rows],
            "updated": [extraction.parse_time((c.get("MetaData") or {}).get("LastUpdatedTime")) for c in rows],
        })
    return len(rows)


def refresh_mirror(job: Job) -> dict[str, Any]:
    """Bring the mirror up to date: the whole customer list the first time (or after 29 days),
    else the changes since the last refresh (flows/qbo_changes.py: one CDC call, or a paged query
    when CDC answered at its 1000-object cap)."""
    integration = job.integration
    with job.connect() as conn:
        mark = watermarks.get(conn, integration.id, MIRROR_STREAM)
    started = datetime.now(UTC).replace(microsecond=0)
    if mark is None or started - mark > CDC_MAX_AGE:
        how = "full"
        rows = list(job.qbo.query("SELECT * FROM Customer WHERE Active IN (true, false) ORDERBY Id"))
    else:
        changes = qbo_changes.changed_since(job, ["Customer"], mark - OVERLAP,
                                            where={"Customer": "Active IN (true, false)"}, now=started)
        how, rows = changes.how, changes.rows["Customer"]
    with job.connect() as conn:
        mirror_put(conn, integration.id, rows)
        watermarks.advance(conn, integration.id, MIRROR_STREAM, started)
        conn.commit()
    log.info("Customer mirror refreshed (%s): %d customer(s) changed", how, len(rows))
    return {"mirror_refresh": how, "mirror_changed": len(rows)}


# -------------------------------------------------------------------------------- resolution


def resolve(job: Job, wanted: Mapping[str, str | None]) -> dict[str, Resolution]:
    """The customer for each email of ``wanted`` (email key → contact name), created if needed."""
    emails = sorted(e for e in wanted if e)
    if not emails:
        return {}
    integration_id = job.integration.id
    with advisory_lock(job.db_url, _lock_name(integration_id)):
        resolver = _Resolver(job, wanted)
        return resolver.run(emails)


class _Resolver:
    def __init__(self, job: Job, wanted: Mapping[str, str | None]) -> None:
        self.job = job
        self.iid = job.integration.id
        self.wanted = wanted
        self.found: dict[str, Resolution] = {}
        self.problems: dict[str, str] = {}
        self.name_taken: set[str] = set()

    def run(self, emails: list[str]) -> dict[str, Resolution]:
        _, settled = qbo_batch_log.resend_pending(self.job, PURPOSE, self._apply_creates)
        if not settled:
            return {e: Resolution(None, "QuickBooks did not answer a customer batch (retried next run)")
                    for e in emails}
        with self.job.connect() as conn:
            mapped = tracking.entity_map_get(conn, self.iid, SOURCE_TYPE, emails, "customer")
            for email, row in mapped.items():
                self.found[email] = Resolution(row["target_id"], "known customer")
            rest = [e for e in emails if e not in self.found]
            claims = self._claims(conn, rest)
        for email in rest:
            if claims.get(email, {}).get("customer_id"):
                self.found[email] = Resolution(claims[email]["customer_id"], "customer created earlier")
        rest = [e for e in rest if e not in self.found]
        # Always brought up to date (one CDC call): known customers may have been made inactive.
        refresh_mirror(self.job)
        if rest:
            self._from_mirror(rest)
            rest = [e for e in rest if e not in self.found]
        in_doubt = [e for e in rest if e in claims]
        for email in in_doubt:
            self._lookup(email)
        rest = [e for e in rest if e not in self.found]
        if rest:
            self._create(rest)
        self._settle_claims()
        self._ensure_active()
        self._remember()
        return {e: self.found.get(e) or Resolution(None, self.problems.get(e, "no customer could be made"))
                for e in emails}

    # -- lookups

    def _claims(self, conn: Connection, emails: list[str]) -> dict[str, dict[str, Any]]:
        if not emails:
            return {}
        rows = conn.execute(query("qbo_customers_claim_get"), {"integration_id": self.iid, "emails": emails})
        return {r["email"]: r for r in rows.fetchall()}

    def _settle_claims(self) -> None:
        """A claim whose create answer was lost names its customer once it is found (by the mirror or
        by email), so the customer stays known as this integration's own even after its email changes."""
        found = {e: r.customer_id for e, r in self.found.items() if r.customer_id}
        with self.job.connect() as conn:
            open_claims = [e for e, c in self._claims(conn, sorted(found)).items() if not c["customer_id"]]
            for email in open_claims:
                conn.execute(query("qbo_customers_claim_resolve"), {
                    "integration_id": self.iid, "email": email, "customer_id": found[email], "display_name": None})
            conn.commit()
        if open_claims:
            log.info("%d customer create(s) whose answer was lost found in QuickBooks and recorded", len(open_claims))

    def _from_mirror(self, emails: list[str]) -> None:
        with self.job.connect() as conn:
            rows = conn.execute(query("qbo_customers_mirror_match"),
                                {"integration_id": self.iid, "emails": emails}).fetchall()
        for row in rows:
            self.found[row["email"]] = Resolution(row["customer_id"], "matched an existing customer by email")

    def _lookup(self, email: str) -> None:
        """QBO query by email (a metered read): for creates whose answer was lost, and name clashes."""
        from qbo_crm_sync.hooks.quickbooks import quote

        select = ("SELECT * FROM Customer"  # noqa: S608 - a QBO query; the literal goes through quote()
                  f" WHERE PrimaryEmailAddr = {quote(email)} AND Active IN (true, false)")
        try:
            rows = list(self.job.qbo.query(select))
        except RetryableError as exc:
            self.problems[email] = f"QuickBooks lookup by email failed: {exc} (retried next run)"
            return
        if not rows:
            return
        rows.sort(key=lambda c: (c.get("Active", True) is False, len(str(c["Id"])), str(c["Id"])))
        best = rows[0]
        with self.job.connect() as conn:
            mirror_put(conn, self.iid, rows)
            conn.commit()
        self.found[email] = Resolution(str(best["Id"]), "found in QuickBooks by email")

    def _ensure_active(self) -> None:
        """One rule for every way a customer was found: inactive in QBO (the mirror says so, just
        refreshed) means reactivate it first."""
        ids = sorted({r.customer_id for r in self.found.values() if r.customer_id})
        if not ids:
            return
        with self.job.connect() as conn:
            inactive = conn.execute(query("qbo_customers_mirror_inactive"),
                                    {"integration_id": self.iid, "customer_ids": ids}).fetchall()
        for row in inactive:
            customer_id = row["customer_id"]
            emails = [e for e, r in self.found.items() if r.customer_id == customer_id]
            revived = self._reactivate(customer_id, row["sync_token"])
            for email in emails:
                if revived:
                    how = self.found[email].how
                    self.found[email] = Resolution(customer_id, f"{how}; reactivated it (it was inactive in QuickBooks)")
                else:
                    del self.found[email]
                    self.problems[email] = f"QBO customer {customer_id} is inactive and could not be reactivated"

    def _reactivate(self, customer_id: str, sync_token: Any) -> bool:
        from qbo_crm_sync.hooks.quickbooks import request_id

        hook = self.job.qbo
        for _ in range(2):
            try:
                body = hook.update("Customer", {"Id": customer_id, "SyncToken": str(sync_token), "Active": True},
                                   request_id=request_id("reactivate", self.iid, customer_id, sync_token),
                                   sparse=True)
            except StaleObject:
                sync_token = hook.read("Customer", customer_id).get("SyncToken")
                continue
            except (RetryableError, ApiError) as exc:
                if isinstance(exc, AuthError):
                    raise
                log.warning("Reactivating customer %s failed: %s", customer_id, exc)
                return False
            with self.job.connect() as conn:
                mirror_put(conn, self.iid, [body])
                conn.commit()
            return True
        return False

    # -- creation

    def _create(self, emails: list[str]) -> None:
        from qbo_crm_sync.hooks.quickbooks import batch_item_id

        with self.job.connect() as conn:
            conn.execute(query("qbo_customers_claim_put"), {
                "integration_id": self.iid, "emails": emails,
                "display_names": [display_name_for(self.wanted.get(e), e) for e in emails],
            })
            conn.commit()
        for _ in range(CREATE_ROUNDS):
            with self.job.connect() as conn:
                claims = self._claims(conn, emails)
            todo = [claims[e] for e in emails if e in claims and not claims[e]["customer_id"]
                    and e not in self.found and e not in self.name_taken]
            if not todo:
                break
            items = [{
                "bId": batch_item_id("customer", self.iid, c["email"], c["tries"]),
                "operation": "create",
                "Customer": {"DisplayName": c["display_name"], "PrimaryEmailAddr": {"Address": c["email"]}},
            } for c in todo]
            chunks = [items[i:i + BATCH_ITEMS] for i in range(0, len(items), BATCH_ITEMS)]
            with ThreadPoolExecutor(SEND_WORKERS, thread_name_prefix="qbo-customers") as pool:
                settled = list(pool.map(
                    lambda chunk: qbo_batch_log.send(self.job, PURPOSE, chunk, self._apply_creates), chunks))
            if not all(settled):
                for c in todo:
                    self.problems.setdefault(c["email"], "QuickBooks did not answer the customer batch "
                                                         "(re-sent first next run)")
                break
            # A name already taken may be taken by this very customer: a create whose answer was
            # lost and that was sent again (QBO's requestid replay is not to be trusted). Look it up
            # by email before the next round tries the next name.
            for email in sorted(self.name_taken - set(self.found)):
                self._lookup(email)
            self.name_taken.clear()

    def _apply_creates(self, conn: Connection, items: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        created: list[dict[str, Any]] = []
        for item, result in zip(items, results, strict=True):
            sent = item["Customer"]
            email = email_key(sent["PrimaryEmailAddr"]["Address"]) or ""
            error = result.get("error")
            if error is None and result.get("Customer"):
                customer = result["Customer"]
                created.append(customer)
                conn.execute(query("qbo_customers_claim_resolve"), {
                    "integration_id": self.iid, "email": email, "customer_id": str(customer["Id"]),
                    "display_name": customer.get("DisplayName")})
                self.found[email] = Resolution(str(customer["Id"]), "created the customer")
                continue
            new_name = None
            if isinstance(error, DuplicateName):
                name = str(sent["DisplayName"])
                new_name = next_display_name(name, email)
                self.name_taken.add(email)
            self.problems[email] = f"QuickBooks refused the new customer: {error}"
            conn.execute(query("qbo_customers_claim_retry"),
                         {"integration_id": self.iid, "email": email, "display_name": new_name})
        mirror_put(conn, self.iid, created)
        tracking.entity_map_put(conn, [self._map_row(email_key(c["PrimaryEmailAddr"]["Address"]) or "", c["Id"])
                                       for c in created])

    def _map_row(self, email: str, customer_id: Any) -> dict[str, Any]:
        return {"integration_id": self.iid, "source_system": "highlevel", "source_type": SOURCE_TYPE,
                "source_id": email, "target_system": "quickbooks", "target_type": "customer",
                "target_id": str(customer_id)}

    def _remember(self) -> None:
        rows = [self._map_row(e, r.customer_id) for e, r in self.found.items() if r.customer_id]
        with self.job.connect() as conn:
            tracking.entity_map_put(conn, rows)
            conn.commit()
