"""What the QB Connect page needs from Airflow's root application, before any route runs.

* ``/qb-connect`` without the slash reaches the page: Starlette mounts a sub-application under
  ``/qb-connect/`` only, and Airflow's UI answers every other path with its own "not found".
* The OAuth ``code`` and ``state`` of Intuit's redirect never reach a log: Airflow's access log
  (``HttpAccessLogMiddleware``) writes each request's query string once the answer is sent, masking
  what the secrets masker knows. Both values are registered with it as soon as the request
  arrives, whichever way it ends (signed out, refused, failed).
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import RedirectResponse

OAUTH_SECRETS = ("code", "state")


def mask_oauth_query(query_string: bytes | str) -> None:
    """Register the OAuth code and state of a query string with Airflow's secrets masker."""
    text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    values = [v for k, v in parse_qsl(text, keep_blank_values=False) if k in OAUTH_SECRETS and v]
    if not values:
        return
    with suppress(ImportError):  # outside Airflow there is no access log to protect
        from airflow._shared.secrets_masker import mask_secret

        for value in values:
            mask_secret(value)


def route_path(scope: dict[str, Any]) -> str:
    """The path below the application's root path (Airflow may be served under a base URL)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


class QbConnectPrefix:
    """Root middleware for the plugin's ``url_prefix``: masks the OAuth values of every request to
    the page and sends ``<prefix>`` to ``<prefix>/``."""

    def __init__(self, app: Any, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = route_path(scope)
            if path == self.prefix or path.startswith(self.prefix + "/"):
                mask_oauth_query(scope.get("query_string", b""))
            if path == self.prefix and scope.get("method") in ("GET", "HEAD"):
                query = scope.get("query_string", b"").decode("latin-1")
                target = f"{scope.get('root_path', '')}{self.prefix}/" + (f"?{query}" if query else "")
                await RedirectResponse(target, status_code=307)(scope, receive, send)
                return
        await self.app(scope, receive, send)
