"""Airflow plugin entry point: registers the QB Connect page. All logic lives in qbo_crm_sync."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from qbo_crm_sync.web.app import URL_ROUTE, create_app
from qbo_crm_sync.web.prefix import QbConnectPrefix

URL_PREFIX = "/qb-connect"


class QboCrmSyncPlugin(AirflowPlugin):
    name = "qbo_crm_sync"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "QB Connect"}]
    # /qb-connect (no slash) to the page; the OAuth code and state masked in the access log.
    fastapi_root_middlewares = [{"middleware": QbConnectPrefix, "args": [], "kwargs": {"prefix": URL_PREFIX},
                                 "name": "QB Connect prefix"}]
    # Admin > QB Connect shows the page inside Airflow's own navigation (url_route: the UI frames
    # it at /plugin/qb-connect). The frame is sandboxed without top navigation, so the page hands
    # Intuit's consent page, which refuses to be framed, the whole window itself (web/static/page.js).
    external_views = [{"name": "QB Connect", "href": f"{URL_PREFIX}/", "url_route": URL_ROUTE,
                       "category": "admin", "destination": "nav"}]
