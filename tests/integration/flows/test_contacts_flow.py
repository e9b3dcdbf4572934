"""QBO customers → CRM contacts, end to end over both emulators and a real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from qbo_crm_sync.flows import contacts
from tests.integration.flows.conftest import Env, run_cycle


def customer(first: str, last: str, email: str | None = None, phone: str | None = None, **extra: Any) -> dict:
    c: dict[str, Any] = {"GivenName": first, "FamilyName": last, "DisplayName": f"{first} {last}".strip()}
    if email is not None:
        c["PrimaryEmailAddr"] = {"Address": email}
    if phone is not None:
        c["PrimaryPhone"] = {"FreeFormNumber": phone}
    c.update(extra)
    return c


def crm_emails(env: Env) -> list[str]:
    return sorted(c.get("email") or "" for c in env.crm("contacts"))


def crm_contact(env: Env, **fields: Any) -> str:
    """A contact that was in the CRM before the integration looked; answers its id."""
    (contact_id,) = env.seed_crm("contacts", [{"locationId": env.integration.location_id, **fields}])
    return contact_id


def crm_by_id(env: Env) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in env.crm("contacts")}


def crm_writes(env: Env, contact_id: str = "") -> list[str]:
    """Every write request the CRM received (for one contact when given), as "METHOD path"."""
    return [f"{r['method']} {r['path']}" for r in env.requests_log(env.hl_url, "/contacts")
            if r["method"] in ("POST", "PUT", "DELETE") and r["path"] != "/contacts/search"
            and contact_id in r["path"]]


def update_customer(env: Env, customer_id: str, **fields: Any) -> None:
    hook = env.job("contacts").qbo
    current = hook.read("Customer", customer_id)
    hook.update("Customer", {"Id": customer_id, "SyncToken": current["SyncToken"], **fields},
                request_id=f"edit-{customer_id}-{current['SyncToken']}", sparse=True)


def test_new_customers_become_contacts_once(env: Env) -> None:
    ids = env.seed_qbo("Customer", [
        customer("José", "Ñúñez", " Jose.Nunez@Example.COM "),
        customer("Siobhán", "O'Brien", "o'brien@example.com", "(415) 555-0100"),
        customer("Zoë", "Lefèvre 🌻", phone="+44 20 7946 0958", BillAddr={"Country": "GB"}),
        customer("No", "Contact"),
        customer("Bad", "Email", "bad..dots@example.com"),
    ])
    counts = run_cycle(env, contacts)
    assert counts["extracted"] == 5
    assert crm_emails(env) == ["", "jose.nunez@example.com", "o'brien@example.com"]
    status = env.row_status("contacts")
    expected = ["loaded", "loaded", "loaded", "rejected", "rejected"]
    assert [status[sid]["status"] for sid in ids] == expected
    assert "no valid email or phone" in status[ids[3]]["reason"]
    assert "email" in status[ids[4]]["reason"]
    phone_only = next(c for c in env.crm("contacts") if not c.get("email"))
    assert phone_only["phone"] == "+442079460958"
    assert phone_only["firstName"] == "Zoë"
    assert all(c["tags"] == ["quickbooks"] and c["source"] == "QuickBooks Online" for c in env.crm("contacts"))
    writes = crm_writes(env)
    assert writes == ["POST /contacts/"] * 3  # created, never upserted

    again = run_cycle(env, contacts)
    assert again.get("to_load", 0) == 0
    assert crm_writes(env) == writes
    assert len(env.crm("contacts")) == 3


def test_only_customers_created_after_connecting(env: Env) -> None:
    before = env.integration.connected_at - timedelta(seconds=1)
    stamp = before.isoformat()
    env.seed_qbo("Customer", [customer("Early", "Bird", "early@example.com",
                                       MetaData={"CreateTime": stamp, "LastUpdatedTime": stamp})])
    env.seed_qbo("Customer", [customer("Late", "Comer", "late@example.com")])
    run_cycle(env, contacts)
    assert crm_emails(env) == ["late@example.com"]


def test_duplicates_within_and_across_runs(env: Env) -> None:
    first, second = env.seed_qbo("Customer", [
        customer("Ann", "Lee", "ann@example.com"),
        customer("Ann", "Lee-Smith", "ANN@example.com "),
    ])
    run_cycle(env, contacts)
    (third,) = env.seed_qbo("Customer", [customer("Annie", "Lee", "Ann@Example.com")])
    run_cycle(env, contacts)
    assert crm_emails(env) == ["ann@example.com"]
    status = env.row_status("contacts")
    assert status[first]["status"] == "loaded"
    assert status[second]["status"] == "skipped" and first in status[second]["reason"]
    assert status[third]["status"] == "skipped" and first in status[third]["reason"]


def test_bad_input_corpus(env: Env) -> None:
    long_name = "Ä" * 600
    ids = env.seed_qbo("Customer", [
        customer("", "", "nameless@example.com", DisplayName="nameless@example.com"),
        customer("Long", "Name", "long@example.com", CompanyName=long_name),
        customer("Mixed", "Case", "MiXeD@ExAmPlE.cOm"),
        customer("Emoji", "🎉 Party", "party@example.com"),
    ])
    run_cycle(env, contacts)
    status = env.row_status("contacts")
    assert status[ids[0]]["status"] == "loaded"
    assert status[ids[1]]["status"] == "rejected" and "255" in status[ids[1]]["reason"]
    assert status[ids[2]]["status"] == "loaded"
    assert status[ids[3]]["status"] == "loaded"
    assert "mixed@example.com" in crm_emails(env)
    party = next(c for c in env.crm("contacts") if c.get("email") == "party@example.com")
    assert party["lastName"] == "🎉 Party"


def test_customer_fixed_in_qbo_is_picked_up_again(env: Env) -> None:
    (cid,) = env.seed_qbo("Customer", [customer("Fix", "Me", "fix..me@example.com")])
    run_cycle(env, contacts)
    assert env.row_status("contacts")[cid]["status"] == "rejected"
    hook = env.job("contacts").qbo
    current = hook.read("Customer", cid)
    hook.update("Customer", {"Id": cid, "SyncToken": current["SyncToken"],
                             "PrimaryEmailAddr": {"Address": "fixed@example.com"}},
                request_id=f"fix-{cid}", sparse=True)
    run_cycle(env, contacts)
    assert env.row_status("contacts")[cid]["status"] == "loaded"
    assert crm_emails(env) == ["fixed@example.com"]


@pytest.mark.parametrize("faults", [
    {"error_rate": 0.3},
    {"drop_after_commit_rate": 0.3},
    {"storm_s": 2},
], ids=["5xx-burst", "commit-then-drop", "429-storm"])
def test_faults_lose_nothing_and_duplicate_nothing(env: Env, faults: dict[str, Any]) -> None:
    emails = [f"person{i}@example.com" for i in range(40)]
    env.seed_qbo("Customer", [customer(f"Person{i}", "Faulty", e) for i, e in enumerate(emails)])
    env.faults(env.hl_url, paths=["/contacts"], **faults)
    run_cycle(env, contacts)
    env.faults(env.hl_url, error_rate=0, drop_after_commit_rate=0, storm_s=0)
    run_cycle(env, contacts)  # anything left failed is retried
    assert crm_emails(env) == sorted(emails)
    statuses = {r["status"] for r in env.row_status("contacts").values()}
    assert statuses == {"loaded"}


def test_crash_between_crm_write_and_local_commit(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    load_step = importlib.import_module("qbo_crm_sync.flows.contacts.load")  # the module, not the step

    env.seed_qbo("Customer", [customer(f"Crash{i}", "Test", f"crash{i}@example.com") for i in range(10)])
    real_commit = load_step._commit

    def crash(job, written):  # noqa: ANN001
        raise RuntimeError("worker killed after the CRM write")

    monkeypatch.setattr(load_step, "_commit", crash)
    with pytest.raises(RuntimeError):
        run_cycle(env, contacts)
    assert len(env.crm("contacts")) == 10  # the writes landed, the tracking did not
    monkeypatch.setattr(load_step, "_commit", real_commit)
    job = env.job("contacts")
    contacts.load(job)  # a cleared load task
    assert len(env.crm("contacts")) == 10
    assert {r["status"] for r in env.row_status("contacts").values()} == {"loaded"}
    assert all(c["tags"] == ["quickbooks"] for c in env.crm("contacts"))


def test_customers_created_from_crm_contacts_are_not_echoed_back(env: Env) -> None:
    from qbo_crm_sync.store import db

    (echo, own) = env.seed_qbo("Customer", [customer("Echo", "Payer", "payer@example.com"),
                                            customer("Own", "Customer", "own@example.com")])
    with db.connect(env.db_url) as conn:  # as the receipts flow records a customer it created
        conn.execute("INSERT INTO sync.qbo_customer_claim (integration_id, email, display_name, customer_id) "
                     "VALUES (%s, 'payer@example.com', 'Echo Payer', %s)", (env.integration.id, echo))
        conn.commit()
    run_cycle(env, contacts)
    status = env.row_status("contacts")
    assert status[echo]["status"] == "skipped" and "from a CRM contact" in status[echo]["reason"]
    assert status[own]["status"] == "loaded"
    assert crm_emails(env) == ["own@example.com"]


def test_a_refused_row_fails_alone_then_goes_dead(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 4xx for one contact fails that row with the API's message, not the run; after 5 attempts it
    is dead and no longer sent. (The emulator accepts every valid payload, so one refusal is staged.)"""
    from qbo_crm_sync.errors import ApiError
    from qbo_crm_sync.hooks.highlevel import HighLevelHook

    real_create = HighLevelHook.create_contact
    refusals: list[str] = []

    def create(self, payload):  # noqa: ANN001, ANN202
        if payload.get("email") == "refused@example.com":
            refusals.append(payload["email"])
            raise ApiError("email is on the location's suppression list", status=422)
        return real_create(self, payload)

    monkeypatch.setattr(HighLevelHook, "create_contact", create)
    refused, fine = env.seed_qbo("Customer", [customer("Re", "Fused", "refused@example.com"),
                                              customer("Fine", "Row", "fine@example.com")])
    for attempt in range(1, 6):
        run_cycle(env, contacts)
        row = env.row_status("contacts")[refused]
        assert row["attempts"] == attempt and "suppression list" in row["reason"]
    assert row["status"] == "dead"
    assert env.row_status("contacts")[fine]["status"] == "loaded"
    assert len(refusals) == 5
    run_cycle(env, contacts)
    assert len(refusals) == 5  # a dead row is not sent again


# --- who is who in the CRM: tags kept, other people never overwritten, one contact per customer ---


def test_an_existing_contact_keeps_its_tags_and_what_it_holds(env: Env) -> None:
    """Matched by email (whatever its case), the CRM contact is updated in place: its tags stay, the
    integration's tag is added, and its email's spelling and its source are left as they were."""
    kept = crm_contact(env, firstName="Tia", lastName="Old-Name", email="Tia.Tagged@Example.com",
                       tags=["vip", "newsletter"], source="webinar")
    (cid,) = env.seed_qbo("Customer", [customer("Tia", "Tagged", "tia.tagged@example.com", "(415) 555-0142")])
    run_cycle(env, contacts)

    (contact,) = env.crm("contacts")
    assert contact["id"] == kept
    assert sorted(contact["tags"]) == ["newsletter", "quickbooks", "vip"]
    assert contact["email"] == "Tia.Tagged@Example.com" and contact["source"] == "webinar"
    assert contact["lastName"] == "Tagged" and contact["phone"] == "+14155550142"
    row = env.row_status("contacts")[cid]
    assert row["status"] == "loaded" and row["target_id"] == kept
    assert "found by email" in row["reason"] and "kept its tags (vip, newsletter)" in row["reason"]
    assert crm_writes(env) == [f"PUT /contacts/{kept}"]

    # Tags the CRM adds later survive the customer's next change in QBO.
    env.job("contacts").crm.add_tags(kept, ["Gold"])
    update_customer(env, cid, FamilyName="Tagged-Smith")
    run_cycle(env, contacts)
    (contact,) = env.crm("contacts")
    assert sorted(contact["tags"]) == ["gold", "newsletter", "quickbooks", "vip"]
    assert contact["lastName"] == "Tagged-Smith"


def test_a_phone_held_by_another_person_is_not_taken(env: Env) -> None:
    """A new customer whose phone belongs to someone else in the CRM gets a contact of its own,
    without the phone; the other person's contact is not touched."""
    other = crm_contact(env, firstName="Bea", lastName="Other", email="bea@example.com",
                        phone="+1 415-555-0100", tags=["client"])
    (cid,) = env.seed_qbo("Customer", [customer("Carl", "New", "carl@example.com", "(415) 555-0100")])
    run_cycle(env, contacts)

    contacts_now = crm_by_id(env)
    assert contacts_now[other]["email"] == "bea@example.com" and contacts_now[other]["firstName"] == "Bea"
    assert contacts_now[other]["tags"] == ["client"] and contacts_now[other]["phone"] == "+1 415-555-0100"
    assert crm_writes(env, other) == []
    row = env.row_status("contacts")[cid]
    carl = contacts_now[row["target_id"]]
    assert carl["email"] == "carl@example.com" and "phone" not in carl
    assert row["status"] == "loaded"
    assert f"without phone +14155550100: it belongs to CRM contact {other} (Bea Other)" in row["reason"]
    assert "a different email" in row["reason"]


def test_two_customers_sharing_a_phone_in_one_batch_stay_two_contacts(env: Env) -> None:
    first, second = env.seed_qbo("Customer", [
        customer("Dan", "One", "dan@example.com", "(312) 555-0111"),
        customer("Eve", "Two", "eve@example.com", "312-555-0111"),
    ])
    run_cycle(env, contacts)

    status = env.row_status("contacts")
    contacts_now = crm_by_id(env)
    assert len(contacts_now) == 2
    dan, eve = contacts_now[status[first]["target_id"]], contacts_now[status[second]["target_id"]]
    assert dan["email"] == "dan@example.com" and dan["phone"] == "+13125550111"
    assert eve["email"] == "eve@example.com" and "phone" not in eve
    assert "without phone +13125550111" in status[second]["reason"]


def test_email_of_one_contact_and_phone_of_another(env: Env) -> None:
    """The contact with the email is updated; the phone, held by another contact, is left out and
    the reason says so (HighLevel's upsert would drop it silently)."""
    ann = crm_contact(env, firstName="Ann", lastName="Lee", email="ann@example.com", tags=["lead"])
    ben = crm_contact(env, firstName="Ben", lastName="Park", email="ben@example.com", phone="+15035550123")
    (cid,) = env.seed_qbo("Customer", [customer("Ann", "Lee-Park", "ann@example.com", "(503) 555-0123")])
    run_cycle(env, contacts)

    contacts_now = crm_by_id(env)
    assert contacts_now[ann]["lastName"] == "Lee-Park" and "phone" not in contacts_now[ann]
    assert sorted(contacts_now[ann]["tags"]) == ["lead", "quickbooks"]
    assert contacts_now[ben]["email"] == "ben@example.com" and contacts_now[ben]["lastName"] == "Park"
    assert crm_writes(env, ben) == []
    row = env.row_status("contacts")[cid]
    assert row["target_id"] == ann
    assert f"phone +15035550123 left out: it belongs to CRM contact {ben} (Ben Park)" in row["reason"]


def test_a_phone_only_contact_is_the_same_person_only_by_name(env: Env) -> None:
    gus = crm_contact(env, firstName="Gus", lastName="Phone", phone="(206) 555-0177", tags=["caller"])
    hal = crm_contact(env, firstName="Hal", lastName="Home", phone="+1 206 555 0188")
    same, different, unreachable = env.seed_qbo("Customer", [
        customer("GUS", "phone", "gus@example.com", "206.555.0177"),
        customer("Ida", "Else", "ida@example.com", "(206) 555-0188"),
        customer("Jo", "Nomail", phone="(206) 555-0188"),
    ])
    run_cycle(env, contacts)

    status = env.row_status("contacts")
    contacts_now = crm_by_id(env)
    assert status[same]["target_id"] == gus and "found by phone, same name" in status[same]["reason"]
    assert contacts_now[gus]["email"] == "gus@example.com"
    assert sorted(contacts_now[gus]["tags"]) == ["caller", "quickbooks"]
    assert contacts_now[gus]["phone"] == "(206) 555-0177"  # already its phone: left as the CRM wrote it
    ida = contacts_now[status[different]["target_id"]]
    assert ida["email"] == "ida@example.com" and "phone" not in ida
    assert "another person (a different name)" in status[different]["reason"]
    assert contacts_now[hal]["firstName"] == "Hal" and "email" not in contacts_now[hal]
    assert crm_writes(env, hal) == []
    assert status[unreachable]["status"] == "skipped" and hal in status[unreachable]["reason"]
    assert len(contacts_now) == 3


def test_a_corrected_email_updates_the_same_contact(env: Env) -> None:
    (cid,) = env.seed_qbo("Customer", [customer("Fay", "Fixed", "fay@old.example.com", "(617) 555-0190")])
    run_cycle(env, contacts)
    (before,) = env.crm("contacts")

    update_customer(env, cid, PrimaryEmailAddr={"Address": "Fay@New.example.com"})
    run_cycle(env, contacts)
    (after,) = env.crm("contacts")
    assert after["id"] == before["id"] and after["email"] == "fay@new.example.com"
    assert after["tags"] == ["quickbooks"]
    row = env.row_status("contacts")[cid]
    assert row["status"] == "loaded" and row["target_id"] == before["id"]
    assert "email changed from fay@old.example.com to fay@new.example.com" in row["reason"]
    assert crm_writes(env) == ["POST /contacts/", f"PUT /contacts/{before['id']}"]


def test_a_corrected_email_that_belongs_to_another_contact_merges_nothing(env: Env) -> None:
    (cid,) = env.seed_qbo("Customer", [customer("Gil", "Twice", "gil@one.example.com")])
    run_cycle(env, contacts)
    (mine,) = env.crm("contacts")
    other = crm_contact(env, firstName="Gilbert", lastName="Twice", email="gil@two.example.com", tags=["partner"])

    update_customer(env, cid, PrimaryEmailAddr={"Address": "gil@two.example.com"})
    run_cycle(env, contacts)
    contacts_now = crm_by_id(env)
    assert len(contacts_now) == 2
    assert contacts_now[mine["id"]]["email"] == "gil@one.example.com"
    assert contacts_now[other]["firstName"] == "Gilbert" and contacts_now[other]["tags"] == ["partner"]
    assert crm_writes(env, other) == [] and crm_writes(env, mine["id"]) == []
    # Both contacts are read once before the skip stands: a search shows no deletion (or merge).
    assert env.requests_to(env.hl_url, f"/contacts/{other}") == env.requests_to(env.hl_url, f"/contacts/{mine['id']}") == 1
    row = env.row_status("contacts")[cid]
    assert row["status"] == "skipped" and row["target_id"] == mine["id"]
    assert f"belongs to CRM contact {other} (Gilbert Twice), not to this customer's CRM contact {mine['id']}" \
        in row["reason"]


def test_contacts_added_in_the_crm_between_runs_are_known(env: Env) -> None:
    """The mirror is read in full once, then only what changed: a contact the CRM gained since is
    known to the next run before it writes."""
    env.seed_qbo("Customer", [customer("Kim", "First", "kim@example.com")])
    run_cycle(env, contacts)
    searches = env.requests_to(env.hl_url, "/contacts/search")

    newcomer = crm_contact(env, firstName="Lou", lastName="Later", email="lou@example.com", phone="+17205550155")
    (cid,) = env.seed_qbo("Customer", [customer("Max", "Other", "max@example.com", "(720) 555-0155")])
    run_cycle(env, contacts)
    row = env.row_status("contacts")[cid]
    assert row["status"] == "loaded" and f"without phone +17205550155: it belongs to CRM contact {newcomer}" \
        in row["reason"]
    assert crm_writes(env, newcomer) == []
    assert env.requests_to(env.hl_url, "/contacts/search") - searches == 1  # one page of changes
    assert env.requests_to(env.hl_url, "/contacts/search/duplicate") == 0


def test_a_contact_the_mirror_missed_is_refused_by_the_crm_then_handled(env: Env) -> None:
    """A contact the change listing has not shown (the search index trails writes) still cannot be
    overwritten: the create is refused as a duplicate, the contact is read, and the customer is
    planned again with it known."""
    env.seed_qbo("Customer", [customer("Ned", "First", "ned@example.com")])
    run_cycle(env, contacts)
    hidden = crm_contact(env, firstName="Oli", lastName="Hidden", email="oli@example.com", tags=["vip"],
                         dateUpdated="2020-01-01T00:00:00.000Z")
    (cid,) = env.seed_qbo("Customer", [customer("Oli", "Hidden", "OLI@example.com", "(702) 555-0166")])
    run_cycle(env, contacts)

    contact = crm_by_id(env)[hidden]
    assert sorted(contact["tags"]) == ["quickbooks", "vip"] and contact["phone"] == "+17025550166"
    row = env.row_status("contacts")[cid]
    assert row["status"] == "loaded" and row["target_id"] == hidden and "found by email" in row["reason"]
    assert crm_writes(env)[-2:] == ["POST /contacts/", f"PUT /contacts/{hidden}"]
    assert env.requests_to(env.hl_url, f"/contacts/{hidden}") == 2  # the refused create's read, then the update


def test_the_mirror_is_listed_once_then_followed_by_changes(env: Env) -> None:
    """A full listing (500 a page) the first time, then one page of changes; an older answer never
    overwrites a newer one; the weekly full listing forgets contacts deleted in the CRM."""
    from datetime import UTC, datetime

    from qbo_crm_sync.flows.contacts import mirror
    from qbo_crm_sync.store import db

    old = "2024-05-01T00:00:00.000Z"
    env.seed_crm("contacts", [{"locationId": env.integration.location_id, "email": f"Old{i}@Example.com",
                               "phone": f"+1 415 555 {i:04d}", "dateUpdated": old} for i in range(600)])
    job = env.job("contacts")

    def mirrored() -> dict[str, dict[str, Any]]:
        with db.connect(env.db_url) as conn:
            rows = conn.execute("SELECT * FROM sync.crm_contact_mirror WHERE integration_id = %s",
                                (env.integration.id,)).fetchall()
        return {r["contact_id"]: r for r in rows}

    first = mirror.refresh(job)
    assert (first.how, first.contacts) == ("full", 600)
    assert env.requests_to(env.hl_url, "/contacts/search") == 2
    rows = mirrored()
    some = next(r for r in rows.values() if r["email"] == "old7@example.com")
    assert (some["phone"], some["phone_digits"]) == ("+14155550007", "14155550007")

    with db.connect(env.db_url) as conn:  # a contact deleted in the CRM since, and an older answer
        mirror.put(conn, env.integration.id, [mirror.Contact("ghost0000000000000000", email="ghost@example.com")])
        mirror.put(conn, env.integration.id, [mirror.Contact(some["contact_id"], email="stale@example.com",
                                                             date_updated=datetime(2020, 1, 1, tzinfo=UTC))])
        conn.commit()
    assert mirrored()[some["contact_id"]]["email"] == "old7@example.com"

    second = mirror.refresh(job)
    assert (second.how, second.contacts) == ("changes", 0)
    assert env.requests_to(env.hl_url, "/contacts/search") == 3
    assert "ghost0000000000000000" in mirrored()  # a search shows no deletions

    with db.connect(env.db_url) as conn:
        conn.execute("UPDATE sync.watermark SET state = jsonb_build_object('full_at', now() - interval '8 days') "
                     "WHERE integration_id = %s AND stream = %s", (env.integration.id, mirror.STREAM))
        conn.commit()
    third = mirror.refresh(job)
    assert (third.how, third.contacts) == ("full", 600)
    assert "ghost0000000000000000" not in mirrored() and len(mirrored()) == 600


def test_any_batch_of_customers_goes_through_the_same_checks_and_load(env: Env) -> None:
    """What a backfill builds on: customer rows that never went through the extract window (here a
    CSV-like batch with JSON text), recorded under the caller's own flow."""
    import json

    kept = crm_contact(env, firstName="Pia", lastName="Past", email="pia@example.com", tags=["2019-import"])
    rows = [
        {"source_id": "9001", "raw": json.dumps({"Id": "9001", **customer("Pia", "Past", "PIA@example.com")}),
         "payload_hash": "csv-9001"},
        {"source_id": "9002", "raw": {"Id": "9002", **customer("Quin", "Past", "quin@example.com", "(305) 555-0101")},
         "payload_hash": "csv-9002"},
        {"source_id": "9003", "raw": {"Id": "9003", **customer("No", "Way")}, "payload_hash": "csv-9003"},
    ]
    job = env.job("contacts_backfill")
    counts = contacts.sync_customers(job, rows)
    assert (counts["queued"], counts["rejected"], counts["loaded"]) == (2, 1, 2)
    contacts_now = crm_by_id(env)
    assert len(contacts_now) == 2 and sorted(contacts_now[kept]["tags"]) == ["2019-import", "quickbooks"]
    status = env.row_status("contacts_backfill")
    assert status["9001"]["target_id"] == kept and status["9003"]["status"] == "rejected"
    assert env.row_status("contacts") == {}

    again = contacts.sync_customers(env.job("contacts_backfill"), rows)
    assert again["loaded"] == 2 and len(env.crm("contacts")) == 2
    assert sorted(crm_by_id(env)[kept]["tags"]) == ["2019-import", "quickbooks"]
