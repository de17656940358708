"""Tool tests and resource checks: starting them, storing what they found, and the "all tools pass" gate."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from migrator.core.actors import SYSTEM, require, user_or_none
from migrator.core.models import Assistant, Connection, Flow, Job
from migrator.core.services import ServiceError, audit
from migrator.core.services.connection_access import require_use
from migrator.core.services.connections import ensure_sandbox_connection
from migrator.core.services.jobs import start_job
from migrator.tools import toolset
from migrator.tools.models import ToolResourceCheck, ToolTestResult, ToolTestStatus
from migrator.tools.toolset import ToolRow

TEST_PERMISSION = "tools.run_tool_test"


def _require(actor, perm: str, action: str) -> None:
    require(actor, perm, action=action)


def resolve_connection(connection_id: int | None) -> Connection:
    """The connection to test against: the given one, else the Sandbox."""
    if connection_id:
        connection = Connection.objects.filter(pk=connection_id).first()
        if connection is None:
            raise ServiceError(f"Connection #{connection_id} does not exist (it may have been deleted).")
        return connection
    return ensure_sandbox_connection()


# --- a tool's resources ---------------------------------------------------------------------------------


def attach_vector_store(*, assistant_id: int, tool_key: str, vector_store_ids: list[str], actor):
    """Point a file_search tool of the version under review at vector stores: a new draft version (through the
    prompts app's ``attach_vector_stores``), which the tool's next test and the product owner's review see."""
    from migrator.prompts import services as prompt_services

    assistant = Assistant.objects.filter(pk=assistant_id).first()
    if assistant is None:
        raise ServiceError(f"Assistant #{assistant_id} does not exist.")
    version = toolset.latest_version(assistant)
    if version is None:
        raise ServiceError(f"{assistant.display_name} has no prompt version yet: generate a draft first, then attach "
                           "the vector store to its file_search tool.")
    row = next((r for r in toolset.tool_rows(assistant, version) if r.key == tool_key), None)
    if row is None or row.type != "file_search":
        raise ServiceError(f"v{version.number} of {assistant.display_name} has no file_search tool {tool_key!r}; "
                           "reload the page.")
    return prompt_services.attach_vector_stores(version_id=version.pk, tool_index=row.index,
                                                vector_store_ids=vector_store_ids, actor=actor)


# --- starting jobs ---------------------------------------------------------------------------------------


def start_tool_test(*, assistant_id: int, tool_key: str, actor, connection_id: int | None = None,
                    recorded_call_id: str = "", version_id: int | None = None) -> Job:
    """Queue a ``tools.test_tool`` job for one tool of the assistant's latest prompt version (with a call that
    imported runs recorded as its input and output, when ``recorded_call_id`` names one)."""
    _require(actor, TEST_PERMISSION, "test tools")
    assistant = Assistant.objects.filter(pk=assistant_id).first()
    if assistant is None:
        raise ServiceError(f"Assistant #{assistant_id} does not exist.")
    version = _version(assistant, version_id)
    row = toolset.find_row(assistant, version, tool_key)
    if row is None:
        raise ServiceError(f"{assistant.display_name} has no tool {tool_key!r} in its current configuration.")
    connection = resolve_connection(connection_id)
    require_use(actor, connection, "tool_test")
    params = {
        "assistant_id": assistant.pk,
        "tool_key": row.key,
        "version_id": version.pk if version else None,
        "connection_id": connection.pk,
    }
    if recorded_call_id:
        params["recorded"] = recorded_input(assistant, row.new, recorded_call_id)
    return start_job(
        kind="tools.test_tool",
        actor=actor,
        params=params,
        subject=assistant,
        subject_label=f"{row.label} · {assistant.display_name}" + (" (recorded call)" if recorded_call_id else ""),
    )


def recorded_input(assistant: Assistant, tool: dict, call_id: str) -> dict:
    """The recorded call a test replays, as job params; a clear error when it is not (any longer) there."""
    from migrator.tools.recorded_calls import find_recorded

    if tool.get("type") != "function":
        raise ServiceError("Only function tools have recorded calls to replay.")
    found = find_recorded(assistant, str(tool.get("name")), call_id)
    if found is None:
        raise ServiceError(f"No recorded call {call_id!r} of {tool.get('name')} in the imported runs of "
                           f"{assistant.display_name}.")
    return found.as_params()


def _version(assistant: Assistant, version_id: int | None):
    """The named version of ``assistant`` (the autopilot tests its candidate), else the latest one."""
    if version_id is None:
        return toolset.latest_version(assistant)
    from migrator.prompts.models import PromptVersion

    version = PromptVersion.objects.filter(pk=version_id, assistant=assistant).first()
    if version is None:
        raise ServiceError(f"Prompt version #{version_id} is not a version of {assistant.display_name}.")
    return version


def start_all_tool_tests(*, assistant_id: int, actor, connection_id: int | None = None,
                         version_id: int | None = None) -> list[Job]:
    """One job per tool, so each tool passes or fails on its own."""
    _require(actor, TEST_PERMISSION, "test tools")
    assistant = Assistant.objects.filter(pk=assistant_id).first()
    if assistant is None:
        raise ServiceError(f"Assistant #{assistant_id} does not exist.")
    rows = toolset.tool_rows(assistant, _version(assistant, version_id))
    if not rows:
        raise ServiceError(f"{assistant.display_name} has no tools to test.")
    with transaction.atomic():
        return [
            start_tool_test(assistant_id=assistant.pk, tool_key=row.key, actor=actor, connection_id=connection_id,
                            version_id=version_id)
            for row in rows
        ]


def start_resource_check(*, assistant_id: int, actor, connection_id: int | None = None) -> Job:
    _require(actor, TEST_PERMISSION, "check tool resources")
    assistant = Assistant.objects.filter(pk=assistant_id).first()
    if assistant is None:
        raise ServiceError(f"Assistant #{assistant_id} does not exist.")
    connection = resolve_connection(connection_id)
    require_use(actor, connection, "tool_test")
    return start_job(
        kind="tools.check_resources",
        actor=actor,
        params={"assistant_id": assistant.pk, "connection_id": connection.pk},
        subject=assistant,
        subject_label=f"Tool resources · {assistant.display_name} on {connection.name}",
    )


# --- recording results -----------------------------------------------------------------------------------


def record_tool_result(
    *,
    assistant: Assistant,
    row: ToolRow,
    version,
    connection: Connection,
    verdict,
    actor,
    job_id: int | None = None,
) -> ToolTestResult:
    """Store one verdict, then refresh the flows' "tools tested" step from the gate."""
    user = user_or_none(actor)
    with transaction.atomic():
        result = ToolTestResult.objects.create(
            assistant=assistant,
            version_id=version.pk if version else None,
            version_number=getattr(version, "number", None),
            tool_key=row.key,
            tool_type=row.type,
            tool_name=row.name if row.type == "function" else "",
            tool_hash=row.hash,
            tool_definition=row.new,
            connection=connection,
            connection_name=connection.name,
            job_id=job_id,
            status=verdict.status,
            summary=verdict.summary[:4000],
            checks=[c.as_json() for c in verdict.checks],
            details=verdict.details,
            duration_ms=verdict.duration_ms,
            tested_by=user,
        )
        audit.record(
            actor=actor or SYSTEM,
            verb=f"migrator.tool.test_{verdict.status}",
            obj=assistant,
            data={"tool": row.key, "version": result.version_number, "connection": connection.name,
                  "summary": result.summary[:500]},
        )
        refresh_tools_tested(assistant=assistant, actor=actor, cause=f"{row.label}: {result.summary[:200]}")
    return result


def refresh_tools_tested(*, assistant: Assistant, actor, cause: str = "") -> bool:
    """Set (or clear) ``Flow.tools_tested_at`` on the assistant's flows to match the gate. Returns the gate."""
    gate = tool_gate(assistant)
    now = timezone.now()
    flows = Flow.objects.select_for_update().filter(assistant=assistant)
    for flow in flows:
        if gate.passed and flow.tools_tested_at is None:
            flow.tools_tested_at = now
            flow.save(update_fields=["tools_tested_at", "updated_at"])
            audit.record(actor=actor or SYSTEM, verb="migrator.flow.tools_tested", obj=flow,
                         after={"tools_tested_at": now.isoformat()},
                         data={"tools": len(gate.rows), "automatic": True})
        elif not gate.passed and flow.tools_tested_at is not None and gate.failed:
            # A failing test withdraws the step; a merely untested new tool leaves a manual mark alone.
            before = flow.tools_tested_at.isoformat()
            flow.tools_tested_at = None
            flow.save(update_fields=["tools_tested_at", "updated_at"])
            audit.record(actor=actor or SYSTEM, verb="migrator.flow.tools_untested", obj=flow,
                         before={"tools_tested_at": before}, after={"tools_tested_at": None},
                         data={"reason": cause or "a tool test failed"})
    return gate.passed


# --- the gate --------------------------------------------------------------------------------------------


@dataclass
class GateRow:
    row: ToolRow
    result: ToolTestResult | None  # latest result for exactly this definition
    previous: ToolTestResult | None = None  # latest result for an earlier definition of the same tool

    @property
    def state(self) -> str:
        if self.result is None:
            return "stale" if self.previous else "untested"
        return self.result.status


@dataclass
class Gate:
    rows: list[GateRow] = field(default_factory=list)
    version: object | None = None

    @property
    def passed(self) -> bool:
        return all(r.state == ToolTestStatus.PASSED for r in self.rows)

    @property
    def failed(self) -> list[GateRow]:
        return [r for r in self.rows if r.state in (ToolTestStatus.FAILED, ToolTestStatus.ERROR)]

    @property
    def untested(self) -> list[GateRow]:
        return [r for r in self.rows if r.state in ("untested", "stale")]

    @property
    def passed_count(self) -> int:
        return sum(1 for r in self.rows if r.state == ToolTestStatus.PASSED)

    @property
    def summary(self) -> str:
        if not self.rows:
            return "This assistant has no tools, so there is nothing to test."
        if self.passed:
            return f"All {len(self.rows)} tool(s) pass."
        parts = [f"{self.passed_count} of {len(self.rows)} tool(s) pass"]
        if self.failed:
            parts.append(f"{len(self.failed)} failing ({', '.join(r.row.label for r in self.failed)})")
        if self.untested:
            parts.append(f"{len(self.untested)} not tested yet ({', '.join(r.row.label for r in self.untested)})")
        return "; ".join(parts) + "."


def tool_gate(assistant: Assistant, version=None, rows: list[ToolRow] | None = None) -> Gate:
    """Every tool of the (latest) version must have passed its latest test of the exact same definition."""
    if rows is None:
        version = version if version is not None else toolset.latest_version(assistant)
        rows = toolset.tool_rows(assistant, version)
    results = list(ToolTestResult.objects.filter(assistant=assistant, tool_key__in=[r.key for r in rows])
                   .select_related("connection").order_by("-created_at", "-id"))
    gate = Gate(version=version)
    for row in rows:
        same = next((r for r in results if r.tool_key == row.key and r.tool_hash == row.hash), None)
        other = next((r for r in results if r.tool_key == row.key and r.tool_hash != row.hash), None)
        gate.rows.append(GateRow(row=row, result=same, previous=other if same is None else None))
    return gate


def resource_states(assistant: Assistant, connection: Connection | None) -> dict[tuple[str, str], ToolResourceCheck]:
    if connection is None:
        return {}
    checks = ToolResourceCheck.objects.filter(assistant=assistant, connection=connection)
    return {(c.kind, c.resource_id): c for c in checks}


def record_resource_check(
    *, assistant: Assistant, connection: Connection, kind: str, resource_id: str, state: str, detail: str,
    info: dict, job_id: int | None = None,
) -> ToolResourceCheck:
    check, _ = ToolResourceCheck.objects.update_or_create(
        assistant=assistant, connection=connection, kind=kind, resource_id=resource_id,
        defaults={"state": state, "detail": detail[:2000], "info": info, "job_id": job_id,
                  "checked_at": timezone.now()},
    )
    return check
