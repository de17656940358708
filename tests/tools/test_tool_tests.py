"""Each tool tested on its own against the sandbox (the real SDK over HTTP): pass and clear failures."""

from __future__ import annotations

import pytest

from migrator.core.models import AuditEvent, Job, JobStatus
from migrator.tools import services as tool_services
from migrator.tools import toolset
from migrator.tools.models import ResourceState, ToolResourceCheck, ToolTestResult, ToolTestStatus
from tests.flows.factories import (
    FlowFactory,
    assistant_from_sandbox,
    generated_version,
    make_version,
    sandbox_connection,
)

pytestmark = pytest.mark.django_db

INVOICE_TOOL = {
    "type": "function", "name": "get_invoice", "description": "Fetch an invoice by number.", "strict": True,
    "parameters": {"type": "object", "properties": {"invoice_id": {"type": "string", "pattern": "^INV-[0-9]{6}$"}},
                   "required": ["invoice_id"], "additionalProperties": False},
}


def run_test(assistant, key, engineer, connection, run_queued_jobs) -> tuple[Job, ToolTestResult]:
    job = tool_services.start_tool_test(assistant_id=assistant.pk, tool_key=key, actor=engineer,
                                        connection_id=connection.pk)
    assert job.status == JobStatus.QUEUED and job.params["tool_key"] == key
    run_queued_jobs()
    job.refresh_from_db()
    return job, ToolTestResult.objects.filter(job=job).get()


def test_every_tool_of_a_demo_assistant_passes_and_opens_the_gate(sandbox, engineer, run_queued_jobs):
    connection = sandbox_connection(sandbox)
    assistant = assistant_from_sandbox(sandbox, "billing")
    version = generated_version(assistant)
    flow = FlowFactory(assistant=assistant)
    rows = toolset.tool_rows(assistant, version)
    assert [r.key for r in rows] == ["function:get_invoice", "function:issue_refund", "function:list_payment_methods"]
    assert all(r.old and r.old["type"] == "function" and "function" in r.old for r in rows)  # old shape kept
    assert tool_services.tool_gate(assistant).untested

    for number, row in enumerate(rows, start=1):
        job, result = run_test(assistant, row.key, engineer, connection, run_queued_jobs)
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert result.status == ToolTestStatus.PASSED, result.summary
        assert result.version_number == version.number and result.tool_hash == row.hash
        assert [c["name"] for c in result.checks] == [
            "Sample input", "Forced call", "Arguments match the schema", "Finishes after the output"]
        assert result.details["responses"][0]["output_types"] == ["function_call"]
        # Each call was built by migrator.core.release.build_request, and says which release it was.
        assert all(len(r["release"]) == 64 for r in result.details["responses"])
        flow.refresh_from_db()
        assert (flow.tools_tested_at is not None) == (number == len(rows))  # the gate opens on the last pass

    gate = tool_services.tool_gate(assistant)
    assert gate.passed and gate.summary == "All 3 tool(s) pass."
    assert AuditEvent.objects.filter(verb="migrator.flow.tools_tested", object_id=str(flow.pk)).exists()
    assert AuditEvent.objects.filter(verb="migrator.tool.test_passed").count() == 3


def test_arguments_that_break_the_schema_fail_with_the_place(sandbox, engineer, run_queued_jobs):
    connection = sandbox_connection(sandbox)
    assistant = assistant_from_sandbox(sandbox, "billing")
    # Non-strict, and no string can satisfy it: whatever the model sends breaks the schema.
    broken = {"type": "function", "name": "tag_order", "strict": False,
              "parameters": {"type": "object", "properties": {"tag": {"type": "string", "not": {"type": "string"}}},
                             "required": ["tag"]}}
    make_version(assistant, {"model": "gpt-4o", "instructions": "Tag orders.", "tools": [broken]})
    job, result = run_test(assistant, "function:tag_order", engineer, connection, run_queued_jobs)
    assert result.status == ToolTestStatus.FAILED
    assert result.summary.startswith("the model's arguments do not match the schema: at /tag:")
    assert job.status == JobStatus.FAILED and "tag_order failed" in job.error
    assert result.checks[0]["ok"] is None  # the sample could not be made either: a warning, not the verdict
    assert result.checks[-1] == {"name": "Arguments match the schema", "ok": False, "detail": result.summary}


def test_a_schema_the_api_rejects_in_strict_mode_fails_clearly(sandbox, engineer, run_queued_jobs):
    connection = sandbox_connection(sandbox)
    assistant = assistant_from_sandbox(sandbox, "strict-breaker")
    bad = {"type": "function", "name": "move_stock", "strict": True,
           "parameters": {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
                          "required": ["sku"]}}
    make_version(assistant, {"model": "gpt-4o", "tools": [bad]})
    row = toolset.find_row(assistant, toolset.latest_version(assistant), "function:move_stock")
    assert any(f["severity"] == "error" for f in row.findings)  # the lint saw it coming
    _job, result = run_test(assistant, "function:move_stock", engineer, connection, run_queued_jobs)
    assert result.status == ToolTestStatus.FAILED
    assert "HTTP 400" in result.summary and "move_stock" in result.summary


def test_file_search_checks_the_store_and_searches(sandbox, engineer, run_queued_jobs):
    connection = sandbox_connection(sandbox)
    assistant = assistant_from_sandbox(sandbox, "docs-bot")
    version = generated_version(assistant)
    tool = version.config["tools"][0]
    assert tool["type"] == "file_search" and tool["vector_store_ids"]
    _job, result = run_test(assistant, "file_search", engineer, connection, run_queued_jobs)
    assert result.status == ToolTestStatus.PASSED, result.summary
    names = [c["name"] for c in result.checks]
    assert names[0] == f"Vector store {tool['vector_store_ids'][0]}" and "Search" in names
    assert "file(s) indexed" in result.checks[0]["detail"]


def test_a_missing_vector_store_fails_and_the_resource_check_says_missing(sandbox, engineer, run_queued_jobs):
    connection = sandbox_connection(sandbox)
    assistant = assistant_from_sandbox(sandbox, "docs-bot")
    make_version(assistant, {"model": "gpt-4.1", "tools": [
        {"type": "file_search", "vector_store_ids": ["vs_doesnotexist000000000000"]}]})
    _job, result = run_test(assistant, "file_search", engineer, connection, run_queued_jobs)
    assert result.status == ToolTestStatus.FAILED
    assert result.summary == "vector store vs_doesnotexist000000000000 does not exist on this connection."

    job = tool_services.start_resource_check(assistant_id=assistant.pk, actor=engineer, connection_id=connection.pk)
    run_queued_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.result["states"] == {"vs_doesnotexist000000000000": "missing"}
    check = ToolResourceCheck.objects.get(assistant=assistant, connection=connection)
    assert check.state == ResourceState.MISSING and check.kind == "vector_store"


def test_code_interpreter_checks_container_files_and_runs_code(sandbox, engineer, run_queued_jobs):
    connection = sandbox_connection(sandbox)
    assistant = assistant_from_sandbox(sandbox, "data-analyst")
    version = generated_version(assistant)
    file_ids = version.config["tools"][0]["container"]["file_ids"]
    assert len(file_ids) == 2
    _job, result = run_test(assistant, "code_interpreter", engineer, connection, run_queued_jobs)
    assert result.status == ToolTestStatus.PASSED, result.summary
    assert [c["ok"] for c in result.checks] == [True, True, True, True]
    assert "42" in result.details["logs"]

    tool_services.start_resource_check(assistant_id=assistant.pk, actor=engineer, connection_id=connection.pk)
    run_queued_jobs()
    states = set(ToolResourceCheck.objects.filter(assistant=assistant).values_list("state", flat=True))
    assert states == {ResourceState.EXISTS}


def test_a_missing_container_file_fails(sandbox, engineer, run_queued_jobs):
    connection = sandbox_connection(sandbox)
    assistant = assistant_from_sandbox(sandbox, "data-analyst")
    make_version(assistant, {"model": "gpt-4o", "tools": [
        {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-gone000000000000000000"]}}]})
    _job, result = run_test(assistant, "code_interpreter", engineer, connection, run_queued_jobs)
    assert result.status == ToolTestStatus.FAILED
    assert result.summary == "file file-gone000000000000000000 does not exist on this connection."


def test_a_server_fault_is_an_error_not_a_broken_tool(sandbox, make_sandbox, engineer, run_queued_jobs):
    faulty = make_sandbox(fail_rate=1.0)
    connection = sandbox_connection(faulty, name="Faulty sandbox")
    assistant = assistant_from_sandbox(sandbox, "billing")
    make_version(assistant, {"model": "gpt-4o", "tools": [INVOICE_TOOL]})
    flow = FlowFactory(assistant=assistant)
    job, result = run_test(assistant, "function:get_invoice", engineer, connection, run_queued_jobs)
    assert result.status == ToolTestStatus.ERROR
    assert "Forced call: HTTP 50" in result.summary
    assert job.status == JobStatus.FAILED and "get_invoice error" in job.error
    flow.refresh_from_db()
    assert flow.tools_tested_at is None


def test_a_retired_model_fails_the_tool_test(sandbox, engineer, run_queued_jobs):
    connection = sandbox_connection(sandbox)
    assistant = assistant_from_sandbox(sandbox, "billing")
    make_version(assistant, {"model": "gpt-4-turbo", "tools": [INVOICE_TOOL]})
    _job, result = run_test(assistant, "function:get_invoice", engineer, connection, run_queued_jobs)
    assert result.status == ToolTestStatus.FAILED and "HTTP 404" in result.summary


def test_a_changed_definition_needs_a_new_test_and_a_failure_withdraws_the_step(sandbox, engineer, run_queued_jobs):
    connection = sandbox_connection(sandbox)
    assistant = assistant_from_sandbox(sandbox, "billing")
    make_version(assistant, {"model": "gpt-4o", "tools": [INVOICE_TOOL]})
    flow = FlowFactory(assistant=assistant)
    run_test(assistant, "function:get_invoice", engineer, connection, run_queued_jobs)
    assert tool_services.tool_gate(assistant).passed

    edited = {**INVOICE_TOOL, "description": "Fetch one invoice."}
    make_version(assistant, {"model": "gpt-4o", "tools": [edited]})
    gate = tool_services.tool_gate(assistant)
    assert not gate.passed and gate.rows[0].state == "stale" and gate.rows[0].previous.passed

    make_version(assistant, {"model": "gpt-4-turbo", "tools": [edited]})  # now it breaks
    run_test(assistant, "function:get_invoice", engineer, connection, run_queued_jobs)
    flow.refresh_from_db()
    assert flow.tools_tested_at is None
    event = AuditEvent.objects.get(verb="migrator.flow.tools_untested", object_id=str(flow.pk))
    assert "get_invoice" in event.data["reason"]


def test_starting_tests_needs_the_permission_and_a_real_tool(product_owner, support_lead, engineer):
    from migrator.core.services import NotAllowed, ServiceError
    from tests.factories import AssistantFactory

    assistant = AssistantFactory(tools=[{"type": "function", "function": {"name": "ping", "parameters": {}}}])
    for user in (product_owner, support_lead):
        with pytest.raises(NotAllowed):
            tool_services.start_tool_test(assistant_id=assistant.pk, tool_key="function:ping", actor=user)
    with pytest.raises(ServiceError, match="has no tool 'function:nope'"):
        tool_services.start_tool_test(assistant_id=assistant.pk, tool_key="function:nope", actor=engineer)
    with pytest.raises(ServiceError, match="Connection #999999 does not exist"):
        tool_services.start_tool_test(assistant_id=assistant.pk, tool_key="function:ping", actor=engineer,
                                      connection_id=999999)
    jobs = tool_services.start_all_tool_tests(assistant_id=assistant.pk, actor=engineer)
    assert [j.params["tool_key"] for j in jobs] == ["function:ping"]
    assert jobs[0].params["connection_id"]  # the Sandbox connection by default
