"""The demo's summary says why a second cycle that extracted rows loaded none, and names the
QuickBooks company it is connected to."""

from __future__ import annotations

from datetime import UTC, datetime

from qbo_crm_sync.local.demo import connection_line, unchanged_note
from qbo_crm_sync.store.integrations import Integration


def summary(flow: str, **counts: int) -> dict:
    return {"flow": flow, "counts": counts}


def test_rows_read_again_and_unchanged_are_called_so() -> None:
    note = unchanged_note(summary("contacts", extracted=52, staged_new=0, staged_changed=0))
    assert note is not None
    assert "52" in note and "read again" in note and "unchanged" in note


def test_a_mix_names_both_parts() -> None:
    note = unchanged_note(summary("receipts", extracted=40, staged_new=3, staged_changed=2))
    assert note is not None
    assert "35 of the 40" in note and "5 were new or changed" in note


def test_nothing_to_say_when_everything_was_new_or_nothing_was_read() -> None:
    assert unchanged_note(summary("contacts", extracted=52, staged_new=52)) is None
    assert unchanged_note(summary("contacts", extracted=0)) is None


def integration(company_name: str | None) -> Integration:
    return Integration(id=3, location_id="loc-1", realm_id="9341453050031247", connected_at=datetime.now(UTC),
                       status="connected", status_reason=None, company_name=company_name)


def test_the_integration_is_named_by_its_quickbooks_company() -> None:
    named = integration("Ñandú Landscaping & Design")
    for new in (True, False):
        line = connection_line(named, new=new)
        assert "Ñandú Landscaping & Design (realm 9341453050031247)" in line


def test_without_a_stored_company_name_the_realm_id_is_shown() -> None:
    line = connection_line(integration(None), new=False)
    assert line == "integration 3 already connected to QuickBooks company realm 9341453050031247"
