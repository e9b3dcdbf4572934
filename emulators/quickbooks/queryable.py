"""Which properties a query may filter (WHERE) and sort (ORDERBY) on, per entity.

From the traits Intuit's API reference gives each property ("filterable", "sortable") on the Customer,
Vendor, Employee, Invoice, SalesReceipt, RefundReceipt, Payment, Item and Account pages (MetaData's
CreateTime and LastUpdatedTime are both on every one of them). QBO refuses a WHERE on anything else with
4001 "QueryValidationError: property '...' is not queryable" (quickbooks-ruby#258, #403: Vendor's
PrimaryEmailAddr, Payment's UnappliedAmt). Property names are case-insensitive, as the reference's own
examples show (``where Metadata.CreateTime``, ``where id='11'``).

Worth knowing for a sync: Customer.PrimaryEmailAddr is filterable but not sortable; Item.Active and
Account.Active are filterable but not sortable; Vendor and Employee emails are neither.
"""

from __future__ import annotations

META = frozenset({"MetaData.CreateTime", "MetaData.LastUpdatedTime"})

FILTERABLE: dict[str, frozenset[str]] = {
    "Customer": META
    | {
        "Id",
        "DisplayName",
        "GivenName",
        "MiddleName",
        "FamilyName",
        "FullyQualifiedName",
        "PrimaryEmailAddr",
        "Active",
        "CompanyName",
        "Balance",
        "PrintOnCheckName",
    },
    "Vendor": META
    | {
        "Id",
        "DisplayName",
        "GivenName",
        "MiddleName",
        "FamilyName",
        "Suffix",
        "Balance",
        "Active",
        "CompanyName",
        "PrintOnCheckName",
    },
    "Employee": META
    | {
        "Id",
        "DisplayName",
        "GivenName",
        "MiddleName",
        "FamilyName",
        "Suffix",
        "Active",
        "PrintOnCheckName",
    },
    "Invoice": META
    | {"Id", "CustomerRef", "DocNumber", "ProjectRef", "TxnDate", "SalesTermRef", "DueDate", "Balance"},
    "SalesReceipt": META
    | {"Id", "CustomerRef", "ProjectRef", "TxnDate", "DocNumber", "TotalAmt", "Balance"},
    "RefundReceipt": META
    | {
        "Id",
        "CustomerRef",
        "ProjectRef",
        "TxnDate",
        "DocNumber",
        "CheckPayment",
        "CreditCardPayment",
        "PaymentType",
        "Balance",
    },
    "Payment": META | {"Id", "CustomerRef", "ProjectRef", "PaymentRefNum", "TxnDate", "TotalAmt"},
    "Item": META | {"Id", "Name", "Type", "FullyQualifiedName", "Sku", "Active"},
    "Account": META
    | {
        "Id",
        "Name",
        "SubAccount",
        "Classification",
        "FullyQualifiedName",
        "AccountType",
        "AccountSubType",
        "CurrentBalance",
        "CurrentBalanceWithSubAccounts",
        "ParentRef",
        "Description",
        "Active",
    },
    "Preferences": META | {"Id"},
    "CompanyInfo": META | {"Id"},
}

SORTABLE: dict[str, frozenset[str]] = {
    "Customer": META
    | {
        "Id",
        "DisplayName",
        "GivenName",
        "MiddleName",
        "FamilyName",
        "FullyQualifiedName",
        "Active",
        "CompanyName",
        "Balance",
        "BalanceWithJobs",
        "PrintOnCheckName",
    },
    "Vendor": META
    | {
        "Id",
        "DisplayName",
        "GivenName",
        "MiddleName",
        "FamilyName",
        "Suffix",
        "Balance",
        "Active",
        "CompanyName",
        "PrintOnCheckName",
    },
    "Employee": META
    | {"Id", "DisplayName", "GivenName", "MiddleName", "FamilyName", "Suffix", "PrintOnCheckName"},
    "Invoice": META | {"Id", "DocNumber", "TxnDate", "DueDate", "Balance"},
    "SalesReceipt": META | {"Id", "TxnDate", "DocNumber", "Balance"},
    "RefundReceipt": META
    | {"Id", "TxnDate", "DocNumber", "CheckPayment", "CreditCardPayment", "PaymentType", "Balance"},
    "Payment": META | {"Id", "PaymentRefNum", "TxnDate", "TotalAmt"},
    "Item": META | {"Id", "Name", "Type", "UnitPrice"},
    "Account": META
    | {
        "Id",
        "Name",
        "SubAccount",
        "FullyQualifiedName",
        "CurrentBalance",
        "CurrentBalanceWithSubAccounts",
        "ParentRef",
        "Description",
    },
    "Preferences": META | {"Id"},
    "CompanyInfo": META | {"Id"},
}


def canonical(names: frozenset[str], name: str) -> str | None:
    """The property as the table spells it, matched case-insensitively; None when it is not there."""
    wanted = name.casefold()
    return next((n for n in names if n.casefold() == wanted), None)
