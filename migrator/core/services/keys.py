"""Key rotation for stored API keys: re-encrypt every stored secret with the newest encryption key."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from migrator.core import crypto
from migrator.core.actors import require
from migrator.core.models import Connection
from migrator.core.services import audit

ROTATE_PERMISSION = "core.change_connection"


@dataclass
class RotationReport:
    rotated: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    keys: int = 0

    def to_dict(self) -> dict:
        return {"rotated": len(self.rotated), "already_current": len(self.current),
                "unreadable": self.unreadable, "keys_configured": self.keys}


def rotate_stored_keys(*, actor, dry_run: bool = False) -> RotationReport:
    """Re-encrypt each connection's API key with the first MIGRATOR_ENCRYPTION_KEY. A key no configured
    encryption key can read is reported (by connection name) and left alone: it has to be entered again."""
    require(actor, ROTATE_PERMISSION, action="rotate the encryption of stored API keys")
    report = RotationReport(keys=len(crypto.configured_keys()))
    with transaction.atomic():
        for connection in Connection.objects.select_for_update().exclude(api_key_encrypted="").order_by("pk"):
            token = connection.api_key_encrypted
            if crypto.encrypted_with_newest(token):
                report.current.append(connection.name)
                continue
            try:
                rotated = crypto.rotate(token)
            except crypto.SecretUnreadable:
                report.unreadable.append(connection.name)
                continue
            report.rotated.append(connection.name)
            if not dry_run:
                Connection.objects.filter(pk=connection.pk).update(api_key_encrypted=rotated)
        if not dry_run and report.rotated:
            audit.record(actor=actor, verb="migrator.connection.keys_rotated",
                         data={"connections": report.rotated, "unreadable": report.unreadable})
    return report
