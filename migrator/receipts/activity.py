"""Sentences for the receipts app's audit verbs (autodiscovered by migrator.core.activity)."""

from __future__ import annotations

from django.utils.safestring import SafeString

from migrator.core.activity import EventView, register, say


@register("migrator.receipt.exported")
def exported(e: EventView) -> SafeString:
    return say("{actor} downloaded the signed migration receipt of {obj} ({size} bytes).", actor=e.actor, obj=e.obj,
               size=str(e.data.get("bytes", "?")))
