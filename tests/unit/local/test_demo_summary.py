"""The demo's summary says why a second cycle that extracted rows loaded none."""

from __future__ import annotations

from qbo_crm_sync.local.demo import unchanged_note


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
