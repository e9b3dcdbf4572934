"""Who a QBO customer is in the CRM, and what a write to that contact carries (flows/contacts/plan.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from qbo_crm_sync.flows.contacts.mirror import Contact, ContactIndex, from_api, name_tokens
from qbo_crm_sync.flows.contacts.plan import plan

LOCATION = "ve9EPM428h8vShlRW1KT"


def payload(first: str, last: str, email: str | None = None, phone: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"locationId": LOCATION, "firstName": first, "lastName": last, "name": f"{first} {last}"}
    if email:
        body["email"] = email
    if phone:
        body["phone"] = phone
    return body


def contact(cid: str, first: str | None = None, last: str | None = None, email: str | None = None,
            phone: str | None = None, tags: tuple[str, ...] = (), day: int = 1) -> Contact:
    return from_api({"id": cid, "firstName": first, "lastName": last, "email": email, "phone": phone,
                     "tags": list(tags), "dateAdded": datetime(2024, 1, day, tzinfo=UTC).isoformat()})


def index(*contacts: Contact, mapped: dict[str, str] | None = None) -> ContactIndex:
    mapped = mapped or {}
    customers_of: dict[str, set[str]] = {}
    for customer, cid in mapped.items():
        customers_of.setdefault(cid, set()).add(customer)
    return ContactIndex(contacts, mapped, customers_of)


def test_a_new_person_is_created_with_the_integration_tag() -> None:
    decided = plan(index(), "1", payload("Ann", "Lee", "ann@example.com", "+14155550100"))
    assert decided.action == "create" and decided.reason == "created contact"
    assert decided.body["tags"] == ["quickbooks"] and decided.body["source"] == "QuickBooks Online"
    assert decided.body["phone"] == "+14155550100" and decided.body["locationId"] == LOCATION


def test_same_email_updates_that_contact_keeping_its_tags_and_spelling() -> None:
    known = contact("c1", "Ann", "Old", "Ann.Lee@Example.com", tags=("vip", "newsletter"))
    decided = plan(index(known), "1", payload("Ann", "Lee", "ann.lee@example.com", "+14155550100"))
    assert (decided.action, decided.contact_id) == ("update", "c1")
    assert "email" not in decided.body and "source" not in decided.body and "locationId" not in decided.body
    assert decided.body["tags"] == ["vip", "newsletter", "quickbooks"]
    assert decided.body["lastName"] == "Lee" and decided.body["phone"] == "+14155550100"
    assert decided.reason == ("updated CRM contact c1 (Ann Old) (found by email); "
                              "kept its tags (vip, newsletter) and added quickbooks")


def test_a_contact_already_tagged_gets_no_tags_sent() -> None:
    known = contact("c1", "Ann", "Lee", "ann@example.com", tags=("quickbooks",))
    decided = plan(index(known), "1", payload("Ann", "Lee", "ann@example.com"))
    assert "tags" not in decided.body


def test_the_customer_s_own_contact_follows_a_corrected_email_without_touching_tags() -> None:
    mine = contact("c1", "Fay", "Fixed", "fay@old.example.com", tags=("client",))
    decided = plan(index(mine, mapped={"7": "c1"}), "7", payload("Fay", "Fixed", "fay@new.example.com"))
    assert (decided.action, decided.contact_id) == ("update", "c1")
    assert decided.body["email"] == "fay@new.example.com" and "tags" not in decided.body
    assert "this customer's contact" in decided.reason
    assert "email changed from fay@old.example.com to fay@new.example.com" in decided.reason


def test_a_corrected_email_another_contact_holds_changes_nothing() -> None:
    mine = contact("c1", "Gil", "Twice", "gil@one.example.com")
    other = contact("c2", "Gilbert", "Twice", "gil@two.example.com")
    decided = plan(index(mine, other, mapped={"7": "c1"}), "7", payload("Gil", "Twice", "gil@two.example.com"))
    assert decided.action == "skip" and decided.body == {}
    assert decided.reason.startswith("email gil@two.example.com belongs to CRM contact c2 (Gilbert Twice), "
                                     "not to this customer's CRM contact c1 (Gil Twice)")


def test_a_contact_gone_from_the_crm_is_replaced() -> None:
    decided = plan(index(mapped={"7": "gone1"}), "7", payload("Hal", "Back", "hal@example.com"))
    assert decided.action == "create"
    assert decided.reason == "created contact; its earlier contact gone1 is no longer in the CRM"


def test_a_phone_held_by_someone_with_another_email_is_left_out_of_a_new_contact() -> None:
    bea = contact("c2", "Bea", "Other", "bea@example.com", "+1 415-555-0100")
    decided = plan(index(bea), "1", payload("Carl", "New", "carl@example.com", "+14155550100"))
    assert decided.action == "create" and "phone" not in decided.body
    assert decided.reason == ("created contact without phone +14155550100: it belongs to CRM contact c2 "
                              "(Bea Other), another person (a different email)")


def test_a_phone_only_contact_with_the_same_name_is_the_same_person() -> None:
    gus = contact("c3", "Gus", "Phone", None, "(206) 555-0177", tags=("caller",))
    decided = plan(index(gus), "1", payload("GUS", "phone", "gus@example.com", "+12065550177"))
    assert (decided.action, decided.contact_id) == ("update", "c3")
    assert decided.body["email"] == "gus@example.com" and "phone" not in decided.body
    assert decided.body["tags"] == ["caller", "quickbooks"]
    assert "found by phone, same name" in decided.reason and "email gus@example.com added" in decided.reason


def test_a_bare_phone_contact_is_the_same_person() -> None:
    bare = contact("c4", phone="+12065550199")
    decided = plan(index(bare), "1", payload("Ivy", "Reed", "ivy@example.com", "+12065550199"))
    assert (decided.action, decided.contact_id) == ("update", "c4")
    assert "found by phone)" in decided.reason


def test_a_phone_only_contact_with_another_name_is_another_person() -> None:
    hal = contact("c5", "Hal", "Home", None, "+1 206 555 0188")
    different = plan(index(hal), "1", payload("Ida", "Else", "ida@example.com", "+12065550188"))
    assert different.action == "create" and "phone" not in different.body
    assert "another person (a different name)" in different.reason
    unreachable = plan(index(hal), "2", payload("Jo", "Nomail", phone="+12065550188"))
    assert unreachable.action == "skip"
    assert unreachable.reason == ("phone +12065550188 belongs to CRM contact c5 (Hal Home), another person "
                                  "(a different name), and the customer has no email: no contact written")


def test_email_of_one_contact_phone_of_another() -> None:
    ann = contact("c1", "Ann", "Lee", "ann@example.com")
    ben = contact("c2", "Ben", "Park", "ben@example.com", "+15035550123")
    decided = plan(index(ann, ben), "1", payload("Ann", "Lee", "ann@example.com", "+15035550123"))
    assert (decided.action, decided.contact_id) == ("update", "c1") and "phone" not in decided.body
    assert "phone +15035550123 left out: it belongs to CRM contact c2 (Ben Park)" in decided.reason


def test_a_contact_synced_to_another_customer_is_not_taken_over() -> None:
    known = contact("c1", "Ann", "Lee", "ann@example.com")
    decided = plan(index(known, mapped={"9": "c1"}), "1", payload("Ann", "Lee", "ann@example.com"))
    assert decided.action == "skip"
    assert decided.reason == "same email as CRM contact c1 (Ann Lee), which QBO customer 9 is synced to"


def test_customers_planned_in_one_chunk_see_each_other() -> None:
    shared = index()
    dan = plan(shared, "1", payload("Dan", "One", "dan@example.com", "+13125550111"))
    eve = plan(shared, "2", payload("Eve", "Two", "eve@example.com", "+13125550111"))
    twin = plan(shared, "3", payload("Dan", "One", phone="+13125550111"))
    assert dan.body["phone"] == "+13125550111" and "phone" not in eve.body
    assert "belongs to the contact being written for QBO customer 1 in this run" in eve.reason
    assert twin.action == "skip" and twin.reason == ("same phone as QBO customer 1, whose contact is written "
                                                     "in this run")
    # A write that failed gives its details back.
    shared.release("1")
    assert plan(shared, "2", payload("Eve", "Two", "eve@example.com", "+13125550111")).body["phone"] \
        == "+13125550111"


def test_planning_from_many_threads_gives_a_phone_to_one_customer() -> None:
    shared = index()
    customers = [(str(n), payload(f"P{n}", "Shared", f"p{n}@example.com", "+17205550100")) for n in range(40)]
    with ThreadPoolExecutor(8) as pool:
        plans = list(pool.map(lambda c: plan(shared, *c), customers))
    assert sum("phone" in p.body for p in plans) == 1
    assert all(p.action == "create" for p in plans)


def test_names_compare_without_case_accents_punctuation_or_order() -> None:
    assert name_tokens("Zoë", "D'Arcy") == name_tokens("d arcy", "ZOE")
    assert name_tokens("Doe, Jane") == name_tokens("Jane", "Doe")
    assert name_tokens("Ann", "Lee") != name_tokens("Ann", "Lee-Smith")


def test_two_customers_of_one_contact_in_one_chunk_do_not_both_take_it() -> None:
    """Normally the transform skips the second of two customers with one email; whoever else plans
    against the same index still finds the contact spoken for."""
    known = contact("c1", "Ann", "Lee", "ann@example.com", "+14155550100")
    shared = index(known)
    first = plan(shared, "1", payload("Ann", "Lee", "ann@example.com", "+14155550100"))
    second = plan(shared, "2", payload("Ann", "Lee", "ann@example.com"))
    by_phone = plan(shared, "3", payload("Ann", "Lee", phone="+14155550100"))
    assert (first.action, first.contact_id) == ("update", "c1") and first.body == {
        "firstName": "Ann", "lastName": "Lee", "name": "Ann Lee", "tags": ["quickbooks"]}
    assert second.action == by_phone.action == "skip"
    assert "which QBO customer 1 is synced to" in second.reason
