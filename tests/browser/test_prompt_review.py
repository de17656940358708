"""The prompt review path in a real browser: a product owner drafts, reads the ledger and findings, fixes a
schema, edits the instructions, compares versions; another product owner approves; the engineer copies the
approved version as code."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from migrator.core.actors import SYSTEM
from migrator.core.models import Assistant
from migrator.core.roles import PRODUCT_OWNER
from migrator.core.status import MigrationStatus as S
from migrator.prompts import selectors
from migrator.prompts.models import PromptVersion
from tests.factories import PASSWORD, AssistantFactory, UserFactory

pytestmark = [pytest.mark.browser]

LOOKUP = {"type": "function", "function": {"name": "lookup_order", "description": "Find an order", "parameters": {
    "type": "object", "properties": {"order_id": {"type": "string"}, "email": {"type": "string"}},
    "required": ["order_id"]}}}


def login(browser, live_server, user):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    return context, page


def test_product_owner_reviews_edits_compares_and_another_approves(page_as, screenshot, browser, live_server):
    assistant = AssistantFactory(
        name="Order helper", model="gpt-4-1106-preview", tools=[LOOKUP],
        instructions="Use the attached files. Keep the whole thread in mind and call lookup_order when asked.",
    )
    page = page_as("product_owner")

    # Open the assistant and its Prompt tab; generate the first draft.
    page.goto(f"/assistants/{assistant.pk}/")
    page.get_by_role("link", name="Prompt").first.click()
    expect(page.get_by_test_id("no-versions")).to_be_visible()
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("label-draft")).to_have_text("draft → v1")
    expect(page.get_by_test_id("assistant-status")).to_have_text("Prompt drafted")

    # Read the ledger and the lint findings.
    ledger = page.get_by_test_id("ledger")
    expect(ledger).to_contain_text("gpt-5.6-sol")  # the retired model was replaced, and the ledger says why
    expect(ledger).to_contain_text("Needs a decision")
    findings = page.get_by_test_id("instruction-findings")
    expect(findings).to_contain_text("“thread”")
    expect(findings).to_contain_text("“attached files”")
    expect(page.locator("mark.lint")).to_have_count(2)
    expect(page.get_by_test_id("schema-panel")).to_contain_text("lookup_order")
    expect(page.get_by_test_id("schema-fixed").locator("ins").first).to_be_visible()
    screenshot(page, "review")

    # Choose the fixed schema with strict: true.
    page.get_by_test_id("choose-fixed").click()
    expect(page.get_by_test_id("label-draft")).to_have_text("draft → v2")
    expect(page.get_by_test_id("strict-choice")).to_have_text("fixed schema · strict: true")

    # Edit the instructions; the legacy wording findings update as you type.
    page.get_by_test_id("edit").click()
    box = page.get_by_test_id("instructions-input")
    box.fill("Use the order documents. Call lookup_order when a customer gives an order number.")
    expect(page.get_by_test_id("instruction-lint")).to_contain_text("No legacy wording found")
    page.fill("#id_message", "Remove thread and attachment wording")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("label-draft")).to_have_text("draft → v3")
    expect(page.get_by_test_id("version-message")).to_have_text("Remove thread and attachment wording")
    expect(page.get_by_test_id("self-approval-note")).to_be_visible()  # nobody approves their own edit
    screenshot(page, "edited")

    # Compare with the first draft, word by word.
    page.get_by_test_id("compare").click()
    page.goto(f"/prompts/assistants/{assistant.pk}/compare/?a=1&b=3")
    expect(page.get_by_test_id("diff-left").locator("del").first).to_be_visible()
    expect(page.get_by_test_id("diff-right").locator("ins").first).to_contain_text("order")
    page.select_option("[data-testid=compare-a]", "original")
    expect(page.get_by_test_id("diff")).to_contain_text("Original assistant")
    expect(page).to_have_url(re.compile(r"a=original"))
    screenshot(page, "compare")

    # Another product owner approves v3.
    other = UserFactory(username="po-second")
    other.groups.add(Group.objects.get(name=PRODUCT_OWNER))
    context, page2 = login(browser, live_server, other)
    try:
        page2.goto(f"/prompts/assistants/{assistant.pk}/")
        page2.get_by_test_id("approve").click()
        page2.wait_for_load_state()
        if page2.get_by_test_id("approve-anyway").count():  # open findings are listed and approved as read
            page2.get_by_test_id("approve-anyway").click()
        expect(page2.get_by_test_id("approved-badge")).to_contain_text("po-second")
        expect(page2.get_by_test_id("assistant-status")).to_have_text("Prompt approved")
        expect(page2.get_by_test_id("label-approved")).to_have_text("approved → v3")
        screenshot(page2, "approved")
    finally:
        context.close()
    v3 = PromptVersion.objects.get(assistant=assistant, number=3)
    assert Assistant.objects.get(pk=assistant.pk).status == S.PROMPT_APPROVED
    assert selectors.serving_version(assistant) == v3 and v3.approved_by == other


def test_engineer_sees_the_approved_version_as_code(page_as, screenshot):
    from migrator.prompts import services

    assistant = AssistantFactory(name="Docs bot", model="gpt-5.5", instructions="Answer from the handbook.")
    version = services.generate_version(assistant_id=assistant.pk, actor=SYSTEM)
    owner = UserFactory(username="po-approver")
    owner.groups.add(Group.objects.get(name=PRODUCT_OWNER))
    services.approve_version(version_id=version.pk, actor=owner)

    page = page_as("engineer")
    page.goto(f"/prompts/assistants/{assistant.pk}/")
    expect(page.get_by_test_id("edit")).to_have_count(0)
    expect(page.get_by_test_id("approve")).to_have_count(0)
    page.get_by_test_id("copy-as-code").click()
    python = page.get_by_test_id("code-python")
    expect(python).to_contain_text("client.responses.create(")
    expect(python).to_contain_text('instructions="Answer from the handbook."')
    expect(page.get_by_test_id("code-js")).to_contain_text("await client.responses.create(")
    expect(page.get_by_test_id("code-json")).to_contain_text('"legacy_assistant_id"')
    expect(page.get_by_test_id("copy-python")).to_be_visible()
    screenshot(page, "code")
