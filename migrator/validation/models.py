"""Test sets drawn from recorded transcripts, their immutable cases and versions, and validation runs.

A case never changes once saved: excluding it or adding a hand-written one makes a new ``TestSetVersion``
(an ordered list of case ids), and a run names the exact version (so the exact cases) it used. A run is
bound to the configuration hash and state mode it replayed, so an edited version or a changed flow mode
makes it stale rather than silently still "passed".
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from migrator.core.status import FlowMode


class SamplingStrategy(models.TextChoices):
    RECENT = "recent", "Most recent threads"
    TRAFFIC = "traffic", "Most traffic (longest threads)"
    TOOLS = "tools", "Every thread that calls tools"
    STRUCTURED = "structured", "Every thread with structured output"
    STRATIFIED = "stratified", "Stratified (tools / structured / plain, single and multi-turn)"
    HAND_PICKED = "hand_picked", "Hand-picked threads"


class TestSetQuerySet(models.QuerySet["TestSet"]):
    def visible_to(self, user) -> TestSetQuerySet:
        if user.is_authenticated and (user.is_superuser or user.has_perm("validation.view_testset")):
            return self
        return self.none()


class TestSet(models.Model):
    """A named set of cases for one assistant (and usually one of its flows)."""

    __test__ = False  # not a pytest class, whatever its name says

    assistant = models.ForeignKey("core.Assistant", on_delete=models.CASCADE, related_name="test_sets")
    flow = models.ForeignKey("core.Flow", null=True, blank=True, on_delete=models.SET_NULL, related_name="test_sets")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    strategy = models.CharField(max_length=16, choices=SamplingStrategy.choices, default=SamplingStrategy.RECENT)
    sample_size = models.PositiveIntegerField(default=20, help_text="Threads to draw (not used when hand-picked).")
    thread_ids = models.JSONField(default=list, blank=True, help_text="Hand-picked legacy thread ids.")
    # Per-check overrides: {"text_similarity": {"threshold": 0.8, "weight": 2, "blocking": true, "enabled": true}}
    checks = models.JSONField(default=dict, blank=True)
    # The multi-turn thread that stands for "one sample production workflow" (the fifth validation point).
    sample_thread_id = models.CharField(max_length=128, blank=True)
    # The structured-output contract the recorded answers followed (from the legacy response_format):
    # {"type": "json_schema", "name": ..., "schema": {...}} or {"type": "json_object"} or {}.
    contract = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TestSetQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("validation:testset_detail", args=[self.pk])

    @property
    def current_version(self) -> TestSetVersion | None:
        return self.versions.order_by("-number").first()


class CaseKind(models.TextChoices):
    RECORDED = "recorded", "Recorded turn"
    MANUAL = "manual", "Hand-written"


class TestCase(models.Model):
    """One assistant turn (or a hand-written exchange) with what the legacy assistant answered. Immutable."""

    __test__ = False

    test_set = models.ForeignKey(TestSet, on_delete=models.CASCADE, related_name="cases")
    key = models.CharField(max_length=200, help_text="thread id#turn, or manual-N: stable across versions.")
    kind = models.CharField(max_length=16, choices=CaseKind.choices, default=CaseKind.RECORDED)
    thread = models.ForeignKey("inventory.LegacyThread", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    thread_legacy_id = models.CharField(max_length=128, blank=True, db_index=True)
    turn = models.PositiveIntegerField(default=1, help_text="1-based assistant turn within the thread.")
    # Neutral items before this turn: {"type": "message", "role", "text"} / {"type": "function_call",
    # "call_id", "name", "arguments"} / {"type": "function_call_output", "call_id", "output"} /
    # {"type": "hosted", "tool", "text"} (hosted tool results a client cannot recreate, carried as text).
    history = models.JSONField(default=list, blank=True)
    user_input = models.JSONField(default=list, blank=True, help_text="The user message item(s) of this turn.")
    expected_text = models.TextField(blank=True)
    # [{"call_id", "name", "arguments", "output"}] in the order the legacy run made them.
    expected_tool_calls = models.JSONField(default=list, blank=True)
    hosted_tools = models.JSONField(default=list, blank=True, help_text="Hosted tools the recorded turn used.")
    expected_json = models.JSONField(null=True, blank=True, help_text="The recorded answer parsed as JSON.")
    # Hand-written expectations: [{"type": "exact"|"contains"|"regex"|"not_contains", "value": "..."}].
    expectations = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["test_set", "thread_legacy_id", "turn", "id"]
        indexes = [models.Index(fields=["test_set", "key"])]

    def __str__(self) -> str:
        return self.key

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValidationError("Test cases are immutable; add a new case or a new test set version instead.")
        super().save(*args, **kwargs)

    @property
    def input_text(self) -> str:
        return "\n\n".join(str(i.get("text", "")) if isinstance(i, dict) else str(i) for i in self.user_input or [])

    @property
    def tool_names(self) -> list[str]:
        return [c.get("name", "") for c in self.expected_tool_calls or []]


class TestSetVersion(models.Model):
    """The exact, ordered case list of a test set at one moment. Runs point at one of these."""

    __test__ = False

    test_set = models.ForeignKey(TestSet, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    case_ids = models.JSONField(default=list)
    # {case_key: reason} of the cases left out on purpose (kept so the next version knows them).
    excluded = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["test_set", "-number"]
        constraints = [models.UniqueConstraint(fields=["test_set", "number"], name="validation_testset_version")]

    def __str__(self) -> str:
        return f"{self.test_set} v{self.number}"

    def cases(self) -> list[TestCase]:
        by_id = TestCase.objects.in_bulk(self.case_ids)
        return [by_id[i] for i in self.case_ids if i in by_id]


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    INCOMPLETE = "incomplete", "Incomplete"
    CANCELLED = "cancelled", "Cancelled"
    ERROR = "error", "Could not run"
    BUDGET_REACHED = "budget_reached", "Budget reached"


RUN_FINISHED = (RunStatus.PASSED, RunStatus.FAILED, RunStatus.INCOMPLETE, RunStatus.CANCELLED, RunStatus.ERROR,
                RunStatus.BUDGET_REACHED)

# The one transitions table for run statuses (enforced by ``services.standing.move_run``).
RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.ERROR}),
    RunStatus.RUNNING: frozenset({RunStatus.PASSED, RunStatus.FAILED, RunStatus.INCOMPLETE, RunStatus.CANCELLED,
                                  RunStatus.ERROR, RunStatus.BUDGET_REACHED}),
    **{s: frozenset() for s in RUN_FINISHED},
}


class Verdict(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    INCOMPLETE = "incomplete", "Incomplete"


class ValidationRunQuerySet(models.QuerySet["ValidationRun"]):
    def visible_to(self, user) -> ValidationRunQuerySet:
        if user.is_authenticated and (user.is_superuser or user.has_perm("validation.view_validationrun")):
            return self
        return self.none()


class ValidationRun(models.Model):
    """One replay of a test set version through one configuration, in one state mode, on one connection."""

    test_set = models.ForeignKey(TestSet, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    test_set_version = models.ForeignKey(TestSetVersion, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="runs")
    case_ids = models.JSONField(default=list, help_text="The exact cases replayed, in order.")
    assistant = models.ForeignKey("core.Assistant", on_delete=models.CASCADE, related_name="validation_runs")
    flow = models.ForeignKey("core.Flow", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="validation_runs")
    prompt_version = models.ForeignKey("prompts.PromptVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    config_label = models.CharField(max_length=200, help_text='"v3", "label production" or "file config.json".')
    config = models.JSONField(default=dict, help_text="The configuration exactly as replayed (minus state).")
    config_hash = models.CharField(max_length=64, db_index=True)
    mode = models.CharField(max_length=32, choices=FlowMode.choices)
    store = models.BooleanField(default=True)
    truncation = models.CharField(max_length=16, default="disabled")
    release_hash = models.CharField(max_length=64, blank=True, db_index=True,
                                    help_text="The release replayed: configuration, mode, truncation and store.")
    connection = models.ForeignKey("core.Connection", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    connection_name = models.CharField(max_length=100, blank=True)
    repeats = models.PositiveSmallIntegerField(default=1)
    concurrency = models.PositiveSmallIntegerField(default=4)
    # Cost control: what the plan projects before the run starts (requests, tokens, USD from the dated pricing
    # table), an optional hard budget, and what the replies' usage cost so far (updated while it runs).
    projection = models.JSONField(default=dict, blank=True)
    budget_usd = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    spent_usd = models.FloatField(default=0)
    # How the teacher-forced cases are sent: one request each ("direct") or through the Batch API ("batch", at
    # the Batch discount). ``batch`` keeps the batch path's state (jobs left, the batch in flight) so another
    # worker can resume the run from the database without sending a case twice or losing one.
    path = models.CharField(max_length=8, default="direct", choices=[("direct", "Direct"), ("batch", "Batch API")])
    batch = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True, help_text="Check settings as used: thresholds, judge…")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    STATUS_TRANSITIONS = RUN_TRANSITIONS  # moved only by migrator.core.status.move / move_all
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    summary = models.TextField(blank=True, help_text="One readable sentence: why it passed, failed or is incomplete.")
    points = models.JSONField(default=list, blank=True, help_text="The five validation points.")
    check_summary = models.JSONField(default=list, blank=True)
    totals = models.JSONField(default=dict, blank=True)
    free_runs = models.JSONField(default=list, blank=True, help_text="Whole threads sent turn by turn.")
    cases_total = models.PositiveIntegerField(default=0)
    cases_done = models.PositiveIntegerField(default=0)
    cases_passed = models.PositiveIntegerField(default=0)
    cases_failed = models.PositiveIntegerField(default=0)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=16, default="ui", help_text="ui | cli")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ValidationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["flow", "config_hash", "mode", "-created_at"])]

    def __str__(self) -> str:
        return f"Run #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("validation:run_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in RUN_FINISHED


class CaseResult(models.Model):
    """One replay of one case (``repeat`` counts from 0 when a run repeats cases)."""

    run = models.ForeignKey(ValidationRun, on_delete=models.CASCADE, related_name="results")
    case = models.ForeignKey(TestCase, on_delete=models.CASCADE, related_name="results")
    repeat = models.PositiveSmallIntegerField(default=0)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    score = models.FloatField(default=0)
    # [{"name", "label", "status": pass|fail|error|skipped, "score", "threshold", "weight", "blocking", "detail"}]
    checks = models.JSONField(default=list, blank=True)
    reasons = models.JSONField(default=list, blank=True, help_text="In words, what differed.")
    answer_text = models.TextField(blank=True)
    answer_json = models.JSONField(null=True, blank=True)
    refusal = models.TextField(blank=True)
    tool_calls = models.JSONField(default=list, blank=True, help_text='[{"name", "arguments", "matched"}]')
    unmatched_calls = models.JSONField(default=list, blank=True)
    live_tools = models.JSONField(default=list, blank=True, help_text="Hosted tools that ran on the connection.")
    latency_ms = models.PositiveIntegerField(default=0)
    api_ms = models.PositiveIntegerField(default=0, help_text="Time spent waiting on the API.")
    ttft_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Streamed runs: time from the turn's start to its first text delta.")
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.FloatField(null=True, blank=True)
    response_ids = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "case", "repeat"], name="validation_case_result")]

    def __str__(self) -> str:
        return f"{self.case.key} {self.verdict}"


@dataclass(frozen=True)
class PointSpec:
    key: str
    title: str


# The migration guide's five validation points, reported by name on every run.
POINTS: tuple[PointSpec, ...] = (
    PointSpec("new_chat", "A new chat completes end to end"),
    PointSpec("state", "State persists where expected"),
    PointSpec("tools", "Every required tool call still works"),
    PointSpec("contract", "Structured outputs match the contract"),
    PointSpec("workflow", "One sample production workflow succeeds"),
)
