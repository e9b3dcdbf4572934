"""Invoice arithmetic: line totals, the discount, per-item taxes, in the invoice's major currency units.

Discounts come off the lines they are valid on (all lines when ``validOnProductIds`` is empty),
shared in proportion to each line's amount; exclusive taxes are charged on what remains of each line;
a tax-inclusive line already holds its tax, which is reported but not added again.
The three summary figures are rounded half-up to the cent, and ``total = subTotal - discount + tax``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def dec(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Decimal) -> float | int:
    """A JSON number the way the API writes amounts: 999 or 12.5."""
    value = cents(value)
    return int(value) if value == value.to_integral_value() else float(value)


def invoice_totals(items: list[dict[str, Any]], discount: dict[str, Any] | None) -> dict[str, Decimal]:
    lines = [dec(i.get("qty")) * dec(i.get("amount")) for i in items]
    sub_total = sum(lines, Decimal(0))
    valid_on = set((discount or {}).get("validOnProductIds") or [])
    eligible = [not valid_on or i.get("productId") in valid_on for i in items]
    eligible_total = sum((line for line, ok in zip(lines, eligible, strict=True) if ok), Decimal(0))
    value = dec((discount or {}).get("value"))
    if (discount or {}).get("type", "percentage") == "percentage":
        off = eligible_total * value / 100
    else:
        off = min(value, eligible_total)
    off = cents(max(off, Decimal(0)))
    added_tax = Decimal(0)
    included_tax = Decimal(0)
    for item, line, ok in zip(items, lines, eligible, strict=True):
        share = off * line / eligible_total if ok and eligible_total else Decimal(0)
        base = line - share
        rate = sum((dec(t.get("rate")) for t in item.get("taxes") or []), Decimal(0))
        if not rate:
            continue
        if item.get("taxInclusive"):
            included_tax += base - base / (1 + rate / 100)
        else:
            added_tax += base * rate / 100
    tax = cents(added_tax + included_tax)
    total = cents(sub_total) - off + cents(added_tax)
    return {"subTotal": cents(sub_total), "discount": off, "tax": tax, "total": total}
