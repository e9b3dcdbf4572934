"""Airflow plugin entry point: registers the QB Connect page. All logic lives in qbo_crm_sync."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from qbo_crm_sync.web.app import create_app

URL_PREFIX = "/qb-connect"


class QboCrmSyncPlugin(AirflowPlugin):
    name = "qbo_crm_sync"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "QB Connect"}]
    # A plain menu link (no url_route): the UI would embed a url_route in a sandboxed iframe, and
    # Intuit's consent page needs the whole browser window.
    external_views = [{"name": "QB Connect", "href": f"{URL_PREFIX}/", "category": "admin", "destination": "nav"}]
