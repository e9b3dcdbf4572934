"""A local stand-in for the QuickBooks Online Accounting API v3 and Intuit's OAuth2 endpoints.

Where QBO is strict the emulator is too, and where sources disagree it takes the reading that refuses
more, with the other behind a ``/_admin/config`` switch (``store.Config``):

- ``requestid_replay`` (on): a repeated requestid answers the first answer, errors included.
- ``strict_batch_bid`` (on): with a batch requestid, bIds over 10 characters are refused; off, the
  requestid and bId together may hold 50.
- ``employee_requires_both_names`` (on): an Employee needs GivenName and FamilyName; off, one of them.
- Limits, all scaled by ``window_s`` (60): ``requests_per_window`` (500), ``requests_per_second`` (10),
  ``concurrent_limit`` (10), ``batch_per_window`` (40), ``batch_max_items`` (30).

A company's Preferences and CompanyInfo are seeded with ``/_admin/seed`` (``companies[]``) or changed
with ``POST /_admin/preferences/{realm}``; see ``company_settings`` for what the emulator acts on.
"""

from emulators.quickbooks.app import create_app

__all__ = ["create_app"]
