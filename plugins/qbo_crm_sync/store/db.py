"""Connections to the sync store (psycopg 3, rows as dicts)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row

from qbo_crm_sync import config
from qbo_crm_sync.errors import ConfigurationError

Connection = psycopg.Connection[DictRow]


def describe(url: str) -> str:
    """``user@host:port/dbname`` for messages: never the password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparseable database URL>"
    user = parts.get("user") or ""
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"{user}{'@' if user else ''}{host}:{port}/{parts.get('dbname') or ''}"


def _scrub(message: str, url: str) -> str:
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.ProgrammingError:
        return "invalid connection string"
    if password:
        message = message.replace(str(password), "***")
    return message.strip()


def connect(url: str | None = None, *, autocommit: bool = False) -> Connection:
    """Open a connection (dict rows) to ``url``, by default :func:`config.database_url`.

    An unreachable server or a rejected login becomes a ConfigurationError naming the setting to
    fix; the password never appears in it.
    """
    url = url or config.database_url()
    try:
        return psycopg.connect(url, row_factory=dict_row, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise ConfigurationError(
            f"Cannot connect to the sync database {describe(url)} "
            f"(check SYNC_DATABASE_URL or the Airflow connection '{config.SYNC_DB_CONN_ID}'): "
            f"{_scrub(str(exc), url)}"
        ) from None
    except psycopg.ProgrammingError:
        raise ConfigurationError(
            "SYNC_DATABASE_URL is not a valid PostgreSQL URL (postgresql://user@host:port/db)"
        ) from None


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """Commit on success, roll back on error; nests as a savepoint inside an open transaction."""
    with conn.transaction():
        yield conn
