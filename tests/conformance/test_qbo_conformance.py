"""The QuickBooks emulator answers in the shapes real QBO recorded, with the XSD's property names.

For every recorded sample under ``<repo>/../shared/specs/qbo/samples`` the equivalent request is sent to
the emulator and the two answers are compared by shape: the same keys at every level and the same
kind of value (object, list, string, number, boolean, null). Values are not compared. A few keys
that depend on company settings the emulator does not model are listed in ``COMPANY_SETTING_KEYS``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.emulators.qbo_client import Qbo

SPECS = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs" / "qbo"
SAMPLES = SPECS / "samples"
XSD = SPECS / "xsd"
XS = "{http://www.w3.org/2001/XMLSchema}"

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"QBO specs not found at {SPECS.resolve()}")

# Present in the sandbox only because of its company settings: a custom field ("Crew #") and automated
# sales tax, which gives taxable customers a default tax code.
COMPANY_SETTING_KEYS = {"CustomField", "DefaultTaxCodeRef"}
# Set by QBO itself on create and update; a request body never carries them back.
SERVER_KEYS = {
    "Id",
    "SyncToken",
    "MetaData",
    "domain",
    "sparse",
    "TotalAmt",
    "Balance",
    "UnappliedAmt",
    "FullyQualifiedName",
    "BalanceWithJobs",
    "airbyte_cursor",
}
REF_ENTITY = {
    "CustomerRef": "Customer",
    "ItemRef": "Item",
    "DepositToAccountRef": "Account",
    "IncomeAccountRef": "Account",
    "DiscountAccountRef": "Account",
}


# ---------------------------------------------------------------- shapes


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items() if k not in COMPANY_SETTING_KEYS}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else type(value).__name__


def assert_same_shape(ours: Any, recorded: Any, where: str = "$") -> None:
    a, b = shape(ours), shape(recorded)
    _compare(a, b, where)


def _compare(a: Any, b: Any, where: str) -> None:
    if isinstance(b, dict):
        assert isinstance(a, dict), f"{where}: expected an object, got {a}"
        assert sorted(a) == sorted(b), (
            f"{where}: keys differ: extra {sorted(set(a) - set(b))}, missing {sorted(set(b) - set(a))}"
        )
        for key in b:
            _compare(a[key], b[key], f"{where}.{key}")
    elif isinstance(b, list):
        assert isinstance(a, list), f"{where}: expected a list, got {a}"
        if len(a) == len(b):
            for n, (x, y) in enumerate(zip(a, b, strict=True)):
                _compare(x, y, f"{where}[{n}]")
        elif a and b:  # different lengths (e.g. more links in the sandbox): compare the first element
            _compare(a[0], b[0], f"{where}[0]")
    else:
        assert a == b, f"{where}: {a} != {b}"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


def recorded_request(name: str) -> dict[str, Any]:
    index = json.loads((SAMPLES / "INDEX.json").read_text())["samples"]
    entry = next(s for s in index if s["file"] == name)
    return json.loads(entry["request_body"]) if entry.get("request_body") else {}


def airbyte(stream: str) -> list[dict[str, Any]]:
    lines = (SAMPLES / "airbyte-expected_records.subset.jsonl").read_text().splitlines()
    return [
        json.loads(line)["data"] for line in lines if line.strip() and json.loads(line)["stream"] == stream
    ]


# ---------------------------------------------------------------- seeding what samples refer to


def writable(entity: dict[str, Any], keep_id: bool = True) -> dict[str, Any]:
    body = {k: v for k, v in entity.items() if k not in SERVER_KEYS and k not in COMPANY_SETTING_KEYS}
    if keep_id:
        body["Id"] = entity["Id"]
    return body


def _refs(value: Any, found: dict[str, dict[str, str]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in REF_ENTITY and isinstance(inner, dict) and inner.get("value"):
                found.setdefault(REF_ENTITY[key], {}).setdefault(str(inner["value"]), inner.get("name", ""))
            _refs(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _refs(inner, found)


def seed_refs(books: Qbo, *entities: dict[str, Any]) -> None:
    """Placeholder customers, items and accounts under the Ids the samples point at."""
    found: dict[str, dict[str, str]] = {}
    for entity in entities:
        _refs(entity, found)
    existing = {
        name: {
            e["Id"]: e
            for e in requests.get(f"{books.base}/_admin/entities/{books.realm}/{name}", timeout=5).json()[
                name
            ]
        }
        for name in ("Customer", "Item", "Account")
    }
    taken = {
        n.casefold()
        for rows in existing.values()
        for e in rows.values()
        for n in (e.get("DisplayName"), e.get("Name"))
        if n
    }
    body: dict[str, list[dict[str, Any]]] = {}
    for kind, refs in found.items():
        for ref_id, name in refs.items():
            if ref_id in existing[kind]:
                continue
            name = name or f"{kind} {ref_id}"
            if name.casefold() in taken:
                name = f"{name} {ref_id}"
            taken.add(name.casefold())
            placeholder: dict[str, Any] = {"Id": ref_id}
            if kind == "Customer":
                placeholder["DisplayName"] = name
            elif kind == "Item":
                placeholder["Name"] = name
            else:
                placeholder |= {"Name": name, "AccountType": "Bank"}
            body.setdefault(kind, []).append(placeholder)
    if body:
        books.seed(**body)


# The samples come from Intuit's sample company, which numbers its own sales forms (its Preferences say
# SalesFormsPrefs.CustomTxnNumbers false): answers carry a DocNumber the request did not give.
SAMPLE_COMPANY_PREFERENCES = {"SalesFormsPrefs": {"CustomTxnNumbers": False}}


@pytest.fixture
def books(qbo: str) -> Qbo:
    client = Qbo.connect(qbo)
    client.set_preferences(Preferences=SAMPLE_COMPANY_PREFERENCES)
    return client


# ---------------------------------------------------------------- the recorded exchanges


def test_customer_read(books: Qbo) -> None:
    recorded = sample("customer.read.json")
    books.seed(Customer=[writable(recorded["Customer"])])
    r = books.session.get(f"{books.v3}/customer/{recorded['Customer']['Id']}", timeout=5)
    assert r.status_code == 200
    assert_same_shape(r.json(), recorded)


def test_customer_query(books: Qbo) -> None:
    recorded = sample("customer.query.json")
    customers = recorded["QueryResponse"]["Customer"]
    books.seed(Customer=[writable(c) for c in customers])
    got = books.query_raw("SELECT * FROM Customer MAXRESULTS 1000 STARTPOSITION 1").json()
    assert sorted(got) == sorted(recorded) and sorted(got["QueryResponse"]) == sorted(
        recorded["QueryResponse"]
    )
    ours = {c["Id"]: c for c in got["QueryResponse"]["Customer"]}
    for theirs in customers:
        assert_same_shape(ours[theirs["Id"]], theirs, f"Customer {theirs['Id']}")


def test_customer_create_and_update(books: Qbo) -> None:
    created = books.post("customer", recorded_request("customer.create.json"), requestid="conf-1")
    assert_same_shape(created.json(), sample("customer.create.json"))
    update = recorded_request("customer.update.json")
    books.seed(Customer=[{"Id": update["Id"], "DisplayName": update["DisplayName"]}])
    assert_same_shape(books.post("customer", update, minorversion="8").json(), sample("customer.update.json"))


def test_invoice_create_and_void(books: Qbo) -> None:
    recorded = sample("invoice.create.json")["Invoice"]
    books.seed(
        Customer=[
            {
                "Id": "1",
                "DisplayName": recorded["CustomerRef"]["name"],
                "BillAddr": recorded["BillAddr"],
                "ShipAddr": recorded["ShipAddr"],
            }
        ]
    )
    created = books.post("invoice", recorded_request("invoice.create.json"))
    assert created.status_code == 200, created.text
    assert_same_shape(created.json(), sample("invoice.create.json"))

    voided_sample = sample("invoice.void.json")
    before = writable(voided_sample["Invoice"]) | {"Line": [writable(recorded, False)["Line"][0]]}
    books.seed(Invoice=[before])
    void = recorded_request("invoice.void.json")
    voided = books.post("invoice", void, operation="void")
    assert voided.status_code == 200, voided.text
    assert_same_shape(voided.json(), voided_sample)


def test_sales_receipt_query_and_update(books: Qbo) -> None:
    recorded = sample("salesreceipt.query.json")
    receipts = recorded["QueryResponse"]["SalesReceipt"]
    seed_refs(books, *receipts)
    books.seed(SalesReceipt=[writable(r) for r in receipts])
    got = books.query_raw("SELECT * FROM SalesReceipt MAXRESULTS 1000 STARTPOSITION 1").json()
    assert sorted(got) == sorted(recorded)
    ours = {r["Id"]: r for r in got["QueryResponse"]["SalesReceipt"]}
    for theirs in receipts:
        assert_same_shape(ours[theirs["Id"]], theirs, f"SalesReceipt {theirs['Id']}")

    update = recorded_request("salesreceipt.update.json") | {"SyncToken": "0"}
    answer = books.post(
        "salesreceipt", update, minorversion="4", requestid="a90bfae9-9c6b-4179-9c7e-d8f538d09f6f"
    )
    assert answer.status_code == 200, answer.text
    assert_same_shape(answer.json(), sample("salesreceipt.update.json"))


def test_faults(books: Qbo, qbo: str) -> None:
    books.seed(Customer=[{"DisplayName": "Weiskopf Consulting"}])
    duplicate = books.post("customer", recorded_request("fault.validation.duplicate-name.json"))
    assert duplicate.status_code == 400
    assert_same_shape(duplicate.json(), sample("fault.validation.duplicate-name.json"))

    unsupported = books.post("invoice", recorded_request("fault.validation.unsupported-property.json"))
    assert unsupported.status_code == 400
    assert_same_shape(unsupported.json(), sample("fault.validation.unsupported-property.json"))

    bad_query = books.query_raw("SELECT * FROM Custmoer")
    assert bad_query.status_code == 400
    assert_same_shape(bad_query.json(), sample("fault.validation.invalid-query.json"))
    assert (
        bad_query.json()["Fault"]["Error"][0]["code"]
        == sample("fault.validation.invalid-query.json")["Fault"]["Error"][0]["code"]
    )

    requests.post(f"{qbo}/_admin/config", json={"access_token_ttl_s": 0}, timeout=5).raise_for_status()
    expired = Qbo.connect(qbo, books.realm)
    denied = expired.session.get(f"{expired.v3}/customer/1", timeout=5)
    assert denied.status_code == 401
    assert_same_shape(denied.json(), sample("fault.authentication.401.json"))


def test_cdc(books: Qbo) -> None:
    recorded = sample("cdc.response.json")
    books.create("Customer", {"DisplayName": "Changed Lately"})
    since = books.read("Customer", "1")["MetaData"]["CreateTime"]
    got = books.session.get(
        f"{books.v3}/cdc", params={"entities": "customer", "changedSince": since}, timeout=5
    ).json()
    theirs = recorded["CDCResponse"][0]["QueryResponse"][0]
    ours = got["CDCResponse"][0]["QueryResponse"][0]
    assert sorted(got) == sorted(recorded) and sorted(got["CDCResponse"][0]) == sorted(
        recorded["CDCResponse"][0]
    )
    assert sorted(k for k in ours if k != "Customer") == sorted(k for k in theirs if k != "Estimate")
    assert "Customer" in ours and "Estimate" in theirs


def test_batch(books: Qbo) -> None:
    recorded = sample("batch.response.json")
    items = recorded_request("batch.response.json")["BatchItemRequest"]
    receipts = sample("salesreceipt.query.json")["QueryResponse"]["SalesReceipt"]
    seed_refs(books, *receipts)
    books.seed(SalesReceipt=[writable(r) for r in receipts])
    # Make the recorded update stale, as it was in the sandbox.
    books.create("SalesReceipt", {"Id": "11", "SyncToken": "0", "sparse": True, "PrivateNote": "moved on"})
    got = books.post("batch", {"BatchItemRequest": items}).json()
    assert sorted(got) == sorted(recorded)
    for ours, theirs in zip(got["BatchItemResponse"], recorded["BatchItemResponse"], strict=True):
        if "QueryResponse" in theirs:
            assert sorted(ours) == sorted(theirs)
            assert sorted(ours["QueryResponse"]) == sorted(theirs["QueryResponse"])
        else:
            assert_same_shape(ours, theirs, f"bId {theirs['bId']}")


def test_airbyte_records_round_trip(books: Qbo) -> None:
    """Entities as Airbyte recorded them come back from the emulator in the same shape."""
    invoices, payments = airbyte("invoices"), airbyte("payments")
    receipts, customers = airbyte("sales_receipts"), airbyte("customers")
    books.seed(Customer=[writable(c) for c in customers])
    seed_refs(books, *invoices, *payments, *receipts)
    books.seed(Invoice=[writable(i) for i in invoices], SalesReceipt=[writable(r) for r in receipts])
    # Invoices the recorded payments pay but the subset does not hold.
    linked = {link["TxnId"] for p in payments for line in p["Line"] for link in line["LinkedTxn"]}
    for n, invoice_id in enumerate(sorted(linked - {i["Id"] for i in invoices})):
        payment = next(
            p
            for p in payments
            if any(link["TxnId"] == invoice_id for line in p["Line"] for link in line["LinkedTxn"])
        )
        books.seed(
            Invoice=[
                {
                    "Id": invoice_id,
                    "DocNumber": f"90{n}",
                    "CustomerRef": payment["CustomerRef"],
                    "Line": [
                        {
                            "DetailType": "SalesItemLineDetail",
                            "Amount": payment["TotalAmt"],
                            "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                        }
                    ],
                }
            ]
        )
    for payment in payments:
        body = writable(payment) | {"TotalAmt": payment["TotalAmt"]}
        body["Line"] = [{k: v for k, v in line.items() if k != "LineEx"} for line in payment["Line"]]
        books.seed(Payment=[body])
    for stream, entity in (
        ("customers", "Customer"),
        ("invoices", "Invoice"),
        ("sales_receipts", "SalesReceipt"),
    ):
        for theirs in airbyte(stream):
            ours = books.read(entity, theirs["Id"])
            expected = {k: v for k, v in theirs.items() if k != "airbyte_cursor"}
            assert_same_shape(ours, expected, f"{entity} {theirs['Id']}")
    for theirs in payments:
        ours = books.read("Payment", theirs["Id"])
        expected = {k: v for k, v in theirs.items() if k != "airbyte_cursor"}
        expected["Line"] = [{k: v for k, v in line.items() if k != "LineEx"} for line in theirs["Line"]]
        assert_same_shape(ours, expected, f"Payment {theirs['Id']}")


# ---------------------------------------------------------------- property names against the XSD


@cache
def complex_types() -> dict[str, ET.Element]:
    types: dict[str, ET.Element] = {}
    for path in XSD.glob("*.xsd"):
        for node in ET.parse(path).getroot().findall(f"{XS}complexType"):
            types[node.get("name", "")] = node
    return types


@cache
def members(type_name: str) -> tuple[dict[str, str], bool]:
    """Element and attribute names of a complex type and its bases -> their type; and whether it has text."""
    node = complex_types()[type_name]
    out: dict[str, str] = {}
    simple = node.find(f"{XS}simpleContent") is not None
    for ext in node.iter(f"{XS}extension"):
        base = ext.get("base", "").split(":")[-1]
        if base in complex_types():
            base_members, base_simple = members(base)
            out |= base_members
            simple = simple or base_simple
    for element in node.iter(f"{XS}element"):
        name = element.get("name") or element.get("ref", "").split(":")[-1]
        out[name] = element.get("type", "").split(":")[-1]
    for attribute in node.iter(f"{XS}attribute"):
        out[attribute.get("name", "")] = attribute.get("type", "").split(":")[-1]
    return out, simple


def unknown_keys(value: Any, type_name: str, where: str) -> list[str]:
    if type_name not in complex_types() or not isinstance(value, dict):
        return []
    allowed, simple = members(type_name)
    bad = []
    for key, inner in value.items():
        if key == "value" and simple:
            continue
        if key not in allowed:
            bad.append(f"{where}.{key}")
            continue
        for item in inner if isinstance(inner, list) else [inner]:
            bad += unknown_keys(item, allowed[key], f"{where}.{key}")
    return bad


@pytest.mark.skipif(not XSD.is_dir(), reason=f"QBO XSD not found at {XSD.resolve()}")
def test_emitted_property_names_are_xsd_elements(books: Qbo) -> None:
    requests.post(
        f"{books.base}/_admin/seed",
        json={"companies": [{"realmId": books.realm, "TaxRates": {"2": 8}}]},
        timeout=5,
    ).raise_for_status()
    customer = books.create(
        "Customer",
        {
            "GivenName": "Ada",
            "FamilyName": "Lovelace",
            "CompanyName": "Engines Ltd",
            "PrimaryEmailAddr": {"Address": "ada@example.com"},
            "PrimaryPhone": {"FreeFormNumber": "(555) 010-0000"},
            "BillAddr": {"Line1": "1 Analytical Way", "City": "London", "PostalCode": "N1"},
            "Notes": "first",
        },
    )
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 30,
        "Description": "Consulting",
        "SalesItemLineDetail": {
            "ItemRef": {"value": "1"},
            "Qty": 3,
            "UnitPrice": 10,
            "TaxCodeRef": {"value": "TAX"},
        },
    }
    discount = {
        "DetailType": "DiscountLineDetail",
        "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
    }
    invoice = books.create(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "Line": [line, discount],
            "TxnTaxDetail": {"TxnTaxCodeRef": {"value": "2"}},
        },
    )
    receipt = books.create(
        "SalesReceipt",
        {"CustomerRef": {"value": customer["Id"]}, "Line": [line], "TxnTaxDetail": {"TotalTax": 2.4}},
    )
    payment = books.create(
        "Payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 10,
            "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    produced = {
        "Customer": customer,
        "Invoice": books.read("Invoice", invoice["Id"]),
        "SalesReceipt": receipt,
        "Payment": payment,
        "Item": books.read("Item", "1"),
        "Account": books.read("Account", "2"),
    }
    for entity, body in produced.items():
        assert unknown_keys(body, entity, entity) == [], f"{entity} emits keys outside the XSD"


@pytest.mark.skipif(not XSD.is_dir(), reason=f"QBO XSD not found at {XSD.resolve()}")
def test_refund_receipt_is_written_read_and_emitted_like_qbo(books: Qbo) -> None:
    customer = books.create("Customer", {"DisplayName": "Refund Rita"})
    line = {"DetailType": "SalesItemLineDetail", "Amount": 12.5,
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 12.5}}
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [line], "PrivateNote": "returned"}
    missing = books.post("refundreceipt", body)
    assert missing.status_code == 400 and "DepositToAccountRef" in missing.text  # no default "refund from"
    account = books.create("Account", {"Name": "Checking", "AccountType": "Bank"})
    refund = books.create("RefundReceipt", body | {"DepositToAccountRef": {"value": account["Id"]}})
    assert refund["TotalAmt"] == 12.5 and refund["Balance"] == 0
    assert refund["DepositToAccountRef"]["value"] == account["Id"]
    assert books.read("RefundReceipt", refund["Id"]) == refund
    assert [r["Id"] for r in books.query("SELECT * FROM RefundReceipt")["RefundReceipt"]] == [refund["Id"]]
    batch = books.session.post(f"{books.v3}/batch", json={"BatchItemRequest": [
        {"bId": "r1", "operation": "create",
         "RefundReceipt": body | {"DepositToAccountRef": {"value": account["Id"]}}}]}, timeout=10)
    assert batch.status_code == 200 and batch.json()["BatchItemResponse"][0]["RefundReceipt"]["TotalAmt"] == 12.5
    listed = requests.get(f"{books.base}/_admin/entities/{books.realm}/RefundReceipt", timeout=5).json()
    assert len(listed["RefundReceipt"]) == 2
    assert unknown_keys(refund, "RefundReceipt", "RefundReceipt") == []


@pytest.mark.skipif(not XSD.is_dir(), reason=f"QBO XSD not found at {XSD.resolve()}")
def test_company_info_and_preferences_are_xsd_shaped(books: Qbo) -> None:
    """CompanyInfo and Preferences, as read, queried and after seeding, use only the XSD's names."""
    requests.post(
        f"{books.base}/_admin/seed",
        json={
            "companies": [
                {
                    "realmId": books.realm,
                    "Country": "GB",
                    "CompanyInfo": {"PrimaryPhone": {"FreeFormNumber": "+44 20 7946 0000"}},
                    "Preferences": {"SalesFormsPrefs": {"AllowShipping": True}, "TaxPrefs": {"PartnerTaxEnabled": True}},
                }
            ]
        },
        timeout=5,
    ).raise_for_status()
    vendor = books.create("Vendor", {"DisplayName": "Boraski Family Store", "Title": "Mr."})
    employee = books.create("Employee", {"GivenName": "Bill", "FamilyName": "Miller"})
    info = books.session.get(f"{books.v3}/companyinfo/{books.realm}", timeout=5).json()
    prefs = books.session.get(f"{books.v3}/preferences", timeout=5).json()
    assert info["CompanyInfo"]["Country"] == "GB" and prefs["Preferences"]["SalesFormsPrefs"]["AllowShipping"]
    for entity, body in (
        ("CompanyInfo", info["CompanyInfo"]),
        ("Preferences", prefs["Preferences"]),
        ("Vendor", vendor),
        ("Employee", employee),
    ):
        assert unknown_keys(body, entity, entity) == [], f"{entity} emits keys outside the XSD"
    queried = books.query("SELECT * FROM Preferences")["Preferences"][0]
    assert queried == prefs["Preferences"]
