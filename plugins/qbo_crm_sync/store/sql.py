"""Named SQL text from include/sql/queries, read once per process.

Queries take values only as bound parameters. A few templates (the generic staging statements)
also carry ``{placeholders}`` that :func:`compose` fills with identifiers through psycopg.sql,
never with values.
"""

from __future__ import annotations

from functools import cache

from psycopg import sql

from qbo_crm_sync.config import SQL_DIR

QUERIES_DIR = SQL_DIR / "queries"
MIGRATIONS_DIR = SQL_DIR / "migrations"


@cache
def query(name: str) -> str:
    """The text of ``include/sql/queries/<name>.sql``."""
    path = QUERIES_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"No named query {name!r} (looked for {path})")
    return path.read_text(encoding="utf-8")


def compose(name: str, /, **identifiers: sql.Composable) -> sql.Composed:
    """A template query with its ``{placeholders}`` filled by identifiers or identifier lists."""
    return sql.SQL(query(name)).format(**identifiers)  # type: ignore[arg-type]


def table_identifier(table: str, default_schema: str) -> sql.Identifier:
    """``schema.table`` or a bare ``table`` (in ``default_schema``) as a quoted identifier."""
    schema, _, name = table.rpartition(".")
    return sql.Identifier(schema or default_schema, name)


def identifiers(names: list[str] | tuple[str, ...]) -> sql.Composed:
    """``"a", "b", "c"``."""
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)
