"""``python -m emulators.highlevel --port 8802 [--token T] [--throttle-window-s 10]``."""

from __future__ import annotations

import argparse
import os

from emulators.common import serve
from emulators.highlevel.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m emulators.highlevel", description=__doc__)
    parser.add_argument("--port", type=int, default=8802)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--token",
        default=os.environ.get("HL_EMULATOR_TOKEN", "demo-hl-token"),
        help="the Private Integration Token accepted for every location",
    )
    parser.add_argument("--throttle-window-s", type=float, default=10.0, help="length of the burst window")
    args = parser.parse_args()
    serve(create_app(token=args.token, throttle_window_s=args.throttle_window_s), port=args.port, host=args.host)


if __name__ == "__main__":
    main()
