"""The Tools tab fixes a file_search tool that names no vector store: the card says so and offers the stores the
inventory knows; attaching one saves a new draft version (back to review), and the tool test then passes against
the sandbox's real store."""

from __future__ import annotations

import pytest
from django.urls import reverse

from migrator.core.status import MigrationStatus
from migrator.inventory.models import VectorStore
from migrator.prompts.models import PromptVersion
from migrator.prompts.selectors import current_version
from migrator.tools.models import ToolTestResult
from tests.factories import AssistantFactory
from tests.flows.factories import assistant_from_sandbox, generated_version, sandbox_connection

pytestmark = pytest.mark.django_db


@pytest.mark.slow  # two tool tests against the sandbox
def test_attach_a_vector_store_from_the_tools_page_then_the_test_passes(client, engineer, sandbox, run_queued_jobs):
    connection = sandbox_connection(sandbox)
    real = assistant_from_sandbox(sandbox, "multi-tool").tool_resources["file_search"]["vector_store_ids"][0]
    VectorStore.objects.create(legacy_id=real, name="Northwind handbook", status="completed",
                               file_counts={"completed": 3})
    assistant = AssistantFactory(model="gpt-4o", instructions="Answer from the handbook.",
                                 tools=[{"type": "file_search"}], tool_resources={})
    v1 = generated_version(assistant)
    client.force_login(engineer)
    page_url = reverse("tools:assistant_tools", args=[assistant.pk]) + f"?connection={connection.pk}"

    client.post(reverse("tools:test_tool", args=[assistant.pk]),
                {"tool_key": "file_search", "connection": connection.pk})
    run_queued_jobs()
    failed = ToolTestResult.objects.get(assistant=assistant)
    assert failed.status == "failed" and "attach one on the tool's card" in failed.summary  # and says where
    page = client.get(page_url).content.decode()
    assert 'data-testid="attach-store"' in page and " open>" in page and "Northwind handbook" in page
    assert "this tool cannot search without one" in page

    response = client.post(reverse("tools:attach_vector_store", args=[assistant.pk]),
                           {"tool_key": "file_search", "vector_store": real, "connection": connection.pk})
    assert response.status_code == 302 and response["Location"] == page_url
    v2 = current_version(assistant)
    assert v2.number == v1.number + 1 and v2.parent_id == v1.pk and v2.author == engineer
    assert v2.config["tools"][0]["vector_store_ids"] == [real] and "Attached vector store" in v2.message
    assistant.refresh_from_db()
    assert assistant.status == MigrationStatus.PROMPT_DRAFTED  # an edit goes back to review

    client.post(reverse("tools:test_tool", args=[assistant.pk]),
                {"tool_key": "file_search", "connection": connection.pk})
    run_queued_jobs()
    latest = ToolTestResult.objects.filter(assistant=assistant).order_by("-created_at").first()
    assert latest.status == "passed", latest.summary
    page = client.get(page_url).content.decode()
    assert "Change the vector store" in page and "this tool cannot search without one" not in page


def test_attaching_refuses_clearly(client, engineer, support_lead):
    assistant = AssistantFactory(model="gpt-4o", tools=[{"type": "file_search"}, {"type": "code_interpreter"}],
                                 tool_resources={})
    url = reverse("tools:attach_vector_store", args=[assistant.pk])
    client.force_login(engineer)
    follow = client.post(url, {"tool_key": "file_search", "vector_store_id": "vs_1"}, follow=True)
    assert "has no prompt version yet" in follow.content.decode()
    generated_version(assistant)
    before = PromptVersion.objects.count()
    for data, words in [
        ({"tool_key": "file_search"}, "Choose a vector store, or type its id"),
        ({"tool_key": "file_search", "vector_store_id": "vs 1; drop"}, "is not a vector store id"),
        ({"tool_key": "code_interpreter", "vector_store_id": "vs_1"}, "has no file_search tool"),
        ({"tool_key": "file_search", "vector_store": "vs_a", "vector_store_id": "vs_b"}, "not both"),
    ]:
        page = client.post(url, data, follow=True).content.decode()
        assert words in page, words
    assert PromptVersion.objects.count() == before
    client.force_login(support_lead)  # reads and tests, but does not change prompt versions
    assert client.post(url, {"tool_key": "file_search", "vector_store_id": "vs_1"}).status_code == 403
    assert 'data-testid="attach-store"' not in client.get(reverse("tools:assistant_tools",
                                                                  args=[assistant.pk])).content.decode()
