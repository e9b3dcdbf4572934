"""A real browser against a real Airflow: Debian's chromium driven by Playwright (no browser of its
own is downloaded), Airflow's API server with its UI, this project's plugin and the simple auth
manager's login form, the sync store and both emulators.

Skipped, with the reason, where chromium or Playwright is missing (`.ci/run` installs chromium).
Screenshots go to pytest's temporary directory, never into the repository.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from tests.support import ROOT, free_port

CHROMIUM = "/usr/bin/chromium"
# Quiet, self-contained headless runs: nothing fetched in the background, no first-run screens.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
USER, PASSWORD = "dana", "browser-test-" + secrets.token_hex(4)
HL_TOKEN = "demo-hl-token"


def _why_no_browser() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM}: install it with `apt-get install -y chromium chromium-driver`"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (requirements.txt pins it)"
    return None


@dataclass(frozen=True)
class Airflow:
    base: str
    home: Path
    fernet_key: str


@pytest.fixture(scope="module")
def airflow(database_url: str, qbo_emulator: str, highlevel_emulator: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    """`airflow api-server` (UI, API, plugins) on a free port, with a fresh metadata database."""
    reason = _why_no_browser()
    if reason:
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("airflow-home")
    (home / "dags").mkdir()
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    port = free_port()
    # localhost: the host the OAuth redirect comes back to (Intuit accepts no IP address there).
    base = f"http://localhost:{port}"
    fernet_key = Fernet.generate_key().decode()
    env = os.environ | {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        "AIRFLOW__API__BASE_URL": base,
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
        "SYNC_DATABASE_URL": database_url,
        "SYNC_FERNET_KEY": fernet_key,
        "AIRFLOW_CONN_QUICKBOOKS_DEFAULT": json.dumps({
            "conn_type": "quickbooks", "login": "demo-client-id", "password": "demo-client-secret",
            "extra": {"base_url": qbo_emulator, "oauth_base_url": qbo_emulator,
                      "redirect_uri": f"{base}/qb-connect/callback"}}),
        "AIRFLOW_CONN_HIGHLEVEL_DEFAULT": json.dumps({
            "conn_type": "highlevel", "password": HL_TOKEN, "extra": {"base_url": highlevel_emulator}}),
    }
    airflow_cli = str(Path(sys.executable).with_name("airflow"))
    log = home / "api-server.log"
    migrated = subprocess.run([airflow_cli, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    with log.open("w") as out:
        server = subprocess.Popen([airflow_cli, "api-server", "--port", str(port), "--workers", "1"], env=env,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/api/v2/monitor/health", timeout=5).ok:
                    break
            except requests.RequestException:  # not listening yet, or still starting up
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"airflow api-server did not start: {log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield Airflow(base, home, fernet_key)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the workers it started
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Playwright's sync API runs an event loop in this thread while it is open: it is closed with
    the module, so that later tests may run their own."""
    reason = _why_no_browser()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium) -> Iterator[object]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)  # a busy machine renders Airflow's UI slowly
    yield page
    context.close()


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Callable[..., Path]]:
    """``shots(page, name)`` saves a full-page screenshot under pytest's temporary directory."""
    folder = tmp_path_factory.mktemp(f"screenshots-{request.node.name[:40]}")
    taken: list[Path] = []

    def shoot(page, name: str) -> Path:
        path = folder / f"{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    yield shoot
    print(f"\nscreenshots in {folder}: " + ", ".join(p.name for p in taken))
