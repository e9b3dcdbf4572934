"""Where the sources on HighLevel disagree: the answer the emulator gives by default, and the other
one behind a ``/_admin/config`` switch.

The default is always the answer a client is more likely to trip over, so that the pipeline is
tested against the harder case; the switch lets a test check the other reading too.

``unauthorized_body`` — a bad or missing bearer token.
    ``"live"`` (default): ``{"statusCode": 401, "message": "Invalid JWT"}``, the body the live API
    sent in GoHighLevel/highlevel-api-docs#213 (and which the existing clients in the field parse).
    ``"documented"``: the ``UnauthorizedDTO`` example of common-schemas.json,
    ``{"statusCode": 401, "message": "Invalid token: access token is invalid", "error": "Unauthorized"}``.
    The live body has no ``error`` key: a client that reads it fails only against the live shape.

``foreign_location`` — a valid Private Integration Token used on another location's data (or on a
location that does not exist).
    ``"403"`` (default): 403 ``"The token does not have access to this location."``, what v2
    endpoints answered in GoHighLevel/highlevel-api-docs#213 (``GET /invoices/:invoiceId``) and
    n8n-io/n8n#11353 (contacts). ``"401"``: 401 ``"This location is not accessible from this
    token."``, what the v3 custom-objects endpoints answered in n8n-io/n8n#37571. A 403 is the
    harder case: it is not the "token invalid" answer a client may already handle.

``version_check`` — which ``Version`` header values are accepted.
    ``"live"`` (default): the operation's documented date (2021-07-28; 2021-04-15 for
    conversations) and 2023-02-21, which HighLevel's versioning page lists as a supported version
    of the whole public API (marketplace.gohighlevel.com/docs/2023-02-21/Versioning) and which the
    official SDK ``@gohighlevel/api-client`` sends on every request by default since 3.0.0
    (``apiVersion: config.apiVersion || '2023-02-21'`` in dist/lib/HighLevel.js; 2.x sent
    2021-07-28). ``"documented"``: only the value in each operation's OpenAPI ``Version`` enum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

SDK_VERSION = "2023-02-21"

CHOICES: dict[str, tuple[str, ...]] = {
    "unauthorized_body": ("live", "documented"),
    "foreign_location": ("403", "401"),
    "version_check": ("live", "documented"),
}


@dataclass
class Behaviour:
    unauthorized_body: str = "live"
    foreign_location: str = "403"
    version_check: str = "live"

    def settings(self) -> dict[str, Any]:
        return asdict(self)

    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        """Apply the switches present in ``body``; unknown values are refused with ValueError."""
        for f in fields(self):
            if f.name in body and body[f.name] is not None:
                value = str(body[f.name])
                if value not in CHOICES[f.name]:
                    raise ValueError(f"{f.name} must be one of {', '.join(CHOICES[f.name])}")
                setattr(self, f.name, value)
        return self.settings()

    def reset(self) -> None:
        for f in fields(self):
            setattr(self, f.name, f.default)

    def versions(self, documented: str) -> set[str]:
        """The ``Version`` values an operation documented with ``documented`` accepts."""
        return {documented} if self.version_check == "documented" else {documented, SDK_VERSION}
