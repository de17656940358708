"""Assistant search through the list's ids-first page: the words of the prompt are matched per row."""

from __future__ import annotations

import pytest

from tests.factories import AssistantFactory

pytestmark = pytest.mark.django_db


def test_a_word_found_only_in_a_quiet_assistants_prompt_lists_that_assistant(client, admin_user):
    """The page's ids come from a subquery; on PostgreSQL the prompt-word match once named the outer table there,
    so the page showed the busiest assistants (or none) instead of the one whose instructions hold the word."""
    for i in range(30):
        AssistantFactory(name=f"Busy {i}", traffic_share=0.5 + i / 100, instructions="Help with orders.")
    quiet = AssistantFactory(name="Quiet", traffic_share=0.001, instructions="Answer questions about zebras.")
    client.force_login(admin_user)
    response = client.get("/assistants/", {"q": "zebra"})
    assert response.status_code == 200
    assert [a.pk for a in response.context["page"].object_list] == [quiet.pk]
