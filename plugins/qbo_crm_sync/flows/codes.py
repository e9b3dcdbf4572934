"""Short deterministic codes for QBO numbers (DocNumber, PaymentRefNum: at most 21 characters).

A code names one logical write for good: the same parts always give the same code, so a write sent
again is found by it (flows/qbo_batch_log.py) instead of being made twice.
"""

from __future__ import annotations

import hashlib

_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def base36(number: int, width: int) -> str:
    """``number`` in base 36 (digits and capitals), left-padded with zeros to ``width``."""
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_BASE36[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def digest_code(prefix: str, text: str, width: int = 19) -> str:
    """``prefix`` + ``width`` base-36 digits of SHA-256 over ``text`` (19 digits: 98 bits)."""
    digest = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:13], "big")
    return prefix + base36(digest % 36**width, width)
