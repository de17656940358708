"""Tool tests with realistic inputs: calls imported runs recorded are offered, and a test replays one."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from migrator.core.models import JobStatus
from migrator.inventory.models import LegacyRun, LegacyThread
from migrator.tools import services as tool_services
from migrator.tools.models import ToolTestResult, ToolTestStatus
from migrator.tools.recorded_calls import recorded_calls
from tests.factories import AssistantFactory
from tests.flows.factories import make_version, sandbox_connection

pytestmark = pytest.mark.django_db

INVOICE_TOOL = {
    "type": "function", "name": "get_invoice", "description": "Fetch an invoice by number.", "strict": True,
    "parameters": {"type": "object", "properties": {"invoice_id": {"type": "string", "pattern": "^INV-[0-9]{6}$"}},
                   "required": ["invoice_id"], "additionalProperties": False},
}


def _recorded_run(assistant, n: int, arguments: str, output: str | None, name: str = "get_invoice"):
    thread = LegacyThread.objects.create(assistant=assistant, legacy_id=f"thread_{n}")
    function = {"name": name, "arguments": arguments}
    if output is not None:
        function["output"] = output
    steps = [{"id": f"step_{n}", "type": "tool_calls", "created_at": 1737245289 + n,
              "step_details": {"type": "tool_calls", "tool_calls": [{"id": f"call_{n}", "type": "function",
                                                                     "function": function}]}}]
    return LegacyRun.objects.create(thread=thread, legacy_id=f"run_{n}", steps=steps,
                                    tool_calls={f"function:{name}": 1}, created_at_legacy=None)


@pytest.fixture
def billing():
    assistant = AssistantFactory(name="Billing", model="gpt-4o", instructions="Look invoices up.")
    make_version(assistant, {"model": "gpt-4o", "instructions": "Look invoices up.", "tools": [INVOICE_TOOL]})
    _recorded_run(assistant, 1, '{"invoice_id": "INV-004211"}', '{"invoice_id": "INV-004211", "total": "129.00 EUR"}')
    _recorded_run(assistant, 2, '{"invoice_id": "INV-004211"}', '{"again": true}')  # same arguments: offered once
    _recorded_run(assistant, 3, '{"invoice_id": "INV-009000"}', None)
    _recorded_run(assistant, 4, '{"x": 1}', "{}", name="other_tool")
    return assistant


def test_recorded_calls_of_a_tool_are_found_distinct(billing):
    calls = recorded_calls(billing, "get_invoice")
    # Newest first; the same arguments twice are offered once (the newest recording).
    assert [(c.call_id, json.dumps(c.arguments), c.output) for c in calls] == [
        ("call_3", '{"invoice_id": "INV-009000"}', None),
        ("call_2", '{"invoice_id": "INV-004211"}', '{"again": true}'),
    ]


def test_a_tool_test_replays_a_recorded_call(billing, sandbox, engineer, run_queued_jobs, client):
    connection = sandbox_connection(sandbox)
    client.force_login(engineer)
    page = client.get(reverse("tools:assistant_tools", args=[billing.pk])).content.decode()
    assert 'data-testid="recorded-calls"' in page and "INV-009000" in page and "INV-004211" in page
    assert "no output recorded; a sample is sent" in page
    [with_output] = [c for c in recorded_calls(billing, "get_invoice") if c.output]
    job = tool_services.start_tool_test(assistant_id=billing.pk, tool_key="function:get_invoice", actor=engineer,
                                        connection_id=connection.pk, recorded_call_id=with_output.call_id)
    assert job.params["recorded"]["arguments"] == {"invoice_id": "INV-004211"}
    [done] = run_queued_jobs()
    assert done.status == JobStatus.SUCCEEDED, done.error
    result = ToolTestResult.objects.get(job=done)
    assert result.status == ToolTestStatus.PASSED, result.summary
    assert result.checks[0]["name"] == "Recorded input" and "INV-004211" in result.checks[0]["detail"]
    assert result.details["sample_output"] == with_output.output  # the app's real answer was sent back
    assert "INV-004211" in result.details["user_text"]


def test_an_unknown_recorded_call_is_refused_clearly(billing, engineer):
    with pytest.raises(tool_services.ServiceError, match="No recorded call 'call_9' of get_invoice"):
        tool_services.start_tool_test(assistant_id=billing.pk, tool_key="function:get_invoice", actor=engineer,
                                      recorded_call_id="call_9")
