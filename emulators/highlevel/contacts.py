"""Contacts: create, upsert, read, update, search, duplicate lookup and tags.

Matching follows the location's duplicate-contact setting (``contactMatching``, an admin switch per
location: email then phone by default, or phone then email, or one field only). The upsert
operation's description in HighLevel's contacts OpenAPI document is followed to the letter: the
existing contact is found by the fields in the configured sequence, and when the first field finds
one contact and the second field another, the first one is updated and the second field of the
request is ignored, so that no two contacts end up sharing it.

Emails are stored as given and matched without regard to case; ``emailLowerCase`` holds the
lower-cased copy (the ContactCreate webhook example keeps ``JohnDeo@gmail.comm`` as written).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from emulators.common import maybe_drop
from emulators.highlevel import models as m
from emulators.highlevel.calls import begin
from emulators.highlevel.errors import bad_request, not_found, trace_id, unprocessable
from emulators.highlevel.store import Store, contact_id, now_iso

router = APIRouter()

_NOT_COPIED = {"locationId", "createNewIfDuplicateAllowed", "email", "tags", "customFields", "dateOfBirth"}
SEARCH_OPERATORS = {"eq", "not_eq", "contains", "not_contains", "exists", "not_exists", "range"}
SEARCH_PAGE_CEILING = 10_000
# The filter fields of HighLevel's Search Contacts guide (doc.clickup.com/8631005/d/h/87cpx-158396,
# linked from the search operation of the contacts OpenAPI document), "Supported Filter Fields",
# plus the DND fields added later (GoHighLevel/highlevel-api-docs#279) and ``customFields.<id>``.
# Any other field is refused with 400 "Invalid field <name>" (highlevel-api-docs#170 for
# ``contact_name``, #289 for ``additional_phones``), never answered with an empty page: a misspelt
# lookup must not read as "no such contact".
SEARCH_FIELDS = frozenset({
    "id", "address", "assignedTo", "businessName", "city", "country", "companyName", "dateAdded", "dateUpdated",
    "dnd", "email", "followers", "firstNameLowerCase", "lastNameLowerCase", "isValidWhatsapp",
    "lastEmailClickedDate", "lastEmailOpenedDate", "phone", "postalCode", "source", "state", "tags", "timezone",
    "type", "validEmail", "website", "lastAppointment", "activeWorkflows", "finishedWorkflows", "opportunities",
    "dndSettings.Email.status", "dndSettings.SMS.status", "dndSettings.Call.status", "inboundDndSettings.all.status",
})


def _tags(tags: list[str]) -> list[str]:
    """Tags are case-insensitive in HighLevel and come back lower-cased, without repeats."""
    out: list[str] = []
    for tag in tags:
        t = tag.strip().lower()
        if t and t not in out:
            out.append(t)
    return out


def _date_of_birth(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def apply_fields(contact: dict[str, Any], fields: dict[str, Any]) -> None:
    """Write the given fields onto the stored contact; ``null`` clears a field."""
    for key, value in fields.items():
        if key in _NOT_COPIED:
            continue
        if value is None:
            contact.pop(key, None)
        else:
            contact[key] = value
    if "email" in fields:
        email = (fields["email"] or "").strip()
        if email:
            contact["email"], contact["emailLowerCase"] = email, email.lower()
        else:
            contact.pop("email", None)
            contact.pop("emailLowerCase", None)
    if "tags" in fields:
        contact["tags"] = _tags(fields["tags"] or [])
    if fields.get("customFields"):
        merged = {f["id"]: f for f in contact.get("customFields", [])}
        for f in fields["customFields"]:
            merged[f["id"]] = {"id": f["id"], "value": f.get("field_value")}
        contact["customFields"] = list(merged.values())
    if "dateOfBirth" in fields:
        dob = _date_of_birth(fields["dateOfBirth"])
        if dob:
            contact["dateOfBirth"] = dob
        else:
            contact.pop("dateOfBirth", None)
    first, last = contact.get("firstName") or "", contact.get("lastName") or ""
    if first or last:
        contact["name"] = f"{first} {last}".strip()
    full = contact.get("name") or ""
    for key, value in (("firstNameLowerCase", first.lower()), ("lastNameLowerCase", last.lower()),
                       ("fullNameLowerCase", full.lower()), ("contactName", full)):
        if value:
            contact[key] = value
        else:
            contact.pop(key, None)


def new_contact(store: Store, location: str, fields: dict[str, Any]) -> dict[str, Any]:
    stamp = now_iso()
    contact: dict[str, Any] = {
        "id": fields.get("id") or contact_id(), "locationId": location, "type": "lead", "tags": [],
        "customFields": [], "dnd": False, "dateAdded": fields.get("dateAdded") or stamp,
        "dateUpdated": fields.get("dateUpdated") or stamp, "deleted": False,
    }
    apply_fields(contact, {k: v for k, v in fields.items() if k not in ("id", "dateAdded", "dateUpdated")})
    store.put("contacts", contact)
    store.index_contact(contact)
    return contact


def update_contact(store: Store, contact: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    before = dict(contact)
    apply_fields(contact, fields)
    contact["dateUpdated"] = now_iso()
    store.index_contact(contact, before)
    return contact


def find_match(store: Store, location: str, email: str | None, phone: str | None
               ) -> tuple[dict[str, Any] | None, str | None]:
    """The contact the location's duplicate rule finds first, and the field that found it."""
    for name, contact in _matches_in_order(store, location, email, phone):
        if contact:
            return contact, name
    return None, None


def _matches_in_order(store: Store, location: str, email: str | None, phone: str | None
                      ) -> list[tuple[str, dict[str, Any] | None]]:
    """Each field of the location's ``contactMatching`` sequence with the contact it finds."""
    lookups = {"email": lambda: store.contact_by_email(location, email),
               "phone": lambda: store.contact_by_phone(location, phone)}
    return [(name, lookups[name]()) for name in store.contact_matching(location)]


def upsert_target(store: Store, location: str, fields: dict[str, Any]) -> dict[str, Any] | None:
    """The contact an upsert updates (None: create one). When the first field of the sequence
    finds a contact and a later field finds another, that later field is dropped from ``fields``."""
    found = [(name, c) for name, c in _matches_in_order(store, location, fields.get("email"), fields.get("phone"))
             if c is not None]
    if not found:
        return None
    target = found[0][1]
    for name, other in found[1:]:
        if other["id"] != target["id"]:
            fields.pop(name, None)
    return target


def duplicate_error(contact: dict[str, Any], matched_on: str) -> Exception:
    return bad_request(
        "This location does not allow duplicated contacts.",
        meta={"contactName": contact.get("name", ""), "contactId": contact["id"], "matchingField": matched_on},
    )


def _allows_duplicates(store: Store, location: str) -> bool:
    return bool(store.locations.get(location, {}).get("allowDuplicateContact"))


@router.post("/contacts/")
async def create_contact(request: Request) -> JSONResponse:
    call = await begin(request, body=True)
    dto = call.body(m.CreateContact)
    fields = dto.model_dump(exclude_unset=True)
    store: Store = request.app.state.hl.store
    with store.lock:
        if not _allows_duplicates(store, dto.locationId):
            existing, matched_on = find_match(store, dto.locationId, dto.email, dto.phone)
            if existing:
                raise call.fail(duplicate_error(existing, matched_on or "email"))
        contact = new_contact(store, dto.locationId, fields)
        answer = {"contact": dict(contact)}
    maybe_drop(request)
    return call.ok(answer, 201)


@router.post("/contacts/upsert")
async def upsert_contact(request: Request) -> JSONResponse:
    call = await begin(request, body=True)
    dto = call.body(m.UpsertContact)
    fields = dto.model_dump(exclude_unset=True)
    store: Store = request.app.state.hl.store
    with store.lock:
        existing = None
        if not (dto.createNewIfDuplicateAllowed and _allows_duplicates(store, dto.locationId)):
            existing = upsert_target(store, dto.locationId, fields)
        if existing:
            contact, created = update_contact(store, existing, fields), False
        else:
            contact, created = new_contact(store, dto.locationId, fields), True
        answer = {"new": created, "contact": dict(contact), "traceId": trace_id()}
    maybe_drop(request)
    return call.ok(answer)


@router.get("/contacts/search/duplicate")
async def duplicate_contact(request: Request) -> JSONResponse:
    call = await begin(request)
    q = call.query(m.DuplicateQuery)
    if not (q.email or q.number):
        # Both are optional in the document, but a lookup needs one: the documented 400 (our words).
        raise call.fail(bad_request("Either email or number is required", error="Bad Request"))
    store: Store = request.app.state.hl.store
    with store.lock:
        found, _ = find_match(store, q.locationId, q.email, q.number)
        answer = {"contact": dict(found) if found else None, "traceId": trace_id()}
    return call.ok(answer)


@router.post("/contacts/search")
async def search_contacts(request: Request) -> JSONResponse:
    call = await begin(request, body=True)
    dto = call.body(m.SearchContacts)
    problems = _search_problems(dto)
    if problems:
        raise call.fail(unprocessable(problems))
    unknown = [f.get("field") for f in _flatten(dto.filters or []) if not _searchable(f.get("field"))]
    if unknown:
        raise call.fail(bad_request(f"Invalid field {unknown[0]}", error="Bad Request"))
    store: Store = request.app.state.hl.store
    with store.lock:
        rows = [c for c in store.in_location("contacts", dto.locationId)
                if _matches_all(c, dto.filters or []) and _matches_query(c, dto.query)]
        sort_field, direction = ("dateAdded", "asc") if not dto.sort else (dto.sort[0].field, dto.sort[0].direction)
        rows.sort(key=lambda c: (_sortable(c.get(sort_field)), c["id"]), reverse=direction == "desc")
        total = len(rows)
        if dto.searchAfter:
            after = (_sortable(dto.searchAfter[0]), str(dto.searchAfter[-1]))
            if direction == "desc":
                rows = [c for c in rows if (_sortable(c.get(sort_field)), c["id"]) < after]
            else:
                rows = [c for c in rows if (_sortable(c.get(sort_field)), c["id"]) > after]
            page = rows[: dto.pageLimit]
        else:
            start = ((dto.page or 1) - 1) * dto.pageLimit
            page = rows[start: start + dto.pageLimit]
        contacts = [_search_view(c, sort_field) for c in page]
    return call.ok({"contacts": contacts, "total": total, "traceId": trace_id()})


@router.get("/contacts/{contact_id}")
async def get_contact(contact_id: str, request: Request) -> JSONResponse:
    store: Store = request.app.state.hl.store
    call = await begin(request, location=store.location_for("contacts", contact_id))
    with store.lock:
        contact = store.get("contacts", contact_id)
        if not contact:
            raise call.fail(not_found("Contact"))
        return call.ok({"contact": dict(contact)})


@router.put("/contacts/{contact_id}")
async def put_contact(contact_id: str, request: Request) -> JSONResponse:
    store: Store = request.app.state.hl.store
    call = await begin(request, body=True, location=store.location_for("contacts", contact_id))
    dto = call.body(m.UpdateContact)
    fields = dto.model_dump(exclude_unset=True)
    with store.lock:
        contact = store.get("contacts", contact_id)
        if not contact:
            raise call.fail(not_found("Contact"))
        loc = contact["locationId"]
        if not _allows_duplicates(store, loc):
            for matched_on, other in _matches_in_order(store, loc, fields.get("email"), fields.get("phone")):
                if other and other["id"] != contact_id:
                    raise call.fail(duplicate_error(other, matched_on))
        answer = {"succeded": True, "contact": dict(update_contact(store, contact, fields))}
    maybe_drop(request)
    return call.ok(answer)


@router.post("/contacts/{contact_id}/tags")
async def add_tags(contact_id: str, request: Request) -> JSONResponse:
    store: Store = request.app.state.hl.store
    call = await begin(request, body=True, location=store.location_for("contacts", contact_id))
    dto = call.body(m.Tags)
    with store.lock:
        contact = store.get("contacts", contact_id)
        if not contact:
            raise call.fail(not_found("Contact"))
        contact["tags"] = _tags(contact.get("tags", []) + dto.tags)
        contact["dateUpdated"] = now_iso()
        answer = {"tags": list(contact["tags"])}
    maybe_drop(request)
    return call.ok(answer, 201)


@router.delete("/contacts/{contact_id}/tags")
async def remove_tags(contact_id: str, request: Request) -> JSONResponse:
    store: Store = request.app.state.hl.store
    call = await begin(request, body=True, location=store.location_for("contacts", contact_id))
    dto = call.body(m.Tags)
    gone = set(_tags(dto.tags))
    with store.lock:
        contact = store.get("contacts", contact_id)
        if not contact:
            raise call.fail(not_found("Contact"))
        contact["tags"] = [t for t in contact.get("tags", []) if t not in gone]
        contact["dateUpdated"] = now_iso()
        answer = {"tags": list(contact["tags"])}
    maybe_drop(request)
    return call.ok(answer)


# --- search helpers -------------------------------------------------------------------------------

def _search_problems(dto: m.SearchContacts) -> list[str]:
    problems = []
    if dto.page is not None and dto.searchAfter is not None:
        problems.append("page and searchAfter cannot be used together")
    if dto.page is not None and dto.page * dto.pageLimit > SEARCH_PAGE_CEILING:
        problems.append(f"page based pagination can fetch up to {SEARCH_PAGE_CEILING} records, use searchAfter")
    for n, flt in enumerate(_flatten(dto.filters or [])):
        if "group" not in flt and flt.get("operator") not in SEARCH_OPERATORS:
            problems.append(f"filters.{n}.operator must be one of the following values: "
                            + ", ".join(sorted(SEARCH_OPERATORS)))
    return problems


def _searchable(field: Any) -> bool:
    return isinstance(field, str) and (field in SEARCH_FIELDS or (field.startswith("customFields.")
                                                                   and len(field) > len("customFields.")))


def _flatten(filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for f in filters:
        out.extend(_flatten(f.get("filters") or []) if "group" in f else [f])
    return out


def _epoch_ms(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return round(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            return None
    return None


def _sortable(value: Any) -> tuple[int, Any]:
    """A key that orders numbers and dates by time, strings alphabetically, missing values first."""
    if value is None:
        return (0, "")
    ms = _epoch_ms(value)
    return (1, ms) if ms is not None else (2, str(value).lower())


def _field(contact: dict[str, Any], name: str) -> Any:
    """The stored value a search field names: ``address`` is ``address1``, ``customFields.<id>`` the
    value of that custom field, dotted names walk nested objects."""
    if name == "address":
        return contact.get("address1")
    if name.startswith("customFields."):
        wanted = name.split(".", 2)[1]
        return next((f.get("value") for f in contact.get("customFields") or [] if f.get("id") == wanted), None)
    value: Any = contact
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _matches_all(contact: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    return all(_matches(contact, f) for f in filters)


def _matches(contact: dict[str, Any], flt: dict[str, Any]) -> bool:
    if "group" in flt:
        results = (_matches(contact, f) for f in flt.get("filters") or [])
        return all(results) if str(flt["group"]).upper() == "AND" else any(results)
    actual, op, value = _field(contact, str(flt.get("field"))), flt.get("operator"), flt.get("value")
    present = actual not in (None, "", [])
    if op == "exists":
        return present
    if op == "not_exists":
        return not present
    if op == "range":
        ms, bounds = _epoch_ms(actual), value if isinstance(value, dict) else {}
        if ms is None:
            return False
        checks = {"gte": lambda b: ms >= b, "gt": lambda b: ms > b, "lte": lambda b: ms <= b, "lt": lambda b: ms < b}
        return all(checks[k](_epoch_ms(v) or 0) for k, v in bounds.items() if k in checks)
    wanted = [str(v).lower() for v in (value if isinstance(value, list) else [value])]
    values = [str(a).lower() for a in (actual if isinstance(actual, list) else [actual])] if present else []
    if op in ("eq", "not_eq"):
        hit = any(w in values for w in wanted)
    else:
        hit = any(w in v for w in wanted for v in values)
    return hit if op in ("eq", "contains") else not hit


def _matches_query(contact: dict[str, Any], query: str | None) -> bool:
    if not query:
        return True
    needle = query.lower()
    return any(needle in str(contact.get(k) or "").lower()
               for k in ("fullNameLowerCase", "email", "phone", "companyName"))


def _search_view(contact: dict[str, Any], sort_field: str) -> dict[str, Any]:
    """The search answer's contact: ``address`` instead of ``address1``, birth date in epoch ms, and
    the ``searchAfter`` cursor, as the live API writes them."""
    view = dict(contact)
    if "address1" in view:
        view["address"] = view.pop("address1")
    if "dateOfBirth" in view:
        view["dateOfBirth"] = _epoch_ms(view["dateOfBirth"])
    sort_value = contact.get(sort_field)
    ms = _epoch_ms(sort_value) if sort_field in ("dateAdded", "dateUpdated") else None
    view["searchAfter"] = [ms if ms is not None else sort_value, contact["id"]]
    return view
