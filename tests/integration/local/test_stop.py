"""`make down` stops every process this checkout started, with everything they spawned (also in
process groups or sessions of their own, or orphaned), and nothing another checkout started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil

from qbo_crm_sync.local import processes, stack
from tests.support import ROOT

# A component that spawns like Airflow's: a child in a session of its own that ignores SIGTERM (a
# task process in its own process group), and an orphan whose parent has exited already.
FAKE_COMPONENT = r"""
import subprocess, sys, time
stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(600)"
child = subprocess.Popen([sys.executable, "-c", stubborn], start_new_session=True, stdout=subprocess.PIPE)
child.stdout.readline()
orphan = ("import subprocess, sys; print(subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], "
          "start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid)")
print(child.pid, subprocess.run([sys.executable, "-c", orphan], capture_output=True, text=True).stdout.strip(), flush=True)
time.sleep(600)
"""


def start_fake(data_dir: Path, name: str) -> list[int]:
    proc = processes.launch(data_dir, name, [sys.executable, "-c", FAKE_COMPONENT], env={"PATH": "/usr/bin:/bin"},
                            cwd=ROOT)
    assert proc.stdout is not None
    child, orphan = (int(p) for p in proc.stdout.readline().split())
    return [proc.pid, child, orphan]


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_stop_kills_the_whole_tree_and_spares_other_checkouts(data_dir: Path, tmp_path: Path) -> None:
    ours = start_fake(data_dir, "airflow-scheduler")
    other_dir = tmp_path / "other-checkout"
    theirs = start_fake(other_dir, "airflow-scheduler")
    try:
        assert {p.pid for p in processes.owned_processes(data_dir)} >= set(ours)
        # The orphan's parent has exited: only the owner token ties it to this checkout.
        assert psutil.Process(ours[2]).ppid() != ours[0]

        stopped = processes.stop_owned(data_dir, grace_s=2)

        assert stopped == ["airflow-scheduler"]
        assert all(gone(pid) for pid in ours), [p for p in ours if not gone(p)]
        assert not any(gone(pid) for pid in theirs)
        assert processes.owned_processes(data_dir) == []
    finally:
        processes.stop_owned(other_dir, grace_s=2)
    assert all(gone(pid) for pid in theirs)


def test_stop_answers_nothing_when_nothing_runs(data_dir: Path) -> None:
    assert stack.stop(data_dir) == []


def test_make_down_exists_and_make_clean_stops_before_removing() -> None:
    dry = subprocess.run(["make", "-n", "-C", str(ROOT), "clean"], capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "qbo_crm_sync.local stop" in dry.stdout
    assert dry.stdout.index("qbo_crm_sync.local stop") < dry.stdout.index("rm -rf .data .airflow")

