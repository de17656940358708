"""The Tools tab: testing a tool from the page, polling its card, and the generated tool-calling loop."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from migrator.tools.models import ToolTestResult
from tests.factories import PASSWORD
from tests.flows.factories import assistant_from_sandbox, generated_version, sandbox_connection

pytestmark = pytest.mark.django_db

PING = {"type": "function", "name": "ping", "strict": False, "description": "Ping.",
        "parameters": {"type": "object", "properties": {"host": {"type": "string"}}}}


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_testing_a_tool_from_the_page_and_polling_its_card(client, engineer, sandbox, run_queued_jobs):
    login(client, engineer)
    connection = sandbox_connection(sandbox)
    assistant = assistant_from_sandbox(sandbox, "support-triage")
    generated_version(assistant)
    url = reverse("tools:test_tool", args=[assistant.pk])
    response = client.post(url, {"tool_key": "function:route_ticket", "connection": connection.pk},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    card = response.content.decode()
    assert 'data-state="running"' in card and 'hx-trigger="every 2s"' in card
    poll = reverse("tools:tool_card", args=[assistant.pk, "function:route_ticket"]) + f"?connection={connection.pk}"
    assert client.get(poll).status_code == 200  # still queued: keep polling
    run_queued_jobs()
    finished = client.get(poll)
    assert finished.status_code == 286 and json.loads(finished["HX-Trigger"]) == {"tool-test-finished": {}}
    html = finished.content.decode()
    assert 'data-state="passed"' in html and "every 2s" not in html
    assert ToolTestResult.objects.get().passed
    gate = client.get(reverse("tools:tool_gate", args=[assistant.pk])).content.decode()
    assert 'data-passed="true"' in gate
    page = client.get(reverse("tools:assistant_tools", args=[assistant.pk]), {"connection": connection.pk})
    assert "Gate passed" in page.content.decode()


def test_the_generated_loop_runs_against_the_sandbox_in_every_mode(sandbox, monkeypatch):
    """Execute the reference code itself: stubs raise, run_tool reports it, and the model finishes."""
    from migrator.tools.codegen import tool_loop

    monkeypatch.setenv("OPENAI_API_KEY", sandbox.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", sandbox.base_url)
    config = {"model": "gpt-4o", "instructions": "Route tickets.", "tools": [PING]}
    for mode in ("stateless", "conversation", "previous_response"):
        namespace: dict = {"__name__": "generated"}
        exec(compile(tool_loop(config=config, mode=mode, assistant_name="Pinger", store=True), "loop.py", "exec"),
             namespace)
        answer = namespace["answer"]
        if mode == "stateless":
            reply, history = answer([], "my name is Ada. please ping host=example.com")
            assert [i.get("type") for i in history].count("function_call_output") == 1
            reply2, _ = answer(history, "what is my name?")
        elif mode == "conversation":
            conversation_id = namespace["start_conversation"](flow="test")
            reply = answer(conversation_id, "my name is Ada. please ping host=example.com")
            reply2 = answer(conversation_id, "what is my name?")
        else:
            reply, response_id = answer(None, "my name is Ada. please ping host=example.com")
            reply2, _ = answer(response_id, "what is my name?")
        assert "ping returned" in reply and "NotImplementedError" in reply, (mode, reply)
        assert "Your name is Ada" in reply2, (mode, reply2)
