"""The review request settings on the QB Connect page: the link and the message templates under the
checkbox, saved together, checked field by field, recorded with who changed them; the page says
that ticking the box later sends nothing for past payments."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient

from qbo_crm_sync.store import db, integrations
from qbo_crm_sync.store.integrations import DEFAULT_SETTINGS
from tests.integration.web.conftest import LOCATION, PREFIX, csrf_of, flash_of

pytestmark = pytest.mark.integration

LINK = "https://g.page/r/MainStreetDental/review"


def _registered(db_url: str) -> integrations.Integration:
    with db.connect(db_url) as conn:
        integration = integrations.register(conn, LOCATION, "9130350000000002")
        conn.commit()
    return integration


def _review_form(admin: TestClient, **fields: str) -> dict[str, str]:
    form = {"csrf_token": csrf_of(admin), "part": "review", "auto_send_review": "on", "review_link": LINK,
            "review_email_subject": DEFAULT_SETTINGS["review_email_subject"],
            "review_email_template": DEFAULT_SETTINGS["review_email_template"].replace("\n", "\r\n"),
            "review_sms_template": DEFAULT_SETTINGS["review_sms_template"]}
    return {k: v for k, v in (form | fields).items() if v is not None}


def _settings(db_url: str, integration_id: int) -> dict:
    with db.connect(db_url) as conn:
        return integrations.get(conn, integration_id).settings


def test_the_page_shows_the_review_settings_and_says_past_payments_are_not_asked(admin: TestClient,
                                                                                 db_url: str) -> None:
    integration = _registered(db_url)
    card = admin.get(f"{PREFIX}/").text
    card = card[card.index(f'id="integration-{integration.id}"'):]
    assert card.index('name="auto_send_review"') < card.index('name="review_link"') < card.index(
        'name="review_sms_template"') < card.index("QuickBooks company")
    assert "ticking it later sends nothing for payments made while it was unticked" in card
    assert html.escape(DEFAULT_SETTINGS["review_sms_template"], quote=False) in card


def test_review_settings_save_together_and_are_recorded_with_who(admin: TestClient, db_url: str) -> None:
    integration = _registered(db_url)
    path = f"{PREFIX}/integrations/{integration.id}/settings"
    sms = "Hi {first_name}! Tell others about {company}: {review_link}"
    answer = admin.post(path, data=_review_form(admin, review_sms_template=sms, review_email_template=""))
    assert answer.status_code == 303
    assert flash_of(admin) == f"ok: Integration {integration.id}: Review requests will be sent automatically."
    settings = _settings(db_url, integration.id)
    assert settings["auto_send_review"] is True and settings["review_link"] == LINK
    assert settings["review_sms_template"] == sms
    assert settings["review_email_template"] == DEFAULT_SETTINGS["review_email_template"]  # emptied: the default
    with db.connect(db_url) as conn:
        (change,) = integrations.setting_history(conn, integration.id)
    assert change["changed_by"] == "admin"
    assert change["changes"] == {"auto_send_review": True, "review_link": LINK, "review_sms_template": sms}
    assert change["changed_at"] is not None

    admin.post(path, data=_review_form(admin, auto_send_review=None, review_sms_template=sms))
    assert _settings(db_url, integration.id)["auto_send_review"] is False
    with db.connect(db_url) as conn:
        history = integrations.setting_history(conn, integration.id, "auto_send_review")
    assert [h["changes"]["auto_send_review"] for h in history] == [True, False]


def test_refused_review_settings_come_back_marked(admin: TestClient, db_url: str) -> None:
    integration = _registered(db_url)
    path = f"{PREFIX}/integrations/{integration.id}/settings"
    answer = admin.post(path, data=_review_form(admin, review_link="", review_sms_template="Hi {name}"))
    page = admin.get(answer.headers["location"]).text
    assert "Not saved: fix the fields marked below." in page
    assert "a template using only {first_name}, {company}, {review_link} (not {name})" in page
    assert '<details class="review-message" open>' in page

    answer = admin.post(path, data=_review_form(admin, review_link=""))
    page = admin.get(answer.headers["location"]).text
    assert "Review requests need a review link" in page
    assert _settings(db_url, integration.id) == DEFAULT_SETTINGS
