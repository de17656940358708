"""The dashboard leads with each role's own next action."""

from __future__ import annotations

import re

import pytest

from migrator.core.status import MigrationStatus as S
from migrator.prompts import reviews, services
from tests.factories import AssistantFactory

pytestmark = pytest.mark.django_db


def _main_action(client, user) -> tuple[str, str]:
    client.force_login(user)
    html = client.get("/").content.decode()
    found = re.search(r'<a class="btn btn-primary" href="([^"]+)" data-testid="main-action">([^<]+)</a>', html)
    assert found, "the dashboard has a main action"
    return found.group(1), found.group(2)


def test_engineer_starts_with_an_import_on_an_empty_inventory(client, engineer):
    assert _main_action(client, engineer) == ("/inventory/import/", "Import assistants")


def test_product_owner_never_gets_import_and_leads_with_reviews(client, product_owner, engineer):
    _url, label = _main_action(client, product_owner)
    assert label != "Import assistants" and "Import assistants" not in client.get("/").content.decode()
    assistant = AssistantFactory(name="Refund bot", model="gpt-5.5")
    version = services.generate_version(assistant_id=assistant.pk, actor=engineer)
    assert _main_action(client, product_owner) == (f"/assistants/?status={S.PROMPT_DRAFTED}", "Review drafts")
    reviews.request_review(version_id=version.pk, actor=engineer)
    assert _main_action(client, product_owner) == ("/prompts/reviews/", "Review prompts")
    assert "1 prompt version awaiting your review" in client.get("/").content.decode()


def test_support_lead_leads_with_cutovers(client, support_lead):
    from tests.factories import FlowFactory

    FlowFactory(assistant=AssistantFactory(name="Docs bot"), slug="docs-web", status="awaiting_approval")
    url, label = _main_action(client, support_lead)
    assert (url, label) == ("/cutover/", "Review cutovers")
    assert "1 cutover awaiting your approval" in client.get("/").content.decode()


def test_engineer_sees_flows_to_validate(client, engineer):
    from migrator.flows.services.flows import create_flow

    assistant = AssistantFactory(name="Docs bot", status=S.PROMPT_APPROVED)
    AssistantFactory(name="Other", status=S.INVENTORIED)
    create_flow(assistant_id=assistant.pk, slug="docs-web", name="Docs web", actor=engineer)
    client.force_login(engineer)
    html = client.get("/").content.decode()
    assert "1 flow to validate" in html
