"""Schema migrations: include/sql/migrations/NNNN_name.sql, applied once each, in order.

All pending files are applied in one transaction that first takes a transaction-scoped advisory
lock, so two processes migrating at once serialise and the second finds nothing left to do. A
file whose text changed after it was applied is refused: a new change needs a new file.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from qbo_crm_sync.errors import ConfigurationError
from qbo_crm_sync.store import db
from qbo_crm_sync.store.sql import MIGRATIONS_DIR, compose, query

log = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(ConfigurationError):
    """The migration files and the database disagree; an operator must decide."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        # Line endings normalised so a checkout with CRLF does not look like an edited file.
        return hashlib.sha256(self.text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order; a stray name or a repeated number is an error."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"Migration file name {path.name!r} is not NNNN_lower_snake.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"Two migrations share number {match.group(1)}: {found[version].path.name} and {path.name}"
            )
        found[version] = Migration(version, path.stem, path)
    return [found[v] for v in sorted(found)]


def migrate(target: str | psycopg.Connection | None = None, *, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration; return the names applied (empty when up to date).

    ``target`` is a database URL, an open connection (left open; must not be inside a
    transaction the caller still wants to control), or None for the configured database.
    """
    migrations = discover(directory)
    if isinstance(target, psycopg.Connection):
        return _apply(target, migrations)
    with db.connect(target) as conn:
        return _apply(conn, migrations)


def _apply(conn: psycopg.Connection, migrations: list[Migration]) -> list[str]:
    applied_names: list[str] = []
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query("migration_lock"))
        cur.execute(query("migration_bootstrap"))
        cur.execute(query("migration_applied"))
        applied = {row["version"]: row["checksum"] for row in cur.fetchall()}
        for migration in migrations:
            checksum = applied.get(migration.version)
            if checksum is not None:
                if checksum != migration.checksum:
                    raise MigrationError(
                        f"Migration {migration.path.name} was changed after it was applied "
                        f"(checksum {checksum[:12]} in the database, {migration.checksum[:12]} on disk). "
                        "Restore the file and put the change in a new numbered migration."
                    )
                continue
            log.info("Applying migration %s", migration.path.name)
            cur.execute(migration.text)
            cur.execute(
                query("migration_record"),
                {"version": migration.version, "name": migration.name, "checksum": migration.checksum},
            )
            applied_names.append(migration.name)
    return applied_names


def create_database(url: str) -> bool:
    """Create the database named in ``url`` when it does not exist; True when it was created.

    Connects to the same server's ``postgres`` database, so the user needs CREATEDB there.
    """
    name = conninfo_to_dict(url).get("dbname")
    if not name or name == "postgres":
        return False
    with db.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as admin:
        if admin.execute(query("database_exists"), {"name": name}).fetchone():
            return False
        try:
            admin.execute(compose("database_create", name=sql.Identifier(str(name))))
        except psycopg.errors.DuplicateDatabase:
            return False  # created by a concurrent caller in the meantime
    log.info("Created database %s", name)
    return True


def main() -> None:
    """``python -m qbo_crm_sync.store.migrate``: migrate the configured database."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    names = migrate()
    print("Applied: " + ", ".join(names) if names else "Database schema is up to date.")


if __name__ == "__main__":
    main()
