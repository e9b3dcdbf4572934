"""``python -m emulators.quickbooks --port 8801``"""

from __future__ import annotations

import argparse
import os

from emulators.common import serve
from emulators.quickbooks.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulators.quickbooks", description=__doc__)
    parser.add_argument("--port", type=int, default=8801)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--client-id", default=os.environ.get("QBO_EMULATOR_CLIENT_ID", "demo-client-id"))
    parser.add_argument(
        "--client-secret", default=os.environ.get("QBO_EMULATOR_CLIENT_SECRET", "demo-client-secret")
    )
    parser.add_argument(
        "--throttle-window-s", type=float, default=60.0, help="length of the throttling window"
    )
    args = parser.parse_args(argv)
    app = create_app(args.client_id, args.client_secret, args.throttle_window_s)
    serve(app, args.port, args.host)


if __name__ == "__main__":
    main()
