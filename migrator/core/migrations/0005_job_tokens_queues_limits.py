"""Jobs carry a unique token, the queue they were sent to, their time limits and who runs them.

The token is added in three steps (nullable, one fresh UUID per existing row, then unique), because a callable
default gives every existing row the same value.
"""

import uuid

from django.db import migrations, models


def give_each_job_a_token(apps, schema_editor) -> None:
    Job = apps.get_model("core", "Job")
    for pk in Job.objects.values_list("pk", flat=True).iterator():
        Job.objects.filter(pk=pk).update(token=uuid.uuid4())


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0004_flow_statuses_from_evidence'),
    ]

    operations = [
        migrations.AddField(
            model_name='job',
            name='enqueue_count',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='job',
            name='enqueued_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='job',
            name='links',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='job',
            name='progress_unit',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name='job',
            name='queue',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='job',
            name='soft_time_limit',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='job',
            name='time_limit',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='job',
            name='token',
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(give_each_job_a_token, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='job',
            name='token',
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AddField(
            model_name='job',
            name='worker_host',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='job',
            name='worker_pid',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='workerheartbeat',
            name='queues',
            field=models.CharField(blank=True, max_length=500),
        ),
    ]
