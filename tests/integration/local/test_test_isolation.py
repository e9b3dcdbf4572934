"""Tests never write into the repository's local state, whatever the caller exported."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support import ROOT


def test_tests_run_with_an_airflow_home_outside_the_repository() -> None:
    home = Path(os.environ["AIRFLOW_HOME"]).resolve()
    assert home != (ROOT / ".airflow").resolve()
    assert ROOT.resolve() not in home.parents

    from airflow.configuration import AIRFLOW_HOME

    assert Path(AIRFLOW_HOME).resolve() == home


def test_tests_do_not_inherit_the_local_stacks_databases() -> None:
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in os.environ
    assert "SYNC_DATABASE_URL" not in os.environ


def test_make_hands_the_stacks_airflow_home_to_the_stack_but_not_to_pytest(tmp_path: Path) -> None:
    """Run the Makefile's recipes with a probe in place of the virtualenv's Python."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for tool, script in (("ruff", "exit 0"), ("probe", 'echo "AIRFLOW_HOME=[$AIRFLOW_HOME]"')):
        (venv / "bin" / tool).write_text(f"#!/bin/sh\n{script}\n")
        (venv / "bin" / tool).chmod(0o755)
    (venv / ".installed").touch()  # newer than requirements.txt: nothing to install
    env = {k: v for k, v in os.environ.items() if k not in ("AIRFLOW_HOME", "MAKEFLAGS", "MAKELEVEL")}

    def make(target: str) -> str:
        done = subprocess.run(["make", "-s", "-C", str(ROOT), target, f"VENV={venv}", f"PY={venv / 'bin' / 'probe'}"],
                              capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "AIRFLOW_HOME=[]" in make("test")
    assert f"AIRFLOW_HOME=[{ROOT}/.airflow]" in make("demo")
