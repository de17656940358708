"""Backfill state: runs, and one row per (connection, legacy thread) that is the truth about its conversation.

``ThreadBackfill`` is the mapping production apps read (thread id → conversation id) and the exactly-once
ledger: its status moves only along ``THREAD_TRANSITIONS`` by core's compare-and-set helper (on the status and
the worker's lease token), the conversation id is saved the moment the API names it, and ``cursor`` counts the
planned items known to be in the conversation.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class ThreadStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CREATING = "creating", "Creating"
    APPENDING = "appending", "Appending"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"


# Who may move where. Every move goes through migrator.core.status.move / move_all (a compare-and-set UPDATE).
THREAD_TRANSITIONS: dict[str, set[str]] = {
    ThreadStatus.PENDING: {ThreadStatus.CREATING, ThreadStatus.APPENDING, ThreadStatus.SKIPPED,
                           ThreadStatus.FAILED},
    # creating → creating: a worker takes over a claim whose lease expired (its create's fate unknown).
    ThreadStatus.CREATING: {ThreadStatus.CREATING, ThreadStatus.APPENDING, ThreadStatus.DONE,
                            ThreadStatus.FAILED, ThreadStatus.PENDING},
    ThreadStatus.APPENDING: {ThreadStatus.APPENDING, ThreadStatus.DONE, ThreadStatus.FAILED,
                             ThreadStatus.PENDING},
    ThreadStatus.DONE: {ThreadStatus.ROLLED_BACK},
    ThreadStatus.SKIPPED: {ThreadStatus.PENDING},
    ThreadStatus.FAILED: {ThreadStatus.PENDING, ThreadStatus.ROLLED_BACK},
    ThreadStatus.ROLLED_BACK: {ThreadStatus.PENDING},
}

UNFINISHED = (ThreadStatus.PENDING, ThreadStatus.CREATING, ThreadStatus.APPENDING)
IN_FLIGHT = (ThreadStatus.CREATING, ThreadStatus.APPENDING)


class RunStatus(models.TextChoices):
    PLANNED = "planned", "Planned"  # created, not started yet
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    FINISHED = "finished", "Finished"
    BUDGET_REACHED = "budget_reached", "Budget reached"  # stopped at its call budget; resumable like a pause


RUN_TRANSITIONS: dict[str, set[str]] = {
    RunStatus.PLANNED: {RunStatus.RUNNING, RunStatus.CANCELLED},
    RunStatus.RUNNING: {RunStatus.PAUSED, RunStatus.CANCELLED, RunStatus.FINISHED, RunStatus.RUNNING,
                        RunStatus.BUDGET_REACHED},
    RunStatus.PAUSED: {RunStatus.RUNNING, RunStatus.CANCELLED},
    RunStatus.BUDGET_REACHED: {RunStatus.RUNNING, RunStatus.CANCELLED},
    RunStatus.CANCELLED: {RunStatus.RUNNING},  # resuming a cancelled run picks up what is unfinished
    RunStatus.FINISHED: {RunStatus.RUNNING},  # a re-run: resumes failed and unfinished threads, writes no done one
}


class BackfillRunQuerySet(models.QuerySet["BackfillRun"]):
    def visible_to(self, user) -> BackfillRunQuerySet:
        if user.is_authenticated and (user.is_superuser or user.has_perm("backfill.view_backfillrun")):
            return self
        return self.none()


class BackfillRun(models.Model):
    """One backfill: a selection of threads sent to one connection. Dry runs are plans only and keep no row."""

    connection = models.ForeignKey("core.Connection", on_delete=models.PROTECT, related_name="backfill_runs")
    flow = models.ForeignKey("core.Flow", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    release_hash = models.CharField(max_length=64, blank=True,
                                    help_text="The flow's release (migrator.core.release) when the run was made.")
    assistant = models.ForeignKey("core.Assistant", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    selection = models.JSONField(default=dict, blank=True, help_text="The selection criteria, as entered.")
    options = models.JSONField(default=dict, blank=True, help_text="markers: strip|keep; hosted_tools: note|text.")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.PLANNED, db_index=True)
    STATUS_TRANSITIONS = RUN_TRANSITIONS  # moved only by migrator.core.status.move / move_all
    thread_count = models.PositiveIntegerField(default=0)
    planned_items = models.PositiveIntegerField(default=0)
    planned_calls = models.PositiveIntegerField(default=0)
    # Counters every worker adds to with F() updates (progress, rate, ETA on the run page).
    calls = models.PositiveIntegerField(default=0, help_text="API calls made (reads and writes).")
    writes = models.PositiveIntegerField(default=0, help_text="Write calls sent.")
    items_sent = models.PositiveIntegerField(default=0, help_text="Items known to be in conversations.")
    rate_limited = models.PositiveIntegerField(default=0, help_text="Calls answered 429.")
    retries = models.PositiveIntegerField(default=0, help_text="Calls repeated after a 429, 5xx or timeout.")
    recoveries = models.PositiveIntegerField(default=0, help_text="Read-backs after an unknown write outcome.")
    orphans = models.PositiveIntegerField(default=0, help_text="Creates whose answer was lost (unreachable).")
    waited_seconds = models.FloatField(default=0, help_text="Time spent waiting for the rate budget.")
    # Cost control: the plan's projection (requests, items, tokens; the price of Conversations API writes is not
    # in the pricing table, so its cost is "unknown") and an optional hard budget of API calls: once ``calls``
    # reaches it the run stops "budget reached", threads in flight finish, the rest stay pending for a resume.
    projection = models.JSONField(default=dict, blank=True)
    budget_calls = models.PositiveIntegerField(null=True, blank=True)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    active_seconds = models.FloatField(default=0, help_text="Running time before the current start (pauses excluded).")

    objects = BackfillRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("run_backfill", "Start, pause, resume and cancel backfills"),
            ("rollback_backfill", "Roll back backfilled conversations"),
        ]

    def __str__(self) -> str:
        return f"Backfill #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("backfill:run_detail", args=[self.pk])


class ThreadBackfillQuerySet(models.QuerySet["ThreadBackfill"]):
    def visible_to(self, user) -> ThreadBackfillQuerySet:
        if user.is_authenticated and (user.is_superuser or user.has_perm("backfill.view_threadbackfill")):
            return self
        return self.none()


class ThreadBackfill(models.Model):
    """One legacy thread's conversation on one connection: the mapping and the exactly-once state."""

    connection = models.ForeignKey("core.Connection", on_delete=models.PROTECT, related_name="+")
    thread = models.ForeignKey("inventory.LegacyThread", on_delete=models.CASCADE, related_name="backfills")
    run = models.ForeignKey(BackfillRun, on_delete=models.CASCADE, related_name="threads",
                            help_text="The run that last worked on it.")
    status = models.CharField(max_length=16, choices=ThreadStatus.choices, default=ThreadStatus.PENDING,
                              db_index=True)
    STATUS_TRANSITIONS = THREAD_TRANSITIONS  # moved only by migrator.core.status.move / move_all
    reason = models.TextField(blank=True, help_text="Why it failed or was skipped.")
    conversation_id = models.CharField(max_length=128, blank=True, db_index=True)
    cursor = models.PositiveIntegerField(default=0, help_text="Planned items known to be in the conversation.")
    plan_items = models.JSONField(default=list, blank=True, help_text="The items planned, frozen at first claim.")
    plan_metadata = models.JSONField(default=dict, blank=True)
    ledger = models.JSONField(default=list, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    writes = models.PositiveIntegerField(default=0, help_text="Write calls sent for this thread.")
    orphans = models.PositiveIntegerField(default=0, help_text="Creates whose answer was lost.")
    attempts = models.PositiveIntegerField(default=0)
    lease_token = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ThreadBackfillQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["connection", "thread"], name="backfill_thread_once")]
        indexes = [models.Index(fields=["run", "status"])]

    def __str__(self) -> str:
        return f"{self.thread.legacy_id} → {self.conversation_id or '…'}"

    def get_absolute_url(self) -> str:
        return reverse("backfill:thread_detail", args=[self.pk])

    @property
    def dropped(self) -> list[dict[str, str]]:
        return [{"what": e["what"], "why": e["why"], "where": e["where"]} for e in self.ledger
                if e.get("kind") == "dropped"]


class ConnectionRateLimit(models.Model):
    """A connection's budget (requests and tokens per minute) that every backfill worker shares.

    Read by ``migrator.core.ratebudget.RateBudget.for_connection`` through the ``rate_limit`` accessor; absent,
    the budget learns the limits from the API's ``x-ratelimit-limit-*`` headers.
    """

    connection = models.OneToOneField("core.Connection", on_delete=models.CASCADE, related_name="rate_limit")
    rpm = models.PositiveIntegerField(null=True, blank=True, help_text="Requests per minute.")
    tpm = models.PositiveIntegerField(null=True, blank=True, help_text="Tokens per minute.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.connection}: {self.rpm or '–'} rpm, {self.tpm or '–'} tpm"
