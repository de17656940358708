"""An engineer tests each tool of a demo assistant against the sandbox, then picks the mode for two flows."""

from __future__ import annotations

import re

import pytest

from migrator.core.models import Flow
from migrator.tools.models import ToolTestResult
from tests.flows.factories import (
    assistant_from_sandbox,
    generated_version,
    make_threads,
    make_version,
    sandbox_connection,
)

pytestmark = [pytest.mark.browser, pytest.mark.worker]

UNSATISFIABLE = {"type": "function", "name": "tag_order", "strict": False, "description": "Tag an order.",
                 "parameters": {"type": "object", "properties": {"tag": {"type": "string", "not": {"type": "string"}}},
                                "required": ["tag"]}}


def test_engineer_tests_every_tool_then_picks_modes_for_two_flows(
    page_as, sandbox, celery_worker_process, screenshot
):
    sandbox_connection(sandbox, name="Sandbox")
    assistant = assistant_from_sandbox(sandbox, "multi-tool")  # file_search, code_interpreter and a function
    generated_version(assistant)
    page = page_as("engineer")

    page.goto(f"/tools/assistants/{assistant.pk}/")
    cards = page.locator("[data-testid=tool-card]")
    assert cards.count() == 3
    assert page.get_by_test_id("tool-gate").get_attribute("data-passed") == "false"
    for index in range(3):
        cards.nth(index).get_by_test_id("test-tool").click()
    for key in ("file_search", "code_interpreter", "function:log_note"):
        card = page.locator(f"[data-tool='{key}']")
        card.locator("[data-testid=tool-state]", has_text="Passed").wait_for(timeout=60_000)
        assert "Passed" in card.get_by_test_id("tool-result").inner_text()
    page.locator("[data-testid=tool-gate][data-passed=true]").wait_for(timeout=15_000)
    assert "All 3 tool(s) pass" in page.get_by_test_id("tool-gate").inner_text()
    assert "def log_note(**arguments" in page.get_by_test_id("loop-code").inner_text()
    screenshot(page, "tools-passed")

    # A broken tool on another assistant: the failure says what and where.
    billing = assistant_from_sandbox(sandbox, "billing")
    make_version(billing, {"model": "gpt-4o", "instructions": "Tag orders.", "tools": [UNSATISFIABLE]})
    page.goto(f"/tools/assistants/{billing.pk}/")
    page.get_by_test_id("test-tool").click()
    card = page.locator("[data-tool='function:tag_order']")
    card.locator("[data-testid=tool-state]", has_text="Failed").wait_for(timeout=60_000)
    summary = card.get_by_test_id("tool-summary").inner_text()
    assert summary.startswith("the model's arguments do not match the schema: at /tag:")
    screenshot(page, "tool-failed")
    assert ToolTestResult.objects.filter(status="passed").count() == 3

    # Two flows for the multi-tool assistant, with threads that point to different modes.
    make_threads(assistant, [(1, 300, 0.01)] * 25, flow_slug="account-review")
    make_threads(assistant, [(6, 4000, 0.2)] * 25, flow_slug="copilot-chat")
    for name, slug in (("Account review", "account-review"), ("Copilot chat", "copilot-chat")):
        page.goto(f"/flows/assistants/{assistant.pk}/")
        form = page.get_by_test_id("flow-create-form")
        form.locator("input[name=name]").fill(name)
        form.locator("input[name=slug]").fill(slug)
        form.get_by_role("button", name="Create flow").click()
        page.wait_for_url(re.compile(rf".*/flows/f/{slug}/$"))
        steps = page.get_by_test_id("step-tools")
        assert steps.get_attribute("data-done") == "true"  # every tool of the approved version passed

    # Accept the recommendation for the first flow.
    page.goto("/flows/f/account-review/")
    assert "single question" in page.get_by_test_id("recommendation").inner_text()
    page.get_by_test_id("accept-recommendation").click()
    page.wait_for_url(re.compile(r".*/flows/f/account-review/$"))
    assert page.get_by_test_id("current-mode").get_attribute("data-mode") == "stateless"
    assert page.get_by_test_id("current-mode").inner_text() == "Stateless (full input each call)"

    # Override it for the second: without a reason the form says so, with one it is saved.
    page.goto("/flows/f/copilot-chat/")
    assert "previous_response_id" in page.get_by_test_id("recommendation").inner_text()
    form = page.get_by_test_id("mode-form")
    form.locator("input[name=mode][value=conversation]").check()
    form.get_by_test_id("save-mode").click()
    assert "Say why you chose a different mode" in page.locator(".alert-error").first.inner_text()
    form = page.get_by_test_id("mode-form")
    form.locator("input[name=mode][value=conversation]").check()
    form.locator("textarea[name=reason]").fill("Account managers reopen these chats weeks later.")
    form.get_by_test_id("save-mode").click()
    page.wait_for_url(re.compile(r".*/flows/f/copilot-chat/$"))
    assert page.get_by_test_id("current-mode").get_attribute("data-mode") == "conversation"
    assert "weeks later" in page.get_by_test_id("mode-reason").inner_text()
    assert "conversation=conversation_id" in page.get_by_test_id("loop-code").inner_text()
    # The checklist is evidence, not clicks: the mode ticks now, validation stays open until a run passes.
    assert page.get_by_test_id("step-mode").get_attribute("data-done") == "true"
    assert page.get_by_test_id("step-validation").get_attribute("data-done") == "false"
    assert page.get_by_test_id("flow-transition-validated-disabled").is_disabled()
    screenshot(page, "flow-evidence")

    modes = dict(Flow.objects.filter(assistant=assistant).values_list("slug", "mode"))
    assert modes == {"account-review": "stateless", "copilot-chat": "conversation"}
