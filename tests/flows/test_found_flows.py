"""Flows found in the data: slugs named by imported thread lists that nobody created are suggested."""

from __future__ import annotations

import pytest
from django.urls import reverse

from migrator.core.models import Flow
from migrator.flows.found import flows_found
from migrator.inventory.models import LegacyThread
from tests.factories import AssistantFactory, FlowFactory

pytestmark = pytest.mark.django_db


def _threads(assistant, slug, n, messages=4):
    for i in range(n):
        LegacyThread.objects.create(assistant=assistant, legacy_id=f"thread_{slug}_{i}", flow_slug=slug,
                                    message_count=messages)


def test_slugs_without_a_flow_are_found_busiest_first():
    triage = AssistantFactory(name="Support Triage")
    _threads(triage, "support-triage-web", 16)
    _threads(triage, "support-triage-app", 3)
    FlowFactory(assistant=triage, slug="support-triage-app", name="App")
    found = flows_found()
    assert [(f.slug, f.threads, f.messages, f.name) for f in found] == [
        ("support-triage-web", 16, 64, "Support triage web")]


def test_the_flows_pages_offer_them_and_one_click_creates_it(client, engineer):
    triage = AssistantFactory(name="Support Triage")
    _threads(triage, "support-triage-web", 16)
    client.force_login(engineer)
    listing = client.get(reverse("flows:list")).content.decode()
    # The list does not wait for the suggestions: htmx loads the card into its slot once the page is shown.
    assert f'hx-get="{reverse("flows:found")}"' in listing and 'data-testid="found-flow"' not in listing
    card = client.get(reverse("flows:found"), headers={"HX-Request": "true"}).content.decode()
    assert 'data-testid="found-flow"' in card and "support-triage-web" in card and "16 threads" in card
    assert "<html" not in card  # the fragment alone
    # A filtered list is about what exists: no slot.
    assert 'data-testid="found-flows-slot"' not in client.get(reverse("flows:list"), {"q": "x"}).content.decode()
    page = client.get(reverse("flows:assistant_flows", args=[triage.pk])).content.decode()
    assert "Create “Support triage web”" in page
    response = client.post(reverse("flows:assistant_flows", args=[triage.pk]),
                           {"slug": "support-triage-web", "name": "Support triage web"})
    assert response.status_code == 302
    flow = Flow.objects.get(slug="support-triage-web")
    assert flow.assistant == triage and flows_found() == []
    page = client.get(reverse("flows:assistant_flows", args=[triage.pk])).content.decode()
    assert 'data-testid="found-flow"' not in page
    # Nothing left to suggest: the card answers empty, so the slot simply goes.
    assert client.get(reverse("flows:found")).content.decode().strip() == ""
    # Modes read in words on the pages.
    assert "Chained responses (previous_response_id)" in page or "Conversation (durable state)" in page \
        or "Stateless (full input each call)" in page


def test_limit_and_case_are_honoured_and_names_are_read_for_the_shown_only(django_assert_max_num_queries):
    triage, billing = AssistantFactory(name="Support Triage"), AssistantFactory(name="Billing")
    for i in range(12):
        _threads(triage if i % 2 else billing, f"entry-{i:02d}", 20 - i)
    for i in range(30):  # the same slug under a second assistant: suggested once, for the busiest
        LegacyThread.objects.create(assistant=triage, legacy_id=f"thread_more_{i}", flow_slug="entry-00")
    _threads(triage, "Checkout-Web", 5)
    FlowFactory(assistant=triage, slug="checkout-web", name="Checkout")  # taken, whatever the thread list's case
    with django_assert_max_num_queries(3):
        found = flows_found(limit=3)
    assert [(f.slug, f.assistant_name) for f in found] == [
        ("entry-00", "Support Triage"), ("entry-01", "Support Triage"), ("entry-02", "Billing")]
    assert "checkout-web" not in {f.slug for f in flows_found()} and len(flows_found()) == 12


def test_the_found_card_needs_the_right_to_see_flows(client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("nobody", password="x"))
    assert client.get(reverse("flows:found")).status_code == 403
