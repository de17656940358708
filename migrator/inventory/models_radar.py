"""Model radar: each model's shutdown date, from a connection's ``/models`` endpoint when one reported it,
otherwise from the table shipped with the project (``migrator.core.model_catalog``).

``model_state(model)`` is the one-model door other apps can use (the core assistants list, for instance);
``model_states(models)`` answers many at once with a single query.
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


@dataclass(frozen=True)
class RadarInfo(ModelInfo):
    """``ModelInfo`` plus where the shutdown date came from."""

    source: str = "table"  # "connection:<name>" | "table" | "unknown"

    @property
    def source_label(self) -> str:
        if self.source.startswith("connection:"):
            return f"/models of {self.source.split(':', 1)[1]}"
        return "shipped table" if self.source == "table" else "not known"


def _successor(model: str, catalog: ModelInfo) -> str | None:
    if catalog.successor:
        return catalog.successor
    lowered = model.lower()
    return "gpt-5.4-mini" if any(m in lowered for m in ("mini", "nano", "3.5")) else "gpt-5.5"


def model_states(models: Iterable[str]) -> dict[str, RadarInfo]:
    """RadarInfo for each model id (case-insensitive match against what connections reported)."""
    wanted = {m for m in models if m}
    reported: dict[str, tuple[date, str]] = {}
    if wanted:
        rows = (ReportedModel.objects.filter(model_id__in=wanted | {m.lower() for m in wanted},
                                             shutdown_date__isnull=False)
                .select_related("connection").order_by("seen_at"))
        for row in rows:  # the most recent report wins
            reported[row.model_id.lower()] = (row.shutdown_date, row.connection.name)
    result = {}
    for model in wanted:
        catalog = model_catalog.lookup(model)
        found = reported.get(model.lower())
        if found:
            when, connection = found
            result[model] = RadarInfo(model=model, shutdown_date=when, successor=_successor(model, catalog),
                                      known=True, source=f"connection:{connection}")
        else:
            result[model] = RadarInfo(model=model, shutdown_date=catalog.shutdown_date, successor=catalog.successor,
                                      known=catalog.known, source="table" if catalog.known else "unknown")
    return result


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
