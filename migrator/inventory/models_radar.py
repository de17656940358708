"""Model radar: each model's shutdown date and successor from the one catalogue (``migrator.core.model_catalog``):
the catalogue file merged with what each connection's ``/models`` endpoint reported, the earliest date winning.

``model_states(models)`` is the resolver the catalogue asks (registered in ``apps.py``); ``model_state(model)``
is the one-model door other apps can use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Count, F, Sum, Window
from django.db.models.functions import RowNumber

from migrator.core import model_catalog
from migrator.core.model_catalog import ModelInfo
from migrator.core.models import Assistant
from migrator.inventory.models import ReportedModel

STATE_ORDER = {"retired": 0, "retiring": 1, "unknown": 2, "current": 3}

# Kept as a name for the pages and callers that say "radar info"; the catalogue's ModelInfo carries the source.
RadarInfo = ModelInfo


def reported_dates(models: Iterable[str] | None = None) -> dict[str, list[tuple[date | None, str, object]]]:
    """Lower-cased model id -> [(shutdown_date, connection name, seen_at)] for every connection that listed it."""
    rows = ReportedModel.objects.select_related("connection").order_by("seen_at", "pk")
    if models is not None:
        wanted = {m for m in models if m}
        if not wanted:
            return {}
        rows = rows.filter(model_id__in=wanted | {m.lower() for m in wanted})
    out: dict[str, list[tuple[date | None, str, object]]] = {}
    for row in rows.only("model_id", "shutdown_date", "seen_at", "connection__name"):
        out.setdefault(row.model_id.lower(), []).append((row.shutdown_date, row.connection.name, row.seen_at))
    return out


def merge(model: str, shipped: ModelInfo, reports: list[tuple[date | None, str, object]]) -> ModelInfo:
    """The file's entry with each connection's report: the earliest shutdown date any source gives wins (a
    flow must be off the model by then), the successor is the file's (``/models`` never names one)."""
    best_date, best_source = shipped.shutdown_date, shipped.source if shipped.known else "unknown"
    for when, name, _seen in reports:
        if when is not None and (best_date is None or when < best_date):
            best_date, best_source = when, f"connection:{name}"
    return ModelInfo(model=model, shutdown_date=best_date, successor=shipped.successor,
                     known=shipped.known or bool(reports), source=best_source,
                     successor_source=shipped.successor_source, successor_seen=shipped.successor_seen)


def model_states(models: Iterable[str]) -> dict[str, ModelInfo]:
    """ModelInfo for each model id (case-insensitive match against what connections reported)."""
    wanted = {m for m in models if m}
    reported = reported_dates(wanted)
    return {m: merge(m, model_catalog.shipped_lookup(m), reported.get(m.lower(), [])) for m in wanted}


def model_state(model: str) -> RadarInfo:
    """Shutdown date, successor and ``state()`` ('retired' | 'retiring' | 'current' | 'unknown') of one model."""
    if not model:
        return RadarInfo(model=model, shutdown_date=None, successor=None, known=False, source="unknown")
    return model_states([model])[model]


@dataclass
class RadarRow:
    model: str
    info: RadarInfo
    state: str
    assistants: list[Assistant]
    assistant_count: int
    messages: int

    @property
    def days_left(self) -> int | None:
        return self.info.days_left()

    @property
    def days_ago(self) -> int | None:
        days = self.days_left
        return None if days is None else -days


SHOWN_PER_MODEL = 12


def radar(queryset=None, today: date | None = None) -> list[RadarRow]:
    """One row per model in use: retired first, then retiring soonest, unknown, current."""
    assistants = queryset if queryset is not None else Assistant.objects.all()
    usage = {row["model"]: row for row in assistants.exclude(model="").order_by().values("model")
             .annotate(n=Count("pk"), messages=Sum("message_count"))}
    infos = model_states(usage)
    by_model: dict[str, list[Assistant]] = {}
    # The twelve busiest per model, picked by the database, never every assistant.
    fields = ("pk", "name", "legacy_id", "model", "message_count", "status")
    if connection.features.supports_slicing_ordering_in_compound and len(usage) > 1:
        # PostgreSQL: one LIMIT 12 index range of core_asst_model_busy_idx per model, glued by UNION ALL.
        parts = [assistants.filter(model=model).order_by("-message_count", "name").only(*fields)[:SHOWN_PER_MODEL]
                 for model in usage]
        busiest = parts[0].union(*parts[1:], all=True)
    else:  # SQLite: ROW_NUMBER per model, ordered exactly as the index
        busiest = (assistants.exclude(model="")
                   .annotate(rank=Window(RowNumber(), partition_by=[F("model")],
                                         order_by=[F("message_count").desc(), F("name").asc()]))
                   .filter(rank__lte=SHOWN_PER_MODEL)
                   .order_by("model", "-message_count", "name", "pk")
                   .only(*fields))
    for assistant in busiest:
        by_model.setdefault(assistant.model, []).append(assistant)
    for bucket in by_model.values():  # UNION ALL keeps no order across its parts
        bucket.sort(key=lambda a: (-a.message_count, a.name))
    rows = []
    for model, row in usage.items():
        info = infos[model]
        rows.append(RadarRow(model=model, info=info, state=info.state(today), assistants=by_model.get(model, []),
                             assistant_count=row["n"], messages=row["messages"] or 0))
    far = date.max
    rows.sort(key=lambda r: (STATE_ORDER.get(r.state, 9), r.info.shutdown_date or far, -r.messages, r.model))
    return rows
