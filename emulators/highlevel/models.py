"""Request models: what each operation accepts, written after the API's own DTOs.

Bodies are validated strictly (no "10" for a number, no unknown properties: the real API answers
``property x should not exist``). Query strings are parsed leniently, as the API transforms them.
Known differences from the published documents, kept on purpose because the live API behaves so:
``GET /payments/orders/{id}`` needs ``altType``; ``POST /contacts/search`` needs ``locationId`` and
``pageLimit``; ``PUT /contacts/{id}`` accepts ``companyName``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError("must be an email") from None
    return value


def _day(value: str | None) -> str | None:
    if value is not None and not _DAY.match(value):
        raise ValueError("must be a valid date in the format YYYY-MM-DD")
    return value


def _number_string(value: str) -> str:
    if not value.isdigit():
        raise ValueError("must be a number string")
    return value


Email = Annotated[str | None, AfterValidator(_email)]
Day = Annotated[str | None, AfterValidator(_day)]
Number = float  # JSON numbers; strict mode refuses strings and booleans


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- contacts -------------------------------------------------------------------------------------

DndStatus = Literal["active", "inactive", "permanent"]


class DndSetting(Body):
    status: DndStatus
    message: str | None = None
    code: str | None = None


class DndSettings(Body):
    Call: DndSetting | None = None
    Email: DndSetting | None = None
    SMS: DndSetting | None = None
    WhatsApp: DndSetting | None = None
    GMB: DndSetting | None = None
    FB: DndSetting | None = None


class InboundDndSetting(Body):
    status: Literal["active", "inactive"]
    message: str | None = None


class InboundDndSettings(Body):
    all: InboundDndSetting | None = None


class CustomFieldValue(Body):
    """One of the documented field kinds (text, numeric, checkbox, file...): all share id/key/field_value."""

    id: str
    key: str | None = None
    field_value: Any = None


class ContactFields(Body):
    firstName: str | None = None
    lastName: str | None = None
    name: str | None = None
    email: Email = None
    phone: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postalCode: str | None = None
    website: str | None = None
    timezone: str | None = None
    dnd: bool | None = None
    dndSettings: DndSettings | None = None
    inboundDndSettings: InboundDndSettings | None = None
    tags: list[str] | None = None
    customFields: list[CustomFieldValue] | None = None
    source: str | None = None
    dateOfBirth: Any = None
    country: str | None = None
    companyName: str | None = None
    assignedTo: str | None = None


class CreateContact(ContactFields):
    locationId: str
    gender: str | None = None


class UpsertContact(CreateContact):
    createNewIfDuplicateAllowed: bool = False


class UpdateContact(ContactFields):
    pass


class Tags(Body):
    tags: list[str]


class SearchSort(Body):
    field: str
    direction: Literal["asc", "desc"] = "asc"


class SearchContacts(Body):
    """Body of POST /contacts/search, after HighLevel's search guide (the JSON document leaves it empty)."""

    locationId: str
    pageLimit: Annotated[int, Field(ge=1, le=500)]
    page: Annotated[int, Field(ge=1)] | None = None
    searchAfter: list[Any] | None = None
    query: str | None = None
    filters: list[dict[str, Any]] | None = None
    sort: list[SearchSort] | None = None


class DuplicateQuery(Query):
    locationId: str
    email: str | None = None
    number: str | None = None


# --- payments -------------------------------------------------------------------------------------

class Paging(Query):
    limit: Annotated[int, Field(ge=0)] = 10
    offset: Annotated[int, Field(ge=0)] = 0


class TransactionsQuery(Paging):
    altId: str
    altType: Literal["location"]
    locationId: str | None = None
    paymentMode: str | None = None
    startAt: Day = None
    endAt: Day = None
    entitySourceType: str | None = None
    entitySourceSubType: str | None = None
    search: str | None = None
    subscriptionId: str | None = None
    entityId: str | None = None
    contactId: str | None = None


class EntityQuery(Query):
    altId: str
    altType: Literal["location"]
    locationId: str | None = None


class OrdersQuery(Paging):
    altId: str
    altType: Literal["location"] | None = None
    locationId: str | None = None
    status: str | None = None
    paymentStatus: Literal["paid", "unpaid", "refunded", "partially_paid"] | None = None
    paymentMode: str | None = None
    startAt: Day = None
    endAt: Day = None
    search: str | None = None
    contactId: str | None = None
    funnelProductIds: str | None = None
    sourceId: str | None = None


class SubscriptionsQuery(Paging):
    altId: str
    altType: Literal["location"]
    entityId: str | None = None
    paymentMode: str | None = None
    startAt: Day = None
    endAt: Day = None
    entitySourceType: str | None = None
    search: str | None = None
    contactId: str | None = None
    id: str | None = None
    getPaymentsCollectedCount: bool | None = None


# --- invoices -------------------------------------------------------------------------------------

AltType = Literal["location"]


class InvoicesQuery(Query):
    altId: str
    altType: AltType
    limit: Annotated[str, AfterValidator(_number_string)]
    offset: Annotated[str, AfterValidator(_number_string)]
    status: str | None = None
    startAt: Day = None
    endAt: Day = None
    search: str | None = None
    paymentMode: Literal["default", "live", "test"] | None = None
    contactId: str | None = None
    sortField: Literal["issueDate"] | None = None
    sortOrder: Literal["ascend", "descend"] | None = None


class Address(Body):
    addressLine1: str | None = None
    addressLine2: str | None = None
    city: str | None = None
    state: str | None = None
    countryCode: str | None = None
    postalCode: str | None = None


class BusinessDetails(Body):
    logoUrl: str | None = None
    name: str | None = None
    phoneNo: str | None = None
    address: Address | None = None
    website: str | None = None
    customValues: list[str] | None = None


class ItemTax(Body):
    id: str = Field(alias="_id")
    name: str
    rate: Number
    calculation: Literal["exclusive"] | None = None
    description: str | None = None
    taxId: str | None = None


class InvoiceItem(Body):
    name: str
    description: str | None = None
    productId: str | None = None
    priceId: str | None = None
    currency: str
    amount: Number
    qty: Number
    taxes: list[ItemTax] | None = None
    automaticTaxCategoryId: str | None = None
    isSetupFeeItem: bool | None = None
    type: Literal["one_time", "recurring"] | None = None
    taxInclusive: bool = False


class Discount(Body):
    value: Number = 0
    type: Literal["percentage", "fixed"]
    validOnProductIds: list[str] | None = None


class AdditionalEmail(Body):
    email: str


class ContactDetails(Body):
    id: str
    name: str
    phoneNo: str
    email: str
    additionalEmails: list[AdditionalEmail] | None = None
    companyName: str | None = None
    address: Address | None = None
    customFields: list[str] | None = None


class SentTo(Body):
    email: list[str]
    emailCc: list[str] | None = None
    emailBcc: list[str] | None = None
    phoneNo: list[str] | None = None


class CreateInvoice(Body):
    altId: str
    altType: AltType
    name: str
    businessDetails: BusinessDetails
    currency: str
    items: list[InvoiceItem]
    discount: Discount
    termsNotes: str | None = None
    title: str | None = None
    contactDetails: ContactDetails
    invoiceNumber: str | None = None
    issueDate: Annotated[str, AfterValidator(_day)]
    dueDate: Day = None
    sentTo: SentTo
    liveMode: bool
    automaticTaxesEnabled: bool | None = None
    paymentSchedule: dict[str, Any] | None = None
    lateFeesConfiguration: dict[str, Any] | None = None
    tipsConfiguration: dict[str, Any] | None = None
    invoiceNumberPrefix: str | None = None
    paymentMethods: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] | None = None
    miscellaneousCharges: dict[str, Any] | None = None


class UpdateInvoice(Body):
    """``PUT /invoices/{invoiceId}`` (UpdateInvoiceDto): the whole editable invoice again."""

    altId: str
    altType: AltType
    name: str
    currency: str
    invoiceItems: list[InvoiceItem]
    issueDate: Annotated[str, AfterValidator(_day)]
    dueDate: Annotated[str, AfterValidator(_day)]
    title: str | None = None
    description: str | None = None
    businessDetails: BusinessDetails | None = None
    invoiceNumber: str | None = None
    contactId: str | None = None
    contactDetails: ContactDetails | None = None
    termsNotes: str | None = None
    discount: Discount | None = None
    automaticTaxesEnabled: bool | None = None
    liveMode: bool | None = None
    paymentSchedule: dict[str, Any] | None = None
    tipsConfiguration: dict[str, Any] | None = None
    xeroDetails: dict[str, Any] | None = None
    invoiceNumberPrefix: str | None = None
    paymentMethods: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] | None = None
    miscellaneousCharges: dict[str, Any] | None = None


class AltBody(Body):
    altId: str
    altType: AltType


class SendInvoice(AltBody):
    userId: str
    action: Literal["sms_and_email", "send_manually", "email", "sms"]
    liveMode: bool
    sentFrom: dict[str, Any] | None = None
    autoPayment: dict[str, Any] | None = None


class VoidInvoice(AltBody):
    pass


class Card(Body):
    brand: str
    last4: str


class Cheque(Body):
    number: str


class RecordPayment(AltBody):
    mode: Literal["cash", "card", "cheque", "bank_transfer", "other"]
    card: Card
    cheque: Cheque
    notes: str
    amount: Number | None = None
    meta: dict[str, Any] | None = None
    paymentScheduleIds: list[str] | None = None
    fulfilledAt: str | None = None


# --- conversations --------------------------------------------------------------------------------

MessageType = Literal["SMS", "RCS", "Email", "WhatsApp", "IG", "FB", "Custom", "Live_Chat", "TIKTOK"]
MessageStatus = Literal["delivered", "failed", "pending", "read"]


class SendMessage(Body):
    type: MessageType
    subType: str
    contactId: str
    status: MessageStatus
    appointmentId: str | None = None
    attachments: list[str] | None = None
    emailFrom: str | None = None
    emailCc: list[str] | None = None
    emailBcc: list[str] | None = None
    html: str | None = None
    message: str | None = None
    subject: str | None = None
    replyMessageId: str | None = None
    templateId: str | None = None
    threadId: str | None = None
    scheduledTimestamp: Number | None = None
    conversationProviderId: str | None = None
    emailTo: str | None = None
    customSubtypeId: str | None = None
    emailReplyMode: Literal["reply", "reply_all"] | None = None
    fromNumber: str | None = None
    toNumber: str | None = None
    forward: dict[str, Any] | None = None
    usesNativeSchedulingAi: bool | None = None
    optimizationPeriod: Literal["24h", "48h", "72h"] | None = None
