"""What the contacts flow calls itself, in the store and in the CRM."""

FLOW = "contacts"
# The integration's own tag: added to every contact it creates or links, never removing another.
TAG = "quickbooks"
# ``source`` of the contacts it creates (an existing contact keeps its own).
SOURCE = "QuickBooks Online"
