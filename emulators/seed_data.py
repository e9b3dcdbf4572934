"""Realistic seed data in the real APIs' own JSON shapes, for the demo and the benchmark.

Deterministic for a given seed, so running the demo twice seeds the same people.
"""

from __future__ import annotations

import csv
import hashlib
import random
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

from faker import Faker

# Names a sync must carry unharmed: accents, apostrophes, hyphens, non-Latin scripts.
AWKWARD_NAMES = [
    ("José", "Ñúñez"), ("Siobhán", "O'Brien"), ("Zoë", "D'Arcy-Lefèvre"), ("Łukasz", "Żółć"),
    ("Mary-Jane", "van der Berg"), ("François", "L'Écuyer"), ("Jürgen", "Groß"), ("Ana", "São João"),
    ("Dũng", "Nguyễn"), ("Renée", "O'Connor"), ("Chloé", "Mäkelä"), ("Björn", "Ångström"),
]


AREA_CODES = ["212", "312", "415", "503", "617", "702", "206", "305", "512", "720"]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _customer(fake: Faker, rnd: random.Random, first: str, last: str, n: int) -> dict[str, Any]:
    company = fake.company() if rnd.random() < 0.4 else None
    email_local = f"{_ascii(first)}.{_ascii(last)}"
    c: dict[str, Any] = {
        "GivenName": first,
        "FamilyName": last,
        "DisplayName": f"{first} {last}" + (f" ({n})" if n else ""),
        "PrimaryEmailAddr": {"Address": f"{email_local}{n or ''}@{fake.free_email_domain()}"},
        "PrimaryPhone": {"FreeFormNumber": f"({rnd.choice(AREA_CODES)}) " + fake.numerify("###-####")},
        "BillAddr": {
            "Line1": fake.street_address(),
            "City": fake.city(),
            "CountrySubDivisionCode": fake.state_abbr(),
            "PostalCode": fake.postcode(),
            "Country": "US",
        },
        "Active": True,
    }
    if company:
        c["CompanyName"] = company
    return c


def qbo_customers(
    count: int, *, seed: int = 7, created_at: datetime | None = None, bad_share: float = 0.1, start: int = 0
) -> list[dict[str, Any]]:
    """``count`` QBO Customers; about ``bad_share`` of them are ones a sync must reject or skip
    (no email and no phone, a malformed email, a duplicate email)."""
    fake = Faker("en_US")
    fake.seed_instance(seed + start)
    rnd = random.Random(seed + start)
    out: list[dict[str, Any]] = []
    for i in range(start, start + count):
        if i < len(AWKWARD_NAMES):
            first, last = AWKWARD_NAMES[i]
        else:
            first, last = fake.first_name(), fake.last_name()
        c = _customer(fake, rnd, first, last, i)
        roll = rnd.random()
        if roll < bad_share / 3:
            c.pop("PrimaryEmailAddr")
            c.pop("PrimaryPhone")
        elif roll < 2 * bad_share / 3:
            c["PrimaryEmailAddr"] = {"Address": f"{_ascii(first)}..{_ascii(last)}@example.com"}
            c.pop("PrimaryPhone")
        elif roll < bad_share and out:
            c["PrimaryEmailAddr"] = dict(out[-1].get("PrimaryEmailAddr") or {"Address": "shared@example.com"})
            c["PrimaryEmailAddr"]["Address"] = "  " + c["PrimaryEmailAddr"]["Address"].upper() + " "
        if created_at is not None:
            c["MetaData"] = {"CreateTime": created_at.isoformat(), "LastUpdatedTime": created_at.isoformat()}
        out.append(c)
    return out


_CRM_TAGS = ["lead", "newsletter", "vip", "webinar-2024", "referral", "client", "wholesale", "event-guest"]


def hl_contacts_known_before(customers: list[dict[str, Any]], location_id: str, *, share: float = 0.3,
                             seed: int = 13) -> list[dict[str, Any]]:
    """CRM contacts, in the seed's shape, for about ``share`` of ``customers`` (QBO Customers as
    :func:`qbo_customers` makes them): people who were in the CRM before the sync, each with tags
    of its own. Half hold the customer's email, spelt with other capitals; the other half hold
    only its phone, written as a person types it (``+1 212-555-0100``), under the same name."""
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    for c in customers:
        if rnd.random() >= share:
            continue
        email = (c.get("PrimaryEmailAddr") or {}).get("Address", "").strip()
        digits = "".join(ch for ch in (c.get("PrimaryPhone") or {}).get("FreeFormNumber", "") if ch.isdigit())
        contact: dict[str, Any] = {"locationId": location_id, "firstName": c.get("GivenName"),
                                   "lastName": c.get("FamilyName"), "tags": rnd.sample(_CRM_TAGS, rnd.randint(1, 3))}
        by_email = rnd.random() < 0.5
        if by_email and "@" in email and ".." not in email:
            local, _, domain = email.partition("@")
            contact["email"] = f"{local[:1].upper()}{local[1:]}@{domain.capitalize()}"
        elif len(digits) == 10:
            contact["phone"] = f"+1 {digits[:3]}-{digits[3:6]}-{digits[6:]}"
        else:
            continue
        out.append(contact)
    return out


def hl_payers(count: int, *, seed: int = 5, start: int = 0) -> list[tuple[str, str]]:
    """``count`` distinct (name, email) pairs of CRM contacts who pay."""
    fake = Faker("en_US")
    fake.seed_instance(seed + start)
    out = []
    for i in range(start, start + count):
        first, last = AWKWARD_NAMES[i] if i < len(AWKWARD_NAMES) else (fake.first_name(), fake.last_name())
        out.append((f"{first} {last}", f"{_ascii(first)}.{_ascii(last)}.{i}@example.com"))
    return out


# (entitySourceType, entitySourceSubType, entitySourceName, subscription?) of eligible payments.
_PAYMENT_SOURCES = [
    ("funnel", "two_step_order_form", "Spring Garden Makeover", False),
    ("website", "one_step_order_form", "Shop: Seed Packs", False),
    ("funnel", "two_step_order_form", "Monthly Lawn Care", True),
    ("membership", None, "Garden Club Membership", False),
    ("calendar", None, "Landscape Consultation (60 min)", False),
]


def _hex_id(rnd: random.Random) -> str:
    return "".join(rnd.choices("0123456789abcdef", k=24))


def hl_transactions(location_id: str, count: int = 30, *, payers: list[tuple[str, str]] | None = None,
                    seed: int = 5, corpus: bool = True, created_at: datetime | None = None) -> list[dict[str, Any]]:
    """HighLevel payment transactions in the list answer's shape (``GET /payments/transactions``).

    ``count`` ordinary live payments (order forms, subscriptions, memberships, calendar bookings)
    from ``payers`` (default: 12 people), then, with ``corpus``, the ones a sync must not turn into
    receipts or must reject: an invoice payment, a test-mode payment, a failed one, a refunded one,
    EUR and GBP payments, a zero and a negative amount, an unknown source type, a contact with no email.
    """
    rnd = random.Random(seed)
    payers = payers or hl_payers(12, seed=seed)
    stamp = created_at.isoformat().replace("+00:00", "Z") if created_at else None

    def txn(name: str | None, email: str | None, amount: Any, source: str, sub_type: str | None,
            source_name: str, **extra: Any) -> dict[str, Any]:
        entity_id = _hex_id(rnd)
        t: dict[str, Any] = {
            "_id": _hex_id(rnd), "altId": location_id, "altType": "location",
            "contactId": "".join(rnd.choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789", k=20)),
            "contactName": name, "contactEmail": email, "currency": "USD", "amount": amount,
            "status": "succeeded", "liveMode": True, "entityType": "order", "entityId": entity_id,
            "entitySourceType": source, "entitySourceName": source_name, "entitySourceId": _hex_id(rnd)[:20],
            "paymentProviderType": "stripe", "chargeId": f"ch_{_hex_id(rnd)}", "amountRefunded": 0,
        }
        if sub_type:
            t["entitySourceSubType"] = sub_type
        if stamp:
            t["createdAt"] = t["updatedAt"] = t["fulfilledAt"] = stamp
        t.update(extra)
        return {k: v for k, v in t.items() if v is not None}

    out = []
    for i in range(count):
        name, email = payers[i % len(payers)]
        source, sub_type, source_name, recurring = _PAYMENT_SOURCES[i % len(_PAYMENT_SOURCES)]
        cents = rnd.choice([1999, 4900, 12500, 8999, 30000, 2450, 15075])
        extra = {"subscriptionId": f"sub_{_hex_id(rnd)[:24]}", "entityType": "subscription"} if recurring else {}
        out.append(txn(name, email, cents / 100, source, sub_type, source_name, **extra))
    if corpus:
        name, email = payers[0]
        out += [
            txn(name, email, 250.0, "invoice", None, "Invoice #1042", entityType="invoice"),
            txn(name, email, 49.0, "funnel", "two_step_order_form", "Test checkout", liveMode=False),
            txn(name, email, 89.99, "funnel", "two_step_order_form", "Declined card", status="failed"),
            txn(name, email, 120.0, "website", "one_step_order_form", "Returned order", status="refunded",
                amountRefunded=120.0),
            txn(name, email, 75.0, "funnel", "two_step_order_form", "Paris workshop", currency="EUR"),
            txn(name, email, 60.0, "calendar", None, "London consultation", currency="GBP"),
            txn(name, email, 0, "funnel", "two_step_order_form", "Free sample"),
            txn(name, email, -15.0, "funnel", "two_step_order_form", "Adjustment"),
            txn(name, email, 35.0, "text2Pay", None, "Text-to-pay link"),
            txn("Walk-in Customer", None, 42.0, "calendar", None, "Drop-in visit"),
        ]
    return out


def qbo_invoices_and_payments(count: int, *, seed: int = 4, start_id: int = 7000) -> dict[str, Any]:
    """``count`` QBO customers with two invoices each and payments, in the seed's shape with explicit
    Ids (from ``start_id``, so one ``/_admin/seed`` call holds them all, references included), cycling
    through what review requests must tell apart: the first invoice paid in one payment (asked, by
    email), only part of it paid (not asked), only the later invoice paid (not asked), the first paid
    by a customer with a phone and no email (asked, by SMS), the first paid in two payments (asked
    once). ``asked`` lists who is to be asked: emails, and phones in E.164."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    customers: list[dict[str, Any]] = []
    invoices: list[dict[str, Any]] = []
    payments: list[dict[str, Any]] = []
    asked: list[str] = []
    for n in range(count):
        first, last = AWKWARD_NAMES[n % len(AWKWARD_NAMES)] if n < len(AWKWARD_NAMES) else (fake.first_name(),
                                                                                              fake.last_name())
        cid = str(start_id + n)
        kind = n % 5
        email = f"{_ascii(first)}.{_ascii(last)}.{cid}@example.com"
        phone = f"(212) 555-{1000 + n % 9000:04d}"
        customer: dict[str, Any] = {"Id": cid, "GivenName": first, "FamilyName": last,
                                    "DisplayName": f"{first} {last} ({cid})", "PrimaryPhone": {"FreeFormNumber": phone}}
        if kind != 3:
            customer["PrimaryEmailAddr"] = {"Address": email}
        customers.append(customer)
        amounts = (round(40 + (n * 37) % 460, 2), round(25 + (n * 53) % 300, 2))
        ids = (str(start_id + 2 * n), str(start_id + 2 * n + 1))
        for invoice_id, amount, day in zip(ids, amounts, ("2026-01-05", "2026-02-05"), strict=True):
            invoices.append({"Id": invoice_id, "CustomerRef": {"value": cid}, "TxnDate": day, "Line": [
                {"DetailType": "SalesItemLineDetail", "Amount": amount,
                 "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": amount}}]})
        parts = {0: [(0, amounts[0])], 1: [(0, round(amounts[0] / 2, 2))], 2: [(1, amounts[1])],
                 3: [(0, amounts[0])], 4: [(0, round(amounts[0] - 10, 2)), (0, 10.0)]}[kind]
        for which, amount in parts:
            payments.append({"Id": str(start_id + len(payments)), "CustomerRef": {"value": cid}, "TotalAmt": amount,
                             "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": ids[which], "TxnType": "Invoice"}]}]})
        if kind in (0, 4):
            asked.append(email)
        elif kind == 3:
            asked.append("+1" + "".join(ch for ch in phone if ch.isdigit()))
    return {"Customer": customers, "Invoice": invoices, "Payment": payments, "asked": asked}


# (name, unit price, tax rate %, tax-inclusive?) of invoice items: services taxed or not, a boxed
# product priced with its tax inside.
_INVOICE_ITEMS = [
    ("Garden design consultation", 150.00, 0, False),
    ("Lawn care (per visit)", 33.33, 7.25, False),
    ("Hedge trimming (hour)", 45.50, 7.25, False),
    ("Mulch delivery (cubic yard)", 38.99, 8.875, False),
    ("Seed pack bundle", 21.40, 7.0, True),
    ("Irrigation check", 89.00, 0, False),
]
_DISCOUNTS = [None, None, {"type": "percentage", "value": 10}, {"type": "fixed", "value": 15},
              {"type": "percentage", "value": 12.5}]


def hl_invoice(location_id: str, number: int | str, payer: tuple[str, str], items: list[dict[str, Any]], *,
               status: str = "sent", discount: dict[str, Any] | None = None, issue_date: str | None = None,
               due_date: str | None = None, currency: str = "USD", live: bool = True,
               **extra: Any) -> dict[str, Any]:
    """One HighLevel invoice for ``/_admin/seed`` (the emulator works out its totals as the CRM does)."""
    name, email = payer
    invoice: dict[str, Any] = {
        "altId": location_id, "name": f"Invoice {number}", "invoiceNumber": str(number), "currency": currency,
        "status": status, "liveMode": live, "invoiceItems": [{"currency": currency, **i} for i in items],
        "discount": discount or {"type": "percentage", "value": 0},
        "contactDetails": {"id": hashlib.sha1(email.encode()).hexdigest()[:20], "name": name, "email": email,
                           "phoneNo": "+15550100100"},
        "businessDetails": {"name": "Ñandú Landscaping"},
    }
    if issue_date:
        invoice["issueDate"] = issue_date
        invoice["dueDate"] = due_date or issue_date
    return invoice | extra


def hl_invoice_items(rnd: random.Random, count: int | None = None) -> list[dict[str, Any]]:
    """Invoice items drawn from a small catalogue: quantities 1 to 4, some taxed, one tax-inclusive."""
    out = []
    for _ in range(count or rnd.randint(1, 4)):
        name, price, rate, inclusive = rnd.choice(_INVOICE_ITEMS)
        item: dict[str, Any] = {"name": name, "amount": price, "qty": rnd.randint(1, 4),
                                "productId": "p" + _ascii(name)[:10]}
        if rate:
            item["taxes"] = [{"_id": f"tax{rate}", "name": f"Sales tax {rate}%", "rate": rate}]
        if inclusive:
            item["taxInclusive"] = True
        out.append(item)
    return out


def hl_invoices(location_id: str, count: int, *, payers: list[tuple[str, str]] | None = None, seed: int = 5,
                status: str = "sent", start_number: int = 1001, issue_dates: list[str] | None = None,
                ) -> list[dict[str, Any]]:
    """``count`` invoices (numbered from ``start_number``) from ``payers`` (default: 12 people), with
    1 to 4 items each, a discount on some; ``issue_dates`` are used in turn (default: today)."""
    rnd = random.Random(seed)
    payers = payers or hl_payers(12, seed=seed)
    out = []
    for n in range(count):
        day = issue_dates[n % len(issue_dates)] if issue_dates else None
        out.append(hl_invoice(location_id, start_number + n, payers[n % len(payers)], hl_invoice_items(rnd),
                              status=status, discount=rnd.choice(_DISCOUNTS), issue_date=day))
    return out


_EXPORT_POOL = 5000
QBO_EXPORT_HEADER = ["Customer full name", "Phone numbers", "Email", "Full name", "Billing address", "Shipping address",
          "Open balance", "Notes"]


def qbo_customer_export(path: Path, rows: int, seed: int = 11, company: str = "Bench Landscaping Inc.") -> None:
    """A customer list as QuickBooks Online exports it (title lines, labelled phones, one-cell
    addresses, a Total line and a time stamp), ``rows`` customers, a few of them broken on purpose."""

    rng = random.Random(seed)
    fakers = [Faker(loc) for loc in ("en_US", "en_US", "en_US", "en_GB", "fr_FR", "de_DE")]
    for n, faker in enumerate(fakers):
        faker.seed_instance(seed + n)
    us = fakers[0]
    first = [fakers[i % len(fakers)].first_name() for i in range(_EXPORT_POOL)]
    last = [fakers[i % len(fakers)].last_name() for i in range(_EXPORT_POOL)]
    streets = [us.street_address() for _ in range(_EXPORT_POOL)]
    cities = [us.city() for _ in range(_EXPORT_POOL // 5)]
    states = [us.state_abbr() for _ in range(60)]
    domains = [us.free_email_domain() for _ in range(30)] + [us.domain_name() for _ in range(300)]
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(f"{company}\nCustomer Contact List\nAs of December 5, 2026\n\n")
        writer = csv.writer(handle)
        writer.writerow(QBO_EXPORT_HEADER)
        for i in range(rows):
            given, family = first[rng.randrange(_EXPORT_POOL)], last[rng.randrange(_EXPORT_POOL)]
            full = f"{given} {family}"
            roll = rng.random()
            area, mid, end = rng.randrange(201, 989), rng.randrange(200, 999), rng.randrange(0, 9999)
            if roll < 0.45:
                phones = f"Phone: ({area}) {mid}-{end:04d}"
            elif roll < 0.62:
                phones = f"Phone: {area}-{mid}-{end:04d} Mobile: ({area}) {mid + 1}-{end:04d}"
            elif roll < 0.75:
                phones = f"+1 {area} {mid} {end:04d}"
            elif roll < 0.85:
                phones = f"Mobile: +44 20 79{rng.randrange(10, 99)} {end:04d}"
            elif roll < 0.88:
                phones = f"Phone: ({area}) {mid}-{end:04d} x{rng.randrange(10, 999)}"
            elif roll < 0.97:
                phones = ""
            else:
                phones = "call the office"
            local = f"{given}.{family}{i}".lower().replace(" ", "").replace("'", "")
            email = f"{local}@{domains[rng.randrange(len(domains))]}" if rng.random() > 0.02 else f"{local}@@broken"
            address = f"{streets[rng.randrange(_EXPORT_POOL)]}, {cities[rng.randrange(len(cities))]}, " \
                      f"{states[rng.randrange(60)]} {rng.randrange(10000, 99999)}"
            if roll > 0.9:
                address += ", USA"
            writer.writerow([f"{full} {i}", phones, email if roll < 0.985 else "", full, address, "",
                             f"{rng.randrange(0, 500000) / 100:.2f}", ""])
        writer.writerow(["Total", "", "", "", "", "", "123456.78", ""])
        handle.write('"Friday, December 5, 2026 07:33 AM GMTZ"\n')
