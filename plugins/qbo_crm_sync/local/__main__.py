"""`python -m qbo_crm_sync.local demo|up|emulators|env|stop`: the local stack behind the Makefile."""

from __future__ import annotations

import argparse
import os
import sys


def _quiet() -> None:
    """The embedded server's own start/stop chatter is not what a demo user needs to read."""
    import logging
    import warnings

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def main() -> int:
    _quiet()
    parser = argparse.ArgumentParser(prog="python -m qbo_crm_sync.local")
    parser.add_argument("command", choices=["demo", "up", "emulators", "env", "stop"])
    args = parser.parse_args()
    from qbo_crm_sync.local import stack

    if args.command == "demo":
        from qbo_crm_sync.local.demo import main as demo

        return demo()
    if args.command == "stop":
        stack.stop()
        print("stopped the emulators and the embedded database")
        return 0
    s = stack.up()
    if args.command == "env":
        # For a shell: eval "$(.venv/bin/python -m qbo_crm_sync.local env)", then the CLI and
        # `airflow` commands talk to the local stack.
        import shlex

        for key, value in s.env().items():
            print(f"export {key}={shlex.quote(value)}")
        return 0
    if args.command == "emulators":
        print(f"QuickBooks emulator {s.qbo_url}\nHighLevel emulator {s.highlevel_url}\n(stop with `make clean`)")
        return 0
    from qbo_crm_sync.local.demo import ensure_integration, seed_before_connect
    from qbo_crm_sync.store.migrate import migrate

    migrate(s.database_url)
    seed_before_connect(s)
    ensure_integration()
    print("Airflow standalone on http://localhost:8080 (login details are printed below by Airflow)")
    bin_dir = os.path.dirname(sys.executable)
    airflow = os.path.join(bin_dir, "airflow")
    # standalone starts its components as `airflow ...` subprocesses: they must find this venv's.
    env = os.environ | s.env() | {"PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    os.execve(airflow, [airflow, "standalone"], env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
