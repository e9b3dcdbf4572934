"""Generated files stay out of version control."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="module", autouse=True)
def _work_tree() -> None:
    if shutil.which("git") is None or git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        pytest.skip("not a git work tree")


def test_the_egg_info_that_every_install_rewrites_is_not_tracked() -> None:
    assert git("ls-files", "--", "plugins/qbo_crm_sync.egg-info").stdout == ""


@pytest.mark.parametrize("path", ["plugins/qbo_crm_sync.egg-info/PKG-INFO", ".airflow/airflow.db",
                                  ".data/run/owner.token", "logs/x.log",
                                  "config/simple_auth_manager_passwords.json.generated"])
def test_generated_and_local_state_is_ignored(path: str) -> None:
    assert git("check-ignore", "-q", "--no-index", path).returncode == 0, path
