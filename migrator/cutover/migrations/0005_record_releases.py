"""Record the release every existing rollout, request and serving change stands for.

Before releases existed, production got its version with the flow's mode, truncation and store as they were at
each call; that is what the rows stand for now, so that is the release recorded for them. A request records
the mode it was made in.
"""

from django.db import migrations

from migrator.core.release import make_release


def forwards(apps, schema_editor):
    Flow = apps.get_model("core", "Flow")
    Release = apps.get_model("cutover", "Release")
    FlowRollout = apps.get_model("cutover", "FlowRollout")
    CutoverRequest = apps.get_model("cutover", "CutoverRequest")
    ServingChange = apps.get_model("cutover", "ServingChange")
    flows = {}
    made = {}

    def release(flow_id, version, mode=None):
        if version is None:
            return None
        flow = flows.get(flow_id) or flows.setdefault(flow_id, Flow.objects.get(pk=flow_id))
        spec = make_release(config=version.config, mode=mode or flow.mode or "stateless",
                            truncation=flow.truncation, store=flow.store)
        key = (flow_id, spec.hash)
        if key not in made:
            made[key] = Release.objects.get_or_create(
                flow_id=flow_id, hash=spec.hash,
                defaults={"version_id": version.pk, "mode": spec.mode, "truncation": spec.truncation,
                          "store": spec.store, "content": spec.content(),
                          "origin": "recorded when releases were introduced",
                          "created_by_label": "migration cutover.0005"})[0]
        return made[key]

    for rollout in FlowRollout.objects.select_related("production", "candidate"):
        rollout.production_release = release(rollout.flow_id, rollout.production)
        rollout.candidate_release = release(rollout.flow_id, rollout.candidate)
        rollout.save(update_fields=["production_release", "candidate_release"])
    for request in CutoverRequest.objects.select_related("version"):
        request.release = release(request.flow_id, request.version, request.mode)
        request.save(update_fields=["release"])
    for change in ServingChange.objects.select_related("from_version", "to_version"):
        change.from_release = release(change.flow_id, change.from_version)
        change.to_release = release(change.flow_id, change.to_version)
        change.save(update_fields=["from_release", "to_release"])


class Migration(migrations.Migration):
    dependencies = [("cutover", "0004_release")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
