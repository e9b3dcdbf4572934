"""A local stand-in for the QuickBooks Online Accounting API v3 and Intuit's OAuth2 endpoints."""

from emulators.quickbooks.app import create_app

__all__ = ["create_app"]
