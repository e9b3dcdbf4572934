"""Errors in the shapes the real API answers with.

The real service is a NestJS application: validation failures come back as 422 with a list of
class-validator sentences (``"locationId should not be empty"``, ``"property foo should not exist"``),
other refusals as 400/401 with a single message.
"""

from __future__ import annotations

import re
import types
import uuid
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           422: "Unprocessable Entity", 429: "Too Many Requests"}


def trace_id() -> str:
    return str(uuid.uuid4())


class ApiError(Exception):
    """An answer other than success; ``body`` is sent as JSON with ``status``."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body.get("message"))
        self.status = status
        self.body = body
        self.headers: dict[str, str] = {}


def bad_request(message: str, **extra: Any) -> ApiError:
    return ApiError(400, {"statusCode": 400, "message": message, **extra, "traceId": trace_id()})


def unprocessable(messages: list[str]) -> ApiError:
    return ApiError(422, {"statusCode": 422, "message": messages, "error": "Unprocessable Entity",
                          "traceId": trace_id()})


def unauthorized(body: str = "live") -> ApiError:
    """A missing, malformed or unknown bearer token (see behaviour.py, ``unauthorized_body``)."""
    if body == "documented":
        return ApiError(401, {"statusCode": 401, "message": "Invalid token: access token is invalid",
                              "error": "Unauthorized"})
    return ApiError(401, {"statusCode": 401, "message": "Invalid JWT"})


def foreign_location(status: str = "403") -> ApiError:
    """A token used on a location it does not belong to (see behaviour.py, ``foreign_location``)."""
    if status == "401":
        return ApiError(401, {"statusCode": 401, "message": "This location is not accessible from this token."})
    return ApiError(403, {"statusCode": 403, "message": "The token does not have access to this location."})


def too_many_requests() -> ApiError:
    return ApiError(429, {"statusCode": 429, "message": "Too many requests"})


def not_found(what: str) -> ApiError:
    """Unknown ids: the documented error set of these operations has no 404, the API says 400."""
    return bad_request(f"{what} not found")


_NUMBER = "must be a number conforming to the specified constraints"


def _path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _annotation_at(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    """The declared type of the field ``loc`` points at, walking nested models and lists."""
    ann: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        ann = _strip(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel) and part in ann.model_fields:
            ann = ann.model_fields[part].annotation
        else:
            return None
    return ann


def _strip(ann: Any) -> Any:
    """Unwrap Optional[...] and list[...] down to the element type."""
    while True:
        args = [a for a in get_args(ann) if a is not type(None)]
        origin = get_origin(ann)
        if origin is list and args:
            ann = args[0]
        elif origin in (Union, types.UnionType) and len(args) == 1:
            ann = args[0]
        else:
            return ann


def _type_sentence(path: str, ann: Any) -> str | None:
    origin = get_origin(ann)
    if origin is list:
        return f"{path} must be an array"
    ann = _strip(ann)
    if get_origin(ann) is Literal:
        return f"{path} must be one of the following values: {', '.join(map(str, get_args(ann)))}"
    if ann is str:
        return f"{path} must be a string"
    if ann is bool:
        return f"{path} must be a boolean value"
    if ann in (int, float):
        return f"{path} {_NUMBER}"
    return None


def validation_messages(model: type[BaseModel], exc: ValidationError) -> list[str]:
    """Translate pydantic's findings into the sentences class-validator would have written."""
    out: list[str] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = _path(loc)
        kind = err["type"]
        ann = _annotation_at(model, loc)
        if kind == "missing":
            out.append(f"{path} should not be empty")
            sentence = _type_sentence(path, ann)
            if sentence:
                out.append(sentence)
        elif kind == "extra_forbidden":
            out.append(f"property {path} should not exist")
        elif kind in ("literal_error", "enum"):
            values = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            out.append(f"{path} must be one of the following values: {', '.join(values)}")
        elif kind == "string_type":
            out.append(f"{path} must be a string")
        elif kind == "bool_type" or kind == "bool_parsing":
            out.append(f"{path} must be a boolean value")
        elif kind in ("int_type", "float_type", "int_parsing", "float_parsing", "int_from_float", "finite_number"):
            out.append(f"{path} {_NUMBER}")
        elif kind == "list_type":
            out.append(f"{path} must be an array")
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            out.append(f"nested property {path} must be either object or array")
        elif kind == "greater_than_equal":
            out.append(f"{path} must not be less than {err['ctx']['ge']}")
        elif kind == "less_than_equal":
            out.append(f"{path} must not be greater than {err['ctx']['le']}")
        elif kind == "value_error":
            out.append(f"{path} {err['ctx']['error']}".strip())
        else:
            out.append(f"{path} {err['msg']}".strip())
    return out
