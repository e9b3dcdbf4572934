"""QB Connect in a real browser, inside Airflow: sign in with Airflow's login form, open Admin > QB
Connect, connect a location through the QuickBooks emulator's consent page, tick "send review
requests automatically", save settings in a 420 px window, disconnect; what the page did is checked
in the store and in the emulators."""

from __future__ import annotations

import re

import pytest
import requests

from qbo_crm_sync.local.sandbox import crm_location
from qbo_crm_sync.store import db, integrations, tracking
from tests.browser.conftest import HL_TOKEN, PASSWORD, USER, Airflow

pytestmark = pytest.mark.integration

LOCATION = "ve9EPM428h8vShlRW1KT"
NARROW = {"width": 420, "height": 860}


def sign_in(page, airflow: Airflow) -> None:
    page.goto(f"{airflow.base}/")
    page.wait_for_url(re.compile(r".*/auth/login.*"))
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{airflow.base}/")


def open_qb_connect(page):
    """Admin > QB Connect, as a person finds it: inside Airflow's own navigation."""
    page.get_by_role("button", name="Admin").click()
    page.get_by_role("menuitem", name="QB Connect").click()
    page.wait_for_url(re.compile(r".*/plugin/qb-connect.*"))
    frame = page.frame_locator("iframe[title='QB Connect']")
    frame.get_by_role("heading", name="Connect QuickBooks").wait_for()
    return frame


def in_view(locator) -> bool:
    """Whether the element is within its window (the frame's, inside Airflow)."""
    return locator.evaluate("e => { const r = e.getBoundingClientRect();"
                            " return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }")


def overflowing(locator) -> list[str]:
    """Elements of the document that stick out of its window sideways (none at any width)."""
    return locator.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const out = [];
        if (document.documentElement.scrollWidth > width) out.push(`page ${document.documentElement.scrollWidth}>${width}`);
        for (const e of document.querySelectorAll('body *')) {
            const r = e.getBoundingClientRect();
            if (r.width && r.right > width + 0.5) out.push(`${e.tagName}.${e.className} right ${Math.round(r.right)}>${width}`);
        }
        return out;
    }""")


def grants(qbo: str) -> int:
    return requests.get(f"{qbo}/_admin/state", timeout=5).json()["grants"]


def the_integration(db_url: str) -> integrations.Integration:
    with db.connect(db_url) as conn:
        (found,) = integrations.find(conn, location_id=LOCATION)
    return found


def test_connect_tick_review_save_settings_and_disconnect_inside_airflow(
    page, airflow: Airflow, db_url: str, qbo: str, highlevel: str, shots
) -> None:
    crm_location(highlevel, LOCATION, token=HL_TOKEN, name="Main Street Dental")  # highlevel_default's token
    sign_in(page, airflow)
    frame = open_qb_connect(page)
    shots(page, "qb-connect-in-airflow")

    # Connect: Intuit's consent page gets the whole window (it refuses frames), then back into Airflow.
    frame.get_by_label("HighLevel location id").fill(LOCATION)
    frame.get_by_role("button", name="Connect QuickBooks").click()
    page.wait_for_url(re.compile(r".*/plugin/qb-connect.*"))
    connected = frame.locator(".flash.ok")
    connected.wait_for()
    assert "Connected HighLevel location Main Street Dental (ve9EPM428h8vShlRW1KT) to QuickBooks company" in (
        connected.inner_text())
    integration = the_integration(db_url)
    assert integration.status == "connected" and integration.connected_by == USER
    assert integration.company_name and integration.company_name in frame.locator(f"#integration-{integration.id}").inner_text()
    assert grants(qbo) == 1
    shots(page, "connected")

    # The review checkbox right under the integration saves when ticked; the answer is in view.
    card = frame.locator(f"#integration-{integration.id}")
    card.get_by_label("Review link").fill("https://g.page/r/MainStreetDental/review")
    card.get_by_label("Send review requests automatically").check()
    result = frame.locator(f"#result-{integration.id}")
    result.filter(has_text="Review requests will be sent automatically").wait_for()
    assert in_view(result)
    assert the_integration(db_url).settings["auto_send_review"] is True
    assert frame.get_by_label("Send review requests automatically").is_checked()
    shots(page, "review-requests-on")

    # Reloading the page after a form sends no form again.
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.reload()
    frame.get_by_role("heading", name="Connect QuickBooks").wait_for()
    assert [p for p in posts if "/qb-connect/" in p] == []

    # 420 px wide: nothing sticks out, and the settings' confirmation is in view after saving.
    page.set_viewport_size(NARROW)
    frame.locator("summary", has_text="Settings").click()
    frame.get_by_label("Tax mode").select_option("fold_into_lines")
    shots(page, "settings-420px")
    assert overflowing(frame.locator("html")) == []
    frame.get_by_role("button", name="Save settings").click()
    result.filter(has_text="Saved the settings").wait_for()
    assert in_view(result)
    assert the_integration(db_url).settings["tax_mode"] == "fold_into_lines"
    shots(page, "settings-saved-420px")

    # Disconnect asks first, then revokes the grant at Intuit and records who did it.
    page.set_viewport_size({"width": 1280, "height": 900})
    frame.get_by_role("link", name="Disconnect…").click()
    frame.get_by_role("heading", name=re.compile("Disconnect location Main Street Dental")).wait_for()
    shots(page, "disconnect-question")
    assert the_integration(db_url).status == "connected"
    frame.get_by_role("button", name="Yes, disconnect and revoke").click()
    result.filter(has_text="Disconnected location Main Street Dental").wait_for()
    gone = the_integration(db_url)
    assert gone.status == "disconnected" and gone.disconnected_by == USER
    assert grants(qbo) == 0
    assert f"by {USER}" in frame.locator(f"#integration-{integration.id}").inner_text()
    shots(page, "disconnected")


def test_the_page_alone_at_420_px_and_a_run_opens_its_dag_run_in_airflow(
    page, airflow: Airflow, db_url: str, shots
) -> None:
    with db.connect(db_url) as conn:
        one = integrations.register(conn, LOCATION, "9130350000000001", company_name="Ñandú Landscaping & Garden Co.")
        for n, flow in enumerate(("contacts", "receipts", "receipts")):
            ctx = tracking.RunContext(dag_id=f"flow_{flow}", dag_run_id=f"scheduled__2026-01-0{n + 1}T00:05:00+00:00",
                                      task_id="sync.report")
            run = tracking.start_run(conn, one.id, flow, ctx)
            tracking.finish_run(conn, run, "partial", {"extracted": 1200, "staged_new": 1100, "staged_changed": 40,
                                                       "transformed": 1140, "to_load": 1100, "loaded": 1000,
                                                       "rows_loaded": 1000, "rows_rejected": 90, "rows_failed": 10,
                                                       "crm_requests": 1234, "reconciliation_mismatches": 2})
        conn.commit()
    sign_in(page, airflow)
    page.set_viewport_size(NARROW)
    page.goto(f"{airflow.base}/qb-connect")  # without the slash
    page.get_by_role("heading", name="Connect QuickBooks").wait_for()
    assert page.url == f"{airflow.base}/qb-connect/"
    page.locator("summary", has_text="Settings").click()
    shots(page, "page-alone-420px")
    assert overflowing(page.locator("html")) == []
    assert page.locator("table.runs").get_by_text("loaded").count() == 3  # once per run

    # Inside Airflow, a run's link leaves the frame for the DAG run's own page.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{airflow.base}/")
    frame = open_qb_connect(page)
    frame.get_by_role("link", name=re.compile(r"in Airflow")).first.click()
    page.wait_for_url(re.compile(r".*/dags/flow_contacts/runs/scheduled__2026-01-01T00(:|%3A)05(:|%3A)00.*"))
    assert page.locator("iframe[title='QB Connect']").count() == 0
    shots(page, "dag-run-from-qb-connect")
