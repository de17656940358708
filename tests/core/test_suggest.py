"""Search boxes with server-side suggestions: forms never list every object, the server answers one page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from migrator.core.models import Assistant, Flow
from migrator.core.suggest import PAGE
from migrator.inventory.models import LegacyThread

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate(db):
    assistants = Assistant.objects.bulk_create(
        [Assistant(legacy_id=f"asst_sugg{n:04d}", name=f"Helper {n:04d}") for n in range(3 * PAGE)]
        + [Assistant(legacy_id="asst_refund01", name="Refund desk")])
    Flow.objects.create(assistant=assistants[-1], slug="refund-web", name="Refund web")
    LegacyThread.objects.bulk_create([LegacyThread(legacy_id=f"thread_s{n}", assistant=assistants[n],
                                                   flow_slug=f"flow-{n % 3}") for n in range(6)])
    return assistants


def options(response) -> list[tuple[str, str]]:
    return re.findall(r'data-suggest-value="([^"]*)" data-suggest-label="([^"]*)"', response.content.decode())


def test_suggestions_match_ids_and_names_one_page_at_a_time(client, engineer, estate):
    client.force_login(engineer)
    url = reverse("core:suggest", args=["assistants"])
    first = client.get(url, {"q": "Helper"})
    assert first.status_code == 200 and len(options(first)) == PAGE and "More…" in first.content.decode()
    third = client.get(url, {"q": "Helper", "page": 3})
    assert len(options(third)) == PAGE and "More…" not in third.content.decode()
    by_id = options(client.get(url, {"assistant__search": "asst_refund"}))
    assert by_id == [(str(estate[-1].pk), "Refund desk (asst_refund01)")]
    # A box showing its chosen value ("Name (id)") suggests that value when focused.
    assert options(client.get(url, {"q": "Refund desk (asst_refund01)"})) == by_id
    assert "No match" in client.get(url, {"q": "zzz"}).content.decode()
    assert options(client.get(reverse("core:suggest", args=["assistant-ids"]), {"q": "refund"}))[0][0] == \
        "asst_refund01"
    assert options(client.get(reverse("core:suggest", args=["flows"]), {"q": "refund"}))[0][1] == \
        "Refund web (refund-web)"
    assert [v for v, _ in options(client.get(reverse("core:suggest", args=["flow-slugs"]), {"q": "flow"}))] == \
        ["flow-0", "flow-1", "flow-2"]


def test_suggestions_refuse_bad_input_and_respect_permissions(client, engineer, estate):
    client.force_login(engineer)
    assert client.get(reverse("core:suggest", args=["nothing"])).status_code == 404
    assert client.get(reverse("core:suggest", args=["assistants"]), {"page": "x"}).status_code == 400
    nobody = get_user_model().objects.create_user("nobody", password="x-long-password-1")
    client.force_login(nobody)
    assert options(client.get(reverse("core:suggest", args=["assistants"]), {"q": "Helper"})) == []


def test_forms_render_a_search_box_not_every_object(client, engineer, estate):
    client.force_login(engineer)
    chosen = estate[-1]
    page = client.get(reverse("validation:testset_new"), {"assistant": chosen.pk}).content.decode()
    assert "<option" not in page.split('data-testid="testset-form"')[1].split("strategy")[0]
    assert "asst_sugg0001" not in page  # no other assistant is listed
    assert f'name="assistant" id="id_assistant" value="{chosen.pk}"' in page
    assert 'value="Refund desk (asst_refund01)"' in page and 'hx-sync="this:replace"' in page
    new = client.get(reverse("backfill:new"), {"scope": "assistant", "assistant": "asst_refund01"}).content.decode()
    assert "asst_sugg0001" not in new and "flow-1" not in new
    assert 'value="Refund desk (asst_refund01)"' in new
