"""CSV backfill end to end: fixture files in each shape and encoding, over both emulators and PostgreSQL."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import pytest

from qbo_crm_sync.flows.backfill import csv_import
from qbo_crm_sync.flows.backfill.csv_reader import CsvFileError
from qbo_crm_sync.flows.backfill.paths import UnsafePath
from tests.integration.flows.conftest import Env

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "backfill"


@pytest.fixture
def imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "import"
    folder.mkdir()
    monkeypatch.setenv("SYNC_IMPORT_DIR", str(folder))
    return folder


def backfill(env: Env, imports: Path, fixture: str, **params: Any) -> dict[str, Any]:
    if not (imports / fixture).exists():
        shutil.copy(FIXTURES / fixture, imports / fixture)
    job = env.job(csv_import.FLOW)
    job.params = {"csv_file": fixture, "dry_run": False, "chunk_size": 3, **params}
    csv_import.check(job)
    return csv_import.load(job)


def crm_writes(env: Env) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in env.requests_log(env.hl_url, "/contacts")
            if r["method"] in ("POST", "PUT") and r["path"] != "/contacts/search"]


def rejected(counts: dict[str, Any]) -> list[dict[str, str]]:
    with open(counts["rejected_file"], encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_dry_run_sends_nothing_to_the_crm_and_says_what_would_happen(env: Env, imports: Path) -> None:
    env.clear_requests(env.hl_url)
    counts = backfill(env, imports, "qbo_contact_list_utf8_bom.csv", dry_run=True)
    assert counts["status"] == "dry_run"
    assert (counts["would_create"], counts["would_update"]) == (5, 0)
    assert counts["rows_rejected"] == 2 and counts["crm_requests_needed"] >= 5
    assert env.crm("contacts") == [] and env.requests_log(env.hl_url) == []  # not even a read
    assert env.row_status(csv_import.FLOW) == {}  # a later real run starts fresh


def test_quickbooks_export_loads_and_a_rerun_changes_nothing(env: Env, imports: Path) -> None:
    counts = backfill(env, imports, "qbo_contact_list_utf8_bom.csv")
    assert counts["status"] == "done" and counts["rows_total"] == 7
    contacts = {c["email"]: c for c in env.crm("contacts")}
    assert sorted(contacts) == ["birds@intuit.com", "cool_cars@intuit.com", "dukes_bball@intuit.com",
                                "surf@intuit.com", "zoe.lefevre@example.co.uk"]
    bill = contacts["surf@intuit.com"]
    assert (bill["firstName"], bill["lastName"], bill["phone"]) == ("Bill", "Lucchini", "+14154446538")
    assert (bill["city"], bill["state"], bill["postalCode"]) == ("Half Moon Bay", "CA", "94213")
    assert contacts["zoe.lefevre@example.co.uk"]["firstName"] == "Zoë"
    assert all(c["tags"] == ["quickbooks"] for c in contacts.values())
    reasons = {row["Customer full name"]: (row["line"], row["status"], row["reason"]) for row in rejected(counts)}
    assert reasons["No Way To Reach"][:2] == ("11", "rejected") and "no valid email or phone" in reasons[
        "No Way To Reach"][2]
    assert reasons["Broken Email Ltd"][1] == "rejected" and "email" in reasons["Broken Email Ltd"][2]
    writes = crm_writes(env)
    assert writes.count("POST /contacts/") == 5

    env.clear_requests(env.hl_url)
    again = backfill(env, imports, "qbo_contact_list_utf8_bom.csv")
    assert again["rows_unchanged"] == 7 and again.get("rows_queued", 0) == 0
    assert env.requests_log(env.hl_url) == [] and len(env.crm("contacts")) == 5
    assert len(rejected(again)) == 2  # still to fix, and said again


def test_an_overlapping_newer_export_adds_only_what_is_new(env: Env, imports: Path) -> None:
    backfill(env, imports, "plain_utf8.csv", customers="all")
    before = {c["id"]: c["dateUpdated"] for c in env.crm("contacts")}
    newer = (FIXTURES / "plain_utf8.csv").read_text(encoding="utf-8") + \
        "New Person,New,Person,,new@example.com,,,,,,,,true\n"
    (imports / "newer.csv").write_text(newer, encoding="utf-8")
    env.clear_requests(env.hl_url)
    counts = backfill(env, imports, "newer.csv", customers="all")
    assert counts["rows_unchanged"] == 5 and counts["rows_loaded"] == 1
    assert crm_writes(env) == ["POST /contacts/"]
    after = {c["id"]: c["dateUpdated"] for c in env.crm("contacts")}
    assert {k: v for k, v in after.items() if k in before} == before


def test_plain_csv_duplicates_inactive_blank_lines_and_trailing_cells(env: Env, imports: Path) -> None:
    counts = backfill(env, imports, "plain_utf8.csv", customers="active")
    assert counts["rows_total"] == 6
    emails = sorted(c.get("email") or c.get("phone") for c in env.crm("contacts"))
    assert emails == ["+16465550199", "ann@example.com", "short@example.com"]
    rows = {row["line"]: row for row in rejected(counts)}
    assert rows["5"]["status"] == "repeated" and "line 3" in rows["5"]["reason"]
    assert rows["4"]["status"] == "skipped" and "same email or phone" in rows["4"]["reason"]
    assert rows["6"]["status"] == "skipped" and rows["6"]["reason"] == "inactive in QuickBooks"


def test_windows_1252_with_semicolons(env: Env, imports: Path) -> None:
    counts = backfill(env, imports, "qbo_customers_cp1252_semicolon.csv")
    assert counts["rows_loaded"] == 3
    by_email = {c["email"]: c for c in env.crm("contacts")}
    assert (by_email["jose.nunez@example.com"]["firstName"], by_email["jose.nunez@example.com"]["lastName"]) == \
        ("José", "Núñez")
    assert by_email["francoise@example.fr"]["companyName"] == "Café Françoise"
    assert by_email["info@mueller.example.de"]["country"] == "DE"


@pytest.mark.parametrize(("fixture", "line", "words"), [
    ("malformed_unclosed_quote.csv", 3, "never closes"),
    ("malformed_no_header.csv", 1, "no header"),
    ("malformed_binary.csv", 3, "NUL"),
    ("malformed_encoding.csv", 2, "neither UTF-8 nor Windows-1252"),
    ("malformed_quote_then_text.csv", 2, "double quote"),
])
def test_a_file_it_cannot_read_fails_naming_the_line_and_changes_nothing(env: Env, imports: Path, fixture: str,
                                                                         line: int, words: str) -> None:
    env.clear_requests(env.hl_url)
    with pytest.raises(CsvFileError) as failed:
        backfill(env, imports, fixture)
    assert failed.value.line == line and words in str(failed.value), str(failed.value)
    assert env.requests_log(env.hl_url) == [] and env.row_status(csv_import.FLOW) == {}


def test_paths_outside_the_import_folder_are_refused(env: Env, imports: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    shutil.copy(FIXTURES / "plain_utf8.csv", secret)
    (imports / "link.csv").symlink_to(secret)
    (imports / "sub").mkdir()
    (imports / "sub" / "out").symlink_to(tmp_path)
    for name, words in [("../secret.csv", "'..'"), (str(secret), "outside the import folder"),
                        ("link.csv", "symbolic link"), ("sub/out/secret.csv", "outside the import folder"),
                        ("missing.csv", "No file"), ("", "No CSV file")]:
        job = env.job(csv_import.FLOW)
        job.params = {"csv_file": name}
        with pytest.raises(UnsafePath) as refused:
            csv_import.check(job)
        assert words in str(refused.value), (name, str(refused.value))
    shutil.copy(FIXTURES / "plain_utf8.csv", imports / "sub" / "inside.csv")
    job = env.job(csv_import.FLOW)
    job.params = {"csv_file": str(imports / "sub" / "inside.csv")}
    assert csv_import.check(job)["rows_total"] == 6
