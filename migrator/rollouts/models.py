"""Live outcomes from production (reported by migrator-client) and the guard on each flow's rollout.

Ingest is append-only: a batch row (idempotency), raw rows (kept for ``OUTCOME_RAW_HOURS``), and per-minute
aggregates per flow, release and side, added to in SQL with ``INSERT … ON CONFLICT DO UPDATE SET n = n + …``
(``OutcomeMinute`` and the latency/TTFT histogram rows ``OutcomeHistogram``). Pages read with plain selects
(MVCC): no page ever waits on an ingest lock.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class OutcomeBatch(models.Model):
    """One accepted batch; its id makes a retried POST a no-op."""

    flow = models.ForeignKey("core.Flow", on_delete=models.CASCADE, related_name="+")
    batch_id = models.CharField(max_length=64)
    count = models.PositiveIntegerField()
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "batch_id"], name="rollouts_batch_once")]

    def __str__(self) -> str:
        return f"Outcome batch {self.batch_id}"


class OutcomeKey(models.Model):
    """The key every outcome row shares: a flow, the release and side (production | candidate | shadow) that
    answered, and the minute it falls in. The flow is not indexed on its own: each table's index or unique key
    starts with it."""

    flow = models.ForeignKey("core.Flow", on_delete=models.CASCADE, related_name="+", db_index=False)
    release = models.CharField(max_length=64)
    role = models.CharField(max_length=16)
    minute = models.DateTimeField()

    class Meta:
        abstract = True


class Outcome(OutcomeKey):
    """One production call as the client saw it (no user content). Raw rows are trimmed after a window."""

    id = models.BigAutoField(primary_key=True)
    received_at = models.DateTimeField()
    model = models.CharField(max_length=100, blank=True)
    latency_ms = models.FloatField()
    ttft_ms = models.FloatField(null=True)
    error = models.CharField(max_length=100, blank=True)
    schema_valid = models.BooleanField(null=True)
    refusal = models.BooleanField(default=False)
    tool_calls = models.CharField(max_length=300, blank=True, help_text="Function names, comma-separated.")
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.FloatField(null=True)
    agreement = models.FloatField(null=True, help_text="Shadow: similarity with what production answered.")

    class Meta:
        indexes = [models.Index(fields=["flow", "minute"], name="rollouts_outcome_flow_min"),
                   models.Index(fields=["received_at"], name="rollouts_outcome_received")]

    def __str__(self) -> str:
        return f"Outcome of {self.release[:12]} at {self.minute:%H:%M}"


class OutcomeMinute(OutcomeKey):
    """Per-minute totals of one flow, release and side; percentiles come from ``OutcomeHistogram``."""

    n = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    schema_checked = models.PositiveIntegerField(default=0)
    schema_invalid = models.PositiveIntegerField(default=0)
    refusals = models.PositiveIntegerField(default=0)
    with_tools = models.PositiveIntegerField(default=0)
    ttft_n = models.PositiveIntegerField(default=0)
    latency_sum = models.FloatField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cost_usd = models.FloatField(default=0)
    agreement_n = models.PositiveIntegerField(default=0)
    agreement_sum = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "minute", "release", "role"],
                                               name="rollouts_minute_key")]

    def __str__(self) -> str:
        return f"{self.release[:12]} {self.role} at {self.minute:%H:%M}: {self.n}"


class OutcomeHistogram(OutcomeKey):
    """Latency (``metric`` "l") and time-to-first-token ("t") counts per log bucket and minute."""

    metric = models.CharField(max_length=1)
    bucket = models.SmallIntegerField()
    n = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "minute", "release", "role", "metric", "bucket"],
                                               name="rollouts_histogram_key")]

    def __str__(self) -> str:
        return f"{self.release[:12]} {self.metric}{self.bucket}: {self.n}"


class GuardAction(models.TextChoices):
    PAUSE = "pause", "Pause the ramp"
    ROLLBACK = "rollback", "Roll back"


class GuardState(models.TextChoices):
    WATCHING = "watching", "Watching"
    HEALTHY = "healthy", "Healthy"
    BREACHED = "breached", "Breached"
    PAUSED = "paused", "Paused (breach)"
    ROLLED_BACK = "rolled_back", "Rolled back (breach)"
    OFF = "off", "Off"


G = GuardState
# A step is live while it is watched (watching, healthy); an evaluation judges it again (watching or healthy) or
# stops it on a breach (paused, or rolled back by the guard). A rollback the cutover refused (rolled back by hand
# meanwhile) leaves it paused; an OpenAI alert pauses any guard not paused yet. Setting the guard again starts
# the step afresh from anywhere. BREACHED is a verdict, never stored (the step stops paused or rolled back), and
# nothing writes OFF: neither is a source or a target.
GUARD_TRANSITIONS: dict[str, frozenset[str]] = {
    G.WATCHING: frozenset({G.WATCHING, G.HEALTHY, G.PAUSED, G.ROLLED_BACK}),
    G.HEALTHY: frozenset({G.WATCHING, G.HEALTHY, G.PAUSED, G.ROLLED_BACK}),
    G.ROLLED_BACK: frozenset({G.WATCHING, G.PAUSED}),
    G.PAUSED: frozenset({G.WATCHING}),
}
GUARD_LIVE = (G.WATCHING, G.HEALTHY)


class Guard(models.Model):
    """The support lead's guardrails for a flow's ramp steps, and what the last evaluation found."""

    flow = models.OneToOneField("core.Flow", on_delete=models.CASCADE, related_name="guard")
    min_sample = models.PositiveIntegerField(default=200, help_text="Candidate outcomes before any decision.")
    # Null only on a guard an OpenAI alert created to pause a ramp nobody guarded: it judges nothing until set.
    max_error_rate_increase = models.FloatField(null=True, blank=True,
                                                help_text="Largest allowed error-rate worsening (0.02 = 2 points).")
    max_schema_invalid_increase = models.FloatField(null=True, blank=True)
    max_tool_parity_drop = models.FloatField(null=True, blank=True)
    max_p95_latency_ratio = models.FloatField(null=True, blank=True)
    soak_minutes = models.PositiveIntegerField(default=0, help_text="A step must soak this long to be healthy.")
    action = models.CharField(max_length=16, choices=GuardAction.choices, default=GuardAction.PAUSE)
    auto_advance = models.BooleanField(default=False)
    alpha = models.FloatField(default=0.05)
    state = models.CharField(max_length=16, choices=GuardState.choices, default=GuardState.WATCHING)
    STATUS_FIELD = "state"
    STATUS_TRANSITIONS = GUARD_TRANSITIONS  # moved only by migrator.core.status.move / move_all
    metric = models.CharField(max_length=40, blank=True)
    figures = models.JSONField(default=dict, blank=True)
    step_started_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Guard of {self.flow}"


class Breach(models.Model):
    """A guard fired: the metric, the figures and what was done. Open breaches sit in the cutover inbox."""

    flow = models.ForeignKey("core.Flow", on_delete=models.CASCADE, related_name="breaches")
    release = models.CharField(max_length=64)
    metric = models.CharField(max_length=40)
    figures = models.JSONField(default=dict)
    summary = models.TextField(blank=True, help_text="The metric and figures, in words.")
    action = models.CharField(max_length=16, choices=GuardAction.choices)
    percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.flow}: {self.metric} breached"


class Shadow(models.Model):
    """A shadow run: production clients also call the candidate on a sampled share, in the background."""

    flow = models.OneToOneField("core.Flow", on_delete=models.CASCADE, related_name="shadow")
    share = models.DecimalField(max_digits=5, decimal_places=2, default=0,
                                help_text="Percent of production calls shadowed (0 = off).")
    started_at = models.DateTimeField(null=True, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Shadow of {self.flow} at {self.share}%"


class ProviderEvent(models.Model):
    """A webhook OpenAI sent (Standard Webhooks, signature checked), kept once per ``webhook_id``.

    Event types in ``OPENAI_WEBHOOK_PAUSE_EVENTS`` count as a pause signal: enough of them within
    ``PAUSE_WINDOW`` pause every rollout in progress (docs/rollouts.md)."""

    webhook_id = models.CharField(max_length=200, unique=True)
    event_id = models.CharField(max_length=200, blank=True)
    type = models.CharField(max_length=100, db_index=True)
    created_at = models.DateTimeField(null=True, blank=True, help_text="When OpenAI says the event happened.")
    received_at = models.DateTimeField(db_index=True)
    data = models.JSONField(default=dict, blank=True, help_text="The event's data (ids only, as OpenAI sends it).")
    paused = models.PositiveIntegerField(default=0, help_text="Rollouts this event paused.")

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"OpenAI {self.type} ({self.event_id or self.webhook_id})"
