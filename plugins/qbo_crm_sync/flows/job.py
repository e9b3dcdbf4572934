"""What a flow step is handed: the store connection, the integration, its run, and lazy hooks.

The same object is built by the DAG tasks, the tests and the benchmark, so a flow step is a plain
function ``step(job) -> counts`` wherever it runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qbo_crm_sync import config
from qbo_crm_sync.store import db
from qbo_crm_sync.store.integrations import Integration
from qbo_crm_sync.store.tracking import RunContext

if TYPE_CHECKING:
    from qbo_crm_sync.hooks.highlevel import HighLevelHook
    from qbo_crm_sync.hooks.quickbooks import QuickBooksHook

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One flow run for one integration. ``qbo``/``crm`` may be injected (tests, benchmark)."""

    db_url: str
    integration: Integration
    run_id: int
    ctx: RunContext
    flow: str
    qbo_hook: QuickBooksHook | None = None
    crm_hook: HighLevelHook | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def connect(self) -> db.Connection:
        return db.connect(self.db_url)

    @property
    def qbo(self) -> QuickBooksHook:
        if self.qbo_hook is None:
            from qbo_crm_sync.hooks.quickbooks import QuickBooksHook
            from qbo_crm_sync.store.tokens import TokenStore

            tokens = TokenStore(lambda: db.connect(self.db_url), config.fernet_key())
            # This integration's own grant: another location on the same company has its own.
            self.qbo_hook = QuickBooksHook(self.integration.realm_id, tokens, token_key=self.integration.id)
        return self.qbo_hook

    @property
    def crm(self) -> HighLevelHook:
        if self.crm_hook is None:
            from qbo_crm_sync.hooks.highlevel import HighLevelHook

            conn_id = self.integration.settings.get("crm_conn_id") or config.HIGHLEVEL_CONN_ID
            self.crm_hook = HighLevelHook(self.integration.location_id, highlevel_conn_id=conn_id)
        return self.crm_hook
