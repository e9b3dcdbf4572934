"""``python -m emulators.highlevel --port 8802 [--location ID=TOKEN ...] [--throttle-window-s 10]``."""

from __future__ import annotations

import argparse
import os

from emulators.common import serve
from emulators.highlevel.app import create_app


def _location(value: str) -> tuple[str, str]:
    location_id, sep, token = value.partition("=")
    if not sep or not location_id or not token:
        raise argparse.ArgumentTypeError("expected LOCATION_ID=TOKEN")
    return location_id, token


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m emulators.highlevel", description=__doc__)
    parser.add_argument("--port", type=int, default=8802)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--location", type=_location, action="append", default=[], metavar="ID=TOKEN",
        help="a location that exists from the start (and after every reset) with its Private Integration "
             "Token; repeatable. Also read from HL_EMULATOR_LOCATIONS (ID=TOKEN,ID=TOKEN). Other locations "
             "are created through /_admin/seed or /_admin/locations/{id}",
    )
    parser.add_argument("--throttle-window-s", type=float, default=10.0, help="length of the burst window")
    args = parser.parse_args()
    from_env = [_location(v.strip()) for v in os.environ.get("HL_EMULATOR_LOCATIONS", "").split(",") if v.strip()]
    serve(create_app(locations=dict(from_env + args.location), throttle_window_s=args.throttle_window_s),
          port=args.port, host=args.host)


if __name__ == "__main__":
    main()
