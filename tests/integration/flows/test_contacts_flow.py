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
    upserts = env.requests_to(env.hl_url, "/contacts/upsert")
    assert upserts == 3

    again = run_cycle(env, contacts)
    assert again.get("to_load", 0) == 0
    assert env.requests_to(env.hl_url, "/contacts/upsert") == upserts
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
    env.faults(env.hl_url, paths=["/contacts/upsert"], **faults)
    run_cycle(env, contacts)
    env.faults(env.hl_url, error_rate=0, drop_after_commit_rate=0, storm_s=0)
    run_cycle(env, contacts)  # anything left failed is retried
    assert crm_emails(env) == sorted(emails)
    statuses = {r["status"] for r in env.row_status("contacts").values()}
    assert statuses == {"loaded"}


def test_crash_between_crm_write_and_local_commit(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.seed_qbo("Customer", [customer(f"Crash{i}", "Test", f"crash{i}@example.com") for i in range(10)])
    real_commit = contacts._commit

    def crash(job, outcomes):  # noqa: ANN001
        raise RuntimeError("worker killed after the CRM write")

    monkeypatch.setattr(contacts, "_commit", crash)
    with pytest.raises(RuntimeError):
        run_cycle(env, contacts)
    assert len(env.crm("contacts")) == 10  # the writes landed, the tracking did not
    monkeypatch.setattr(contacts, "_commit", real_commit)
    job = env.job("contacts")
    contacts.load(job)  # a cleared load task
    assert len(env.crm("contacts")) == 10
    assert {r["status"] for r in env.row_status("contacts").values()} == {"loaded"}


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

    real_upsert = HighLevelHook.upsert_contact
    refusals: list[str] = []

    def upsert(self, payload):  # noqa: ANN001, ANN202
        if payload.get("email") == "refused@example.com":
            refusals.append(payload["email"])
            raise ApiError("email is on the location's suppression list", status=422)
        return real_upsert(self, payload)

    monkeypatch.setattr(HighLevelHook, "upsert_contact", upsert)
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
