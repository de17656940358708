"""No Content-Security-Policy (issue 15): every page sends one, and Chromium reports no violation of it on
any page, the Swagger docs included; the handlers that used to be inline still work from app.js. Style
attributes are refused too (style-src-attr 'none'): the walk covers the pages with progress bars, share bars
and charts, and a style attribute slipped into a page is caught."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from playwright.sync_api import expect

from migrator.backfill.models import BackfillRun
from migrator.flows.models import ApiToken, ApiTokenDay, FlowTrafficDay
from migrator.validation.models import ValidationRun
from tests.factories import AssistantFactory, ConnectionFactory, FlowFactory, JobFactory
from tests.prompts.factories import PromptVersionFactory

pytestmark = [pytest.mark.browser]


def _violations(page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text
            or "Refused to" in msg.text else None)
    return found


def _bars_and_charts(assistant, flow) -> list[tuple[str, list]]:
    """Rows that make every bar and chart render (progress bars, share bars, SVG charts): their pages."""
    now = timezone.now()
    for days_ago in range(3):
        FlowTrafficDay.objects.create(flow=flow, version=1, day=now.date() - timedelta(days=days_ago), calls=40)
    FlowTrafficDay.objects.create(flow=flow, version=2, day=now.date(), calls=1)
    token = ApiToken.objects.create(name="CSP probe", consumer="ops", prefix="cspprobe", token_hash="0" * 64)
    ApiTokenDay.objects.create(token=token, day=now.date(), calls=4, not_modified=1)
    running = JobFactory(status="running", progress_done=37, progress_total=100, started_at=now)
    failed = JobFactory(status="failed", progress_done=6, progress_total=10, error="boom", finished_at=now)
    assistant.tool_call_counts = {"function:get_weather": 7, "file_search": 2}
    assistant.save(update_fields=["tool_call_counts"])
    run = {"assistant": assistant, "flow": flow, "config_label": "v1", "config_hash": "0" * 64, "mode": "stateless"}
    finished = ValidationRun.objects.create(
        **run, status="failed", verdict="fail", finished_at=now, started_at=now, totals={"cases": 4, "cases_passed": 3},
        check_summary=[{"name": "completed", "label": "Turn completed", "passed": 3, "failed": 1, "errors": 0,
                        "ran": 4, "pass_rate": 0.75, "threshold": 1.0, "weight": 1.0, "blocking": True}])
    replaying = ValidationRun.objects.create(**run, status="running", cases_total=4, cases_done=1, started_at=now)
    backfill = BackfillRun.objects.create(connection=ConnectionFactory(), status="paused", thread_count=0)
    return [
        ("core:job_list", []), ("core:job_detail", [running.pk]), ("core:job_detail", [failed.pk]),
        ("inventory:assistant_usage", [assistant.pk]), ("validation:list", []),
        ("validation:run_detail", [finished.pk]), ("validation:run_detail", [replaying.pk]),
        ("validation:flow_trend", [flow.slug]), ("backfill:run_list", []), ("backfill:run_detail", [backfill.pk]),
        ("webhooks:list", []),
    ]


def _urls(assistant, flow, version, more=()) -> list[str]:
    names = [
        ("core:dashboard", []), ("core:assistant_list", []), ("core:assistant_detail", [assistant.pk]),
        ("prompts:assistant_prompt", [assistant.pk]), ("prompts:compare", [assistant.pk]),
        ("prompts:edit", [version.pk]), ("prompts:try", [version.pk]),
        ("tools:assistant_tools", [assistant.pk]), ("flows:assistant_flows", [assistant.pk]),
        ("flows:list", []), ("flows:detail", [flow.slug]), ("flows:token_list", []),
        ("core:job_list", []), ("core:audit_log", []), ("core:system_status", []),
        ("inventory:import", []), ("inventory:connection_list", []), ("inventory:usage", []),
        ("inventory:model_radar", []), ("cutover:inbox", []), ("cutover:flow", [flow.slug]), *more,
    ]
    urls = []
    for name, args in names:
        try:
            urls.append(reverse(name, args=args))
        except NoReverseMatch:
            continue
    return [*urls, "/api/v1/docs"]


def test_every_page_sends_a_strict_content_security_policy_and_breaks_none_of_it(page_as, client):
    assistant = AssistantFactory(name="CSP probe")
    version = PromptVersionFactory(assistant=assistant, config={
        "model": "gpt-4o", "instructions": "Hi.", "tools": [{"type": "function", "name": "f", "parameters": {}}]})
    PromptVersionFactory(assistant=assistant)
    flow = FlowFactory(assistant=assistant, slug="csp-flow")
    more = _bars_and_charts(assistant, flow)
    page = page_as("admin")
    violations = _violations(page)
    for url in _urls(assistant, flow, version, more):
        response = page.goto(url)
        assert response.status == 200, url
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "unsafe-eval" not in policy, (url, policy)
        assert "style-src-attr 'none'" in policy and "unsafe-inline" not in policy, (url, policy)
        page.wait_for_load_state("networkidle")
        assert violations == [], (url, violations)
    expect(page.locator("#swagger-ui .info")).to_be_visible()  # the docs page still renders under the policy

    # The version picker used an inline onchange handler; app.js submits it now.
    page.goto(reverse("prompts:assistant_prompt", args=[assistant.pk]))
    page.select_option("#pick-version", str(version.number))
    expect(page).to_have_url(re.compile(rf"v={version.number}"))
    assert violations == []


def test_the_login_page_passes_the_policy(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    violations = _violations(page)
    response = page.goto("/login/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    assert violations == []
    context.close()


def test_a_style_attribute_slipped_into_a_page_is_refused_and_caught(page_as):
    """What the walk above relies on: Chromium refuses a style="…" under this policy and says so."""
    page = page_as("admin")
    violations = _violations(page)

    def add_a_style_attribute(route):
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace("<main", '<main style="outline: 3px solid red"', 1))

    page.route(lambda url: urlparse(url).path == "/", add_a_style_attribute)
    response = page.goto("/")
    assert "style-src-attr 'none'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    assert len(violations) == 1 and "style-src-attr" in violations[0], violations  # what the walk fails on
    assert page.evaluate("getComputedStyle(document.querySelector('main')).outlineStyle") == "none"
