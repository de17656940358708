"""Background jobs of the tools app: testing one tool, and checking the resources tools need."""

from __future__ import annotations

from django.urls import reverse

from migrator.core.jobs import job_handler
from migrator.core.models import Assistant, Connection
from migrator.core.openai_client import client_for
from migrator.core.services import ServiceError
from migrator.core.services.jobs import JobContext
from migrator.prompts.models import PromptVersion
from migrator.tools import services as tool_services
from migrator.tools import toolset
from migrator.tools.tooltest import ToolTester, probe_resource

# A tool test is a handful of calls; retries would hide the flakiness the test should report.
_CLIENT_OPTIONS = {"max_retries": 0, "timeout": 60}


def _load(ctx: JobContext) -> tuple[Assistant, Connection]:
    assistant = Assistant.objects.filter(pk=ctx.params.get("assistant_id")).first()
    if assistant is None:
        raise ServiceError("The assistant of this job no longer exists.")
    connection = Connection.objects.filter(pk=ctx.params.get("connection_id")).first()
    if connection is None:
        raise ServiceError("The connection of this job no longer exists.")
    return assistant, connection


def _version(assistant: Assistant, version_id: int | None):
    if not version_id:
        return None
    version = PromptVersion.objects.filter(pk=version_id, assistant=assistant).first()
    if version is None:
        raise ServiceError(f"Prompt version #{version_id} of {assistant.display_name} no longer exists.")
    return version


@job_handler("tools.test_tool", label="Test a tool")
def test_tool(ctx: JobContext) -> dict:
    assistant, connection = _load(ctx)
    version = _version(assistant, ctx.params.get("version_id"))
    key = str(ctx.params.get("tool_key") or "")
    row = toolset.find_row(assistant, version, key)
    if row is None:
        raise ServiceError(f"{assistant.display_name} has no tool {key!r} in that version any more.")
    config = (version.config if version is not None else {}) or {}
    model = config.get("model") or assistant.model
    if not model:
        raise ServiceError(f"{assistant.display_name} has no model to test with; set one in its prompt version.")
    ctx.progress(0, 1, f"Testing {row.label} on {connection.name}")
    ctx.produced(reverse("tools:assistant_tools", args=[assistant.pk]), f"Tools of {assistant.display_name}")
    ctx.log(f"Testing {row.label} of {assistant.display_name}"
            f"{f' v{version.number}' if version is not None else ''} with {model} on {connection.name}")
    tester = ToolTester(
        client_for(connection, **_CLIENT_OPTIONS),
        model=model,
        instructions=config.get("instructions") if version is not None else assistant.instructions,
        reasoning=config.get("reasoning"),
        log=ctx.log,
        recorded=ctx.params.get("recorded"),
    )
    verdict = tester.run(row.new)
    result = tool_services.record_tool_result(
        assistant=assistant, row=row, version=version, connection=connection, verdict=verdict,
        actor=ctx.actor, job_id=ctx.job_id,
    )
    ctx.progress(1, 1, verdict.summary[:300])
    if not verdict.passed:
        # The job page then shows the failure reason; the stored result keeps every check.
        raise ServiceError(f"{row.label} {verdict.status}: {verdict.summary}")
    return {"tool": row.key, "status": verdict.status, "summary": verdict.summary, "result_id": result.pk,
            "checks": [c.as_json() for c in verdict.checks]}


@job_handler("tools.check_resources", label="Check tool resources")
def check_resources(ctx: JobContext) -> dict:
    assistant, connection = _load(ctx)
    rows = toolset.tool_rows(assistant, toolset.latest_version(assistant))
    wanted: list[tuple[str, str]] = []
    for row in rows:
        for resource in row.resources:
            if resource not in wanted:
                wanted.append(resource)
    if not wanted:
        ctx.log("The assistant's tools need no vector stores or files.")
        return {"checked": 0, "states": {}}
    client = client_for(connection, **_CLIENT_OPTIONS)
    ctx.produced(reverse("tools:assistant_tools", args=[assistant.pk]), f"Tools of {assistant.display_name}")
    states: dict[str, str] = {}
    for done, (kind, resource_id) in enumerate(wanted):
        ctx.progress(done, len(wanted), f"Checking {resource_id}")
        state, detail, info = probe_resource(client, kind, resource_id)
        tool_services.record_resource_check(
            assistant=assistant, connection=connection, kind=kind, resource_id=resource_id, state=state,
            detail=detail, info=info, job_id=ctx.job_id,
        )
        states[resource_id] = state
        ctx.log(f"{kind} {resource_id}: {state} - {detail}")
    ctx.progress(len(wanted), len(wanted), "Done")
    return {"checked": len(wanted), "states": states}
