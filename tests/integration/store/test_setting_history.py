"""Settings history: every change recorded with its time and who made it; a setting's value at a
past moment; the review request settings and their checks."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from qbo_crm_sync.errors import ConfigurationError
from qbo_crm_sync.store import db, integrations
from qbo_crm_sync.store.integrations import DEFAULT_SETTINGS, Integration, InvalidSetting

pytestmark = pytest.mark.integration

LINK = "https://g.page/r/CdEfGh123/review"


def test_each_change_is_recorded_with_when_and_who(conn: db.Connection, integration: Integration) -> None:
    before = datetime.now(UTC)
    integrations.update_settings(conn, integration.id, {"review_link": LINK}, by="dana")
    integrations.update_settings(conn, integration.id, {"auto_send_review": True, "tax_mode": "total_tax"}, by="erin")
    integrations.update_settings(conn, integration.id, {"auto_send_review": True}, by="finn")  # no change
    integrations.update_settings(conn, integration.id, {"include_test_mode": False}, by="gus")  # the default
    history = integrations.setting_history(conn, integration.id)
    assert [(h["changed_by"], h["changes"]) for h in history] == [
        ("dana", {"review_link": LINK}),
        ("erin", {"auto_send_review": True, "tax_mode": "total_tax"}),
    ]
    assert all(h["changed_at"] >= before for h in history)
    assert [h["changed_by"] for h in integrations.setting_history(conn, integration.id, "auto_send_review")] == ["erin"]


def test_a_setting_at_a_past_moment(conn: db.Connection, integration: Integration) -> None:
    start = datetime.now(UTC)
    assert integrations.setting_at(conn, integration.id, "auto_send_review", start) is False  # the default
    integrations.update_settings(conn, integration.id, {"auto_send_review": True, "review_link": LINK}, by="dana")
    time.sleep(0.05)
    on = datetime.now(UTC)
    time.sleep(0.05)
    integrations.update_settings(conn, integration.id, {"auto_send_review": False}, by="erin")
    time.sleep(0.05)
    off = datetime.now(UTC)
    assert integrations.setting_at(conn, integration.id, "auto_send_review", start) is False
    assert integrations.setting_at(conn, integration.id, "auto_send_review", on) is True
    assert integrations.setting_at(conn, integration.id, "auto_send_review", off) is False
    assert integrations.setting_at(conn, integration.id, "review_link", off) == LINK
    with pytest.raises(KeyError):
        integrations.setting_at(conn, integration.id, "no_such_setting", off)


def test_review_requests_need_a_link(conn: db.Connection, integration: Integration) -> None:
    with pytest.raises(InvalidSetting) as refused:
        integrations.update_settings(conn, integration.id, {"auto_send_review": True})
    assert refused.value.key == "auto_send_review" and "review link" in str(refused.value)
    integrations.update_settings(conn, integration.id, {"auto_send_review": True, "review_link": LINK})
    with pytest.raises(InvalidSetting) as unset:
        integrations.update_settings(conn, integration.id, {"review_link": None})
    assert unset.value.key == "review_link"
    assert integrations.get(conn, integration.id).settings["review_link"] == LINK
    # Other settings still save: the check is about review requests only.
    integrations.update_settings(conn, integration.id, {"tax_mode": "total_tax"})
    assert [h["changes"] for h in integrations.setting_history(conn, integration.id)] == [
        {"auto_send_review": True, "review_link": LINK}, {"tax_mode": "total_tax"}]


@pytest.mark.parametrize(("key", "value", "says"), [
    ("review_link", "g.page/r/abc", "http(s) address"),
    ("review_link", "https://exa mple.com/x", "http(s) address"),
    ("review_link", "javascript:alert(1)", "http(s) address"),
    ("review_link", "https://" + "a" * 2000 + ".com", "http(s) address"),
    ("review_email_subject", "Hi {first_name}\nthere", "one line"),
    ("review_email_subject", "Hi {name}", "(not {name})"),
    ("review_email_template", "Thanks, {first_name}!", "{review_link}"),
    ("review_email_template", "Thanks {first_name: review here {review_link}", "{review_link}"),
    ("review_email_template", "", "cannot be empty"),
    ("review_sms_template", "Hi {customer}: {review_link}", "{review_link}"),
    ("review_sms_template", "x" * 481 + "{review_link}", "480"),
])
def test_bad_review_settings_are_refused(conn: db.Connection, integration: Integration, key: str, value: str,
                                         says: str) -> None:
    with pytest.raises(ConfigurationError, match="must be") as refused:
        integrations.update_settings(conn, integration.id, {key: value})
    assert says in str(refused.value)
    assert integrations.get(conn, integration.id).settings[key] == DEFAULT_SETTINGS[key]


def test_templates_may_escape_braces_and_use_every_placeholder(conn: db.Connection, integration: Integration) -> None:
    template = "{{Thanks}} {first_name} from {company}: {review_link}"
    changed = integrations.update_settings(conn, integration.id, {"review_sms_template": template,
                                                                  "review_email_subject": "{company} says thanks"})
    assert changed.settings["review_sms_template"] == template
    for key in ("review_email_subject", "review_email_template", "review_sms_template"):
        integrations.validate_settings({key: DEFAULT_SETTINGS[key]})


def test_the_history_begins_with_the_settings_as_they_were(database_url: str) -> None:
    """Migration 0010 records each integration's settings of the moment as their first change."""
    from qbo_crm_sync.store.migrate import discover

    migration = next(m for m in discover() if m.version == 10)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("BEGIN")
        try:
            row = conn.execute("INSERT INTO sync.integration (location_id, realm_id, settings) "
                               "VALUES ('loc-old', 'realm-old', '{\"auto_send_review\": true}') RETURNING id").fetchone()
            conn.execute("DELETE FROM sync.integration_setting_change")
            backfill = migration.text.split("INSERT INTO sync.integration_setting_change", 1)[1].split(";", 1)[0]
            conn.execute("INSERT INTO sync.integration_setting_change" + backfill)
            history = conn.execute("SELECT changes, changed_by, changed_at FROM sync.integration_setting_change "
                                   "WHERE integration_id = %s", (row[0],)).fetchall()
        finally:
            conn.execute("ROLLBACK")
    assert [h[0] for h in history] == [{"auto_send_review": True}]
    assert "history began" in history[0][1] and history[0][2] > datetime.now(UTC) - timedelta(minutes=1)
