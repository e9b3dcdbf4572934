"""Sales-transaction arithmetic the way QBO does it: Decimal money, half-up to the cent.

Line order in the answer follows QBO: item lines (numbered), one SubTotalLineDetail line, then any
discount line. TxnTaxDetail.TotalTax sent by the client wins (QBO's automated tax steps aside); else
the company's rate for TxnTaxCodeRef applies to the taxable lines; else tax is 0.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from emulators.quickbooks import faults

CENT = Decimal("0.01")
ZERO = Decimal("0")


def dec(value: Any, name: str = "Amount") -> Decimal:
    if isinstance(value, bool) or value is None:
        raise faults.business(f"{name} must be a number", name)
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise faults.business(f"{name} must be a number", name) from exc


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Decimal) -> float:
    """A cent-exact Decimal as a JSON number (shortest float repr round-trips two decimals)."""
    return float(cents(value))


def plain(value: Decimal) -> int | float:
    """A quantity or rate as JSON: integral values as ints (QBO prints ``UnitPrice: 75``)."""
    return int(value) if value == value.to_integral_value() else float(value)


def compute(body: dict[str, Any], tax_rates: dict[str, Decimal]) -> Decimal:
    """Normalise ``body["Line"]`` and set TxnTaxDetail and TotalAmt in place; answer TotalAmt."""
    lines = body.get("Line")
    item_lines: list[dict[str, Any]] = []
    discount_line: dict[str, Any] | None = None
    other_lines: list[dict[str, Any]] = []
    subtotal = ZERO
    taxable = ZERO
    any_tax_code = False
    for raw in lines or []:
        if not isinstance(raw, dict):
            raise faults.malformed_body("Line")
        line = dict(raw)
        kind = line.get("DetailType")
        if kind == "SalesItemLineDetail":
            amount = _item_amount(line)
            subtotal += amount
            code = ((line.get("SalesItemLineDetail") or {}).get("TaxCodeRef") or {}).get("value")
            if code is not None:
                any_tax_code = True
            if code not in (None, "NON"):
                taxable += amount
            item_lines.append(line)
        elif kind == "DiscountLineDetail":
            discount_line = line
        elif kind == "SubTotalLineDetail":
            continue  # recomputed below, whatever the client sent
        elif kind in ("DescriptionOnly", "GroupLineDetail"):
            other_lines.append(line)
        else:
            raise faults.business(f"Unsupported line DetailType {kind!r}", "Line.DetailType")
    if not item_lines:
        raise faults.required("Line")
    if not any_tax_code:
        taxable = subtotal
    discount = ZERO
    if discount_line is not None:
        discount = _discount(discount_line, subtotal)
    tax_detail = dict(body.get("TxnTaxDetail") or {})
    tax = _tax(tax_detail, subtotal, taxable, discount, bool(body.get("ApplyTaxAfterDiscount")), tax_rates)
    total = subtotal - discount + tax
    if total < 0:
        raise faults.business("Transaction total cannot be negative", "TotalAmt")
    out: list[dict[str, Any]] = []
    for n, line in enumerate(item_lines + other_lines, start=1):
        line.pop("Id", None)
        line.pop("LineNum", None)
        out.append({"Id": str(n), "LineNum": n} | line)
    out.append({"Amount": money(subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    if discount_line is not None:
        out.append(discount_line)
    body["Line"] = out
    body["TxnTaxDetail"] = tax_detail
    body["TotalAmt"] = money(total)
    return cents(total)


def _item_amount(line: dict[str, Any]) -> Decimal:
    detail = dict(line.get("SalesItemLineDetail") or {})
    qty = dec(detail["Qty"], "Qty") if detail.get("Qty") is not None else None
    price = dec(detail["UnitPrice"], "UnitPrice") if detail.get("UnitPrice") is not None else None
    sent = dec(line["Amount"]) if line.get("Amount") is not None else None
    if qty == ZERO and price == ZERO and sent:
        # Qty 0 and UnitPrice 0 next to an Amount are the defaults client libraries send for "not
        # given" (python-quickbooks' SalesItemLineDetail); QBO keeps the Amount (python-quickbooks'
        # integration tests save exactly such lines against a sandbox).
        detail.pop("Qty")
        detail.pop("UnitPrice")
        qty = price = None
    if qty is not None and price is not None:
        amount = cents(qty * price)
        if sent is not None and cents(sent) != amount:
            raise faults.amount_mismatch(line["Amount"])
    elif price is not None:
        amount = cents(price) if sent is None else cents(sent)
        if sent is not None and cents(sent) != cents(price):
            raise faults.amount_mismatch(line["Amount"])
        detail["Qty"] = 1
    elif sent is not None:
        amount = cents(sent)
        if qty not in (None, ZERO):
            detail["UnitPrice"] = plain(amount / qty)
    else:
        raise faults.required("Line.Amount")
    line["Amount"] = money(amount)
    line["SalesItemLineDetail"] = detail
    return amount


def _discount(line: dict[str, Any], subtotal: Decimal) -> Decimal:
    detail = line.get("DiscountLineDetail") or {}
    if detail.get("PercentBased"):
        percent = dec(detail.get("DiscountPercent"), "DiscountPercent")
        amount = cents(subtotal * percent / 100)
    else:
        amount = cents(dec(line.get("Amount"), "Line.Amount"))
    if amount < 0 or amount > subtotal:
        raise faults.business("Discount must be between zero and the subtotal", "DiscountLineDetail")
    line["Amount"] = money(amount)
    return amount


def _tax(
    detail: dict[str, Any],
    subtotal: Decimal,
    taxable: Decimal,
    discount: Decimal,
    after_discount: bool,
    rates: dict[str, Decimal],
) -> Decimal:
    if detail.get("TotalTax") is not None:
        tax = cents(dec(detail["TotalTax"], "TotalTax"))
        detail["TotalTax"] = money(tax)
        return tax
    code = (detail.get("TxnTaxCodeRef") or {}).get("value")
    rate = rates.get(str(code)) if code is not None else None
    if rate is None:
        detail["TotalTax"] = 0
        detail.pop("TaxLine", None)
        return ZERO
    base = taxable
    if after_discount and subtotal:
        base = cents(taxable - discount * taxable / subtotal)
    tax = cents(base * rate / 100)
    detail["TotalTax"] = money(tax)
    detail["TaxLine"] = [
        {
            "Amount": money(tax),
            "DetailType": "TaxLineDetail",
            "TaxLineDetail": {
                "TaxRateRef": {"value": str(code)},
                "PercentBased": True,
                "TaxPercent": plain(rate),
                "NetAmountTaxable": money(base),
            },
        }
    ]
    return tax
