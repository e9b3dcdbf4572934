"""One mapping for money: a CRM sale (lines, discount, tax, total) → QBO sales lines and tax detail.

Receipts and invoices both go through :func:`qbo_lines`, so QBO's own computed ``TotalAmt`` equals
the CRM total to the cent in either tax mode:

- ``total_tax`` books the CRM's tax as tax: item lines at the CRM's prices (taxed lines coded
  ``TAX``), the discount as a discount line where the company allows one, and
  ``TxnTaxDetail.TotalTax`` = the CRM's tax (with the company's tax code when one is configured).
  Sending TotalTax is what keeps QBO's automated sales tax from computing its own figure, whose
  per-line rounding can differ from the CRM's by a cent.
- ``fold_into_lines`` puts tax and discount into the line amounts, as HighLevel's own QuickBooks
  integration does for US companies; TotalTax is 0.

Whatever cannot be booked apart (a discount where discount lines are off) is folded. A caller may
ask for the discount line in either mode (``discount_line=True``: invoices show the discount where
the company allows one, whatever happens to the tax). The lines must add up to ``total + discount
line - TotalTax``; when the CRM's prices do not (folded amounts, tax-inclusive prices, rounding),
that target is shared over the lines in proportion to their value, to the cent (a line's tax already
inside its price, ``included_tax``, comes off that line's share where tax is booked apart; folded tax
goes onto the taxed lines only), and a line whose amount is not quantity × price is written as one
unit with the quantity in its description.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from qbo_crm_sync.flows.company import CompanyFacts

CENT = Decimal("0.01")
ZERO = Decimal(0)
DESCRIPTION_MAX = 4000


class MappingError(ValueError):
    """The sale cannot be written so that QBO's total equals the CRM's: the reason says why."""


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Any) -> Decimal | None:
    """A Decimal from an API number (never through float's binary rounding), or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


MONEY_KEYS = frozenset({"Amount", "UnitPrice", "Qty", "TotalTax", "TotalAmt"})


def with_decimals(body: Any) -> Any:
    """A body read back from JSON storage with its money fields as Decimal again."""
    if isinstance(body, dict):
        return {k: (money(v) if k in MONEY_KEYS and isinstance(v, str | int | float) else with_decimals(v))
                for k, v in body.items()}
    if isinstance(body, list):
        return [with_decimals(v) for v in body]
    return body


@dataclass(frozen=True)
class SaleLine:
    name: str
    qty: Decimal
    unit_price: Decimal
    item_id: str | None = None
    description: str | None = None
    taxed: bool = False
    # The tax inside this line's price (a tax-inclusive price), where the source tells it.
    included_tax: Decimal = ZERO


@dataclass(frozen=True)
class Sale:
    """A sale in the CRM's own figures: ``total`` is what the customer owes in all."""

    lines: tuple[SaleLine, ...]
    total: Decimal
    discount: Decimal = ZERO
    tax: Decimal = ZERO
    notes: tuple[str, ...] = field(default=())


def resolve_tax_mode(setting: str | None, company: CompanyFacts, tax_code_id: str | None = None) -> tuple[str, str]:
    """The mode to use and why. ``auto`` (the default) folds for US companies, as the CRM's own
    integration does, and books tax apart elsewhere when the integration names the company's tax
    code (QBO's ``TAX`` code exists in US companies only); a company without sales tax gets folded
    lines."""
    mode = setting or "auto"
    why = f"tax_mode {mode}"
    if mode == "auto":
        mode = "fold_into_lines" if company.country == "US" else "total_tax"
        why = f"tax_mode auto: {mode} for a company in {company.country}"
        if mode == "total_tax" and not tax_code_id:
            return "fold_into_lines", f"{why}, folded: set tax_code_id to book tax apart outside the US"
    if mode == "total_tax" and not company.using_sales_tax:
        return "fold_into_lines", f"{why}, folded: the company does not use sales tax"
    return mode, why


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``total`` shared over ``weights`` in proportion, in cents, summing exactly to ``total``
    (largest remainders get the odd cents; all on the first when every weight is zero)."""
    if not weights:
        raise MappingError("a sale needs at least one line")
    whole = sum(weights, ZERO)
    if whole <= 0:
        return [cents(total)] + [ZERO] * (len(weights) - 1)
    exact = [total * w / whole for w in weights]
    shares = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    left = int((cents(total) - sum(shares, ZERO)) / CENT)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:max(left, 0)]:
        shares[i] += CENT
    return shares


def qbo_lines(sale: Sale, mode: str, company: CompanyFacts, *, default_item_id: str | None = None,
              tax_code_id: str | None = None, discount_line: bool | None = None) -> dict[str, Any]:
    """``Line`` and ``TxnTaxDetail`` for a SalesReceipt or Invoice body (CustomerRef etc. not included).

    ``discount_line``: None books the discount as a line only where tax is booked apart; True
    wherever the company allows discount lines; False never."""
    if mode not in ("total_tax", "fold_into_lines"):
        raise ValueError(f"unresolved tax mode {mode!r}")
    book_tax = mode == "total_tax" and sale.tax > 0
    wanted = mode == "total_tax" if discount_line is None else discount_line
    discount_line = wanted and company.allow_discount and sale.discount > 0
    if book_tax and company.country != "US" and not tax_code_id:
        raise MappingError(f"tax booked apart in a company in {company.country} needs the integration's "
                           "tax_code_id (QBO's TAX code exists in US companies only): set it, or use "
                           "tax_mode fold_into_lines")
    tax = cents(sale.tax) if book_tax else ZERO
    discount = cents(sale.discount) if discount_line else ZERO
    target = cents(sale.total) + discount - tax
    if target < 0:
        raise MappingError(f"the CRM total {sale.total:.2f} is less than its tax {tax:.2f} less its discount "
                           f"{discount:.2f}: the lines would be negative")
    gross = [cents(line.qty * line.unit_price) for line in sale.lines]
    weights = [max(g - cents(line.included_tax), ZERO) if book_tax else g
               for g, line in zip(gross, sale.lines, strict=True)]
    folded_tax = cents(sale.tax) if not book_tax and sale.tax > 0 else ZERO
    if folded_tax and any(line.taxed for line in sale.lines) and not all(line.taxed for line in sale.lines):
        amounts = _fold_tax_into_taxed(sale.lines, gross, target, folded_tax)
    elif sum(gross, ZERO) == target:
        amounts = gross
    elif sum(weights, ZERO) == target:
        amounts = weights
    else:
        amounts = allocate(target, weights)
    # US companies code lines TAX/NON; elsewhere a taxed line carries the company's own tax code.
    taxed_code = tax_code_id if company.country != "US" and tax_code_id else "TAX"
    lines = [_item_line(line, amount, taxed_code if book_tax and line.taxed else "NON", default_item_id)
             for line, amount in zip(sale.lines, amounts, strict=True)]
    if discount:
        lines.append({"DetailType": "DiscountLineDetail", "Amount": discount,
                      "DiscountLineDetail": {"PercentBased": False}})
    detail: dict[str, Any] = {"TotalTax": tax}
    if book_tax and tax_code_id:
        detail["TxnTaxCodeRef"] = {"value": str(tax_code_id)}
    return {"Line": lines, "TxnTaxDetail": detail}


def _fold_tax_into_taxed(lines: tuple[SaleLine, ...], gross: list[Decimal], target: Decimal,
                         tax: Decimal) -> list[Decimal]:
    """Line amounts summing to ``target`` when some lines are taxed and others not: the lines without
    their tax share ``target - tax`` by value (the discount falls on every line), and the tax goes
    onto the taxed lines only, in proportion to their share, so an untaxed line carries no tax."""
    inside = [cents(line.included_tax) for line in lines]
    if sum(gross, ZERO) == target and sum(inside, ZERO) == tax:
        return gross  # tax-inclusive prices: the tax is inside the taxed lines already
    net_weights = [max(g - i, ZERO) for g, i in zip(gross, inside, strict=True)]
    net_target = target - tax
    if net_target < 0:
        return allocate(target, gross)
    net = net_weights if sum(net_weights, ZERO) == net_target else allocate(net_target, net_weights)
    shares = allocate(tax, [n if line.taxed else ZERO for n, line in zip(net, lines, strict=True)])
    return [n + t for n, t in zip(net, shares, strict=True)]


def _item_line(line: SaleLine, amount: Decimal, tax_code: str, default_item_id: str | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"TaxCodeRef": {"value": tax_code}}
    description = line.description or line.name
    if cents(line.qty * line.unit_price) == amount and line.qty > 0:
        detail.update({"Qty": line.qty, "UnitPrice": line.unit_price})
    else:
        detail.update({"Qty": Decimal(1), "UnitPrice": amount})
        if line.qty != 1:
            description = f"{description} ({line.qty.normalize():f} × {line.unit_price:.2f})"
    item = line.item_id or default_item_id
    if item:
        detail["ItemRef"] = {"value": str(item)}
    return {"DetailType": "SalesItemLineDetail", "Amount": amount,
            "Description": description[:DESCRIPTION_MAX], "SalesItemLineDetail": detail}


def qbo_total(body: dict[str, Any]) -> Decimal:
    """What QBO will compute as TotalAmt for ``body`` (item lines − discount line + TotalTax)."""
    items = sum((Decimal(str(ln["Amount"])) for ln in body["Line"] if ln["DetailType"] == "SalesItemLineDetail"),
                ZERO)
    off = sum((Decimal(str(ln["Amount"])) for ln in body["Line"] if ln["DetailType"] == "DiscountLineDetail"), ZERO)
    return items - off + Decimal(str((body.get("TxnTaxDetail") or {}).get("TotalTax") or 0))
