"""``manage.py tooltest``: the command door of the Tools tab's *Test this tool*, against a real sandbox."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from migrator.core.models import Job
from migrator.tools.models import ToolTestResult
from tests.flows.factories import assistant_from_sandbox, generated_version, sandbox_connection

pytestmark = pytest.mark.django_db


def test_tooltest_runs_each_tool_as_the_user_and_reports_in_json(sandbox, engineer, product_owner):
    connection = sandbox_connection(sandbox, name="CLI sandbox")
    assistant = assistant_from_sandbox(sandbox, "billing")
    generated_version(assistant)
    out = StringIO()
    call_command("tooltest", "--assistant", assistant.legacy_id, "--tool", "function:get_invoice",
                 "--connection", connection.name, "--by", engineer.username, "--sync", "--json", stdout=out)
    body = json.loads(out.getvalue())
    [row] = body["tests"]
    assert row["tool"] == "function:get_invoice" and row["outcome"] == "passed", row
    assert Job.objects.get(pk=row["job"]).created_by == engineer
    assert ToolTestResult.objects.filter(job_id=row["job"]).exists()
    with pytest.raises(CommandError, match="Refused"):
        call_command("tooltest", "--assistant", assistant.legacy_id, "--tool", "function:nope",
                     "--by", engineer.username)
    with pytest.raises(CommandError, match="No connection named"):
        call_command("tooltest", "--assistant", assistant.legacy_id, "--connection", "nope", "--by", engineer.username)
    with pytest.raises(CommandError, match="Refused"):
        call_command("tooltest", "--assistant", assistant.legacy_id, "--connection", connection.name,
                     "--by", product_owner.username)
