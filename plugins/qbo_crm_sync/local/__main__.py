"""`python -m qbo_crm_sync.local demo|up|emulators|env|stop`: the local stack behind the Makefile.

``airflow`` is the second half of ``up``: the Airflow components in the foreground, in a process
that carries this checkout's owner token (``up`` replaces itself with it once the stack is ready).
"""

from __future__ import annotations

import argparse
import os
import sys

from qbo_crm_sync.errors import ConfigurationError


def _quiet() -> None:
    """The embedded server's own start/stop chatter is not what a demo user needs to read."""
    import logging
    import warnings

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def _shown(path: os.PathLike[str] | str) -> str:
    from pathlib import Path

    from qbo_crm_sync.config import PROJECT_ROOT

    path = Path(path)
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def up() -> int:
    """Stack, sync store, demo integration and Airflow's database ready; then Airflow itself."""
    from qbo_crm_sync.local import airflow_components, airflow_url, processes, stack
    from qbo_crm_sync.local.demo import ensure_integration, say, seed_before_connect
    from qbo_crm_sync.store.migrate import migrate

    port = airflow_url.airflow_port()
    running = processes.recorded_process(stack.DATA_DIR, airflow_components.SUPERVISOR)
    if running is not None:
        raise ConfigurationError(f"This checkout's Airflow is already running (pid {running[1].pid}, "
                                 f"port {running[0].port}): `make down` stops it.")
    if processes.port_answers(port):
        raise stack.PortTaken(stack.port_taken_message("Airflow", port, airflow_url.PORT_VARIABLE))
    s = stack.up()
    migrate(s.database_url)
    seed_before_connect(s)
    ensure_integration()
    env = dict(os.environ)
    if airflow_components.ensure_metadata_db(env, stack.DATA_DIR / "logs"):
        say("migrated Airflow's metadata database")
    airflow_components.private_password_file(stack.airflow_home())
    env[processes.OWNER_VARIABLE] = processes.owner_token(stack.DATA_DIR)
    os.execve(sys.executable, [sys.executable, "-m", "qbo_crm_sync.local", "airflow"], env)
    return 0  # not reached


def serve_airflow() -> int:
    from qbo_crm_sync.local import airflow_components, airflow_url, processes, stack

    token = os.environ.get(processes.OWNER_VARIABLE)
    if not token or token != processes.existing_token(stack.DATA_DIR):
        raise ConfigurationError("`airflow` runs as the second half of `up`: use `make up`.")
    port = airflow_url.airflow_port()
    url = airflow_url.airflow_url(port)
    passwords = stack.airflow_home() / airflow_components.PASSWORD_FILE
    banner = (f"Airflow is ready: {url} (QB Connect: {url}/qb-connect/). Log in as admin with the password "
              f"in {_shown(passwords)}. Ctrl-C stops Airflow; `make down` stops everything, emulators "
              "and database included.")
    print(f"Starting Airflow on {url} (API server on {airflow_url.LISTEN_HOST}:{port} only)", flush=True)
    return airflow_components.serve(dict(os.environ), stack.DATA_DIR, port, banner)


def main() -> int:
    _quiet()
    parser = argparse.ArgumentParser(prog="python -m qbo_crm_sync.local")
    parser.add_argument("command", choices=["demo", "up", "emulators", "env", "stop", "airflow"])
    args = parser.parse_args()
    from qbo_crm_sync.local import stack

    try:
        if args.command == "demo":
            from qbo_crm_sync.local.demo import main as demo

            return demo()
        if args.command == "stop":
            stopped = stack.stop()
            print("stopped: " + ", ".join(stopped) if stopped else "nothing of this checkout was running")
            return 0
        if args.command == "up":
            return up()
        if args.command == "airflow":
            return serve_airflow()
        s = stack.up()
        if args.command == "env":
            # For a shell: eval "$(.venv/bin/python -m qbo_crm_sync.local env)", then the CLI and
            # `airflow` commands talk to the local stack.
            import shlex

            for key, value in s.env().items():
                print(f"export {key}={shlex.quote(value)}")
            return 0
        print(f"QuickBooks emulator {s.qbo_url}\nHighLevel emulator {s.highlevel_url}\n(stop with `make down`)")
        return 0
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
