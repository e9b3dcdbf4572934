from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qbo_crm_sync.errors import ConfigurationError
from qbo_crm_sync.store import db, integrations
from qbo_crm_sync.store.integrations import DEFAULT_SETTINGS, Integration, IntegrationNotFound

pytestmark = pytest.mark.integration


def test_register_creates_a_connected_pair_with_default_settings(conn: db.Connection) -> None:
    at = datetime(2024, 5, 1, 12, tzinfo=UTC)
    created = integrations.register(conn, "loc-a", "realm-a", connected_at=at)
    assert created.status == "connected" and created.connected_at == at
    assert created.settings == DEFAULT_SETTINGS
    assert integrations.get(conn, created.id) == created
    assert integrations.get(conn, created.id + 1000) is None


def test_reconnecting_keeps_connected_at_unless_disconnected(conn: db.Connection) -> None:
    at = datetime(2024, 5, 1, 12, tzinfo=UTC)
    first = integrations.register(conn, "loc-a", "realm-a", connected_at=at)
    integrations.set_status(conn, first.id, "needs_reauth", "refresh token rejected")

    again = integrations.register(conn, "loc-a", "realm-a")
    assert again.id == first.id
    assert again.status == "connected" and again.status_reason is None
    assert again.connected_at == at

    integrations.set_status(conn, first.id, "disconnected", "by user")
    fresh = integrations.register(conn, "loc-a", "realm-a")
    assert fresh.id == first.id and fresh.connected_at > at


def test_a_location_moving_to_another_realm_retires_the_old_pair(conn: db.Connection) -> None:
    old = integrations.register(conn, "loc-a", "realm-a")
    other_location = integrations.register(conn, "loc-b", "realm-a")
    new = integrations.register(conn, "loc-a", "realm-b")
    retired = integrations.get(conn, old.id)
    assert retired is not None and retired.status == "disconnected"
    assert retired.status_reason == "replaced by realm realm-b"
    assert [i.id for i in integrations.list_all(conn, status="connected")] == [other_location.id, new.id]
    assert [i.id for i in integrations.find(conn, location_id="loc-a")] == [old.id, new.id]
    assert [i.id for i in integrations.find(conn, realm_id="realm-a")] == [old.id, other_location.id]
    assert [i.id for i in integrations.find(conn, "loc-a", "realm-b")] == [new.id]


def test_set_status(conn: db.Connection, integration: Integration) -> None:
    changed = integrations.set_status(conn, integration.id, "needs_reauth", "invalid_grant")
    assert (changed.status, changed.status_reason) == ("needs_reauth", "invalid_grant")
    assert not changed.is_active
    with pytest.raises(ValueError):
        integrations.set_status(conn, integration.id, "paused")
    with pytest.raises(IntegrationNotFound):
        integrations.set_status(conn, integration.id + 1000, "connected")


def test_update_settings_merges_and_validates(conn: db.Connection, integration: Integration) -> None:
    updated = integrations.update_settings(conn, integration.id, {"auto_send_review": True,
                                                                  "review_link": "https://g.page/r/acme/review"})
    updated = integrations.update_settings(
        conn,
        integration.id,
        {"item_mapping": {"funnel": "21", "default": "1"}, "tax_mode": "fold_into_lines"},
    )
    assert updated.settings["auto_send_review"] is True
    assert updated.settings["item_mapping"] == {"funnel": "21", "default": "1"}
    assert updated.settings["deposit_account_id"] is None
    assert integrations.get(conn, integration.id) == updated

    with pytest.raises(ConfigurationError) as unknown:
        integrations.update_settings(conn, integration.id, {"auto_send_reviews": True})
    assert "auto_send_reviews" in str(unknown.value)
    assert all(key in str(unknown.value) for key in DEFAULT_SETTINGS)

    for bad in ({"auto_send_review": "yes"}, {"tax_mode": "vat"}, {"item_mapping": {"funnel": 21}}):
        with pytest.raises(ConfigurationError, match="must be"):
            integrations.update_settings(conn, integration.id, bad)
    with pytest.raises(IntegrationNotFound):
        integrations.update_settings(conn, integration.id + 1000, {"auto_send_review": False})


# -- who and what, for the QB Connect page ----------------------------------------------------
def test_names_and_who_connected_and_disconnected_are_kept(conn: db.Connection) -> None:
    first = integrations.register(conn, "loc-a", "realm-a", company_name="Alder & Sons", location_name="Main St",
                                  connected_by="dana")
    assert (first.company_name, first.location_name, first.connected_by) == ("Alder & Sons", "Main St", "dana")
    assert first.company_label == "Alder & Sons (realm realm-a)" and first.location_label == "Main St (loc-a)"
    gone = integrations.set_status(conn, first.id, "disconnected", "disconnected by erin", by="erin")
    assert gone.disconnected_by == "erin" and gone.disconnected_at is not None
    back = integrations.register(conn, "loc-a", "realm-a", connected_by="finn")
    assert back.company_name == "Alder & Sons"  # kept when this connect does not name it
    assert back.connected_by == "finn" and back.disconnected_by is None and back.disconnected_at is None
    bare = integrations.register(conn, "loc-b", "realm-b")
    assert bare.company_label == "realm realm-b" and bare.location_label == "loc-b"


def test_registering_a_location_with_another_company_answers_the_pairs_it_retires(conn: db.Connection) -> None:
    old = integrations.register(conn, "loc-a", "realm-a")
    new, retired = integrations.register_replacing(conn, "loc-a", "realm-b", company_name="Birch Ltd",
                                                   connected_by="dana")
    assert [r.id for r in retired] == [old.id]
    assert retired[0].status_reason == "replaced by Birch Ltd (realm realm-b)" and retired[0].disconnected_by == "dana"
    assert integrations.register_replacing(conn, "loc-a", "realm-b")[1] == []


@pytest.mark.parametrize("raw, expected", [("ve9EPM428h8vShlRW1KT", "ve9EPM428h8vShlRW1KT"),
                                           ("  loc_1-a  ", "loc_1-a")])
def test_location_ids_that_pass(raw: str, expected: str) -> None:
    assert integrations.validate_location_id(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "<b>x</b>", "a b", "loc/../x", "x" * 65, None, 42])
def test_location_ids_that_do_not(raw: object) -> None:
    with pytest.raises(integrations.InvalidLocationId, match="Enter the HighLevel location id"):
        integrations.validate_location_id(raw)
