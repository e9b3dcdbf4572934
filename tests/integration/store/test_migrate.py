from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from qbo_crm_sync.errors import ConfigurationError
from qbo_crm_sync.store import db
from qbo_crm_sync.store.migrate import MigrationError, create_database, discover, migrate
from tests import support

pytestmark = pytest.mark.integration


def applied_versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT version FROM sync.schema_migration ORDER BY version")]


def test_rerun_is_a_no_op(database_url: str) -> None:
    assert migrate(database_url) == []
    assert applied_versions(database_url) == [m.version for m in discover()]


def test_accepts_an_open_connection(database_url: str) -> None:
    with db.connect(database_url) as conn:
        assert migrate(conn) == []


def test_two_migrators_at_once_apply_each_file_once() -> None:
    with support.test_database() as url:
        barrier = threading.Barrier(2)
        results: list[list[str]] = []
        errors: list[BaseException] = []

        def run() -> None:
            barrier.wait()
            try:
                results.append(migrate(url))
            except BaseException as exc:  # surfaced by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        names = [m.name for m in discover()]
        assert sorted(results, key=len) == [[], names]
        assert applied_versions(url) == [m.version for m in discover()]


def test_an_applied_file_that_changed_is_refused(database_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(discover()[0].path.parent, directory)
    edited = directory / "0001_core.sql"
    edited.write_text(edited.read_text() + "\n-- an afterthought\n")
    with pytest.raises(MigrationError, match="0001_core.sql was changed after it was applied"):
        migrate(database_url, directory=directory)


def test_a_new_file_is_applied_once(database_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(discover()[0].path.parent, directory)
    (directory / "9999_probe.sql").write_text("CREATE TABLE staging.probe (id int);")
    try:
        assert migrate(database_url, directory=directory) == ["9999_probe"]
        assert migrate(database_url, directory=directory) == []
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DROP TABLE staging.probe")
            conn.execute("DELETE FROM sync.schema_migration WHERE version = 9999")


def test_repeated_numbers_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="share number 0001"):
        discover(tmp_path)


def test_unreachable_server_names_the_setting_and_hides_the_password() -> None:
    url = f"postgresql://sync:s3cret-pw@127.0.0.1:{support.free_port()}/sync"
    with pytest.raises(ConfigurationError) as caught:
        db.connect(url)
    message = str(caught.value)
    assert "SYNC_DATABASE_URL" in message
    assert "s3cret-pw" not in message
    assert "127.0.0.1" in message


def test_create_database_creates_once() -> None:
    server = os.environ.get("SYNC_TEST_DATABASE_URL")
    if not server:
        pytest.skip("needs SYNC_TEST_DATABASE_URL (a server where the test may create databases)")
    url = make_conninfo(server, dbname=f"qbo_crm_sync_create_{uuid.uuid4().hex[:8]}")
    try:
        assert create_database(url) is True
        assert create_database(url) is False
        assert migrate(url) == [m.name for m in discover()]
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{conninfo_to_dict(url)["dbname"]}" WITH (FORCE)')
