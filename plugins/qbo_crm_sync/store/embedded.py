"""A local PostgreSQL for demos and development, run by pgserver under the project's data folder.

The server outlives the process that started it (the CLI starts it once, DAG tasks and tests
reuse it); :func:`stop_embedded` shuts it down. It listens on a Unix socket only.
"""

from __future__ import annotations

import atexit
import logging
import signal
from pathlib import Path

import psutil

from qbo_crm_sync.config import PROJECT_ROOT

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = PROJECT_ROOT / ".data" / "pg"


def ensure_embedded(data_dir: Path | None = None) -> str:
    """Start the embedded server (or find it already running) and return its URL."""
    import pgserver  # heavy: imported only when the embedded server is wanted

    data_dir = Path(data_dir or DEFAULT_DATA_DIR).expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if not is_running(data_dir):
        _forget(data_dir)  # a handle cached by this process would point at a stopped server
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    url = server.get_uri()
    log.info("Embedded PostgreSQL ready in %s", data_dir)
    return url


def _postmaster(data_dir: Path) -> psutil.Process | None:
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
        process = psutil.Process(pid)
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess):
        return None
    return process if process.is_running() and process.status() != psutil.STATUS_ZOMBIE else None


def is_running(data_dir: Path | None = None) -> bool:
    return _postmaster(Path(data_dir or DEFAULT_DATA_DIR).expanduser().resolve()) is not None


def stop_embedded(data_dir: Path | None = None, timeout: float = 30.0) -> bool:
    """Stop the embedded server (fast shutdown); False when none was running."""
    data_dir = Path(data_dir or DEFAULT_DATA_DIR).expanduser().resolve()
    process = _postmaster(data_dir)
    if process is None:
        return False
    # SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout)
    except psutil.TimeoutExpired:
        process.kill()
    _forget(data_dir)
    log.info("Embedded PostgreSQL in %s stopped", data_dir)
    return True


def _forget(data_dir: Path) -> None:
    # pgserver caches one handle per data folder and process; drop it (and its exit hook) so a
    # later ensure_embedded() starts the server again instead of returning the stopped one.
    try:
        from pgserver.postgres_server import PostgresServer
    except ImportError:
        return
    handle = PostgresServer._instances.pop(data_dir, None)
    if handle is not None:
        atexit.unregister(handle._cleanup)
