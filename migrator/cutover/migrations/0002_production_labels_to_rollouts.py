"""Carry the old per-assistant ``production`` prompt label over to per-flow rollouts, then drop the label.

Every flow of an assistant that had a production label (and a chosen mode) was serving that version, so it gets
a rollout serving it to everyone, a ServingChange row saying where it came from, and the migrated status.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    PromptLabel = apps.get_model("prompts", "PromptLabel")
    Flow = apps.get_model("core", "Flow")
    FlowRollout = apps.get_model("cutover", "FlowRollout")
    ServingChange = apps.get_model("cutover", "ServingChange")
    for label in PromptLabel.objects.filter(name="production"):
        for flow in Flow.objects.filter(assistant_id=label.assistant_id).exclude(mode=""):
            FlowRollout.objects.update_or_create(flow=flow, defaults={"production_id": label.version_id,
                                                                      "candidate_id": None, "percent": 0})
            ServingChange.objects.create(flow=flow, kind="imported", to_version_id=label.version_id, to_percent=100,
                                         actor_label="migration",
                                         reason="Carried over from the assistant's production label.")
            if flow.status != "blocked":
                flow.status = "migrated"
                flow.save(update_fields=["status"])
    PromptLabel.objects.filter(name="production").delete()


def backwards(apps, schema_editor):
    pass  # rollouts stay; the label is not restored (it is no longer a switch)


class Migration(migrations.Migration):
    dependencies = [
        ("cutover", "0001_initial"),
        ("prompts", "0001_initial"),
        ("core", "0004_flow_statuses_from_evidence"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
