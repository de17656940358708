"""Which model each flow stands on, and how many days it has left: the earliest shutdown date any source gives
for the model production serves (or would serve), and whether the flow can still finish its move in time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from migrator.core import model_catalog
from migrator.core.model_catalog import ModelInfo
from migrator.core.models import Flow
from migrator.core.status import FlowStatus
from migrator.cutover.models import OPEN_REQUEST, CutoverRequest, FlowRollout
from migrator.prompts.models import LabelName, PromptLabel

# Days a move still needs from each point, so "will not finish in time" is a rule people can read: preparing a
# candidate with its tool tests and validation (7), the support lead's decision (3), a ramp to 100% (4).
PREPARE_DAYS, DECIDE_DAYS, RAMP_DAYS = 7, 3, 4


@dataclass(frozen=True)
class FlowDeadline:
    flow_id: int
    model: str  # what production serves (or, before the first cutover, the approved version's model)
    info: ModelInfo
    moving_to: str  # the model of the candidate being ramped or put forward, "" when none
    days_needed: int  # days the move still needs (0: the flow is safe or nothing is known)

    @property
    def shutdown_date(self) -> date | None:
        return self.info.shutdown_date

    @property
    def successor(self) -> str:
        return self.info.successor or ""

    def days_left(self, today: date) -> int | None:
        return self.info.days_left(today)

    def late(self, today: date) -> bool:
        """Red: the model shuts down before the remaining steps of the move can be done."""
        days = self.days_left(today)
        return days is not None and self.days_needed > 0 and days < self.days_needed


def _safe(model: str, info: ModelInfo, production_info: ModelInfo) -> bool:
    """A candidate moves the flow off its deadline if it is on another model that shuts down later (or never)."""
    if not model or model == production_info.model:
        return False
    when = production_info.shutdown_date
    return info.shutdown_date is None or (when is not None and info.shutdown_date > when)


def flow_deadlines(flows: Iterable[Flow]) -> dict[int, FlowDeadline]:
    """One entry per flow, from a fixed number of queries whatever the number of flows."""
    flows = list(flows)
    ids = [f.pk for f in flows]
    rollouts = {r.flow_id: r for r in FlowRollout.objects.filter(flow_id__in=ids).select_related("production",
                                                                                                  "candidate")}
    approved = {label.assistant_id: label.version for label in PromptLabel.objects.filter(
        assistant_id__in={f.assistant_id for f in flows}, name=LabelName.APPROVED).select_related("version")}
    open_requests = {r.flow_id: r for r in CutoverRequest.objects.filter(flow_id__in=ids, status__in=OPEN_REQUEST)
                     .select_related("version")}
    models: dict[int, tuple[str, str]] = {}
    for flow in flows:
        rollout = rollouts.get(flow.pk)
        if rollout and rollout.production_id:
            current = str(rollout.production.config.get("model") or "")
        elif flow.assistant_id in approved:
            current = str(approved[flow.assistant_id].config.get("model") or "")
        else:
            current = flow.assistant.model
        moving = ""
        if rollout and rollout.candidate_id:
            moving = str(rollout.candidate.config.get("model") or "")
        elif flow.pk in open_requests:
            moving = str(open_requests[flow.pk].version.config.get("model") or "")
        models[flow.pk] = (current, moving)
    infos = model_catalog.resolve_many(m for pair in models.values() for m in pair if m)
    out: dict[int, FlowDeadline] = {}
    for flow in flows:
        current, moving = models[flow.pk]
        info = infos.get(current) or model_catalog.ModelInfo(current, None, None, False, source="unknown")
        needed = 0
        if info.shutdown_date is not None:
            if moving and _safe(moving, infos[moving], info):
                needed = RAMP_DAYS if flow.status in (FlowStatus.APPROVED, FlowStatus.ROLLING_OUT) else (
                    DECIDE_DAYS + RAMP_DAYS)
            else:
                needed = PREPARE_DAYS + DECIDE_DAYS + RAMP_DAYS
        out[flow.pk] = FlowDeadline(flow_id=flow.pk, model=current, info=info, moving_to=moving,
                                    days_needed=needed)
    return out


def flows_on(models: Iterable[str], flows=None) -> dict[str, list[Flow]]:
    """Model id (lower-cased) -> the flows that stand on it, for notices."""
    wanted = {m.lower() for m in models}
    qs = (flows if flows is not None else Flow.objects.all()).select_related("assistant").order_by("slug")
    flows = list(qs)
    out: dict[str, list[Flow]] = {m: [] for m in wanted}
    deadlines = flow_deadlines(flows)
    for flow in flows:
        model = deadlines[flow.pk].model.lower()
        if model in wanted:
            out[model].append(flow)
    return out


def with_shutdown(qs):
    """``qs`` of flows annotated with ``current_model`` and ``shutdown`` (the catalogue as last synced), in the
    database, so a list of thousands of flows sorts by days left a page at a time. (KT() cannot follow a relation
    to a JSON field: on PostgreSQL it read the foreign key as JSON.)"""
    from django.db.models import CharField, F, OuterRef, Subquery
    from django.db.models.fields.json import KeyTextTransform
    from django.db.models.functions import Coalesce

    from migrator.retirement.models import CatalogueEntry

    serving = (FlowRollout.objects.filter(flow=OuterRef("pk"), production__isnull=False)
               .values(m=KeyTextTransform("model", "production__config"))[:1])
    approved = (PromptLabel.objects.filter(assistant=OuterRef("assistant_id"), name=LabelName.APPROVED)
                .values(m=KeyTextTransform("model", "version__config"))[:1])
    qs = qs.annotate(current_model=Coalesce(Subquery(serving), Subquery(approved), F("assistant__model"),
                                            output_field=CharField()))
    return qs.annotate(shutdown=Subquery(CatalogueEntry.objects.filter(model_id=OuterRef("current_model"))
                                         .values("shutdown_date")[:1]))


def order_by_days_left(qs):
    from django.db.models import F

    return with_shutdown(qs).order_by(F("shutdown").asc(nulls_last=True), "name", "pk")


def soonest_flow_ids(limit: int) -> list[int]:
    """The ``limit`` flows whose current model (as :func:`with_shutdown` defines it) shuts down soonest, in the
    order of :func:`order_by_days_left`, flows without a date left out.

    The same rule as a join: the catalogue's dated models are few, and hash joins read each table once. The
    annotation's correlated subqueries, asked to sort every flow, ran three lookups a flow, and at 20,000 flows
    PostgreSQL also spent seconds JIT-compiling the plan; this is the dashboard's days-left card."""
    from django.db import connection

    from migrator.core.models import Assistant
    from migrator.prompts.models import PromptVersion
    from migrator.retirement.models import CatalogueEntry

    if not CatalogueEntry.objects.filter(shutdown_date__isnull=False).exists():
        return []
    q = connection.ops.quote_name
    model_of = ("{}.config ->> 'model'" if connection.vendor == "postgresql"
                else "json_extract({}.config, '$.model')")
    sql = f"""
        SELECT f.id FROM {q(Flow._meta.db_table)} f
        JOIN {q(Assistant._meta.db_table)} a ON a.id = f.assistant_id
        LEFT JOIN {q(FlowRollout._meta.db_table)} r ON r.flow_id = f.id AND r.production_id IS NOT NULL
        LEFT JOIN {q(PromptVersion._meta.db_table)} pv ON pv.id = r.production_id
        LEFT JOIN {q(PromptLabel._meta.db_table)} l ON l.assistant_id = f.assistant_id AND l.name = %s
        LEFT JOIN {q(PromptVersion._meta.db_table)} av ON av.id = l.version_id
        JOIN {q(CatalogueEntry._meta.db_table)} c
          ON c.model_id = COALESCE({model_of.format('pv')}, {model_of.format('av')}, a.model)
        WHERE c.shutdown_date IS NOT NULL
        ORDER BY c.shutdown_date, f.name, f.id
        LIMIT %s"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [LabelName.APPROVED.value, limit])
        return [row[0] for row in cursor.fetchall()]

