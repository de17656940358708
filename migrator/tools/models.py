"""Per-tool test results and the state of the resources tools need.

The tables were created by the flows app and keep their names (``db_table``); migration 0001 of this app
only moved them into its state, so existing databases migrate without copying a row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ToolTestStatus(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"  # the tool is broken as defined (schema, resources, loop)
    ERROR = "error", "Error"  # the test could not run to a verdict (connection down, 5xx, rate limit)


# A test's verdict is final: a new test makes a new result (the helper refuses any move).
TOOL_TEST_TRANSITIONS: dict[str, frozenset[str]] = {s: frozenset() for s in ToolTestStatus}


class ToolTestResult(models.Model):
    """One run of "Test this tool": the verdict for one tool definition of one prompt version."""

    assistant = models.ForeignKey("core.Assistant", on_delete=models.CASCADE, related_name="tool_tests")
    # The prompt version whose tool was tested. Plain ids (not a FK): versions belong to the prompts app
    # and are immutable, and a result must survive even if that app's tables are rebuilt.
    version_id = models.PositiveBigIntegerField(null=True, blank=True)
    version_number = models.PositiveIntegerField(null=True, blank=True)
    tool_key = models.CharField(max_length=100, help_text='"function:get_invoice", "file_search", …')
    tool_type = models.CharField(max_length=32)
    tool_name = models.CharField(max_length=100, blank=True)
    # sha256 of the canonical new-shape definition: a result only counts for exactly what was tested.
    tool_hash = models.CharField(max_length=64)
    tool_definition = models.JSONField(default=dict, blank=True)
    connection = models.ForeignKey("core.Connection", null=True, blank=True, on_delete=models.SET_NULL)
    connection_name = models.CharField(max_length=100, blank=True)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=ToolTestStatus.choices, db_index=True)
    STATUS_TRANSITIONS = TOOL_TEST_TRANSITIONS
    summary = models.TextField(help_text="One readable sentence: why it passed or failed.")
    # [{"name": "...", "ok": true|false|null, "detail": "..."}] in the order they ran (null = warning).
    checks = models.JSONField(default=list, blank=True)
    details = models.JSONField(default=dict, blank=True, help_text="Sample input, arguments, response ids, usage.")
    duration_ms = models.PositiveIntegerField(default=0)
    tested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "flows_tooltestresult"  # created by the flows app before tools had an app of its own
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["assistant", "tool_key", "-created_at"])]
        permissions = [("run_tool_test", "Test tools and check their resources against a connection")]

    def __str__(self) -> str:
        return f"{self.tool_key} {self.status}"

    @property
    def passed(self) -> bool:
        return self.status == ToolTestStatus.PASSED

    @property
    def warnings(self) -> list[dict]:
        return [c for c in self.checks if c.get("ok") is None]


class ResourceKind(models.TextChoices):
    VECTOR_STORE = "vector_store", "Vector store"
    FILE = "file", "File"
    CONTAINER = "container", "Container"


class ResourceState(models.TextChoices):
    EXISTS = "exists", "Exists"
    EXPIRED = "expired", "Expired"
    MISSING = "missing", "Missing"
    NOT_READY = "not_ready", "Still processing"
    ERROR = "error", "Could not check"


class ToolResourceCheck(models.Model):
    """The last known state of one resource a tool needs, on one connection (written by a job)."""

    assistant = models.ForeignKey("core.Assistant", on_delete=models.CASCADE, related_name="tool_resource_checks")
    connection = models.ForeignKey("core.Connection", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=ResourceKind.choices)
    resource_id = models.CharField(max_length=128)
    # Not a status machine (no STATUS_TRANSITIONS): the last thing a probe saw of a resource outside, so any
    # state may follow any other and the newest probe wins (tests/core/test_status_writes.py, OBSERVED).
    state = models.CharField(max_length=16, choices=ResourceState.choices)
    detail = models.TextField(blank=True)
    info = models.JSONField(default=dict, blank=True, help_text="name, status, file counts, expiry…")
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "flows_toolresourcecheck"  # created by the flows app before tools had an app of its own
        ordering = ["kind", "resource_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["assistant", "connection", "kind", "resource_id"], name="flows_unique_resource_check"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.state}"
