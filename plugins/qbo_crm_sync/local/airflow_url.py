"""Where the local Airflow answers, and the one address the QuickBooks OAuth redirect comes back to.

``AIRFLOW_PORT`` (default 8080) sets the API server's port; the printed URL, the ``redirect_uri`` of
the ``quickbooks_default`` connection and the execution API address all follow it.

The canonical host is ``localhost``: Intuit accepts plain-http ``localhost`` redirect URIs for
development keys but no IP addresses (developer.intuit.com, "Set app redirect URIs"). A browser
keeps cookies per host, so a user who opened ``http://127.0.0.1:8080`` would come back from Intuit
to ``localhost`` without the session and CSRF cookies of the QB Connect page; the page therefore
moves the connect flow to ``localhost`` before it starts the round trip (``web/app.py``: on_localhost).
"""

from __future__ import annotations

import os

from qbo_crm_sync.errors import ConfigurationError

PORT_VARIABLE = "AIRFLOW_PORT"
DEFAULT_PORT = 8080
CANONICAL_HOST = "localhost"
# The API server listens on the loopback interface only; processes on this machine reach it here.
LISTEN_HOST = "127.0.0.1"
CALLBACK_PATH = "/qb-connect/callback"


def port_from_env(variable: str, default: int) -> int:
    """A TCP port from the environment, with an error that names the variable."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise ConfigurationError(f"{variable}={raw!r} is not a TCP port (1-65535)")
    return port


def airflow_port() -> int:
    return port_from_env(PORT_VARIABLE, DEFAULT_PORT)


def airflow_url(port: int | None = None) -> str:
    """The address to open in a browser."""
    return f"http://{CANONICAL_HOST}:{port or airflow_port()}"


def redirect_uri(port: int | None = None) -> str:
    """Where Intuit sends the browser back after consent (the connection's ``redirect_uri``)."""
    return airflow_url(port) + CALLBACK_PATH


def execution_api_url(port: int | None = None) -> str:
    """The task execution API that task processes call (``[core] execution_api_server_url``)."""
    return f"http://{LISTEN_HOST}:{port or airflow_port()}/execution/"
