"""``manage.py flow create``: the command door of New flow, acting as a named user with their permissions."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from migrator.core.models import AuditEvent, Flow
from tests.factories import AssistantFactory

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("flow", *args, stdout=out)
    return out.getvalue()


def test_create_a_flow_as_a_user_with_json(engineer, support_lead):
    AssistantFactory(legacy_id="asst_cli", name="CLI bot")
    body = json.loads(_run("create", "--assistant", "asst_cli", "--slug", "cli-web", "--name", "CLI web",
                           "--by", engineer.username, "--json"))
    assert body["slug"] == "cli-web" and body["assistant"] == "asst_cli" and body["status"] == "planning"
    assert Flow.objects.get(slug="cli-web").assistant.legacy_id == "asst_cli"
    assert AuditEvent.objects.get(verb="migrator.flow.created").actor == engineer
    with pytest.raises(CommandError, match="already exists"):
        _run("create", "--assistant", "asst_cli", "--slug", "cli-web", "--name", "Again", "--by", engineer.username)
    with pytest.raises(CommandError, match="No assistant 'asst_nope'"):
        _run("create", "--assistant", "asst_nope", "--slug", "x", "--name", "X", "--by", engineer.username)
    with pytest.raises(CommandError, match="Refused"):
        _run("create", "--assistant", "asst_cli", "--slug", "lead-web", "--name", "X", "--by", support_lead.username)
    assert "Created flow cli-app" in _run("create", "--assistant", "asst_cli", "--slug", "cli-app", "--name", "App",
                                          "--by", engineer.username)
