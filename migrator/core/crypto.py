"""Encryption at rest for secrets such as connection API keys (Fernet, key from MIGRATOR_ENCRYPTION_KEY)."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted with the configured key (it was rotated or is corrupt)."""


@lru_cache(maxsize=4)
def _fernet(material: str) -> Fernet:
    try:
        return Fernet(material.encode())
    except (ValueError, TypeError):
        # Not a Fernet key: derive one, so a passphrase works too. The salt is fixed on purpose: the same
        # passphrase must yield the same key in every process.
        derived = hashlib.pbkdf2_hmac("sha256", material.encode(), b"migrator-secrets-v1", 200_000)
        return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(plaintext: str) -> str:
    return _fernet(settings.MIGRATOR_ENCRYPTION_KEY).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(settings.MIGRATOR_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "A stored API key cannot be decrypted with the current MIGRATOR_ENCRYPTION_KEY; enter the key again."
        ) from exc
