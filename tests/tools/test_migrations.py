"""The tool models moved from the flows app to the tools app without touching their tables."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from migrator.tools.models import ToolTestResult
from tests.factories import AssistantFactory

BEFORE_THE_MOVE = [("flows", "0001_initial"), ("tools", None)]


def test_the_models_and_the_migrations_agree(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.slow  # migrates a database back and forward again
@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_move_keeps_its_rows_grants_and_jobs():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_THE_MOVE)
    # Core's own migrations stay applied (only the move is undone), so read core's models at its leaf.
    core_leaf = next(node for node in executor.loader.graph.leaf_nodes() if node[0] == "core")
    old = executor.loader.project_state([("flows", "0001_initial"), core_leaf]).apps
    assert "tooltestresult" in old.all_models["flows"] and "tooltestresult" not in old.all_models.get("tools", {})

    # The world as an existing installation has it: the content type and its permission under "flows".
    content_type = old.get_model("contenttypes", "ContentType")
    permission = old.get_model("auth", "Permission")
    group_model = old.get_model("auth", "Group")
    # (Migrating back already moved the content type home; an old installation never had a "tools" one.)
    content_type.objects.filter(app_label="tools").delete()
    flows_ct, _ = content_type.objects.get_or_create(app_label="flows", model="tooltestresult")
    perm, _ = permission.objects.get_or_create(content_type=flows_ct, codename="run_tool_test",
                                               defaults={"name": "Test tools"})
    testers = group_model.objects.create(name="Tool testers")
    testers.permissions.add(perm)
    assistant = AssistantFactory()
    old.get_model("flows", "ToolTestResult").objects.create(
        assistant_id=assistant.pk, tool_key="function:ping", tool_type="function", tool_hash="0" * 64,
        status="passed", summary="It answered.",
    )
    job = old.get_model("core", "Job").objects.create(kind="flows.test_tool")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    result = ToolTestResult.objects.get()
    assert (result.assistant_id, result.summary) == (assistant.pk, "It answered.")
    from django.contrib.auth.models import Group

    granted = Group.objects.get(name="Tool testers").permissions.get()
    assert (granted.content_type.app_label, granted.codename) == ("tools", "run_tool_test")
    from migrator.core.models import Job

    assert Job.objects.get(pk=job.pk).kind == "tools.test_tool"
