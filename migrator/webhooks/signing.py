"""The signature scheme of outgoing webhooks (Stripe-style, so receivers know the pattern).

Each delivery carries ``X-Migrator-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256(secret, f"{t}.{raw body}"). Signing the timestamp with the body lets a receiver refuse
replays older than its tolerance; ``v1`` names the scheme so a future one can be sent alongside during a
migration. For a day after a secret rotation each delivery carries two ``v1`` values (new secret first, then
the old one), so a receiver still configured with either secret accepts it.

:func:`verify` is what a Python receiver needs; docs/webhooks.md shows the same check in a few lines.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-Migrator-Signature"
EVENT_ID_HEADER = "X-Migrator-Event-Id"
EVENT_TYPE_HEADER = "X-Migrator-Event"
DELIVERY_HEADER = "X-Migrator-Delivery"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The signature header is missing, malformed, too old, or does not match."""


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def compute(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header_value(secret: str | list[str], body: bytes, *, timestamp: int | None = None) -> str:
    """``t=<unix>,v1=<hex>``; with several secrets (during a rotation's overlap) one ``v1`` per secret."""
    t = int(time.time()) if timestamp is None else timestamp
    keys = [secret] if isinstance(secret, str) else list(secret)
    return f"t={t}," + ",".join(f"v1={compute(key, t, body)}" for key in keys)


def verify(secret: str, body: bytes, header: str | None, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS,
           now: float | None = None) -> int:
    """Check a delivery as a receiver would; returns the signed timestamp or raises :class:`SignatureError`."""
    if not header:
        raise SignatureError(f"No {SIGNATURE_HEADER} header.")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise SignatureError("The signature header has no valid t=<unix seconds>.") from None
    signatures = parts.get("v1") or []
    if not signatures:
        raise SignatureError("The signature header has no v1=<hex> signature.")
    current = time.time() if now is None else now
    if tolerance and abs(current - timestamp) > tolerance:
        raise SignatureError(f"The signature is {int(abs(current - timestamp))}s old (tolerance {tolerance}s).")
    expected = compute(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise SignatureError("The signature does not match the body and secret.")
    return timestamp
