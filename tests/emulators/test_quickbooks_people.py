"""Vendors and employees on the QuickBooks emulator, and the one DisplayName space they share with
customers."""

from __future__ import annotations

import requests

from tests.emulators.qbo_client import Qbo, fault_code


def test_vendor_create_read_query_and_seed(qbo: str) -> None:
    # Intuit's Vendor reference: DisplayName made from the name parts when not given, Vendor1099 false,
    # Balance 0, currency the home currency; filterable by DisplayName, not by PrimaryEmailAddr.
    books = Qbo.connect(qbo)
    vendor = books.create(
        "Vendor",
        {"GivenName": "Dianne", "FamilyName": "Bradley", "PrimaryEmailAddr": {"Address": "db@example.com"}},
    )
    assert vendor["DisplayName"] == "Dianne Bradley" and vendor["PrintOnCheckName"] == "Dianne Bradley"
    assert vendor["Vendor1099"] is False and vendor["Balance"] == 0 and vendor["Active"] is True
    assert vendor["CurrencyRef"]["value"] == "USD"
    assert books.read("Vendor", vendor["Id"]) == vendor
    books.seed(Vendor=[{"DisplayName": "Books by Bessie", "Active": False}])
    found = books.query("select * from Vendor where DisplayName = 'Dianne Bradley'")["Vendor"]
    assert [v["Id"] for v in found] == [vendor["Id"]]
    everyone = books.query("select * from Vendor where Active in (true, false) ORDERBY DisplayName")
    assert [v["DisplayName"] for v in everyone["Vendor"]] == ["Books by Bessie", "Dianne Bradley"]
    bad = books.post("vendor", {"DisplayName": "Bad Mail", "PrimaryEmailAddr": {"Address": "nope"}})
    assert bad.status_code == 400


def test_employee_needs_given_and_family_name(qbo: str) -> None:
    # Intuit's Employee reference: "The GivenName and FamilyName attributes are required" (business
    # rules) against "at least one of" (attribute table): the stricter is the default, the other a switch.
    books = Qbo.connect(qbo)
    assert fault_code(books.post("employee", {"GivenName": "Emily"})) == "2020"
    employee = books.create("Employee", {"GivenName": "Emily", "FamilyName": "Platt", "SSN": "444-55-6666"})
    assert employee["DisplayName"] == "Emily Platt" and employee["SSN"] == "XXX-XX-XXXX"
    assert employee["BillableTime"] is False and employee["Active"] is True
    books.admin_config(employee_requires_both_names=False)
    assert books.create("Employee", {"GivenName": "Solo"})["DisplayName"] == "Solo"
    assert fault_code(books.post("employee", {"Title": "Dr."})) == "2020"
    listed = books.query("select * from Employee where GivenName = 'Emily'")["Employee"]
    assert [e["Id"] for e in listed] == [employee["Id"]]


def test_display_name_is_unique_across_customers_vendors_and_employees(qbo: str) -> None:
    # Intuit's Customer, Vendor and Employee references: DisplayName is unique across all three,
    # inactive ones included (6240).
    books = Qbo.connect(qbo)
    books.seed(
        Customer=[{"DisplayName": "Parent Co"}],
        Vendor=[{"DisplayName": "Dormant Supplier", "Active": False}],
        Employee=[{"GivenName": "Bill", "FamilyName": "Miller"}],
    )
    for entity, body in (
        ("customer", {"DisplayName": "dormant supplier"}),
        ("employee", {"GivenName": "Parent", "FamilyName": "Co"}),
        ("vendor", {"DisplayName": "Bill Miller"}),
    ):
        r = books.post(entity, body)
        assert r.status_code == 400 and fault_code(r) == "6240", entity
        assert r.json()["Fault"]["Error"][0]["Message"] == "Duplicate Name Exists Error"
    # A sub-customer's name is its full name (Parent Co:Job): a vendor may be called "Job".
    parent = books.query("select * from Customer where DisplayName = 'Parent Co'")["Customer"][0]
    books.create("Customer", {"DisplayName": "Job", "ParentRef": {"value": parent["Id"]}})
    assert books.create("Vendor", {"DisplayName": "Job"})["DisplayName"] == "Job"
    # Renaming frees the old name.
    vendor = books.query("select * from Vendor where DisplayName = 'Job'")["Vendor"][0]
    books.create("Vendor", {"Id": vendor["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Job Two"})
    assert books.create("Employee", {"GivenName": "Job", "FamilyName": "Hunter", "DisplayName": "Job"})
    listed = requests.get(f"{qbo}/_admin/entities/{books.realm}/Employee", timeout=5).json()["Employee"]
    assert sorted(e["DisplayName"] for e in listed) == ["Bill Miller", "Job"]
