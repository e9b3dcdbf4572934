"""The shared money mapping: QBO's total equals the CRM's to the cent in both tax modes."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

import pytest

from qbo_crm_sync.flows.company import CompanyFacts
from qbo_crm_sync.flows.sales_mapping import (
    MappingError,
    Sale,
    SaleLine,
    allocate,
    cents,
    qbo_lines,
    qbo_total,
    resolve_tax_mode,
)

US = CompanyFacts(name="Acme", country="US", home_currency="USD", multicurrency=False, using_sales_tax=True,
                  allow_discount=True, time_zone="America/Los_Angeles", default_item_id="1")
CA = replace(US, country="CA", home_currency="CAD", time_zone="America/Toronto")
D = Decimal


def three_at_33_33() -> Sale:
    # 3 × 33.33 at 7.25%: per-line tax 2.416425 rounds to 2.42 (7.26 in all) but the CRM rounds the
    # sum once: 7.25. QBO must not compute its own.
    line = SaleLine("Session", D(3), D("33.33"), taxed=True)
    return Sale((line,), total=D("107.24"), tax=D("7.25"))


@pytest.mark.parametrize("mode", ["total_tax", "fold_into_lines"])
def test_the_rounding_trap_totals_to_the_cent(mode: str) -> None:
    body = qbo_lines(three_at_33_33(), mode, US, default_item_id="1")
    assert qbo_total(body) == D("107.24")
    if mode == "total_tax":
        (line,) = body["Line"]
        assert line["SalesItemLineDetail"]["Qty"] == 3 and line["SalesItemLineDetail"]["UnitPrice"] == D("33.33")
        assert line["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "TAX"}
        assert body["TxnTaxDetail"] == {"TotalTax": D("7.25")}
    else:
        assert body["TxnTaxDetail"] == {"TotalTax": D("0")}
        assert body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
        assert "3 × 33.33" in body["Line"][0]["Description"]


def test_a_discount_is_a_discount_line_only_where_the_company_allows_one() -> None:
    lines = (SaleLine("A", D(2), D("40.00"), taxed=True), SaleLine("B", D(1), D("19.99")))
    sale = Sale(lines, total=D("95.99"), discount=D("10.00"), tax=D("6.00"))  # 99.99 - 10 + 6
    allowed = qbo_lines(sale, "total_tax", US)
    assert [ln["DetailType"] for ln in allowed["Line"]] == ["SalesItemLineDetail"] * 2 + ["DiscountLineDetail"]
    assert allowed["Line"][-1]["Amount"] == D("10.00") and qbo_total(allowed) == D("95.99")
    folded = qbo_lines(sale, "total_tax", replace(US, allow_discount=False))
    assert all(ln["DetailType"] == "SalesItemLineDetail" for ln in folded["Line"])
    assert folded["TxnTaxDetail"]["TotalTax"] == D("6.00") and qbo_total(folded) == D("95.99")


def test_tax_included_in_prices_is_taken_out_of_the_lines_and_booked_as_tax() -> None:
    sale = Sale((SaleLine("Boxed", D(1), D("110.00"), taxed=True),), total=D("110.00"), tax=D("10.00"))
    body = qbo_lines(sale, "total_tax", CA, tax_code_id="7")
    assert body["Line"][0]["Amount"] == D("100.00")
    assert body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "7"}
    assert body["TxnTaxDetail"] == {"TotalTax": D("10.00"), "TxnTaxCodeRef": {"value": "7"}}
    assert qbo_total(body) == D("110.00")


def test_random_sales_total_to_the_cent_in_both_modes() -> None:
    rng = random.Random(7)
    for _ in range(500):
        lines = tuple(SaleLine(f"L{i}", D(rng.randint(1, 7)), D(rng.randint(1, 99999)) / 100, taxed=rng.random() < .7)
                      for i in range(rng.randint(1, 6)))
        subtotal = sum((cents(ln.qty * ln.unit_price) for ln in lines), D(0))
        discount = cents(subtotal * D(rng.choice([0, 5, 10, 12.5, 33])) / 100)
        tax = cents((subtotal - discount) * D(rng.choice(["0", "7.25", "8.875", "13", "20"])) / 100)
        sale = Sale(lines, total=subtotal - discount + tax, discount=discount, tax=tax)
        for mode in ("total_tax", "fold_into_lines"):
            for company in (US, replace(CA, allow_discount=False)):
                body = qbo_lines(sale, mode, company, tax_code_id="7" if company.country != "US" else None)
                assert qbo_total(body) == sale.total
                assert all(ln["Amount"] >= 0 for ln in body["Line"])
                for ln in body["Line"]:
                    detail = ln.get("SalesItemLineDetail")
                    if detail:  # QBO's own rule: Amount is quantity × unit price, to the cent
                        assert cents(detail["Qty"] * detail["UnitPrice"]) == ln["Amount"]


def test_allocate_is_exact_and_proportional() -> None:
    assert allocate(D("10.00"), [D(1), D(1), D(1)]) == [D("3.34"), D("3.33"), D("3.33")]
    assert allocate(D("5.00"), [D(0), D(0)]) == [D("5.00"), D(0)]
    shares = allocate(D("100.01"), [D("33.33"), D("66.67")])
    assert sum(shares) == D("100.01") and shares[1] > shares[0]


def test_a_sale_whose_tax_exceeds_its_total_is_refused_with_the_reason() -> None:
    sale = Sale((SaleLine("X", D(1), D(5)),), total=D("5.00"), tax=D("9.00"))
    with pytest.raises(MappingError, match="less than its tax"):
        qbo_lines(sale, "total_tax", US)


def test_the_default_mode_follows_the_company() -> None:
    assert resolve_tax_mode("auto", US)[0] == "fold_into_lines"
    assert resolve_tax_mode(None, CA, "7")[0] == "total_tax"
    mode, why = resolve_tax_mode(None, CA)
    assert mode == "fold_into_lines" and "set tax_code_id" in why
    mode, why = resolve_tax_mode("total_tax", replace(CA, using_sales_tax=False))
    assert mode == "fold_into_lines" and "does not use sales tax" in why
    assert resolve_tax_mode("total_tax", US)[0] == "total_tax"


def test_folded_tax_stays_on_the_taxed_lines() -> None:
    # Design 2 × 150 taxed at 7.25 % and Plants 3 × 38.99 untaxed: folding the 21.75 of tax must not
    # move any of it onto the plants, whose line keeps its quantity and price.
    design = SaleLine("Design", D(2), D(150), taxed=True)
    plants = SaleLine("Plants", D(3), D("38.99"))
    sale = Sale((design, plants), total=D("438.72"), tax=D("21.75"))
    body = qbo_lines(sale, "fold_into_lines", US, default_item_id="1")
    design_line, plants_line = body["Line"]
    assert plants_line["Amount"] == D("116.97")
    assert plants_line["SalesItemLineDetail"]["Qty"] == 3
    assert plants_line["SalesItemLineDetail"]["UnitPrice"] == D("38.99")
    assert design_line["Amount"] == D("321.75")
    assert qbo_total(body) == D("438.72")


def test_folded_tax_with_a_discount_spreads_the_discount_over_all_lines_and_the_tax_over_the_taxed() -> None:
    # 10 % off both lines (60.00 + 11.70 = 71.70 off), tax 7.25 % of the discounted design (270.00): 19.58.
    design = SaleLine("Design", D(2), D(150), taxed=True)
    plants = SaleLine("Plants", D(3), D("39.00"))
    sale = Sale((design, plants), total=D("394.88"), discount=D("41.70"), tax=D("19.58"))
    body = qbo_lines(sale, "fold_into_lines", replace(US, allow_discount=False), default_item_id="1")
    design_line, plants_line = body["Line"]
    assert plants_line["Amount"] == D("105.30")  # 117.00 less its 10 %
    assert design_line["Amount"] == D("289.58")  # 270.00 + 19.58
    assert qbo_total(body) == sale.total


def test_tax_booked_apart_outside_the_us_needs_the_company_tax_code() -> None:
    sale = three_at_33_33()
    with pytest.raises(MappingError, match="tax_code_id"):
        qbo_lines(sale, "total_tax", CA, default_item_id="1")
    body = qbo_lines(sale, "total_tax", CA, default_item_id="1", tax_code_id="7")
    assert body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "7"}
    assert body["TxnTaxDetail"]["TxnTaxCodeRef"] == {"value": "7"} and qbo_total(body) == D("107.24")
