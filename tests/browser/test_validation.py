"""An engineer builds a test set for a flow, runs it, watches progress, opens a failing case and compares two
runs; the flow becomes validated only after a passing run of its current configuration."""

from __future__ import annotations

import copy

import pytest
from playwright.sync_api import expect

from migrator.core.actors import SYSTEM
from migrator.core.models import Flow
from migrator.core.services.connections import save_connection
from migrator.validation.models import ValidationRun
from tests.validation.recording import WEATHER_THREADS, WEATHER_TOOLS, record_and_import

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_engineer_validates_a_flow(page_as, sandbox_empty, make_sandbox, celery_worker_process, screenshot):
    from migrator.prompts.models import PromptVersion
    from migrator.prompts.services import approve_version

    weather = record_and_import(sandbox_empty, name="Weather desk", instructions="You help with the weather.",
                                tools=WEATHER_TOOLS, threads=WEATHER_THREADS)

    approve_version(version_id=weather.version.pk, actor=SYSTEM)
    # A candidate without the forecast tool, saved as v2 (it is not what the flow stands on).
    config = copy.deepcopy(weather.version.config)
    config["tools"] = [t for t in config["tools"] if t.get("name") != "get_forecast"]
    PromptVersion.objects.create(assistant=weather.assistant, number=2, config=config, is_generated=True)
    flow = Flow.objects.create(assistant=weather.assistant, slug="weather-chat", name="Weather chat",
                               mode="conversation", store=True)
    slow = make_sandbox(latency_ms=120)  # slow enough to watch the progress move
    save_connection(actor=SYSTEM, name="Slow sandbox", base_url=slow.base_url, api_key=slow.api_key, is_sandbox=True)

    page = page_as("engineer")
    page.goto(f"/validation/assistants/{weather.assistant.pk}/")
    page.get_by_role("link", name="Build a test set").click()
    page.fill("#id_name", "Weather chat replay")
    page.select_option("#id_strategy", "recent")
    page.get_by_role("button", name="Build test set").click()
    assert page.get_by_test_id("case-count").inner_text() == "7"
    screenshot(page, "testset")

    # A failing run: v2, on the slow connection, watched while it runs.
    page.select_option("#id_connection", label="Slow sandbox")
    page.fill("#id_version", "2")
    page.fill("#id_concurrency", "1")
    page.get_by_test_id("start-run").click()
    page.get_by_test_id("progress-counts").wait_for(timeout=30_000)
    assert "cases" in page.get_by_test_id("progress-counts").inner_text()
    screenshot(page, "progress")
    page.get_by_test_id("run-verdict").wait_for(timeout=90_000)  # the last poll swaps the report in
    assert page.get_by_test_id("run-verdict").inner_text() == "fail"
    # The live page ends in its final state without a reload: the header says so and offers no Cancel.
    expect(page.get_by_test_id("run-status")).to_have_text("Failed")
    expect(page.get_by_test_id("cancel-run")).to_have_count(0)
    expect(page.locator("#run-live[hx-trigger]")).to_have_count(0)  # and nothing polls any more
    assert page.get_by_test_id("point-tools").get_attribute("data-status") == "fail"
    assert "get_forecast" in page.get_by_test_id("point-tools").inner_text()
    assert Flow.objects.get(pk=flow.pk).status == "planning"
    screenshot(page, "failed-run")

    # Filter by the failing check, open the failing case: the tool call missing beside the recording.
    page.get_by_test_id("filter-tool_names").click()
    rows = page.get_by_test_id("case-results").locator("tbody tr")
    assert rows.count() == 1
    rows.first.get_by_test_id("case-link").click()
    assert page.get_by_test_id("case-verdict").first.inner_text() == "fail"
    assert "get_forecast was not called" in page.get_by_test_id("case-reasons").first.inner_text()
    assert "not called" in page.get_by_test_id("tool-calls").first.inner_text()
    screenshot(page, "failing-case")

    # The approved version on the flow's own mode passes, and only that validates the flow.
    failed = ValidationRun.objects.get()
    page.goto(f"/validation/sets/{failed.test_set_id}/")
    page.select_option("#id_connection", label="Sandbox")
    page.get_by_test_id("start-run").click()
    page.get_by_test_id("run-verdict").wait_for(timeout=90_000)
    assert page.get_by_test_id("run-verdict").inner_text() == "pass"
    for key in ("new_chat", "state", "tools", "workflow"):
        assert page.get_by_test_id(f"point-{key}").get_attribute("data-status") == "pass"
    assert Flow.objects.get(pk=flow.pk).status == "validated"

    # Compare the two runs case by case: the forecast case improved.
    page.goto(f"/validation/sets/{failed.test_set_id}/")
    page.get_by_test_id("compare-runs").click()
    table = page.get_by_test_id("compare-table")
    assert table.locator("tr[data-change=improvement]").count() == 1
    assert "1" in page.get_by_test_id("compare-counts").inner_text()
    screenshot(page, "compare")
