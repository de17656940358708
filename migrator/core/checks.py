"""System checks of our own. ``manage.py check --deploy`` runs them with Django's deployment checks."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

from migrator.core import crypto


@register(Tags.security, deploy=True)
def receipt_key_is_strong(app_configs=None, **kwargs) -> list[Error]:
    """Receipts are only as trustworthy as MIGRATOR_RECEIPT_KEY: set, strong, and not SECRET_KEY itself."""
    key = settings.MIGRATOR_RECEIPT_KEY
    why = ("it is not set (receipts would be signed with a key derived from SECRET_KEY)" if not key
           else crypto.weakness(key, secret_key=settings.SECRET_KEY))
    if not why:
        return []
    return [Error(f"MIGRATOR_RECEIPT_KEY is not fit to sign migration receipts: {why}.",
                  hint="Generate one with: python -c \"import secrets; print(secrets.token_urlsafe(48))\" and keep it: "
                       "a receipt verifies only with the key that signed it.",
                  id="migrator.E002")]


@register(Tags.security, deploy=True)
def encryption_keys_are_strong(app_configs=None, **kwargs) -> list[Error]:
    """Stored API keys are only as safe as MIGRATOR_ENCRYPTION_KEY: a 1-character key must not deploy."""
    errors = []
    for position, key in enumerate(crypto.configured_keys(), start=1):
        why = crypto.weakness(key, secret_key=settings.SECRET_KEY)
        if why:
            which = "MIGRATOR_ENCRYPTION_KEY" if position == 1 else f"MIGRATOR_ENCRYPTION_KEY entry {position}"
            errors.append(Error(
                f"{which} is too weak to protect stored API keys: {why}.",
                hint="Generate one with: python -c \"from cryptography.fernet import Fernet; "
                     "print(Fernet.generate_key().decode())\"",
                id="migrator.E001",
            ))
    return errors
