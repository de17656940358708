"""Encryption at rest for secrets such as connection API keys (Fernet, keys from MIGRATOR_ENCRYPTION_KEY).

``MIGRATOR_ENCRYPTION_KEY`` may list several keys, comma-separated, newest first: the first encrypts, every
one decrypts (``MultiFernet``), so a rotation is "put the new key in front, run ``manage.py rotate_keys``, then
drop the old key". Each entry is a Fernet key or a passphrase (stretched with PBKDF2).
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted with any configured key (it was rotated away or is corrupt)."""


def is_fernet_key(material: str) -> bool:
    try:
        Fernet(material.encode())
    except (ValueError, TypeError):
        return False
    return True


@lru_cache(maxsize=16)
def _fernet(material: str) -> Fernet:
    if is_fernet_key(material):
        return Fernet(material.encode())
    # Not a Fernet key: derive one, so a passphrase works too. The salt is fixed on purpose: the same
    # passphrase must yield the same key in every process.
    derived = hashlib.pbkdf2_hmac("sha256", material.encode(), b"migrator-secrets-v1", 200_000)
    return Fernet(base64.urlsafe_b64encode(derived))


def configured_keys() -> list[str]:
    keys = getattr(settings, "MIGRATOR_ENCRYPTION_KEYS", None)
    if keys:
        return list(keys)
    return [k.strip() for k in settings.MIGRATOR_ENCRYPTION_KEY.split(",") if k.strip()]


def _multi() -> MultiFernet:
    return MultiFernet([_fernet(key) for key in configured_keys()])


def encrypt(plaintext: str) -> str:
    return _multi().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _multi().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "A stored API key cannot be decrypted with the configured MIGRATOR_ENCRYPTION_KEY; enter the key again."
        ) from exc


def rotate(token: str) -> str:
    """``token`` re-encrypted with the newest key (raises SecretUnreadable when no configured key reads it)."""
    try:
        return _multi().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("This stored secret cannot be decrypted with any configured key.") from exc


def encrypted_with_newest(token: str) -> bool:
    try:
        _fernet(configured_keys()[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


# --- strength, for the deploy check ----------------------------------------------------------------------------
MIN_PASSPHRASE = 32
KNOWN_WEAK = {"deploy-check-passphrase", "changeme", "change-me", "secret", "password"}


def weakness(material: str, *, secret_key: str = "") -> str:
    """Why ``material`` is too weak to protect stored API keys, or "" when it is fine."""
    if is_fernet_key(material):
        raw = base64.urlsafe_b64decode(material.encode())
        if len(set(raw)) < 16:
            return "it is a Fernet key with almost no randomness in it"
        return ""
    if material.lower() in KNOWN_WEAK or material.startswith("insecure"):
        return "it is a well-known placeholder"
    if secret_key and material == secret_key:
        return "it is the same as SECRET_KEY (one leak would expose both)"
    if len(material) < MIN_PASSPHRASE:
        return (f"it is only {len(material)} character{'' if len(material) == 1 else 's'} long; use a Fernet key "
                f"or a passphrase of at least {MIN_PASSPHRASE} characters")
    if len(set(material)) < 10:
        return "it uses fewer than 10 distinct characters"
    return ""
