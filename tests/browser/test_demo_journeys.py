"""Each role's day over the seeded demo (what `make run` shows), in a real browser at 1024 px: the product owner
reviews and approves, the engineer validates and requests, the support lead approves, ramps and rolls back with
the confirmations. After each step every page that shows the flow's or assistant's status must say the same: the
flow page, the cutover page, the cutover inbox, the assistant's page and the dashboard's counts (read from the
pages, compared with each other).

The demo is seeded once (it takes about a minute: tool tests and validation runs against the sandbox), so the
three journeys run in one test, one after the other, as the three people would on the same installation; each
journey is its own function and its own browser context, and a failure names the journey and the step.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from migrator.core.models import Assistant, Flow, Job, JobStatus
from migrator.core.services.jobs import execute_job
from migrator.core.status import FlowStatus, MigrationStatus
from migrator.cutover.models import CutoverRequest, RequestStatus
from migrator.cutover.selectors import flow_stages
from tests.browser.helpers import approve_cutover_from_inbox, fits

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "demo-journey-pass-1"


def _login(browser, live_server, username: str):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1024, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    return page


def _run_queued_jobs() -> None:
    """Run what the pages queued, in this process, as a worker would (the demo's connection is the sandbox)."""
    for job_id in Job.objects.filter(status=JobStatus.QUEUED).order_by("id").values_list("id", flat=True):
        execute_job(job_id)


def _cell(page, table: str, label: str) -> str:
    row = page.get_by_test_id(table).locator("tr", has=page.locator(f"span.badge:text-is('{label}')"))
    return row.locator("td.num").inner_text().strip()


def agree(page, slug: str) -> dict[str, str]:
    """Every page that shows this flow's status, its assistant's status or the counts says the same thing."""
    flow = Flow.objects.select_related("assistant").get(slug=slug)
    assistant = flow.assistant
    flow_label, assistant_label = flow.get_status_display(), assistant.get_status_display()

    page.goto(flow.get_absolute_url())
    expect(page.get_by_test_id("flow-status").first).to_have_text(flow_label)
    fits(page)
    page.goto(f"/cutover/flows/{slug}/")
    expect(page.get_by_test_id("flow-status")).to_have_text(flow_label)
    production = page.get_by_test_id("production-version")
    candidate = page.get_by_test_id("candidate-version")
    shown = {"production": production.inner_text() if production.count() else "—",
             "candidate": candidate.inner_text() if candidate.count() else "—",
             "percent": page.get_by_test_id("percent").inner_text() if candidate.count() else "—"}
    # A request awaiting approval puts its version forward: the inbox shows it as the candidate.
    put_forward = shown["candidate"]
    if page.get_by_test_id("open-request").count():
        put_forward = re.search(r"\bv\d+", page.get_by_test_id("request-card").inner_text().split("·")[0]).group(0)
    fits(page)
    page.goto("/cutover/")
    stage_row = page.get_by_test_id(f"stage-{slug}")
    if stage_row.count():  # the inbox lists every flow a page at a time, by slug
        cells = stage_row.locator("td")
        expect(cells.nth(2)).to_have_text(shown["production"])
        expect(cells.nth(3)).to_have_text(put_forward)
        if shown["candidate"] != "—" and flow.status == FlowStatus.ROLLING_OUT:
            expect(cells.nth(4)).to_have_text(shown["percent"])
    page.goto(assistant.get_absolute_url())
    expect(page.get_by_test_id("assistant-status")).to_have_text(assistant_label)
    words = page.get_by_test_id("flow-words").inner_text()
    migrated = assistant.flows.filter(status=FlowStatus.MIGRATED).count()
    assert words.startswith(f"{migrated} of {assistant.flows.count()} flow"), words

    page.goto("/")
    flows_here = _cell(page, "flow-status-counts", flow_label)
    assistants_here = _cell(page, "status-counts", assistant_label)
    page.goto(f"/flows/?status={flow.status}")
    expect(page.get_by_test_id(f"count-{flow.status}")).to_contain_text(flows_here)
    expect(page.get_by_test_id("result-count")).to_have_text(f"{flows_here} flow{'' if flows_here == '1' else 's'}")
    page.goto(f"/assistants/?status={assistant.status}")
    listed = page.locator("a.assistant-link").count()
    assert listed == min(int(assistants_here.replace(",", "")), 25), (assistant_label, listed, assistants_here)
    return shown


def _stage(stage: str):
    return next(s for s in flow_stages() if s.stage == stage)


def product_owner_reviews(browser, live_server, screenshot: Callable) -> None:
    page = _login(browser, live_server, "product")
    page.goto("/")
    fits(page)
    screenshot(page, "po-1-dashboard")
    page.get_by_test_id("main-action").click()
    # Drafts nobody asked about yet, or a review request: either way, the first screen leads to them.
    expect(page).to_have_url(re.compile(r"/prompts/reviews/|status=prompt_drafted"))
    fits(page)
    draft = Assistant.objects.filter(status=MigrationStatus.PROMPT_DRAFTED, prompt_versions__isnull=False).order_by(
        "-traffic_share", "name").first()
    assert draft is not None, "the demo leaves drafts for the product owner"
    page.goto(f"/prompts/assistants/{draft.pk}/")
    fits(page)
    screenshot(page, "po-2-draft")
    page.get_by_test_id("approve").click()
    page.wait_for_load_state()
    if page.get_by_test_id("approve-anyway").count():  # open findings are listed first, then approved as read
        expect(page.get_by_test_id("open-findings")).to_be_visible()
        fits(page)
        screenshot(page, "po-3-findings")
        page.get_by_test_id("approve-anyway").click()
    expect(page.get_by_test_id("approved-line")).to_contain_text("Approved by product")
    draft.refresh_from_db()
    assert draft.status == MigrationStatus.PROMPT_APPROVED
    page.goto(draft.get_absolute_url())
    expect(page.get_by_test_id("assistant-status")).to_have_text(draft.get_status_display())
    page.goto("/")
    approved_count = Assistant.objects.filter(status=MigrationStatus.PROMPT_APPROVED).count()
    assert _cell(page, "status-counts", draft.get_status_display()) == str(approved_count)
    screenshot(page, "po-4-approved")
    # The flows the product owner's approval does not touch still tell one story.
    for stage in ("rolling_out", "migrated"):
        agree(page, _stage(stage).flow.slug)
    page.context.close()


def engineer_validates_and_requests(browser, live_server, screenshot: Callable) -> None:
    """The demo left the engineer's request for the successor model waiting; the engineer validates it again on
    the page (a fresh run of the flow's test set), withdraws the old request and requests anew on that run."""
    page = _login(browser, live_server, "engineer")
    page.goto("/")
    fits(page)
    screenshot(page, "eng-1-dashboard")
    awaiting = CutoverRequest.objects.select_related("flow", "version").get(status=RequestStatus.AWAITING)
    flow = awaiting.flow
    agree(page, flow.slug)
    test_set = flow.test_sets.order_by("-pk").first()
    assert test_set is not None, "the demo built a test set for the flow it requested"
    page.goto(f"/validation/sets/{test_set.pk}/")
    fits(page)
    page.get_by_test_id("start-run").click()
    page.wait_for_url(re.compile(r".*/validation/runs/\d+/$"))
    _run_queued_jobs()
    page.reload()
    expect(page.get_by_test_id("run-verdict")).to_have_text(re.compile(r"^\s*pass\s*$", re.I))
    expect(page.get_by_test_id("cancel-run")).to_have_count(0)  # the header ends in its final state
    run_url = page.url
    fits(page)
    screenshot(page, "eng-2-run-passed")

    # The open request cites the demo's run; the engineer withdraws it and requests anew on this run.
    page.goto(awaiting.get_absolute_url())
    expect(page.get_by_test_id("own-request")).to_be_visible()
    page.fill("input[name=reason]", "validated again on today's test set")
    page.get_by_role("button", name="Withdraw").click()
    page.goto(f"/cutover/flows/{flow.slug}/")
    expect(page.get_by_test_id("request-form")).to_be_visible()
    fits(page)
    screenshot(page, "eng-3-evidence")
    page.fill("#id_note", f"Validation passed again: {run_url}")
    page.get_by_test_id("request-cutover").click()
    expect(page.get_by_test_id("open-request")).to_be_visible()
    again = CutoverRequest.objects.get(flow=flow, status=RequestStatus.AWAITING)
    assert again.pk != awaiting.pk and again.version_id == awaiting.version_id
    agree(page, flow.slug)
    page.goto(again.get_absolute_url())
    expect(page.get_by_test_id("request-status")).to_have_text(again.get_status_display())
    expect(page.get_by_test_id("approve")).to_have_count(0)  # the requester cannot decide it
    screenshot(page, "eng-4-requested")
    page.context.close()


def support_lead_approves_ramps_and_rolls_back(browser, live_server, screenshot: Callable) -> None:
    page = _login(browser, live_server, "support")
    page.goto("/")
    expect(page.get_by_test_id("next-action").first).to_contain_text("cutover awaiting your approval")
    fits(page)
    screenshot(page, "lead-1-dashboard")
    awaiting = CutoverRequest.objects.select_related("flow", "version").get(status=RequestStatus.AWAITING)
    slug = awaiting.flow.slug
    approve_cutover_from_inbox(page, awaiting.pk, screenshot, "lead-2-evidence")
    shown = agree(page, slug)
    assert shown["candidate"] == f"v{awaiting.version.number}", shown

    # Ramp to 10%: the confirmation says who gets what, and asks why.
    page.goto(f"/cutover/flows/{slug}/")
    page.get_by_test_id("ramp-10").click()
    sentence = page.get_by_test_id("confirm-sentence")
    expect(sentence).to_contain_text("10% of subjects of")
    expect(sentence).to_contain_text(f"get v{awaiting.version.number}")
    fits(page)
    screenshot(page, "lead-3-confirm-ramp")
    page.fill("#id_confirm_reason", "error rate flat on the first day")
    page.get_by_test_id("confirm-action").click()
    expect(page.get_by_test_id("percent")).to_have_text("10%")
    expect(page.get_by_test_id("flow-status")).to_have_text("Rolling out")
    shown = agree(page, slug)
    assert shown["percent"] == "10%", shown

    # Roll back: production goes back to what it served, and every page says so.
    page.goto(f"/cutover/flows/{slug}/")
    production = page.get_by_test_id("production-version").inner_text()
    page.fill("[data-testid=rollback-form] input[name=reason]", "refund answers regressed")
    page.get_by_test_id("rollback").click()
    expect(page.get_by_test_id("confirm-sentence")).to_contain_text(f"gets {production}")
    fits(page)
    screenshot(page, "lead-4-confirm-rollback")
    page.get_by_test_id("confirm-action").click()
    expect(page.get_by_test_id("candidate-version")).to_have_count(0)
    expect(page.get_by_test_id("serving-history")).to_contain_text("refund answers regressed")
    shown = agree(page, slug)
    assert shown == {"production": production, "candidate": "—", "percent": "—"}, shown
    screenshot(page, "lead-5-rolled-back")
    page.context.close()


def test_each_role_over_the_demo(browser, live_server, transactional_db, sandbox, screenshot):
    sandbox.reset("demo")
    call_command("seed_demo", sandbox_url=sandbox.base_url, password=PASSWORD)
    product_owner_reviews(browser, live_server, screenshot)
    engineer_validates_and_requests(browser, live_server, screenshot)
    support_lead_approves_ramps_and_rolls_back(browser, live_server, screenshot)
