from __future__ import annotations

from django.db import models


class AssistantTally(models.Model):
    """Running totals of assistants by (status, model, needs review), kept by the database itself.

    Triggers on ``core_assistant`` (migration 0013) append one signed row for every insert and delete, and two
    (the old key taken away, the new one added) for every update that changes the status, model, review flag or
    message count, whichever code path wrote it: the status helper, the importer's COPY and bulk updates,
    queryset ``update()``, the admin, raw SQL. Appending instead of updating one row per key means no two
    writers ever wait on the same counter row. Readers sum the rows by key (``migrator.core.tally``), so the
    dashboard and the usage page cost the same at 100 or 100,000 assistants and are never stale; the rows are
    folded back to one per key now and then (:func:`migrator.core.tally.compact`).
    """

    id = models.BigAutoField(primary_key=True)
    status = models.CharField(max_length=32)
    model = models.CharField(max_length=128)
    needs_review = models.BooleanField()
    assistants = models.IntegerField()
    messages = models.BigIntegerField()
    idle = models.IntegerField(help_text="Assistants without a message.")

    class Meta:
        verbose_name = "assistant tally"

    def __str__(self) -> str:
        return f"{self.status} / {self.model or '-'}{' (review)' if self.needs_review else ''}: {self.assistants:+d}"
