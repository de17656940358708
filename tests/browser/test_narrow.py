"""No page scrolls sideways at 1024 px: the walk visits every page of the app (a table lists each URL name and
how it is reached, and a fast test fails when a new page is in neither the walk nor the list of non-pages) and
fails on any horizontal overflow, naming the widest element."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from migrator.cutover.models import CutoverRequest
from migrator.inventory.models import LegacyThread
from migrator.validation.models import CaseResult, TestCase, TestSet, ValidationRun
from tests.factories import AssistantFactory, ConnectionFactory, FlowFactory, UserFactory
from tests.prompts.factories import PromptVersionFactory

# URL names that are not pages a person opens: actions (POST), polled fragments, downloads, redirects.
NOT_PAGES = {
    "core:assistant_transition", "core:job_progress", "core:job_cancel", "core:worker_selftest", "core:suggest", "flows:found",
    "inventory:connection_test", "prompts:generate", "prompts:move_label", "prompts:validate", "prompts:approve",
    "prompts:comment", "prompts:strict_choice", "prompts:export", "prompts:try_continue", "prompts:try_live",
    "prompts:request_review", "prompts:withdraw_review", "prompts:version_code", "prompts:assistant_code",
    "tools:test_tool", "tools:test_all_tools", "tools:check_resources", "tools:tool_gate", "tools:tool_card",
    "flows:token_create", "flows:token_revoke", "flows:choose_mode", "flows:accept_recommendation",
    "flows:refresh_recommendation", "flows:transition", "flows:edit", "cutover:decide", "cutover:withdraw", "cutover:request",
    "cutover:ramp", "cutover:rollback", "rollouts:acknowledge", "rollouts:shadow", "rollouts:flow_charts", "backfill:estimate", "backfill:run_create",
    "backfill:run_progress", "backfill:run_action", "backfill:thread_rollback", "backfill:mapping",
    "backfill:connection_budget", "backfill:plan", "validation:testset_exclude", "validation:testset_include",
    "validation:testset_redraw", "validation:testset_checks", "validation:run_start",
    "validation:export_promptfoo", "validation:export_jsonl", "validation:run_progress", "validation:run_cancel",
    "validation:export_run_promptfoo", "validation:export_run_jsonl", "webhooks:active", "webhooks:rotate",
    "webhooks:delete", "webhooks:test", "webhooks:create", "webhooks:edit", "receipts:download", "webhooks:redeliver", "diagnostics:flow_summary", "login", "logout",
    "retirement:sync", "retirement:acknowledge", "inventory:export_download", "tools:attach_vector_store", "retirement:autopilot_enrol", "retirement:autopilot_run",
}


def _pages(o: dict) -> dict[str, list]:
    """Every page and the arguments that reach it on the objects the walk creates."""
    a, f = o["assistant"].pk, o["flow"].slug
    return {
        "core:dashboard": [], "core:assistant_list": [], "core:assistant_detail": [a], "core:job_list": [],
        "core:job_detail": [o["job"]], "core:system_status": [], "core:audit_log": [], "core:doc": ["export-format"],
        "inventory:connection_list": [], "inventory:connection_add": [], "inventory:connection_edit": [o["connection"]],
        "inventory:import": [], "inventory:export": [], "inventory:usage": [], "inventory:model_radar": [], "inventory:assistant_usage": [a],
        "prompts:assistant_prompt": [a], "prompts:compare": [a], "prompts:edit": [o["version"]],
        "prompts:try": [o["version"]], "prompts:reviews": [], "prompts:convert": [], "tools:assistant_tools": [a],
        "flows:list": [], "flows:assistant_flows": [a], "flows:token_list": [], "flows:detail": [f],
        "cutover:inbox": [], "cutover:request_detail": [o["request"]], "cutover:flow": [f], "rollouts:guard": [f],
        "backfill:run_list": [], "backfill:new": [], "backfill:run_detail": [o["backfill"]],
        "backfill:thread_detail": [o["thread_backfill"]], "backfill:thread_lookup": [], "backfill:assistant_backfill": [a],
        "validation:list": [], "validation:testset_new": [], "validation:testset_detail": [o["test_set"]],
        "validation:case_new": [o["test_set"]], "validation:run_detail": [o["run"]],
        "validation:case_result": [o["run"], o["case"]], "validation:compare": [],
        "validation:assistant_validation": [a], "validation:flow_trend": [f],
        "webhooks:list": [], "webhooks:detail": [o["endpoint"]], "webhooks:log": [o["endpoint"]],
        "webhooks:delivery": None, "diagnostics:system": [], "diagnostics:flow": [f],
        "retirement:catalogue": [], "retirement:notices": [], "retirement:autopilot": [],
    }


def _url_names() -> set[str]:
    names: set[str] = set()

    def walk(resolver, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace in ("admin", "api"):
                    continue
                walk(entry, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
            elif isinstance(entry, URLPattern) and entry.name:
                names.add(f"{namespace}{entry.name}")
    walk(get_resolver(), "")
    return names


def test_every_page_is_walked_or_named_as_not_a_page():
    walked = set(_pages({k: type("O", (), {"pk": 1, "slug": "x"})() for k in ("assistant", "flow")} | {
        k: 1 for k in ("job", "connection", "version", "request", "backfill", "thread_backfill", "test_set", "run",
                       "case", "endpoint")}))
    missing = _url_names() - walked - NOT_PAGES
    assert not missing, f"pages the 1024 px walk does not visit (add them to _pages or NOT_PAGES): {sorted(missing)}"


def _objects() -> dict:
    from migrator.backfill.models import BackfillRun, ThreadBackfill
    from migrator.core.models import Job
    from migrator.webhooks import services as webhooks

    connection = ConnectionFactory(name="A connection with a rather long name for narrow screens")
    assistant = AssistantFactory(name="Narrow probe with a long assistant name that has to wrap somewhere",
                                 legacy_id="asst_" + "x" * 40, connection=connection)
    version = PromptVersionFactory(assistant=assistant, config={
        "model": "gpt-4o", "instructions": "Answer about the thread. " * 20,
        "tools": [{"type": "function", "name": "lookup_order_status_with_a_long_name", "parameters": {}}]})
    flow = FlowFactory(assistant=assistant, slug="narrow-probe-flow-with-a-long-slug", mode="conversation")
    thread = LegacyThread.objects.create(assistant=assistant, legacy_id="thread_" + "y" * 40)
    test_set = TestSet.objects.create(assistant=assistant, flow=flow, name="Narrow set " + "z" * 30)
    case = TestCase.objects.create(test_set=test_set, key=f"{thread.legacy_id}#1", thread=thread,
                                   thread_legacy_id=thread.legacy_id, expected_text="Refund " * 60,
                                   user_input=[{"role": "user", "content": "Where is my order? " * 20}])
    now = timezone.now()
    run = ValidationRun.objects.create(assistant=assistant, flow=flow, test_set=test_set, config_label="v1",
                                       config_hash="0" * 64, mode="conversation", status="failed", verdict="fail",
                                       started_at=now, finished_at=now, case_ids=[case.pk])
    CaseResult.objects.create(run=run, case=case, verdict="fail")
    request = CutoverRequest.objects.create(flow=flow, version=version, config_hash="0" * 64, mode="conversation")
    backfill = BackfillRun.objects.create(connection=connection, status="finished", thread_count=1)
    thread_backfill = ThreadBackfill.objects.create(connection=connection, thread=thread, run=backfill)
    job = Job.objects.create(kind="inventory.import", status="failed", error="boom " * 40)
    admin = UserFactory(username="narrow-admin", is_superuser=True, is_staff=True)
    endpoint, _secret = webhooks.create_endpoint(actor=admin, name="Support relay", url="https://example.com/hook",
                                                 events=["cutover.approved"])
    return {"assistant": assistant, "flow": flow, "version": version.pk, "connection": connection.pk,
            "job": job.pk, "request": request.pk, "backfill": backfill.pk, "thread_backfill": thread_backfill.pk,
            "test_set": test_set.pk, "run": run.pk, "case": case.pk, "endpoint": endpoint.pk}


@pytest.mark.browser
def test_no_page_scrolls_sideways_at_1024_px(page_as):
    objects = _objects()
    page = page_as("admin")
    page.set_viewport_size({"width": 1024, "height": 900})
    wide: list[str] = []
    for name, args in _pages(objects).items():
        if args is None:
            continue  # needs a delivery: covered by the webhook browser test's walk
        url = reverse(name, args=args)
        if name == "validation:compare":
            url += f"?a={objects['run']}&b={objects['run']}"
        try:
            response = page.goto(url)
        except Exception as exc:  # Chromium refuses to show some error statuses
            wide.append(f"{url} did not open: {str(exc)[:120]}")
            continue
        if response.status >= 400:
            wide.append(f"{url} answered {response.status}")
            continue
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            culprit = page.evaluate("""() => { const W = document.documentElement.clientWidth;
                const out = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > W + 1
                  && !(e.parentElement && e.parentElement.getBoundingClientRect().right > W + 1));
                return out.slice(0, 2).map(e => e.outerHTML.slice(0, 120)).join(' | '); }""")
            wide.append(f"{url} is {overflow}px too wide: {culprit}")
    assert not wide, "\n".join(wide)
