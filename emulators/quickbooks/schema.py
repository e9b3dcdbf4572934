"""Property names QBO accepts per entity (JSON names equal the element names of the v3 schema)."""

from __future__ import annotations

CUSTOMER: frozenset[str] = frozenset({
    "Id", "SyncToken", "MetaData", "CustomField", "AttachableRef", "domain", "status", "sparse",
    "IntuitId", "Organization", "Title", "GivenName", "MiddleName", "FamilyName", "Suffix",
    "FullyQualifiedName", "CompanyName", "DisplayName", "PrintOnCheckName", "UserId", "Active",
    "V4IDPseudonym", "PrimaryPhone", "AlternatePhone", "Mobile", "Fax", "PrimaryEmailAddr", "WebAddr",
    "OtherContactInfo", "DefaultTaxCodeRef", "Taxable", "BillAddr", "ShipAddr", "OtherAddr",
    "ContactName", "AltContactName", "Notes", "Job", "BillWithParent", "RootCustomerRef", "ParentRef",
    "Level", "CustomerTypeRef", "SalesTermRef", "SalesRepRef", "TaxGroupCodeRef", "TaxRateRef",
    "PaymentMethodRef", "CCDetail", "PriceLevelRef", "Balance", "OpenBalanceDate", "BalanceWithJobs",
    "CreditLimit", "AcctNum", "CurrencyRef", "OverDueBalance", "TotalRevenue", "TotalExpense",
    "PreferredDeliveryMethod", "ResaleNum", "JobInfo", "TDSEnabled", "CustomerEx",
    "SecondaryTaxIdentifier", "ARAccountRef", "PrimaryTaxIdentifier", "TaxExemptionReasonId",
    "IsProject", "BusinessNumber", "GSTIN", "GSTRegistrationType", "IsCISContractor", "ClientCompanyId",
    "ClientEntityId", "Source", "TaxRegime",
})

INVOICE: frozenset[str] = frozenset({
    "Id", "SyncToken", "MetaData", "CustomField", "AttachableRef", "domain", "status", "sparse",
    "DocNumber", "TxnDate", "DepartmentRef", "CurrencyRef", "ExchangeRate", "PrivateNote", "TxnStatus",
    "LinkedTxn", "Line", "TxnTaxDetail", "TxnSource", "TaxFormType", "TaxFormNum",
    "TransactionLocationType", "Tag", "TxnApprovalInfo", "RecurDataRef", "RecurringInfo", "ProjectRef",
    "TotalCostAmount", "HomeTotalCostAmount", "AutoDocNumber", "CustomerRef", "CustomerMemo",
    "BillAddr", "ShipAddr", "FreeFormAddress", "ShipFromAddr", "RemitToRef", "ClassRef", "SalesTermRef",
    "DueDate", "SalesRepRef", "PONumber", "FOB", "ShipMethodRef", "ShipDate", "TrackingNum",
    "GlobalTaxCalculation", "TotalAmt", "HomeTotalAmt", "ApplyTaxAfterDiscount",
    "ShippingTaxIncludedInTotalTax", "TemplateRef", "PrintStatus", "EmailStatus", "BillEmail",
    "BillEmailCc", "BillEmailBcc", "ARAccountRef", "Balance", "HomeBalance", "FinanceCharge",
    "PaymentMethodRef", "PaymentRefNum", "PaymentType", "CheckPayment", "CreditCardPayment",
    "DepositToAccountRef", "DeliveryInfo", "DiscountRate", "DiscountAmt", "GovtTxnRefIdentifier",
    "TaxExemptionRef", "Deposit", "AllowIPNPayment", "AllowOnlinePayment",
    "AllowOnlineCreditCardPayment", "AllowOnlineACHPayment", "AllowOnlinePayPalPayment",
    "EInvoiceStatus", "ECloudStatusTimeStamp", "CfdiUse", "Exportation", "GlobalInfo", "invoiceStatus",
    "callToAction", "invoiceStatusLog", "InvoiceEx", "LessCIS", "InvoiceLink", "PaymentDetailsMessage",
    "ConvenienceFeeDetail", "InvoiceLinkSecurityCode", "InvoiceLinkExpiryDate", "AutoPayEligible",
    "SchedulePayEligible", "ScheduledPaymentId", "GratuityEnabled", "FinancingProductType",
    "SubscriptionPaymentsSetting",
})

SALESRECEIPT: frozenset[str] = frozenset({
    "Id", "SyncToken", "MetaData", "CustomField", "AttachableRef", "domain", "status", "sparse",
    "DocNumber", "TxnDate", "DepartmentRef", "CurrencyRef", "ExchangeRate", "PrivateNote", "TxnStatus",
    "LinkedTxn", "Line", "TxnTaxDetail", "TxnSource", "TaxFormType", "TaxFormNum",
    "TransactionLocationType", "Tag", "TxnApprovalInfo", "RecurDataRef", "RecurringInfo", "ProjectRef",
    "TotalCostAmount", "HomeTotalCostAmount", "AutoDocNumber", "CustomerRef", "CustomerMemo",
    "BillAddr", "ShipAddr", "FreeFormAddress", "ShipFromAddr", "RemitToRef", "ClassRef", "SalesTermRef",
    "DueDate", "SalesRepRef", "PONumber", "FOB", "ShipMethodRef", "ShipDate", "TrackingNum",
    "GlobalTaxCalculation", "TotalAmt", "HomeTotalAmt", "ApplyTaxAfterDiscount",
    "ShippingTaxIncludedInTotalTax", "TemplateRef", "PrintStatus", "EmailStatus", "BillEmail",
    "BillEmailCc", "BillEmailBcc", "ARAccountRef", "Balance", "HomeBalance", "FinanceCharge",
    "PaymentMethodRef", "PaymentRefNum", "PaymentType", "CheckPayment", "CreditCardPayment",
    "DepositToAccountRef", "DeliveryInfo", "DiscountRate", "DiscountAmt", "GovtTxnRefIdentifier",
    "TaxExemptionRef", "SalesReceiptEx", "LessCIS",
})

PAYMENT: frozenset[str] = frozenset({
    "Id", "SyncToken", "MetaData", "CustomField", "AttachableRef", "domain", "status", "sparse",
    "DocNumber", "TxnDate", "DepartmentRef", "CurrencyRef", "ExchangeRate", "PrivateNote", "TxnStatus",
    "LinkedTxn", "Line", "TxnTaxDetail", "TxnSource", "TaxFormType", "TaxFormNum",
    "TransactionLocationType", "Tag", "TxnApprovalInfo", "RecurDataRef", "RecurringInfo", "ProjectRef",
    "TotalCostAmount", "HomeTotalCostAmount", "CustomerRef", "RemitToRef", "ARAccountRef",
    "DepositToAccountRef", "PaymentMethodRef", "PaymentRefNum", "PaymentType", "CheckPayment",
    "CreditCardPayment", "TotalAmt", "UnappliedAmt", "ProcessPayment", "PaymentEx",
})

ITEM: frozenset[str] = frozenset({
    "Id", "SyncToken", "MetaData", "CustomField", "AttachableRef", "domain", "status", "sparse", "Name",
    "Sku", "Description", "Active", "SubItem", "ParentRef", "Level", "FullyQualifiedName", "Taxable",
    "SalesTaxIncluded", "PercentBased", "UnitPrice", "RatePercent", "Type", "PaymentMethodRef",
    "UOMSetRef", "IncomeAccountRef", "PurchaseDesc", "PurchaseTaxIncluded", "PurchaseCost",
    "ExpenseAccountRef", "COGSAccountRef", "AssetAccountRef", "PrefVendorRef", "AvgCost",
    "TrackQtyOnHand", "QtyOnHand", "QtyOnPurchaseOrder", "QtyOnSalesOrder", "ReorderPoint",
    "ManPartNum", "DepositToAccountRef", "SalesTaxCodeRef", "PurchaseTaxCodeRef", "InvStartDate",
    "BuildPoint", "PrintGroupedItems", "SpecialItem", "SpecialItemType", "ItemGroupDetail",
    "ItemAssemblyDetail", "AbatementRate", "ReverseChargeRate", "ServiceType", "ItemCategoryType",
    "ItemEx", "TaxClassificationRef", "UQCDisplayText", "UQCId", "ClassRef", "Source", "DeferredRevenue",
})

ACCOUNT: frozenset[str] = frozenset({
    "Id", "SyncToken", "MetaData", "CustomField", "AttachableRef", "domain", "status", "sparse", "Name",
    "SubAccount", "ParentRef", "Description", "FullyQualifiedName", "AccountAlias", "TxnLocationType",
    "Active", "Classification", "AccountType", "AccountSubType", "AccountPurposes", "AcctNum",
    "AcctNumExtn", "BankNum", "OpeningBalance", "OpeningBalanceDate", "CurrentBalance",
    "CurrentBalanceWithSubAccounts", "CurrencyRef", "TaxAccount", "TaxCodeRef", "OnlineBankingEnabled",
    "FIName", "JournalCodeRef", "AccountEx",
})

LINE: frozenset[str] = frozenset({
    "Id", "LineNum", "Description", "Amount", "Received", "LinkedTxn", "DetailType",
    "PaymentLineDetail", "DiscountLineDetail", "TaxLineDetail", "SalesItemLineDetail",
    "DescriptionLineDetail", "ItemBasedExpenseLineDetail", "AccountBasedExpenseLineDetail",
    "ReimburseLineDetail", "DepositLineDetail", "PurchaseOrderItemLineDetail",
    "SalesOrderItemLineDetail", "ItemReceiptLineDetail", "JournalEntryLineDetail", "GroupLineDetail",
    "SubTotalLineDetail", "TDSLineDetail", "ItemAdjustmentLineDetail", "CustomField", "LineEx",
    "ProjectRef", "CostAmount", "HomeCostAmount",
})

PROPERTIES: dict[str, frozenset[str]] = {
    "Customer": CUSTOMER,
    "Invoice": INVOICE,
    "SalesReceipt": SALESRECEIPT,
    "Payment": PAYMENT,
    "Item": ITEM,
    "Account": ACCOUNT,
}
