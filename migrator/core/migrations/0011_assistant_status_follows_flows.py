"""Assistants whose prompt is approved now stand where their flows do (migrator.core.status.FlowProgress):
move the ones stored by the older per-outcome table, with a history row saying why. Runs in flight count as
not validating here; the next run event corrects that."""

from django.db import migrations
from django.db.models import Count


def follow_flows(apps, schema_editor):
    from migrator.core.status import FOLLOWS_FLOWS, FlowProgress

    Assistant = apps.get_model("core", "Assistant")
    Flow = apps.get_model("core", "Flow")
    Change = apps.get_model("core", "AssistantStatusChange")
    counts: dict[int, dict[str, int]] = {}
    for row in Flow.objects.order_by().values("assistant_id", "status").annotate(n=Count("id")):
        counts.setdefault(row["assistant_id"], {})[row["status"]] = row["n"]
    for assistant in Assistant.objects.filter(pk__in=list(counts), status__in=list(FOLLOWS_FLOWS)):
        progress = FlowProgress(tuple(sorted(counts[assistant.pk].items())))
        target = progress.assistant_status(assistant.status)
        if target != assistant.status:
            Change.objects.create(assistant=assistant, from_status=assistant.status, to_status=target,
                                  reason=f"Follows its flows: {progress.words()}.")
            Assistant.objects.filter(pk=assistant.pk).update(status=target)


class Migration(migrations.Migration):
    dependencies = [("core", "0010_job_db_defaults")]

    operations = [migrations.RunPython(follow_flows, migrations.RunPython.noop)]
