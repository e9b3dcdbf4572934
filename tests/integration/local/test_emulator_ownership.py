"""The local stack reuses only the emulators its own checkout started: anything else on the port
(another checkout's emulator, any other program) would receive this checkout's data."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from qbo_crm_sync.errors import ConfigurationError
from qbo_crm_sync.local import processes, stack
from tests.support import emulator_process, free_port


@pytest.fixture
def foreign_listener() -> Iterator[int]:
    """A plain TCP server, as any program holding the port would be."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_a_foreign_program_on_the_port_is_refused_with_the_port_and_the_variable(
        data_dir: Path, foreign_listener: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QBO_EMULATOR_PORT", str(foreign_listener))
    with pytest.raises(stack.PortTaken) as refused:
        stack.start_emulator(stack.QUICKBOOKS, data_dir)
    message = str(refused.value)
    assert f"port {foreign_listener}" in message
    assert "QBO_EMULATOR_PORT=" in message and "did not start" in message
    assert processes.read_record(data_dir, "quickbooks") is None


def test_another_checkouts_emulator_is_refused_and_receives_nothing(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with emulator_process("emulators.highlevel") as other:
        port = int(other.rsplit(":", 1)[1])
        requests.delete(f"{other}/_admin/requests", timeout=5)
        monkeypatch.setenv("HL_EMULATOR_PORT", str(port))
        with pytest.raises(stack.PortTaken, match="HL_EMULATOR_PORT"):
            stack.start_emulator(stack.HIGHLEVEL, data_dir)
        assert requests.get(f"{other}/_admin/requests", timeout=5).json()["count"] == 0


def test_its_own_emulator_is_reused_and_stopped(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("QBO_EMULATOR_PORT", str(port))
    base = stack.start_emulator(stack.QUICKBOOKS, data_dir)
    first = processes.read_record(data_dir, "quickbooks")
    assert first is not None and first.port == port
    process = psutil.Process(first.pid)
    assert processes.carries_token(process, processes.owner_token(data_dir))
    assert processes.listens_on(process, port)

    assert stack.start_emulator(stack.QUICKBOOKS, data_dir) == base
    assert processes.read_record(data_dir, "quickbooks") == first  # the same process, not a second one

    assert stack.stop(data_dir) == ["quickbooks"]
    assert not processes.alive(process)
    assert not processes.port_answers(port)


def test_its_own_emulator_on_another_port_is_named(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HL_EMULATOR_PORT", str(free_port()))
    stack.start_emulator(stack.HIGHLEVEL, data_dir)
    monkeypatch.setenv("HL_EMULATOR_PORT", str(free_port()))
    with pytest.raises(ConfigurationError, match="make down"):
        stack.start_emulator(stack.HIGHLEVEL, data_dir)


def test_a_stale_pid_file_is_not_trusted(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record whose process is gone (or whose pid now belongs to another process) starts anew."""
    port = free_port()
    monkeypatch.setenv("QBO_EMULATOR_PORT", str(port))
    # This test process: alive, but not started at the recorded time and without the owner token.
    me = psutil.Process()
    processes.run_dir(data_dir).mkdir(parents=True)
    (processes.run_dir(data_dir) / "quickbooks.json").write_text(
        f'{{"name": "quickbooks", "pid": {me.pid}, "started": {me.create_time() - 100}, "port": {port}}}')
    stack.start_emulator(stack.QUICKBOOKS, data_dir)
    record = processes.read_record(data_dir, "quickbooks")
    assert record is not None and record.pid != me.pid


def test_the_stack_checks_both_ports_before_starting_anything(
        data_dir: Path, foreign_listener: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QBO_EMULATOR_PORT", str(free_port()))
    monkeypatch.setenv("HL_EMULATOR_PORT", str(foreign_listener))
    with pytest.raises(stack.PortTaken, match="HL_EMULATOR_PORT"):
        stack.up(data_dir)
    assert processes.owned_processes(data_dir) == []
    assert not (data_dir / "pg").exists()
