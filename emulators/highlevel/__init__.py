"""A local stand-in for HighLevel's LeadConnector API v2: contacts, payments, invoices, conversations.

Run it with ``python -m emulators.highlevel --port 8802``.
"""

from emulators.highlevel.app import create_app

__all__ = ["create_app"]
