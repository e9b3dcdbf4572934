"""Fault bodies in the shapes QBO answers with, and the exception that carries them to the edge."""

from __future__ import annotations

import time
from typing import Any

from emulators.quickbooks.clock import response_time


class QboError(Exception):
    """Raised anywhere below the routes; the route turns it into (status, body)."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}

    @property
    def fault(self) -> dict[str, Any]:
        return self.body.get("Fault", {})


def fault_body(
    fault_type: str, message: str, detail: str, code: str, element: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"Message": message, "Detail": detail, "code": code}
    if element is not None:
        error["element"] = element
    return {"Fault": {"Error": [error], "type": fault_type}, "time": response_time()}


def validation(message: str, detail: str, code: str, element: str | None = None) -> QboError:
    return QboError(400, fault_body("ValidationFault", message, detail, code, element))


def required(name: str) -> QboError:
    return validation(
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {name} is missing in the request",
        "2020",
        name,
    )


def business(detail: str, element: str | None = None) -> QboError:
    return validation(
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        "6000",
        element,
    )


def invalid_reference(kind: str, ref: str) -> QboError:
    return validation(
        "Invalid Reference Id",
        f"Invalid Reference Id : {kind} assigned to this transaction has been deleted or does not exist: {ref}",
        "2500",
    )


def object_not_found(entity: str, entity_id: str) -> QboError:
    return validation(
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive. Check the fields with "
        f"accounts, customers, items, vendors or employees. ({entity} {entity_id})",
        "610",
        "",
    )


def stale(entity: str) -> QboError:
    return validation(
        "Stale Object Error",
        f"Stale Object Error : You and another user were working on the same thing. The other user "
        f"finished before you did, so your work on this {entity} was not saved.",
        "5010",
        "",
    )


def duplicate_name() -> QboError:
    return validation("Duplicate Name Exists Error", "The name supplied already exists. : null", "6240")


def unsupported_property(name: str, entity: str, known: list[str]) -> QboError:
    listed = ", ".join(f'"{k}"' for k in known[:60])
    return validation(
        "Request has invalid or unsupported property",
        f'Property Name:Unrecognized field "{name}" (class com.intuit.schema.finance.v3.{entity}), not marked as '
        f"ignorable ({len(known)} known properties: {listed} [truncated]])\n specified is unsupported or invalid",
        "2010",
    )


def malformed_body(reason: str) -> QboError:
    return validation(
        "Request has invalid or unsupported property",
        f"Property Name:{reason} specified is unsupported or invalid",
        "2010",
    )


def request_id_too_long(value: str, limit: int) -> QboError:
    """The shape QBO answered a 68-character request_id with (QuickBooks-V3-Java-SDK#180)."""
    return business(
        f"You cannot enter more than {limit} characters in the request_id field. "
        f"You tried entering {value[:10]}..., which is {len(value)} characters."
    )


def batch_id_too_long(bid: str, limit: int) -> QboError:
    return business(
        f"You cannot enter more than {limit} characters in the bId field of a batch that carries a "
        f"requestid. You tried entering {bid[:10]}..., which is {len(bid)} characters."
    )


def duplicate_doc_number(doc_number: str, entity: str, holder: str) -> QboError:
    return validation(
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. This number has already "
        f"been used. DocNumber={doc_number} is assigned to TxnType={entity} with TxnId={holder}",
        "6140",
    )


# The message and detail QBO answers when a name with an open balance is made inactive
# (quickbooks-ruby#390). The thread shows no code; 6000, the business-validation family, stands in.
LIST_HAS_BALANCE_CODE = "6000"


def list_has_balance(entity: str) -> QboError:
    return validation(
        "Delete List Has Balance Error",
        "The entity you are trying to delete has an open balance. : "
        f"This {entity.lower()} cannot be deleted because it has a non-zero balance",
        LIST_HAS_BALANCE_CODE,
    )


def query_parser(detail: str) -> QboError:
    return validation("Error parsing query", f"QueryParserError: {detail}", "4000")


def query_validation(detail: str) -> QboError:
    return validation("Invalid query", f"QueryValidationError: {detail}", "4001")


def amount_mismatch(supplied: Any) -> QboError:
    return validation(
        "Amount calculation incorrect in the request",
        f"Amount is not equal to UnitPrice * Qty. Supplied value:{supplied}",
        "6070",
    )


def unsupported_operation(operation: str, entity: str) -> QboError:
    return validation(
        "Operation Not Supported",
        f"Operation {operation} is not supported for {entity}.",
        "2030",
    )


def throttled_body() -> dict[str, Any]:
    return fault_body(
        "SERVICE",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit for this company has been exceeded; retry after a short wait.",
        "3001",
    )


def authentication_body(reason: str) -> dict[str, Any]:
    """The lower-case envelope Intuit's gateway answers 401 with (time as epoch milliseconds)."""
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": f"{reason}: <REDACTED>",
                    "code": "3200",
                    "element": None,
                }
            ],
            "type": "AUTHENTICATION",
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(time.time() * 1000),
        "status": None,
        "cdcresponse": [],
    }


AUTHENTICATE_HEADER = {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'}


def authentication(reason: str) -> QboError:
    return QboError(401, authentication_body(reason), AUTHENTICATE_HEADER)


def authorization() -> QboError:
    return QboError(
        403,
        fault_body(
            "AuthorizationFault",
            "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
            "The access token does not grant access to this company.",
            "3100",
        ),
    )
