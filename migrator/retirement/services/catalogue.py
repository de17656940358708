"""Sync the one model catalogue: read each live connection's ``GET /v1/models`` (shutdown dates), merge the
catalogue file (named successors, dates the API does not give), store the result, and tell people what changed.

A change worth hearing about is a named successor that changed, or a shutdown date that appeared or moved. Each
becomes a notice (the engineers' inbox item, also shown on the dashboard) and a ``models.catalogue_changed``
webhook, both naming the flows that stand on the model. The first sync of an installation records the baseline
silently: everything would be "new" then, and nobody needs 150 notices about models nobody uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

import openai
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from migrator.core import model_catalog
from migrator.core.actors import require, system
from migrator.core.models import Connection
from migrator.core.openai_client import describe_error
from migrator.core.services import ServiceError, audit
from migrator.inventory.models_radar import merge, reported_dates
from migrator.inventory.services.connections import refresh_models
from migrator.retirement.models import CatalogueEntry, CatalogueNotice, NoticeKind
from migrator.retirement.services.exposure import flows_on
from migrator.webhooks.services import emit

# What the daily sync runs as: it may read connections and write the catalogue, nothing else.
SYNC_ACTOR = system("catalogue-sync", "the daily model catalogue sync", perms={"retirement.sync_catalogue"})


@dataclass
class SyncResult:
    entries: list[CatalogueEntry]
    notices: list[CatalogueNotice] = field(default_factory=list)
    connections: dict[str, str] = field(default_factory=dict)  # name -> "N models" or the error
    baseline: bool = False

    def as_json(self) -> dict[str, Any]:
        """The exact shape of ``manage.py models sync --json``."""
        return {"models": [entry_json(e) for e in self.entries]}


def entry_json(entry: CatalogueEntry) -> dict[str, Any]:
    return {"id": entry.model_id, "shutdown_date": entry.shutdown_date.isoformat() if entry.shutdown_date else None,
            "successor": entry.successor or None, "source": entry.source, "seen_at": entry.seen_at.isoformat()}


def live_connections(name: str | None = None):
    """Connections to read ``/models`` from: those with an API key (or the sandbox, which needs none)."""
    qs = Connection.objects.order_by("name")
    if name is not None:
        found = qs.filter(name=name).first()
        if found is None:
            known = ", ".join(qs.values_list("name", flat=True)) or "none"
            raise ServiceError(f"No connection named {name!r} (connections: {known}).")
        return [found]
    return [c for c in qs if c.has_api_key or c.is_sandbox]


def _merged() -> dict[str, tuple[model_catalog.ModelInfo, datetime]]:
    """Every model the file or any connection names, merged, with when its date's source was seen."""
    shipped = model_catalog.shipped()
    reported = reported_dates()
    out: dict[str, tuple[model_catalog.ModelInfo, datetime]] = {}
    file_seen = datetime.combine(datetime.fromisoformat(shipped.updated).date(), time(), tzinfo=UTC) \
        if shipped.updated else timezone.now()
    for key in sorted(set(shipped.entries) | set(reported)):
        base = shipped.entries.get(key)
        name = base.model if base else key
        info = merge(name, model_catalog.shipped_lookup(name), reported.get(key, []))
        seen = file_seen
        if info.source.startswith("connection:"):
            conn = info.source.split(":", 1)[1]
            seen = next((s for w, n, s in reported.get(key, []) if n == conn), file_seen)
        elif base is not None and base.successor_seen is not None:
            seen = datetime.combine(base.successor_seen, time(), tzinfo=UTC)
        out[name] = (info, seen)
    return out


def _changes(old: CatalogueEntry | None, info: model_catalog.ModelInfo) -> list[tuple[str, str, str]]:
    if old is None:
        return [(NoticeKind.NEW_SHUTDOWN, "", info.shutdown_date.isoformat())] if info.shutdown_date else []
    out = []
    new_successor = info.successor or ""
    if old.successor and new_successor != old.successor:
        out.append((NoticeKind.SUCCESSOR_CHANGED, old.successor, new_successor))
    if info.shutdown_date and old.shutdown_date is None:
        out.append((NoticeKind.NEW_SHUTDOWN, "", info.shutdown_date.isoformat()))
    elif info.shutdown_date and old.shutdown_date and info.shutdown_date != old.shutdown_date:
        out.append((NoticeKind.SHUTDOWN_MOVED, old.shutdown_date.isoformat(), info.shutdown_date.isoformat()))
    return out


def sync(*, actor, connection_name: str | None = None, refresh: bool = True) -> SyncResult:
    """Refresh ``/models`` of each live connection (or the named one), merge the file, store, notify."""
    require(actor, "retirement.sync_catalogue", action="sync the model catalogue")
    result_connections: dict[str, str] = {}
    if refresh:
        for connection in live_connections(connection_name):
            try:
                result_connections[connection.name] = f"{refresh_models(connection=connection)} models"
            except openai.APIError as exc:  # one unreachable connection must not hide what the others say
                result_connections[connection.name] = f"not read: {describe_error(exc)}"
    try:
        merged = _merged()
    except model_catalog.CatalogueFileError as exc:
        raise ServiceError(str(exc)) from None
    now = timezone.now()
    with transaction.atomic():
        existing = {e.model_id: e for e in CatalogueEntry.objects.select_for_update()}
        baseline = not existing
        pending: list[tuple[str, str, str, str, model_catalog.ModelInfo]] = []
        for name, (info, seen) in merged.items():
            old = existing.get(name)
            if not baseline:
                pending += [(kind, name, before, after, info) for kind, before, after in _changes(old, info)]
            fields = {"shutdown_date": info.shutdown_date, "successor": info.successor or "", "source": info.source,
                      "successor_source": info.successor_source[:300], "seen_at": seen, "synced_at": now}
            if old is None:
                CatalogueEntry.objects.create(model_id=name, **fields)
            elif any(getattr(old, k) != v for k, v in fields.items() if k != "synced_at"):
                CatalogueEntry.objects.filter(pk=old.pk).update(**fields)
        CatalogueEntry.objects.filter(model_id__in=set(existing) - set(merged)).delete()
        CatalogueEntry.objects.update(synced_at=now)
        notices = _notify(pending, actor=actor)
        audit.record(actor=actor, verb="migrator.catalogue.synced", data={
            "connections": result_connections, "models": len(merged), "notices": [n.pk for n in notices],
            "baseline": baseline, "file": model_catalog.shipped().path})
    entries = list(CatalogueEntry.objects.order_by("model_id"))
    return SyncResult(entries=entries, notices=notices, connections=result_connections, baseline=baseline)


def _notify(pending: list[tuple[str, str, str, str, model_catalog.ModelInfo]], *, actor) -> list[CatalogueNotice]:
    if not pending:
        return []
    affected = flows_on({name for _, name, _, _, _ in pending})
    notices = []
    for kind, name, before, after, info in pending:
        flows = [{"slug": f.slug, "name": f.name} for f in affected.get(name.lower(), [])]
        source = info.successor_source if kind == NoticeKind.SUCCESSOR_CHANGED else info.source_label
        notice = CatalogueNotice.objects.create(kind=kind, model_id=name, before=before, after=after,
                                                source=source[:300], flows=flows)
        notices.append(notice)
        audit.record(actor=actor, verb="migrator.catalogue.changed", obj=notice, before={"value": before or None},
                     after={"value": after or None}, data={"model": name, "kind": kind, "flows": [f["slug"] for f in flows]})
        emit(event="models.catalogue_changed", actor=actor, payload={
            "notice": {"id": notice.pk, "kind": kind, "summary": notice.summary,
                       "url": reverse("retirement:notices")},
            "model": name, "before": before or None, "after": after or None, "source": source,
            "shutdown_date": info.shutdown_date.isoformat() if info.shutdown_date else None,
            "successor": info.successor, "flows": flows})
    return notices


def acknowledge(*, notice_id: int, actor) -> CatalogueNotice:
    require(actor, "retirement.change_cataloguenotice", action="acknowledge catalogue notices")
    with transaction.atomic():
        notice = CatalogueNotice.objects.select_for_update().filter(pk=notice_id).first()
        if notice is None:
            raise ServiceError(f"Catalogue notice #{notice_id} does not exist.")
        if notice.acknowledged_at is None:
            notice.acknowledged_at = timezone.now()
            notice.acknowledged_by = actor if getattr(actor, "pk", None) else None
            notice.save(update_fields=["acknowledged_at", "acknowledged_by"])
            audit.record(actor=actor, verb="migrator.catalogue.notice_acknowledged", obj=notice)
    return notice


def open_notices():
    return CatalogueNotice.objects.filter(acknowledged_at__isnull=True)
