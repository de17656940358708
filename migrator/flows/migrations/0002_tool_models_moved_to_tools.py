# ToolTestResult and ToolResourceCheck now belong to the tools app (tools 0001 took them into its state).
# Only the flows app's state forgets them: the tables stay, now owned by the tools app.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('flows', '0001_initial'),
        ('tools', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveConstraint(
                    model_name='toolresourcecheck',
                    name='flows_unique_resource_check',
                ),
                migrations.RemoveIndex(
                    model_name='tooltestresult',
                    name='flows_toolt_assista_22e539_idx',
                ),
                migrations.RemoveField(
                    model_name='tooltestresult',
                    name='assistant',
                ),
                migrations.RemoveField(
                    model_name='tooltestresult',
                    name='connection',
                ),
                migrations.RemoveField(
                    model_name='tooltestresult',
                    name='job',
                ),
                migrations.RemoveField(
                    model_name='tooltestresult',
                    name='tested_by',
                ),
                migrations.DeleteModel(
                    name='ToolResourceCheck',
                ),
                migrations.DeleteModel(
                    name='ToolTestResult',
                ),
            ],
        ),
    ]
