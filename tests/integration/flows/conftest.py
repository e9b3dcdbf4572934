"""Fixtures for flow tests: a connected integration over both emulators (qbo_crm_sync.local.sandbox)."""

from __future__ import annotations

from typing import Any

import pytest

from qbo_crm_sync.hooks.highlevel import HighLevelSettings
from qbo_crm_sync.hooks.quickbooks import QuickBooksSettings
from qbo_crm_sync.local.sandbox import Sandbox

LOCATION = "loc0FlowTests00000001"

Env = Sandbox


@pytest.fixture
def env(db_url: str, qbo: str, highlevel: str, qbo_settings: QuickBooksSettings, hl_settings: HighLevelSettings,
        fernet_key: str, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    monkeypatch.setenv("SYNC_DATABASE_URL", db_url)
    monkeypatch.setenv("SYNC_FERNET_KEY", fernet_key)
    return Sandbox.connect(db_url, qbo, highlevel, LOCATION, fernet_key,
                           qbo_settings=qbo_settings, hl_settings=hl_settings)


def run_cycle(env: Sandbox, module: Any, steps: tuple[str, ...] = ("extract", "transform", "load", "report"),
              label: str = "test") -> dict[str, Any]:
    """One run of every step of a flow module, as the DAG would run them; returns merged counts."""
    counts, _ = env.run_cycle(module, steps, label)
    return counts
