"""Hooks for the two APIs: auth, paging, retries, throttling and typed errors (one module each)."""
