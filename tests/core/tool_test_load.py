"""Start N tool-test jobs against a sandbox in whatever database this process uses.

Used in-process for one installation and through ``manage.py shell`` for another, so both start their jobs
the same way a user's "Test all tools" does.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib.auth.models import Group

from migrator.core.openai_client import client_for
from migrator.core.roles import ENGINEER
from migrator.tools import services as tool_services
from migrator.tools import toolset
from tests import factories
from tests.flows.factories import assistant_from_sandbox, generated_version, sandbox_connection


def start_tool_tests(*, base_url: str, api_key: str, count: int) -> list[int]:
    sandbox = SimpleNamespace(base_url=base_url, api_key=api_key)
    connection = sandbox_connection(sandbox, name="Load sandbox")
    sandbox.client = lambda **_: client_for(connection)
    assistant = assistant_from_sandbox(sandbox, "billing")
    version = generated_version(assistant)
    user = factories.UserFactory(username="load-engineer")
    user.groups.add(Group.objects.get(name=ENGINEER))
    rows = toolset.tool_rows(assistant, version)
    return [
        tool_services.start_tool_test(assistant_id=assistant.pk, tool_key=rows[i % len(rows)].key, actor=user,
                                      connection_id=connection.pk).pk
        for i in range(count)
    ]
