"""Record the release each existing run replayed: its configuration as sent (a truncation the configuration
carried, else the API's default, disabled), in its mode, with its store."""

from django.db import migrations

from migrator.core.release import make_release


def forwards(apps, schema_editor):
    ValidationRun = apps.get_model("validation", "ValidationRun")
    for run in ValidationRun.objects.filter(release_hash="").iterator():
        truncation = str((run.config or {}).get("truncation") or "disabled")
        spec = make_release(config=run.config, mode=run.mode, truncation=truncation, store=run.store)
        ValidationRun.objects.filter(pk=run.pk).update(truncation=spec.truncation, release_hash=spec.hash)


class Migration(migrations.Migration):
    dependencies = [("validation", "0003_run_release")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
