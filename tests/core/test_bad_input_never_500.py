"""Junk in query strings (NUL bytes, huge numbers, wrong types) gets a page or a 4xx, never a 500.

PostgreSQL refuses NUL bytes in text, so this is most telling when the suite runs on it (as in CI).
"""

import pytest
from django.urls import NoReverseMatch, reverse

from tests.factories import AssistantFactory, FlowFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "core:dashboard", "core:assistant_list", "core:job_list", "core:audit_log", "core:system_status",
    "inventory:connection_list", "inventory:import", "inventory:usage", "inventory:model_radar",
    "flows:list", "flows:token_list",
]
JUNK = {"q": "a\x00b", "status": "\x00", "priority": "x" * 5000, "model": "\x00", "model_state": "?", "sort": "\x00",
        "page": "99999999999999999999", "kind": "\x00", "verb": "\x00", "actor": "\x00", "since": "\x00",
        "object_type": "\x00", "mode": "\x00", "assistant": "\x00", "connection": "\x00", "mine": "\x00"}


@pytest.mark.parametrize("name", PAGES)
def test_list_pages_survive_junk_query_strings(client, admin_user, engineer, name):
    assistant = AssistantFactory()
    FlowFactory(assistant=assistant)
    try:
        url = reverse(name)
    except NoReverseMatch:
        pytest.skip(f"{name} is not routed in this installation")
    for user in (admin_user, engineer):
        client.force_login(user)
        response = client.get(url, JUNK)
        assert response.status_code < 500, (name, user.username, response.status_code)
        response = client.get(url, JUNK, HTTP_HX_REQUEST="true")
        assert response.status_code < 500 or response.status_code == 286, (name, "htmx", response.status_code)


def test_assistant_pages_survive_junk(client, admin_user):
    assistant = AssistantFactory()
    client.force_login(admin_user)
    for name in ("core:assistant_detail", "inventory:assistant_usage", "prompts:assistant_prompt",
                 "tools:assistant_tools", "flows:assistant_flows"):
        try:
            url = reverse(name, args=[assistant.pk])
        except NoReverseMatch:
            continue
        assert client.get(url, JUNK).status_code < 500, name
