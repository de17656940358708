# The tool models were created by the flows app (flows 0001). This migration only takes them into the tools
# app's state: the tables keep their names (Meta.db_table), so an existing database copies nothing, and
# flows 0002 drops them from the flows app's state. The content types (and so the permissions granted on
# them, e.g. run_tool_test) and queued or past jobs of the old kinds follow the move.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

OLD_KINDS = {"flows.test_tool": "tools.test_tool", "flows.check_resources": "tools.check_resources"}


def move_content_types_and_jobs(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Job = apps.get_model("core", "Job")
    db = schema_editor.connection.alias
    for model in ("tooltestresult", "toolresourcecheck"):
        if not ContentType.objects.using(db).filter(app_label="tools", model=model).exists():
            ContentType.objects.using(db).filter(app_label="flows", model=model).update(app_label="tools")
    for old, new in OLD_KINDS.items():
        Job.objects.using(db).filter(kind=old).update(kind=new)


def move_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Job = apps.get_model("core", "Job")
    db = schema_editor.connection.alias
    for model in ("tooltestresult", "toolresourcecheck"):
        if not ContentType.objects.using(db).filter(app_label="flows", model=model).exists():
            ContentType.objects.using(db).filter(app_label="tools", model=model).update(app_label="flows")
    for old, new in OLD_KINDS.items():
        Job.objects.using(db).filter(kind=new).update(kind=old)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('core', '0003_audit_actor_kind'),
        ('flows', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='ToolResourceCheck',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('vector_store', 'Vector store'), ('file', 'File'), ('container', 'Container')], max_length=16)),
                        ('resource_id', models.CharField(max_length=128)),
                        ('state', models.CharField(choices=[('exists', 'Exists'), ('expired', 'Expired'), ('missing', 'Missing'), ('not_ready', 'Still processing'), ('error', 'Could not check')], max_length=16)),
                        ('detail', models.TextField(blank=True)),
                        ('info', models.JSONField(blank=True, default=dict, help_text='name, status, file counts, expiry…')),
                        ('checked_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('assistant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tool_resource_checks', to='core.assistant')),
                        ('connection', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.connection')),
                        ('job', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.job')),
                    ],
                    options={
                        'db_table': 'flows_toolresourcecheck',
                        'ordering': ['kind', 'resource_id'],
                        'constraints': [models.UniqueConstraint(fields=('assistant', 'connection', 'kind', 'resource_id'), name='flows_unique_resource_check')],
                    },
                ),
                migrations.CreateModel(
                    name='ToolTestResult',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('version_id', models.PositiveBigIntegerField(blank=True, null=True)),
                        ('version_number', models.PositiveIntegerField(blank=True, null=True)),
                        ('tool_key', models.CharField(help_text='"function:get_invoice", "file_search", …', max_length=100)),
                        ('tool_type', models.CharField(max_length=32)),
                        ('tool_name', models.CharField(blank=True, max_length=100)),
                        ('tool_hash', models.CharField(max_length=64)),
                        ('tool_definition', models.JSONField(blank=True, default=dict)),
                        ('connection_name', models.CharField(blank=True, max_length=100)),
                        ('status', models.CharField(choices=[('passed', 'Passed'), ('failed', 'Failed'), ('error', 'Error')], db_index=True, max_length=16)),
                        ('summary', models.TextField(help_text='One readable sentence: why it passed or failed.')),
                        ('checks', models.JSONField(blank=True, default=list)),
                        ('details', models.JSONField(blank=True, default=dict, help_text='Sample input, arguments, response ids, usage.')),
                        ('duration_ms', models.PositiveIntegerField(default=0)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('assistant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tool_tests', to='core.assistant')),
                        ('connection', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='core.connection')),
                        ('job', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.job')),
                        ('tested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'flows_tooltestresult',
                        'ordering': ['-created_at', '-id'],
                        'permissions': [('run_tool_test', 'Test tools and check their resources against a connection')],
                        'indexes': [models.Index(fields=['assistant', 'tool_key', '-created_at'], name='flows_toolt_assista_22e539_idx')],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types_and_jobs, move_back),
    ]
