"""The processes a checkout's local stack starts: who they belong to, and stopping every one of them.

Each checkout writes a random owner token once, to ``<data>/run/owner.token``. Every process the
stack starts carries it in its environment (``QBO_CRM_SYNC_STACK``), and children inherit it: Airflow's
components, the LocalExecutor's workers and task processes (which move to process groups of their
own), the emulators. A pid file per started process (``<data>/run/<name>.json``) records its pid,
start time and port, so a process is recognised as this checkout's only when it is alive, started at
the recorded time and carries this checkout's token. Stopping finds processes by that token and by
descent from the recorded ones, so nothing a component spawned is left behind, and nothing another
checkout started is touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

OWNER_VARIABLE = "QBO_CRM_SYNC_STACK"


def run_dir(data_dir: Path) -> Path:
    return data_dir / "run"


def owner_token(data_dir: Path) -> str:
    """This checkout's token (created on first use, readable by its owner only)."""
    path = run_dir(data_dir) / "owner.token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(16))
    return path.read_text().strip()


def existing_token(data_dir: Path) -> str | None:
    """The token when this checkout ever started something, else None."""
    try:
        return (run_dir(data_dir) / "owner.token").read_text().strip() or None
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Record:
    """What a pid file says about a process this checkout started."""

    name: str
    pid: int
    started: float
    port: int | None = None
    supervisor: bool = False  # a foreground process that stops its own children when signalled


def _record_path(data_dir: Path, name: str) -> Path:
    return run_dir(data_dir) / f"{name}.json"


def write_record(data_dir: Path, name: str, process: psutil.Process, port: int | None = None,
                 supervisor: bool = False) -> Record:
    record = Record(name, process.pid, process.create_time(), port, supervisor)
    path = _record_path(data_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.__dict__))
    return record


def read_record(data_dir: Path, name: str) -> Record | None:
    try:
        return Record(**json.loads(_record_path(data_dir, name).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def forget(data_dir: Path, name: str) -> None:
    _record_path(data_dir, name).unlink(missing_ok=True)


def carries_token(process: psutil.Process, token: str) -> bool:
    try:
        return process.environ().get(OWNER_VARIABLE) == token
    except (psutil.Error, OSError):
        return False


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def recorded_process(data_dir: Path, name: str) -> tuple[Record, psutil.Process] | None:
    """The recorded process when it is still the one this checkout started, else None."""
    record = read_record(data_dir, name)
    if record is None:
        return None
    try:
        process = psutil.Process(record.pid)
        same = abs(process.create_time() - record.started) < 0.01
    except psutil.Error:
        return None
    if not (same and alive(process) and carries_token(process, owner_token(data_dir))):
        return None
    return record, process


def listens_on(process: psutil.Process, port: int) -> bool:
    """True when ``process`` or one of its children holds a listening socket on ``port``."""
    try:
        family = [process, *process.children(recursive=True)]
    except psutil.Error:
        return False
    for member in family:
        try:
            connections = member.net_connections(kind="tcp")
        except psutil.Error:
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections):
            return True
    return False


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    """Something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def describe_listener(port: int) -> str:
    """Who listens on ``port``, as far as this user may see (``pid 123: python -m x``)."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return "a process this user cannot see"
    for c in connections:
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid:
            try:
                process = psutil.Process(c.pid)
                command = " ".join(process.cmdline())[:120] or process.name()
                where = process.cwd()
            except psutil.Error:
                return f"pid {c.pid}"
            return f"pid {c.pid}: {command} (in {where})"
    return "a process this user cannot see"


def free_port_near(port: int) -> int | None:
    """A free port just above ``port``, to suggest in messages."""
    for candidate in range(port + 10000, port + 10100):
        if candidate < 65536 and not port_answers(candidate):
            return candidate
    return None


def launch(data_dir: Path, name: str, argv: Sequence[str], *, env: dict[str, str], cwd: Path,
           log: Path | None = None, port: int | None = None) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a session of its own, carrying this checkout's token, and record it.

    Output goes to ``log`` (appended) when given, else to a pipe the caller reads.
    """
    env = env | {OWNER_VARIABLE: owner_token(data_dir)}
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
    else:
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    write_record(data_dir, name, psutil.Process(proc.pid), port)
    return proc


def record_self(data_dir: Path, name: str, port: int | None = None) -> Record:
    """Record the calling process (a foreground supervisor) so that a stop from elsewhere finds it."""
    return write_record(data_dir, name, psutil.Process(), port, supervisor=True)


def _descendants(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


def records(data_dir: Path) -> Iterable[Record]:
    folder = run_dir(data_dir)
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        record = read_record(data_dir, path.stem)
        if record is not None:
            yield record


def owned_processes(data_dir: Path) -> list[psutil.Process]:
    """Every live process this checkout started, with everything they spawned (one pass over the
    process table: a stack has dozens of processes and this runs in a loop while stopping)."""
    token = existing_token(data_dir)
    recorded = {r.pid: r.started for r in records(data_dir)}
    table: dict[int, psutil.Process] = {}
    children: dict[int, list[int]] = {}
    roots: list[int] = []
    for process in psutil.process_iter(["ppid", "create_time", "status"]):
        info = process.info
        if info["status"] == psutil.STATUS_ZOMBIE or info["create_time"] is None:
            continue
        table[process.pid] = process
        children.setdefault(info["ppid"], []).append(process.pid)
        started = recorded.get(process.pid)
        if (started is not None and abs(info["create_time"] - started) < 0.01) or (
                token and carries_token(process, token)):
            roots.append(process.pid)
    found: set[int] = set()
    while roots:
        pid = roots.pop()
        if pid not in found and pid in table:
            found.add(pid)
            roots.extend(children.get(pid, []))
    # Never this process or what runs it (a `make down` started from a stack's own shell).
    spared = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    return [table[pid] for pid in sorted(found - spared)]


def stop_processes(collect: Callable[[], list[psutil.Process]], grace_s: float = 8.0,
                   last: frozenset[int] = frozenset()) -> list[psutil.Process]:
    """SIGTERM what ``collect`` finds, again for what appears meanwhile; SIGKILL the rest after
    ``grace_s``. Processes in ``last`` (a supervisor that stops its own children when signalled)
    get a moment more to exit by themselves. Answers every process that was signalled."""
    signalled: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + grace_s
    while found := collect():
        now = time.monotonic()
        if now > deadline + 10:
            break  # what survives SIGKILL is not ours to wait for
        if now > deadline:
            # No waiting here: a killed child of a live parent stays a zombie until reaped, and
            # collect() leaves zombies out.
            for process in found:
                if process.pid not in last or now > deadline + 2:
                    with contextlib.suppress(psutil.Error):
                        process.kill()
        for process in found:
            if process.pid not in signalled:
                with contextlib.suppress(psutil.Error):
                    process.send_signal(signal.SIGTERM)
                signalled[process.pid] = process
        time.sleep(0.1)
    return list(signalled.values())


def stop_owned(data_dir: Path, grace_s: float = 8.0) -> list[str]:
    """Stop everything this checkout started; answers the names of the recorded processes stopped
    (``airflow-scheduler``, ``quickbooks``, ...). Supervisors are killed last, so that they can see
    their components end and exit by themselves."""
    names = {r.pid: r.name for r in records(data_dir)}
    supervisors = frozenset(r.pid for r in records(data_dir) if r.supervisor)
    stopped = stop_processes(lambda: owned_processes(data_dir), grace_s, last=supervisors)
    for record in list(records(data_dir)):
        forget(data_dir, record.name)
    return sorted({names[p.pid] for p in stopped if p.pid in names})


def stop_recorded(data_dir: Path, name: str, grace_s: float = 8.0) -> None:
    """Stop one recorded process of this checkout and everything it spawned."""
    ours = recorded_process(data_dir, name)
    if ours is not None:
        _, root = ours
        token = owner_token(data_dir)
        spawned = _descendants(root)

        def tree() -> list[psutil.Process]:
            members = {p.pid: p for p in [root, *spawned, *_descendants(root)]}
            return [p for p in members.values() if alive(p) and carries_token(p, token)]

        stop_processes(tree, grace_s)
    forget(data_dir, name)
