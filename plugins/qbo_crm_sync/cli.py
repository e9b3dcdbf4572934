"""Command line: `python -m qbo_crm_sync db|integrations|keygen ...` (`--help` on each)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from qbo_crm_sync.errors import SyncError


def cmd_db_migrate(args: argparse.Namespace) -> int:
    from qbo_crm_sync import config
    from qbo_crm_sync.store.migrate import create_database, migrate

    url = config.database_url()
    if args.create_database:
        create_database(url)
    applied = migrate(url)
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0


def cmd_keygen(_: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return 0


def cmd_connect(args: argparse.Namespace) -> int:
    from qbo_crm_sync.errors import ConfigurationError
    from qbo_crm_sync.integrations_registry import connect, live_integrations
    from qbo_crm_sync.store.integrations import validate_location_id

    # The same check as the QB Connect page's, before anything is stored or sent.
    location_id = validate_location_id(args.location_id)
    live = live_integrations(location_id)
    if live and not args.yes:
        for i in live:
            print(f"warning: location {location_id} is connected to QuickBooks company {i.company_label} "
                  f"(integration {i.id}, {i.status}); choosing another company at Intuit disconnects it "
                  "and revokes its grant.", file=sys.stderr)
        if args.no_input:
            raise ConfigurationError(f"Location {location_id} is already connected: add --yes to connect it anyway.")
        if input("Connect anyway? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing connected")
            return 1
    integration = connect(
        location_id=location_id,
        redirect_response=args.redirect_url,
        prompt=None if args.no_input else input,
        out=print,
        crm_conn_id=args.crm_conn_id,
    )
    print(f"connected: integration {integration.id} location {integration.location_label} to QuickBooks "
          f"company {integration.company_label} at {integration.connected_at:%Y-%m-%d %H:%M:%S %Z}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from qbo_crm_sync import config
    from qbo_crm_sync.store import db, integrations

    with db.connect(config.database_url()) as conn:
        rows = integrations.list_all(conn)
    if args.json:
        print(json.dumps([_as_dict(i) for i in rows], default=str, indent=2))
        return 0
    if not rows:
        print("no integrations: connect one with `python -m qbo_crm_sync integrations connect`")
        return 0
    print(f"{'id':>4}  {'location':<24} {'company':<40} {'status':<13} connected_at")
    for i in rows:
        print(f"{i.id:>4}  {i.location_id:<24} {i.company_label:<40} {i.status:<13} {i.connected_at}"
              + (f"  ({i.status_reason})" if i.status_reason else ""))
    return 0


def cmd_disconnect(args: argparse.Namespace) -> int:
    from qbo_crm_sync.integrations_registry import disconnect

    integration = disconnect(args.id)
    print(f"disconnected integration {integration.id} (location {integration.location_label}): its grant for "
          f"QuickBooks company {integration.company_label} is revoked")
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    from qbo_crm_sync.integrations_registry import update_settings

    changes: dict[str, Any] = {}
    for pair in args.settings:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise SystemExit(f"expected key=value, got {pair!r}")
        try:
            changes[key] = json.loads(raw)
        except json.JSONDecodeError:
            changes[key] = raw
    # The page's path too: types checked, a CRM connection checked with the CRM.
    integration = update_settings(args.id, changes)
    print(json.dumps(integration.settings, indent=2, sort_keys=True))
    return 0


def cmd_rows(args: argparse.Namespace) -> int:
    """What happened to rows: their current state and reason (and one row's history with --source-id)."""
    from qbo_crm_sync import config
    from qbo_crm_sync.store import db
    from qbo_crm_sync.store.sql import query

    params = {"integration_id": args.integration, "flow": args.flow, "status": args.status,
              "source_id": args.source_id, "limit": args.limit}
    name = "rows_history" if args.source_id and args.history else "rows_show"
    with db.connect(config.database_url()) as conn:
        rows = conn.execute(query(name), params).fetchall()
    print(json.dumps(rows, default=str, indent=2, ensure_ascii=False))
    return 0


def cmd_revive(args: argparse.Namespace) -> int:
    """Dead rows back to failed, so the next run tries them again (after the cause is fixed)."""
    from qbo_crm_sync import config
    from qbo_crm_sync.store import db, tracking

    with db.connect(config.database_url()) as conn:
        revived = tracking.revive(conn, args.integration, args.flow, args.source_id or None,
                                  reason=f"revived by an operator: {args.why}")
        conn.commit()
    print(f"revived {len(revived)} dead row(s) of {args.flow}: {', '.join(revived) or '-'}")
    return 0


def _as_dict(obj: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(obj)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qbo_crm_sync", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    dbp = sub.add_parser("db", help="the sync store").add_subparsers(dest="db_command", required=True)
    mig = dbp.add_parser("migrate", help="apply pending migrations (safe to re-run)")
    mig.add_argument("--create-database", action="store_true", help="create the database first if missing")
    mig.set_defaults(func=cmd_db_migrate)

    sub.add_parser("keygen", help="print a new Fernet key for SYNC_FERNET_KEY").set_defaults(func=cmd_keygen)

    integ = sub.add_parser("integrations", help="connected CRM location / QuickBooks company pairs")
    isub = integ.add_subparsers(dest="integrations_command", required=True)
    con = isub.add_parser("connect", help="connect a CRM location to a QuickBooks company (OAuth2)")
    con.add_argument("--location-id", required=True, help="HighLevel location (sub-account) id")
    con.add_argument("--crm-conn-id", help="Airflow connection (type highlevel) with this location's token; "
                                          "default highlevel_default")
    con.add_argument("--yes", action="store_true", help="connect even when the location is already connected")
    con.add_argument("--redirect-url", help="the URL Intuit redirected your browser to, if you have it")
    con.add_argument("--no-input", action="store_true", help="fail instead of prompting for the redirect URL")
    con.set_defaults(func=cmd_connect)
    lst = isub.add_parser("list", help="list integrations and their status")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_list)
    dis = isub.add_parser("disconnect", help="revoke the QuickBooks tokens and stop syncing")
    dis.add_argument("id", type=int)
    dis.set_defaults(func=cmd_disconnect)
    st = isub.add_parser("set", help="change settings, e.g. auto_send_review=true")
    st.add_argument("id", type=int)
    st.add_argument("settings", nargs="+", metavar="key=value")
    st.set_defaults(func=cmd_set)

    rows = sub.add_parser("rows", help="what happened to each source row, and why")
    rsub = rows.add_subparsers(dest="rows_command", required=True)
    show = rsub.add_parser("show", help="current state and reason of rows (newest first)")
    show.add_argument("--integration", type=int, required=True)
    show.add_argument("--flow", required=True, help="contacts, receipts, ...")
    show.add_argument("--status", choices=["loaded", "rejected", "failed", "dead", "skipped"])
    show.add_argument("--source-id", help="one source row (QBO customer id, CRM transaction id, ...)")
    show.add_argument("--history", action="store_true", help="with --source-id: every attempt, with its Airflow run")
    show.add_argument("--limit", type=int, default=50)
    show.set_defaults(func=cmd_rows)
    rev = rsub.add_parser("revive", help="retry dead rows on the next run")
    rev.add_argument("--integration", type=int, required=True)
    rev.add_argument("--flow", required=True)
    rev.add_argument("--source-id", action="append", help="only these rows (repeatable); default: all dead rows")
    rev.add_argument("--why", required=True, help="what was fixed (kept in the row's history)")
    rev.set_defaults(func=cmd_revive)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


__all__ = ["main", "build_parser"]
