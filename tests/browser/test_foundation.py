import re

import pytest
from playwright.sync_api import expect

from migrator.core.models import Assistant
from migrator.core.status import MigrationStatus as S
from tests.factories import AssistantFactory

pytestmark = [pytest.mark.browser]


@pytest.mark.parametrize(
    ("role", "label"),
    [("product_owner", "Product owner"), ("engineer", "Engineer"), ("support_lead", "Support lead"), ("admin", "Administrator")],
)
def test_each_role_logs_in_and_sees_the_dashboard(page_as, screenshot, role, label):
    AssistantFactory(name="Support triage", traffic_share=0.6, message_count=600)
    page = page_as(role)
    expect(page.get_by_test_id("current-user")).to_have_text(page.user.username)
    expect(page.locator(".topbar-user .pill").first).to_have_text(label)
    expect(page.get_by_test_id("total-assistants")).to_have_text("1")
    screenshot(page, "dashboard")


def test_assistant_list_filters_through_htmx_without_reloading(page_as, screenshot):
    AssistantFactory(name="Billing helper", model="gpt-4-turbo", traffic_share=0.5)
    AssistantFactory(name="Docs bot", model="gpt-5.5", traffic_share=0.3)
    AssistantFactory(name="Invoice extractor", model="gpt-4o", traffic_share=0.2)
    page = page_as("engineer")
    page.goto("/assistants/")
    expect(page.get_by_test_id("result-count")).to_have_text("3 assistants")
    page.evaluate("window.__noReload = true")
    page.fill("#id_q", "bill")
    expect(page.get_by_test_id("result-count")).to_have_text("1 assistant")
    expect(page.locator(".assistant-link")).to_have_text(["Billing helper"])
    expect(page).to_have_url(re.compile(r"q=bill"))
    assert page.evaluate("window.__noReload") is True  # the list was swapped in place, not reloaded
    page.fill("#id_q", "")
    page.select_option("#id_model_state", "retired")
    expect(page.locator(".assistant-link")).to_have_text(["Billing helper"])
    screenshot(page, "filtered")
    # The URL is bookmarkable: opening it fresh shows the same filtered list.
    page.goto(page.url)
    expect(page.get_by_test_id("result-count")).to_have_text("1 assistant")


def test_prompt_approved_is_not_a_button_on_the_status_panel(page_as, screenshot):
    """"Prompt approved" comes only from approving a version: the panel says where, a forged post changes nothing."""
    assistant = AssistantFactory(name="Refund bot", status=S.PROMPT_DRAFTED)
    page = page_as("product_owner")
    page.goto(f"/assistants/{assistant.pk}/")
    expect(page.get_by_test_id(f"transition-{S.PROMPT_APPROVED}")).to_have_count(0)
    expect(page.get_by_test_id(f"transition-{S.PROMPT_APPROVED}-disabled")).to_be_disabled()
    expect(page.get_by_test_id(f"transition-why-{S.PROMPT_APPROVED}")).to_contain_text("approve a version on the Prompt tab")
    screenshot(page, "status-panel")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(f"/assistants/{assistant.pk}/status/",
                                 form={"to": S.PROMPT_APPROVED, "reason": "looks fine"}, headers={"X-CSRFToken": token})
    assert response.ok  # back to the page with the refusal as a message
    assert Assistant.objects.get(pk=assistant.pk).status == S.PROMPT_DRAFTED


def test_support_lead_cannot_retire_an_assistant(page_as, screenshot):
    assistant = AssistantFactory(name="Refund bot", status=S.PROMPT_DRAFTED)
    page = page_as("support_lead")
    page.goto(f"/assistants/{assistant.pk}/")
    expect(page.get_by_test_id(f"transition-{S.RETIRED}")).to_have_count(0)
    # Even a hand-made request is refused by the server.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"/assistants/{assistant.pk}/status/", form={"to": S.RETIRED, "reason": "old"}, headers={"X-CSRFToken": token},
    )
    assert response.status == 403
    page.set_content(response.text())
    screenshot(page, "forbidden")
    assert Assistant.objects.get(pk=assistant.pk).status == S.PROMPT_DRAFTED
