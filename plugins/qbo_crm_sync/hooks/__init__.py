"""Hooks for the two APIs: auth, paging, retries, throttling and typed errors."""

from qbo_crm_sync.hooks.highlevel import HighLevelHook, HighLevelSettings
from qbo_crm_sync.hooks.quickbooks import QuickBooksHook, QuickBooksSettings, quote, request_id

__all__ = [
    "HighLevelHook",
    "HighLevelSettings",
    "QuickBooksHook",
    "QuickBooksSettings",
    "quote",
    "request_id",
]
