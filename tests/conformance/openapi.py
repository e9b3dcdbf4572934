"""HighLevel's published OpenAPI documents, loaded at test time, and checks against them.

``validate_request`` tells whether a request (as the pipeline sends it) conforms to the documented
operation: body against the requestBody schema, query parameters (required, enums, numbers) and the
``Version`` header. ``validate_response`` checks an answer against the documented schema of its status.
The documents live beside the clone in ``../shared/specs/highlevel``; without them the checks skip.

A few documented schemas contradict their own examples and the live API; those are corrected here,
each with its reason, before anything is validated (see ``SPEC_CORRECTIONS``).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

SPECS = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs" / "highlevel"
APPS = ("contacts", "payments", "invoices", "conversations")

_ANY_OBJECT_ITEMS = {"type": "array", "items": {"type": "object"}}
_STRING = {"type": "string"}
# (document, schema, property) -> replacement: where the declared type contradicts the documented
# example and the live answers.
SPEC_CORRECTIONS: dict[tuple[str, str, str], dict[str, Any]] = {
    # "type: object" but the example and the API give a word such as "succeeded" / "active"
    ("payments", "TxnResponseSchema", "status"): _STRING,
    ("payments", "GetTxnResponseSchema", "status"): _STRING,
    ("payments", "SubscriptionResponseSchema", "status"): _STRING,
    ("conversations", "SendMessageBodyDto", "subType"): _STRING,
    # "array of string" but the example lists item objects
    ("payments", "GetOrderResponseSchema", "items"): _ANY_OBJECT_ITEMS,
    **{("invoices", dto, "invoiceItems"): _ANY_OBJECT_ITEMS
       for dto in ("GetInvoiceResponseDto", "CreateInvoiceResponseDto", "DefaultInvoiceResponseDto",
                   "VoidInvoiceResponseDto", "UpdateInvoiceResponseDto")},
}


def specs_available() -> bool:
    return all((SPECS / "apps" / f"{app}.json").is_file() for app in APPS) and (
        SPECS / "common" / "common-schemas.json").is_file()


def require_specs() -> None:
    if not specs_available():
        pytest.skip(f"HighLevel OpenAPI documents not found in {SPECS.resolve()}")


@functools.cache
def _load() -> tuple[dict[str, tuple[str, dict[str, Any]]], Any]:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    docs: dict[str, tuple[str, dict[str, Any]]] = {}
    resources = []
    for app in APPS:
        path = (SPECS / "apps" / f"{app}.json").resolve()
        doc = json.loads(path.read_text())
        for (name, schema, prop), replacement in SPEC_CORRECTIONS.items():
            if name == app:
                doc["components"]["schemas"][schema]["properties"][prop] = replacement
        docs[app] = (path.as_uri(), doc)
        resources.append((path.as_uri(), Resource.from_contents(doc, default_specification=DRAFT4)))
    common = (SPECS / "common" / "common-schemas.json").resolve()
    resources.append((common.as_uri(), Resource.from_contents(json.loads(common.read_text()),
                                                                default_specification=DRAFT4)))
    return docs, Registry().with_resources(resources)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def find_operation(method: str, path: str) -> tuple[str, str, dict[str, Any]]:
    """(document uri, path template, operation) for a template like ``/contacts/{contactId}`` or a
    concrete path like ``/contacts/abc123``."""
    require_specs()
    docs, _ = _load()
    method = method.lower()
    candidates = []
    for uri, doc in docs.values():
        for template, ops in doc["paths"].items():
            if method not in ops:
                continue
            if template == path:
                return uri, template, ops[method]
            pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path):
                candidates.append((template.count("{"), uri, template, ops[method]))
    if not candidates:
        raise AssertionError(f"{method.upper()} {path} is not a documented HighLevel operation")
    _, uri, template, op = min(candidates, key=lambda c: c[0])
    return uri, template, op


def _validator(uri: str, pointer: str) -> Any:
    from openapi_schema_validator import OAS30Validator

    _, registry = _load()
    return OAS30Validator({"$ref": f"{uri}#{quote(pointer)}"}, registry=registry)


def _schema_problems(uri: str, pointer: str, value: Any, what: str) -> list[str]:
    errors = sorted(_validator(uri, pointer).iter_errors(value), key=lambda e: list(e.absolute_path))
    return [f"{what} {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def request_problems(method: str, path: str, body: Any = None, query: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None) -> list[str]:
    """Everything about the request that the documented operation does not allow."""
    uri, template, op = find_operation(method, path)
    problems: list[str] = []
    query = {k: v for k, v in (query or {}).items() if v is not None}
    for param in op.get("parameters", []):
        name, where, schema = param["name"], param["in"], param.get("schema", {})
        if where == "query":
            value = query.get(name)
        elif where == "header" and headers is not None:
            value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
        else:
            continue
        if value is None:
            if param.get("required"):
                problems.append(f"{where} parameter {name} is required")
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if "enum" in schema and text not in [str(v) for v in schema["enum"]]:
            problems.append(f"{where} parameter {name}={text!r} is not one of {schema['enum']}")
        if schema.get("type") == "number" and not _is_number(text):
            problems.append(f"{where} parameter {name}={text!r} is not a number")
        if schema.get("type") == "boolean" and text not in ("true", "false"):
            problems.append(f"{where} parameter {name}={text!r} is not a boolean")
    content = (op.get("requestBody") or {}).get("content", {}).get("application/json")
    if content and "schema" in content:
        if body is None and op["requestBody"].get("required"):
            problems.append("a JSON body is required")
        elif body is not None:
            pointer = f"/paths/{_escape(template)}/{method.lower()}/requestBody/content/application~1json/schema"
            problems += _schema_problems(uri, pointer, body, "body")
    elif body is not None and method.lower() in ("get", "delete"):
        problems.append("the operation documents no request body")
    return problems


def validate_request(method: str, path_template: str, body: Any = None, query: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None) -> None:
    """Fail (AssertionError) when the request does not conform to HighLevel's documented operation."""
    problems = request_problems(method, path_template, body, query, headers)
    assert not problems, f"{method.upper()} {path_template} does not conform:\n  " + "\n  ".join(problems)


def response_schema_pointer(method: str, path: str, status: int) -> tuple[str, str] | None:
    uri, template, op = find_operation(method, path)
    response = op.get("responses", {}).get(str(status))
    if not response or "schema" not in response.get("content", {}).get("application/json", {}):
        return None
    return uri, f"/paths/{_escape(template)}/{method.lower()}/responses/{status}/content/application~1json/schema"


def response_problems(method: str, path: str, status: int, body: Any) -> list[str]:
    found = response_schema_pointer(method, path, status)
    if found is None:
        return [f"no documented JSON schema for status {status}"]
    return _schema_problems(*found, body, "response")


def validate_response(method: str, path: str, status: int, body: Any) -> None:
    problems = response_problems(method, path, status, body)
    assert not problems, f"{method.upper()} {path} answer {status} does not conform:\n  " + "\n  ".join(problems)
