"""The QBO query language on the emulator: escapes, LIKE, IN, ORDERBY, paging, inactive rows, faults."""

from __future__ import annotations

import pytest

from tests.emulators.qbo_client import Qbo, fault_code


@pytest.fixture
def books(qbo: str) -> Qbo:
    client = Qbo.connect(qbo)
    client.seed(
        Customer=[
            {"DisplayName": "O'Brien Plumbing", "PrimaryEmailAddr": {"Address": "ob@example.com"}},
            {"DisplayName": "Alpha Bakery", "PrimaryEmailAddr": {"Address": "alpha@example.com"}},
            {"DisplayName": "Beta Bikes", "PrimaryEmailAddr": {"Address": "Beta@Example.com"}},
            {
                "DisplayName": "Gamma Gardens",
                "Active": False,
                "PrimaryEmailAddr": {"Address": "gamma@example.com"},
            },
            {"DisplayName": "Delta Dental", "MetaData": {"CreateTime": "2026-01-05T10:00:00-08:00"}},
        ]
    )
    return client


def _names(response: dict) -> list[str]:
    return [c["DisplayName"] for c in response.get("Customer", [])]


def test_escaped_quote_and_email(books: Qbo) -> None:
    assert _names(books.query(r"SELECT * FROM Customer WHERE DisplayName = 'O\'Brien Plumbing'")) == [
        "O'Brien Plumbing"
    ]
    assert _names(books.query("select * from customer where PrimaryEmailAddr = 'beta@example.com'")) == [
        "Beta Bikes"
    ]


def test_like_in_orderby_and_paging(books: Qbo) -> None:
    assert _names(
        books.query("SELECT * FROM Customer WHERE DisplayName LIKE '%a%' ORDERBY DisplayName DESC")
    ) == ["Delta Dental", "Beta Bikes", "Alpha Bakery"]
    assert _names(books.query("SELECT * FROM Customer WHERE DisplayName LIKE 'B%'")) == ["Beta Bikes"]
    got = books.query("SELECT * FROM Customer WHERE DisplayName IN ('Alpha Bakery', 'Beta Bikes', 'Nobody')")
    assert sorted(_names(got)) == ["Alpha Bakery", "Beta Bikes"]
    page = books.query("SELECT * FROM Customer ORDERBY DisplayName STARTPOSITION 2 MAXRESULTS 2")
    assert _names(page) == ["Beta Bikes", "Delta Dental"]
    assert page["startPosition"] == 2 and page["maxResults"] == 2
    assert books.query("SELECT * FROM Customer STARTPOSITION 50") == {}


def test_inactive_rows_hidden_unless_asked(books: Qbo) -> None:
    assert "Gamma Gardens" not in _names(books.query("SELECT * FROM Customer MAXRESULTS 1000"))
    everyone = books.query("SELECT * FROM Customer WHERE Active IN (true, false)")
    assert "Gamma Gardens" in _names(everyone) and len(everyone["Customer"]) == 5
    assert _names(books.query("SELECT * FROM Customer WHERE Active = false")) == ["Gamma Gardens"]
    assert books.query("select count(*) from Customer") == {"totalCount": 4}
    assert books.query("select count(*) from Customer where Active in (true,false)") == {"totalCount": 5}


def test_datetime_compared_as_instant(books: Qbo) -> None:
    # 19:30 in UTC is 11:30 Pacific (-08:00): after Delta's 10:00 creation.
    older = books.query("SELECT * FROM Customer WHERE MetaData.CreateTime < '2026-01-05T19:30:00Z'")
    assert _names(older) == ["Delta Dental"]
    none = books.query("SELECT * FROM Customer WHERE MetaData.CreateTime < '2026-01-05T17:59:59Z'")
    assert none == {}


def test_parse_errors_and_limits(books: Qbo) -> None:
    bad = books.query_raw("SELECT * FROM Customer WHERE DisplayName = 'a' OR DisplayName = 'b'")
    assert bad.status_code == 400 and fault_code(bad) == "4000"
    assert bad.json()["Fault"]["type"] == "ValidationFault"
    assert bad.json()["Fault"]["Error"][0]["Detail"].startswith("QueryParserError")
    unterminated = books.query_raw("SELECT * FROM Customer WHERE DisplayName = 'oops")
    assert unterminated.status_code == 400 and fault_code(unterminated) == "4000"
    assert fault_code(books.query_raw("SELECT * FROM Custmoer")) == "4001"
    too_many = books.query_raw("SELECT * FROM Customer MAXRESULTS 1001")
    assert too_many.status_code == 400 and fault_code(too_many) == "4001"
    assert fault_code(books.query_raw("SELECT * FROM Customer WHERE Nonsense = '1'")) == "4001"


def test_post_query_with_text_body(books: Qbo) -> None:
    r = books.session.post(
        f"{books.v3}/query",
        data="select count(*) from Item",
        headers={"Content-Type": "application/text"},
        timeout=5,
    )
    assert r.status_code == 200 and r.json()["QueryResponse"] == {"totalCount": 1}


def test_only_filterable_properties_may_be_filtered(books: Qbo) -> None:
    # ruckus/quickbooks-ruby#258 and #403: QBO answers 4001 "property ... is not queryable" for a WHERE on
    # a property its reference does not mark filterable (Payment.UnappliedAmt, Vendor.PrimaryEmailAddr).
    for text, name in (
        ("select * from Payment where UnappliedAmt > '0'", "UnappliedAmt"),
        ("select * from Vendor where PrimaryEmailAddr = 'a@example.com'", "PrimaryEmailAddr"),
        ("select * from Invoice where TotalAmt > '10'", "TotalAmt"),
        ("select * from Customer where Notes = 'x'", "Notes"),
        ("select * from Customer where PrimaryPhone = '555'", "PrimaryPhone"),
        ("select * from Item ORDERBY Active", "Active"),
        ("select * from Customer ORDERBY PrimaryEmailAddr", "PrimaryEmailAddr"),
    ):
        r = books.query_raw(text)
        assert r.status_code == 400 and fault_code(r) == "4001", text
        error = r.json()["Fault"]["Error"][0]
        assert error["Message"] == "Invalid query"
        assert error["Detail"] == f"QueryValidationError: property '{name}' is not queryable", text
    # Filterable ones pass, their names matched case-insensitively as in Intuit's own examples
    # ("where Metadata.CreateTime", "where id='11'").
    assert books.query("select * from SalesReceipt where TotalAmt > '300.00'") == {}
    assert _names(books.query("select * from customer where id = '2'")) == ["Alpha Bakery"]
    assert books.query("select count(*) from Customer where Metadata.CreateTime > '2020-01-01'") == {
        "totalCount": 4
    }


def test_every_query_the_pipeline_sends_passes(books: Qbo) -> None:
    """The selects plugins/qbo_crm_sync sends today (contacts, the customer mirror and lookup, receipts),
    with the literals quote() produces."""
    since, until = "'2026-01-05T10:00:00-08:00'", "'2026-12-31T10:00:00-08:00'"
    for text in (
        "SELECT * FROM Customer WHERE Active IN (true, false) ORDERBY Id",
        f"SELECT * FROM Customer WHERE MetaData.LastUpdatedTime >= {since} AND Active IN (true, false)"
        " ORDERBY MetaData.LastUpdatedTime",
        "SELECT * FROM Customer WHERE PrimaryEmailAddr = 'ob@example.com' AND Active IN (true, false)",
        f"SELECT * FROM Customer WHERE MetaData.LastUpdatedTime >= {since} AND MetaData.LastUpdatedTime < {until}"
        f" AND MetaData.CreateTime >= {since} AND Active IN (true, false) ORDERBY MetaData.LastUpdatedTime",
        "SELECT * FROM Customer WHERE DisplayName = 'O\\'Brien Plumbing'",
        "SELECT COUNT(*) FROM Customer",
        "SELECT * FROM Item WHERE Active = true ORDERBY Id MAXRESULTS 1",
        "SELECT * FROM Account WHERE Id = '2' MAXRESULTS 1",
        "SELECT * FROM Account WHERE AccountSubType = 'UndepositedFunds' MAXRESULTS 1",
        "SELECT * FROM SalesReceipt WHERE Id = '1' MAXRESULTS 1",
        "SELECT * FROM Customer STARTPOSITION 1 MAXRESULTS 1000",
    ):
        r = books.query_raw(text)
        assert r.status_code == 200, f"{text}: {r.text}"
