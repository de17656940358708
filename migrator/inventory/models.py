"""What the inventory knows about the legacy Assistants API estate: threads, messages, runs, vector stores
and files (metadata only), each keyed by the id the Assistants API gave it so imports are idempotent.

Assistants themselves live in ``core.Assistant``; this app adds their drift history (``AssistantRevision``)
and the model list each connection reported (``ReportedModel``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LegacyThread(models.Model):
    """One Assistants API thread. The assistant is inferred from its runs/messages (threads carry none)."""

    assistant = models.ForeignKey(
        "core.Assistant", null=True, blank=True, on_delete=models.SET_NULL, related_name="legacy_threads"
    )
    # The asst_… id the thread's runs (or messages, or the user's thread list) name; kept even when that
    # assistant is not (yet) imported, so the FK can be filled in when it arrives.
    assistant_legacy_id = models.CharField(max_length=128, blank=True, db_index=True)
    # True when the assistant came from the user's thread list (which then wins over what runs say).
    assistant_from_list = models.BooleanField(default=False)
    legacy_id = models.CharField(max_length=128, unique=True)
    flow_slug = models.CharField(max_length=100, blank=True, db_index=True, help_text="From the thread list.")
    end_user_id = models.CharField(max_length=200, blank=True)
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    tool_resources = models.JSONField(default=dict, blank=True)
    created_at_legacy = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    user_turns = models.PositiveIntegerField(default=0)
    assistant_turns = models.PositiveIntegerField(default=0)
    run_count = models.PositiveIntegerField(default=0)
    approx_tokens = models.PositiveIntegerField(default=0, help_text="Characters of message text / 4.")
    # The thread object was never seen: the row was made from its messages (message-list dumps do that).
    is_stub = models.BooleanField(default=False)
    raw = models.JSONField(default=dict, blank=True, help_text="The thread object exactly as imported.")
    source = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        permissions = [("import_assistants", "Import assistants and threads from a connection or an archive")]
        indexes = [
            models.Index(fields=["assistant", "flow_slug"]),
            # "Flows found in the data" (migrator.flows.found) groups the threads that name a flow on every flows
            # page: this answers it from the index alone (PostgreSQL; include is ignored elsewhere).
            models.Index(fields=["flow_slug", "assistant"], include=["id", "message_count", "last_message_at"],
                         condition=~models.Q(flow_slug="") & models.Q(assistant__isnull=False),
                         name="inv_thread_flow_found"),
        ]

    def __str__(self) -> str:
        return self.legacy_id


class LegacyMessage(models.Model):
    """One thread message. ``position`` is 0-based chronological order within the thread."""

    # No index of its own: (thread, position) and the unique (thread, legacy_id) both lead with it, and a third
    # index on the largest table only slows every import down.
    thread = models.ForeignKey(LegacyThread, on_delete=models.CASCADE, related_name="messages", db_index=False)
    legacy_id = models.CharField(max_length=128)
    position = models.PositiveIntegerField(default=0)
    role = models.CharField(max_length=16)
    content = models.JSONField(default=list, blank=True, help_text="The raw content parts.")
    text = models.TextField(blank=True, help_text="Plain text of the content, for search and token estimates.")
    attachments = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    run_legacy_id = models.CharField(max_length=128, blank=True)
    assistant_legacy_id = models.CharField(max_length=128, blank=True)
    created_at_legacy = models.DateTimeField(null=True, blank=True)
    # Every other key of the API object (status, completed_at, v1 file_ids, …) so nothing is lost.
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["thread", "position"]
        constraints = [models.UniqueConstraint(fields=["thread", "legacy_id"], name="inventory_message_unique")]
        indexes = [models.Index(fields=["thread", "position"])]

    def __str__(self) -> str:
        return self.legacy_id


class LegacyRun(models.Model):
    """One run with its steps folded in; ``tool_calls`` counts calls by tool, e.g. {"function:get_invoice": 3}."""

    thread = models.ForeignKey(LegacyThread, on_delete=models.CASCADE, related_name="runs")
    legacy_id = models.CharField(max_length=128)
    assistant_legacy_id = models.CharField(max_length=128, blank=True, db_index=True)
    status = models.CharField(max_length=32, blank=True)
    model = models.CharField(max_length=128, blank=True)
    usage = models.JSONField(null=True, blank=True)
    steps = models.JSONField(default=list, blank=True)
    tool_calls = models.JSONField(default=dict, blank=True)
    created_at_legacy = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="The run object (without steps) as imported.")

    class Meta:
        ordering = ["thread", "created_at_legacy", "id"]
        constraints = [models.UniqueConstraint(fields=["thread", "legacy_id"], name="inventory_run_unique")]
        indexes = [models.Index(fields=["legacy_id"])]

    def __str__(self) -> str:
        return self.legacy_id


class VectorStore(models.Model):
    """Metadata of a vector store that an assistant's or thread's tool resources name (never contents)."""

    legacy_id = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=256, blank=True)
    status = models.CharField(max_length=32, blank=True, help_text="expired | in_progress | completed | missing")
    file_counts = models.JSONField(default=dict, blank=True)
    file_ids = models.JSONField(default=list, blank=True)
    usage_bytes = models.BigIntegerField(null=True, blank=True)
    expires_after = models.JSONField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_active_at = models.DateTimeField(null=True, blank=True)
    created_at_legacy = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    fetch_error = models.TextField(blank=True, help_text="Why the live import could not read it, if it could not.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "legacy_id"]

    def __str__(self) -> str:
        return self.name or self.legacy_id


class LegacyFile(models.Model):
    """Metadata of an uploaded file (``file-…``) named by tool resources, vector stores or attachments."""

    legacy_id = models.CharField(max_length=128, unique=True)
    filename = models.CharField(max_length=512, blank=True)
    bytes = models.BigIntegerField(null=True, blank=True)
    purpose = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=32, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at_legacy = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    fetch_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["filename", "legacy_id"]

    def __str__(self) -> str:
        return self.filename or self.legacy_id


class AssistantRevision(models.Model):
    """An upstream change of an assistant's migration-relevant definition, seen on re-import."""

    assistant = models.ForeignKey("core.Assistant", on_delete=models.CASCADE, related_name="revisions")
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    changed_fields = models.JSONField(default=list)
    source = models.CharField(max_length=200, blank=True, help_text="Connection name or archive file.")
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.assistant} drift: {', '.join(self.changed_fields)}"


class ReportedModel(models.Model):
    """One model as a connection's ``/models`` endpoint reported it (with ``shutdown_date`` when given)."""

    connection = models.ForeignKey("core.Connection", on_delete=models.CASCADE, related_name="reported_models")
    model_id = models.CharField(max_length=128, db_index=True)
    shutdown_date = models.DateField(null=True, blank=True)
    owned_by = models.CharField(max_length=128, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["model_id"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "model_id"], name="inventory_reported_model_unique")
        ]

    def __str__(self) -> str:
        return f"{self.model_id} @ {self.connection_id}"
