"""Who may use the QB Connect page: Airflow's own API authentication and authorization.

The user comes from the Airflow JWT exactly as the core API resolves it (``Authorization: Bearer``
or the ``_token`` cookie the UI sets at login, revoked tokens refused), and must be allowed to use
the QuickBooks connection by the configured auth manager (read to look, edit to change anything).
Airflow is imported lazily: the plugin module is also loaded by schedulers and workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from qbo_crm_sync import config

_bearer = HTTPBearer(auto_error=False)

Access = Literal["GET", "PUT"]


class LoginRequired(Exception):
    """No valid Airflow token on the request."""


class AccessDenied(Exception):
    """Authenticated, but the auth manager does not allow this user to use the connection."""


@dataclass(frozen=True)
class User:
    id: str
    name: str
    airflow_user: Any


async def authenticated_user(
    request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi import HTTPException

    try:
        user = await get_user(request, None, bearer)
    except HTTPException:
        # Missing, expired, revoked or forged: all mean "log in (again)".
        raise LoginRequired() from None
    return User(id=str(user.get_id()), name=str(user.get_name()), airflow_user=user)


def allowed(user: User, access: Access) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails

    return get_auth_manager().is_authorized_connection(
        method=access, details=ConnectionDetails(conn_id=config.QUICKBOOKS_CONN_ID), user=user.airflow_user
    )


def require(access: Access):
    """Dependency: the authenticated user, allowed ``access`` to the QuickBooks connection."""

    async def dependency(user: Annotated[User, Depends(authenticated_user)]) -> User:
        if not allowed(user, access):
            raise AccessDenied()
        return user

    return dependency


# Route parameters: a user allowed to look at, or to change, what the page shows.
Viewer = Annotated[User, Depends(require("GET"))]
Editor = Annotated[User, Depends(require("PUT"))]


def login_url(request: Request, next_url: str | None = None) -> str:
    """Airflow's login page, coming back to ``next_url`` (default: this request's URL) afterwards."""
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager().get_url_login(next_url=next_url or str(request.url))


def airflow_home_url() -> str:
    from airflow.api_fastapi.app import API_ROOT_PATH

    return API_ROOT_PATH or "/"
