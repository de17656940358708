"""Each role walks its main path end to end in a real browser, at 1024 px, with screenshots kept as artifacts
(test-artifacts/screenshots/). A real sandbox answers over HTTP and a real Celery worker runs the jobs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from migrator.inventory.models import LegacyThread
from migrator.prompts import reviews, services
from tests.browser.helpers import approve_cutover_from_inbox, fits
from tests.factories import AssistantFactory
from tests.flows.factories import assistant_from_sandbox, sandbox_connection
from tests.inventory import archives as a

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def narrow(page) -> None:
    page.set_viewport_size({"width": 1024, "height": 900})


def wait_job(page) -> str:
    page.wait_for_url(re.compile(r".*/jobs/\d+/$"))
    page.locator("#job-live[data-status=succeeded], #job-live[data-status=failed]").wait_for(timeout=60_000)
    return page.locator("#job-live").get_attribute("data-status")


def test_product_owner_reviews_approves_and_talks_to_the_prompt(
    page_as, screenshot, sandbox, celery_worker_process, engineer
):
    connection = sandbox_connection(sandbox, name="Sandbox")
    assistant = assistant_from_sandbox(sandbox, "multi-tool")
    version = services.generate_version(assistant_id=assistant.pk, actor=engineer)
    reviews.request_review(version_id=version.pk, actor=engineer, note="First draft, please check the tools")

    page = page_as("product_owner")
    narrow(page)
    page.goto("/")
    expect(page.get_by_test_id("nav-badge-reviews")).to_have_text("1")
    expect(page.get_by_test_id("main-action")).to_have_text("Review prompts")
    fits(page)
    screenshot(page, "1-dashboard")

    page.get_by_test_id("main-action").click()
    expect(page.get_by_test_id("waiting-list")).to_contain_text("First draft, please check the tools")
    fits(page)
    screenshot(page, "2-inbox")
    page.get_by_test_id("waiting-list").get_by_role("link").first.click()
    expect(page.get_by_test_id("review-request")).to_contain_text("asked any product owner to review v1")
    page.get_by_test_id("approve").click()
    page.wait_for_load_state()
    if page.get_by_test_id("approve-anyway").count():  # open findings are listed first, then approved as read
        fits(page)
        page.get_by_test_id("approve-anyway").click()
    expect(page.get_by_test_id("approved-line")).to_contain_text(f"Approved by {page.user.username}")
    expect(page.get_by_test_id("review-request")).to_contain_text(f"approved by {page.user.username}")
    fits(page)
    screenshot(page, "3-approved")

    # Try it as a conversation: the model calls a tool, the product owner types what the app returns.
    page.locator("#try textarea[name=input]").fill("Please log note: text=remember the milk")
    page.locator("#try select[name=connection]").select_option(str(connection.pk))
    page.locator("#try select[name=mode]").select_option("conversation")
    page.get_by_test_id("try-it").click()
    assert wait_job(page) == "succeeded"
    expect(page.get_by_test_id("try-tool-call")).to_contain_text("log_note")
    expect(page.get_by_test_id("job-params-sentence")).to_contain_text("Send v1 of")
    page.locator("[data-testid=try-continue] textarea[name^=output_]").fill('{"saved": true}')
    page.locator("#continue-input").fill("Thanks. What did you save?")
    fits(page)
    screenshot(page, "4-tool-call")
    page.get_by_test_id("try-send-next").click()
    assert wait_job(page) == "succeeded"
    expect(page.get_by_test_id("try-transcript")).to_contain_text("Tool output")
    expect(page.get_by_test_id("try-summary")).to_contain_text("turn 2 of a conversation kept in a Conversation")
    fits(page)
    screenshot(page, "5-conversation")


def test_engineer_imports_then_creates_a_flow_found_in_the_data(page_as, screenshot, celery_worker_process, tmp_path):
    archive = a.write_jsonl(tmp_path / "estate.jsonl", [a.assistant(1, name="Support Triage"), a.assistant(2)])
    page = page_as("engineer")
    narrow(page)
    page.goto("/")
    expect(page.get_by_test_id("main-action")).to_have_text("Import assistants")
    screenshot(page, "1-empty-dashboard")
    page.get_by_test_id("main-action").click()
    page.get_by_test_id("archive-form").locator("input[type=file]").set_input_files(str(archive))
    page.get_by_test_id("archive-form").get_by_role("button", name="Upload and import").click()
    assert wait_job(page) == "succeeded"
    expect(page.get_by_test_id("import-summary")).to_contain_text("Imported 2 new assistants")
    expect(page.get_by_test_id("job-params-sentence")).to_contain_text("Import the export archive estate.jsonl")
    fits(page)
    screenshot(page, "2-import-report")

    # The thread list said which flow each thread came from; nobody created that flow yet.
    from migrator.core.models import Assistant

    triage = Assistant.objects.get(legacy_id="asst_0001")
    for i in range(16):
        LegacyThread.objects.create(assistant=triage, legacy_id=f"thread_web_{i}", flow_slug="support-triage-web",
                                    message_count=6)
    page.goto("/flows/")
    expect(page.get_by_test_id("found-flow")).to_contain_text("16 threads")
    page.get_by_test_id("found-flow").get_by_role("link", name="Create it").click()
    page.get_by_test_id("create-found-flow").click()
    page.wait_for_url(re.compile(r".*/flows/f/support-triage-web/$"))
    expect(page.get_by_test_id("flow-event").first).to_contain_text("created the flow Support triage web")
    fits(page)
    screenshot(page, "3-flow-created")

    page.goto("/audit/")
    expect(page.locator("[data-testid=audit-row]", has_text="2 new assistants")).to_contain_text("estate.jsonl")
    fits(page)
    screenshot(page, "4-audit-in-words")


def test_support_lead_approves_a_cutover_from_the_dashboard(page_as, screenshot, engineer):
    from migrator.cutover import services as cutover
    from tests.cutover.helpers import evidence_passing, serve
    from tests.factories import FlowFactory
    from tests.flows.factories import make_version

    assistant = AssistantFactory(name="Order help", legacy_id="asst_journey_cut", avg_turns_per_thread=6.142857142857143,
                                 message_count=12345)
    v1 = make_version(assistant, {"model": "gpt-4o", "instructions": "Help with orders.", "tools": []}, approved=True)
    flow = FlowFactory(assistant=assistant, slug="order-help", name="Order help widget", mode="stateless",
                       status="migrated")
    serve(flow, v1)
    make_version(assistant, {"model": "gpt-5.4-mini", "instructions": "Help with orders, briefly.", "tools": []},
                 approved=True)
    with evidence_passing("validation", "backfill", "diagnostics"):
        request = cutover.request_cutover(flow_id=flow.pk, actor=engineer, note="gpt-4o retires on 2027-01-14")
        page = page_as("support_lead")
        narrow(page)
        page.goto("/")
        expect(page.get_by_test_id("next-action").first).to_contain_text("1 cutover awaiting your approval")
        fits(page)
        screenshot(page, "1-dashboard")
        approve_cutover_from_inbox(page, request.pk, screenshot, "2-evidence")
        fits(page)
        screenshot(page, "3-approved")
    page.goto(flow.get_absolute_url())
    expect(page.get_by_test_id("flow-event").first).to_contain_text("approved the cutover of Order help widget to v2")
    fits(page)
    screenshot(page, "4-flow-activity")
    page.goto(f"/inventory/assistants/{assistant.pk}/usage/")
    expect(page.get_by_test_id("stat-messages")).to_have_text("12,345")
    fits(page)
    screenshot(page, "5-usage")
