"""Standard Webhooks signatures (https://www.standardwebhooks.com), the scheme OpenAI signs its webhooks with.

A delivery carries ``webhook-id``, ``webhook-timestamp`` (unix seconds) and ``webhook-signature``: a
space-separated list of ``v1,<base64>`` entries, each HMAC-SHA256 of ``"{id}.{timestamp}.{raw body}"`` keyed
with the base64-decoded part of the ``whsec_…`` secret. Several entries appear while a secret is rotated; one
match is enough. The timestamp is signed too, so a delivery older (or newer) than the tolerance is refused:
a captured request cannot be replayed later.

Kept here, not taken from the ``openai`` SDK, so that verification does not depend on which SDK version a
deployment pins; tests check it against the SDK's own ``webhooks.verify_signature``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The delivery is unsigned, malformed, outside the tolerance, or signed with another secret."""


def _key(secret: str) -> bytes:
    raw = secret.strip()
    if raw.startswith(SECRET_PREFIX):
        raw = raw[len(SECRET_PREFIX):]
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        # OpenAI's secrets are base64; a secret that is not is used as it is (as the SDK does).
        return raw.encode()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` entry for one delivery (tests and benches send signed deliveries with it)."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), message, hashlib.sha256).digest()).decode()


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name) or headers.get(name.title()) or ""
    return value.strip()


def verify(secrets: Iterable[str], headers: Mapping[str, str], body: bytes, *,
           tolerance: int = TOLERANCE_SECONDS, now: float | None = None) -> tuple[str, int]:
    """Check one delivery; returns (webhook id, timestamp) or raises :class:`SignatureError` saying why."""
    webhook_id = _header(headers, "webhook-id")
    stamp = _header(headers, "webhook-timestamp")
    signature = _header(headers, "webhook-signature")
    missing = [n for n, v in (("webhook-id", webhook_id), ("webhook-timestamp", stamp),
                              ("webhook-signature", signature)) if not v]
    if missing:
        raise SignatureError(f"Missing the {', '.join(missing)} header{'s' if len(missing) > 1 else ''} "
                             "(Standard Webhooks).")
    if len(webhook_id) > 200:
        raise SignatureError("The webhook-id header is longer than 200 characters.")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError("The webhook-timestamp header is not unix seconds.") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(f"The delivery is signed {int(current - timestamp)} s from now; at most {tolerance} s "
                             "either way is accepted (a replay, or a clock far off).")
    offered = [entry.partition(",")[2] for entry in signature.split() if entry.startswith("v1,")]
    if not offered:
        raise SignatureError("The webhook-signature header has no v1,<base64> entry.")
    keys = [s for s in secrets if s]
    for secret in keys:
        expected = sign(secret, webhook_id, timestamp, body).partition(",")[2]
        if any(hmac.compare_digest(expected, sig) for sig in offered):
            return webhook_id, timestamp
    raise SignatureError("The signature does not match the body with the configured secret.")
