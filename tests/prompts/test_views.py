"""The review pages: what each role sees and may do, field errors instead of 500s."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from migrator.core.status import MigrationStatus as S
from migrator.prompts import selectors, services
from migrator.prompts.models import PromptComment, PromptVersion
from tests.factories import PASSWORD, AssistantFactory, UserFactory

pytestmark = pytest.mark.django_db

LOOSE_TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {
    "type": "object", "properties": {"q": {"type": "string"}}}}}


@pytest.fixture
def assistant():
    return AssistantFactory(name="Support bot", model="gpt-4-1106-preview", tools=[LOOSE_TOOL],
                            instructions="Search the attached files. Never mention the thread.")


@pytest.fixture
def version(assistant, product_owner):
    return services.generate_version(assistant_id=assistant.pk, actor=product_owner)


def client_for(client, user):
    client.force_login(user)
    return client


def test_anonymous_users_are_sent_to_login(client, assistant):
    response = client.get(reverse("prompts:assistant_prompt", args=[assistant.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_empty_state_offers_generation(client, assistant, product_owner, support_lead):
    page = client_for(client, product_owner).get(reverse("prompts:assistant_prompt", args=[assistant.pk]))
    assert page.status_code == 200 and b'data-testid="no-versions"' in page.content
    assert b'data-testid="generate"' in page.content
    page = client_for(client, support_lead).get(reverse("prompts:assistant_prompt", args=[assistant.pk]))
    assert b'data-testid="generate"' not in page.content


def test_generate_via_the_page(client, assistant, product_owner):
    response = client_for(client, product_owner).post(reverse("prompts:generate", args=[assistant.pk]))
    assert response.status_code == 302
    assert PromptVersion.objects.filter(assistant=assistant).count() == 1
    page = client.get(response["Location"])
    assert b"gpt-5.6-sol" in page.content  # retired model replaced, and the ledger says so
    assert b"was shut down on 2026-10-23" in page.content or b"was shut down on" in page.content


def test_review_page_shows_ledger_findings_and_schema_fix(client, version, product_owner):
    page = client_for(client, product_owner).get(reverse("prompts:assistant_prompt", args=[version.assistant_id]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="ledger"' in html and "Needs a decision" in html
    assert '<mark class="lint lint-info"' in html and "attached files</mark>" in html
    assert "thread</mark>" in html
    assert 'data-testid="schema-panel"' in html and "<ins>" in html  # the fix shown as a diff
    assert 'data-testid="approve"' in html and 'data-testid="edit"' in html
    assert 'data-testid="choose-fixed"' in html


@pytest.mark.parametrize("role", ["engineer", "support_lead"])
def test_engineers_and_support_leads_read_and_comment_but_do_not_edit_or_approve(client, version, role, request):
    user = request.getfixturevalue(role)
    client = client_for(client, user)
    page = client.get(reverse("prompts:assistant_prompt", args=[version.assistant_id])).content.decode()
    assert 'data-testid="approve"' not in page and 'data-testid="edit"' not in page
    assert 'data-testid="add-comment"' in page
    assert client.get(reverse("prompts:edit", args=[version.pk])).status_code == 403
    assert client.post(reverse("prompts:edit", args=[version.pk]), {"mode": "instructions",
                                                                    "instructions": "x"}).status_code == 403
    assert client.post(reverse("prompts:validate", args=[version.pk]), {"mode": "config"}).status_code == 403
    assert client.post(reverse("prompts:approve", args=[version.pk])).status_code == 403
    assert client.post(reverse("prompts:strict_choice", args=[version.pk]),
                       {"pointer": "/tools/0/parameters", "choice": "fixed"}).status_code == 403
    response = client.post(reverse("prompts:comment", args=[version.pk]), {"body": f"looks fine to {role}"})
    assert response.status_code == 302 and PromptComment.objects.filter(author=user).exists()


def test_support_lead_cannot_generate(client, assistant, support_lead):
    response = client_for(client, support_lead).post(reverse("prompts:generate", args=[assistant.pk]))
    assert response.status_code == 403


def test_user_without_a_role_sees_nothing(client, version):
    stranger = UserFactory(username="stranger")
    client = client_for(client, stranger)
    assert client.get(reverse("prompts:assistant_prompt", args=[version.assistant_id])).status_code == 404
    assert client.get(reverse("prompts:version_code", args=[version.pk])).status_code == 404
    assert client.post(reverse("prompts:comment", args=[version.pk]), {"body": "x"}).status_code == 404


def test_editing_instructions_creates_a_new_version(client, version, product_owner):
    client = client_for(client, product_owner)
    page = client.get(reverse("prompts:edit", args=[version.pk]))
    assert page.status_code == 200 and b'data-testid="instructions-input"' in page.content
    response = client.post(reverse("prompts:edit", args=[version.pk]), {
        "mode": "instructions", "instructions": "Search the documents you can search.", "message": "reword"})
    assert response.status_code == 302
    new = PromptVersion.objects.get(number=2)
    assert new.config["instructions"] == "Search the documents you can search." and new.message == "reword"
    assert response["Location"].endswith(f"?v={new.number}")


def test_invalid_json_config_is_a_field_error_not_a_500(client, version, product_owner):
    client = client_for(client, product_owner)
    response = client.post(reverse("prompts:edit", args=[version.pk]), {"mode": "config", "config": "{oops"})
    assert response.status_code == 422 and b"not valid JSON" in response.content
    assert PromptVersion.objects.count() == 1


def test_config_problems_are_listed_with_pointers(client, version, product_owner):
    config = dict(version.config, temperature=5, tools=[{"type": "function", "name": "x"}])
    response = client_for(client, product_owner).post(reverse("prompts:edit", args=[version.pk]), {
        "mode": "config", "config": json.dumps(config)})
    html = response.content.decode()
    assert response.status_code == 422
    assert "/temperature" in html and "/tools/0/parameters" in html and "is required." in html
    assert PromptVersion.objects.count() == 1


def test_saving_a_full_config(client, version, product_owner):
    config = dict(version.config, model="gpt-4.1", temperature=0.3)
    response = client_for(client, product_owner).post(reverse("prompts:edit", args=[version.pk]), {
        "mode": "config", "config": json.dumps(config), "message": "new model"})
    assert response.status_code == 302
    assert PromptVersion.objects.get(number=2).config["model"] == "gpt-4.1"


def test_a_config_the_api_would_refuse_is_not_valid(client, version, product_owner):
    config = dict(version.config, model="gpt-5.5", temperature=0.3)
    client = client_for(client, product_owner)
    response = client.post(reverse("prompts:edit", args=[version.pk]), {
        "mode": "config", "config": json.dumps(config), "message": "new model"})
    assert response.status_code == 422
    assert "reasoning model and refuses temperature" in response.content.decode()
    assert PromptVersion.objects.count() == 1


def test_inline_validation_partials(client, version, product_owner):
    client = client_for(client, product_owner)
    url = reverse("prompts:validate", args=[version.pk])
    ok = client.post(url, {"mode": "config", "config": json.dumps(version.config)}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200 and b"Valid configuration" in ok.content and b"<html" not in ok.content
    bad = client.post(url, {"mode": "config", "config": json.dumps({"model": 3})}, HTTP_HX_REQUEST="true")
    assert b"/model" in bad.content
    broken = client.post(url, {"mode": "config", "config": "[1,"}, HTTP_HX_REQUEST="true")
    assert b"not valid JSON" in broken.content
    lint = client.post(url, {"mode": "instructions", "instructions": "Use the retrieval tool."}, HTTP_HX_REQUEST="true")
    assert b"retrieval tool</mark>" in lint.content and b"1 finding" in lint.content


def test_approve_and_self_approval_in_the_page(client, version, product_owner):
    client = client_for(client, product_owner)
    edited = services.save_edit(parent_id=version.pk, actor=product_owner, instructions="Answer briefly.")
    page = client.get(reverse("prompts:assistant_prompt", args=[version.assistant_id]) + f"?v={edited.number}")
    assert b'data-testid="self-approval-note"' in page.content and b'data-testid="approve"' not in page.content
    assert client.post(reverse("prompts:approve", args=[edited.pk])).status_code == 403
    response = client.post(reverse("prompts:approve", args=[version.pk]), {"acknowledged": "yes"})
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.is_approved and version.assistant.status == S.PROMPT_APPROVED


def test_strict_choice_via_the_page(client, version, product_owner):
    response = client_for(client, product_owner).post(reverse("prompts:strict_choice", args=[version.pk]), {
        "pointer": "/tools/0/parameters", "choice": "fixed"})
    assert response.status_code == 302
    assert PromptVersion.objects.get(number=2).config["tools"][0]["strict"] is True
    bad = client.post(reverse("prompts:strict_choice", args=[version.pk]), {"pointer": "/nope", "choice": "fixed"})
    assert bad.status_code == 302 and PromptVersion.objects.count() == 2


def test_after_a_strict_choice_the_ledger_and_panel_tell_one_story(client, version, product_owner):
    client = client_for(client, product_owner)
    page = client.get(reverse("prompts:assistant_prompt", args=[version.assistant_id])).content.decode()
    assert "Needs a decision" in page and "sent with strict: false" in page
    client.post(reverse("prompts:strict_choice", args=[version.pk]), {"pointer": "/tools/0/parameters",
                                                                      "choice": "fixed"})
    v2 = PromptVersion.objects.get(number=2)
    [line] = [e for e in v2.ledger if e["target"] == "/tools/0/strict"]
    assert line["outcome"] == "changed" and line["decided"]["by"] == product_owner.username
    assert line["reason"].startswith(f"Decided by {product_owner.username} on ")
    page = client.get(reverse("prompts:assistant_prompt", args=[version.assistant_id]) + "?v=2").content.decode()
    assert "Needs a decision" not in page and 'data-testid="ledger-needs_decision">0 needs a decision' in page
    assert "fixed schema · strict: true" in page and "resolved by the fix" in page
    assert "sent with strict: false" not in page and "Review the proposed fix and choose" not in page
    assert 'data-testid="strict-decided"' in page
    # Choosing the original afterwards is also a decision, and the page says so.
    client.post(reverse("prompts:strict_choice", args=[v2.pk]), {"pointer": "/tools/0/parameters",
                                                                 "choice": "original"})
    page = client.get(reverse("prompts:assistant_prompt", args=[version.assistant_id]) + "?v=3").content.decode()
    assert "Needs a decision" not in page and "the original schema with strict: false" in page
    # The export carries the resolved ledger too.
    exported = client.get(reverse("prompts:export", args=[PromptVersion.objects.get(number=3).pk])).json()
    [line] = [e for e in exported["ledger"] if e["target"] == "/tools/0/strict"]
    assert line["outcome"] == "transferred" and line["decided"]["choice"] == "original"


def test_move_label_via_the_page(client, version, product_owner, engineer):
    services.approve_version(version_id=version.pk, actor=product_owner)
    url = reverse("prompts:move_label", args=[version.assistant_id])
    response = client_for(client, engineer).post(url, {"label": "production", "version": 1, "reason": "cutover"})
    assert response.status_code == 302  # refused with a message pointing at the flow's Cutover page
    assert "production" not in selectors.labels_for(version.assistant)
    response = client.post(url, {"label": "production", "version": "x"})
    assert response.status_code == 302  # field error shown as a message, nothing moved


def test_comment_via_htmx_returns_the_partial(client, version, engineer):
    client = client_for(client, engineer)
    response = client.post(reverse("prompts:comment", args=[version.pk]), {"body": "Check tool names"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"Check tool names" in response.content and b"<html" not in response.content
    empty = client.post(reverse("prompts:comment", args=[version.pk]), {"body": ""}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 422 and b"errorlist" in empty.content


def test_compare_versions_and_original(client, version, product_owner):
    client = client_for(client, product_owner)
    services.save_edit(parent_id=version.pk, actor=product_owner, instructions="Search the documents.")
    page = client.get(reverse("prompts:compare", args=[version.assistant_id]) + "?a=1&b=2")
    html = page.content.decode()
    assert page.status_code == 200 and "<del>" in html and "<ins>" in html
    original = client.get(reverse("prompts:compare", args=[version.assistant_id]) + "?a=original&b=1")
    assert b"Original assistant" in original.content and b"gpt-4-1106-preview" in original.content
    partial = client.get(reverse("prompts:compare", args=[version.assistant_id]) + "?a=1&b=2", HTTP_HX_REQUEST="true")
    assert b'id="diff"' in partial.content and b"<html" not in partial.content
    bogus = client.get(reverse("prompts:compare", args=[version.assistant_id]) + "?a=9&b=zz")
    assert bogus.status_code == 200


def test_copy_as_code_for_the_engineer(client, version, product_owner, engineer):
    services.approve_version(version_id=version.pk, actor=product_owner)
    client = client_for(client, engineer)
    page = client.get(reverse("prompts:assistant_code", args=[version.assistant_id]))
    html = page.content.decode()
    assert "client.responses.create(" in html and "await client.responses.create(" in html
    assert 'data-copy-target="#code-python"' in html and 'data-testid="code-json"' in html
    empty = client.get(reverse("prompts:assistant_code", args=[AssistantFactory().pk]))
    assert b'data-testid="no-approved"' in empty.content


def test_export_includes_ledger_and_findings(client, version, product_owner):
    response = client_for(client, product_owner).get(reverse("prompts:export", args=[version.pk]))
    data = json.loads(response.content)
    assert response["Content-Disposition"].startswith("attachment")
    assert data["config"] == version.config and data["ledger"] and data["findings"] and data["labels"] == ["draft"]


def test_try_form_errors_and_permission(client, version, product_owner):
    client = client_for(client, product_owner)
    assert client.get(reverse("prompts:try", args=[version.pk])).status_code == 200
    response = client.post(reverse("prompts:try", args=[version.pk]), {"input": ""})
    assert response.status_code == 422 and b"errorlist" in response.content
    stranger = UserFactory(username="noperm", is_staff=False)
    stranger.user_permissions.add(*__import__("django.contrib.auth.models", fromlist=["Permission"]).Permission
                                  .objects.filter(codename="view_assistant"))
    client.force_login(stranger)
    assert client.post(reverse("prompts:try", args=[version.pk]), {"input": "hi"}).status_code == 403


def test_login_with_password_works_for_the_review_page(client, version, product_owner):
    assert client.login(username=product_owner.username, password=PASSWORD)
    assert client.get(reverse("prompts:assistant_prompt", args=[version.assistant_id])).status_code == 200


def test_unknown_version_number_falls_back_with_a_message(client, version, product_owner):
    page = client_for(client, product_owner).get(
        reverse("prompts:assistant_prompt", args=[version.assistant_id]) + "?v=99")
    assert page.status_code == 200 and b"There is no version" in page.content


def test_approving_over_open_findings_lists_them_and_asks(client, product_owner):
    from tests.factories import AssistantFactory

    assistant = AssistantFactory(name="Threads bot", model="gpt-5.5",
                                 instructions="Keep track of the thread and cite 【4:0†source】 markers.")
    version = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    assert version.findings
    client = client_for(client, product_owner)
    url = reverse("prompts:approve", args=[version.pk])
    page = client.post(url)
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="open-findings"' in html and "Talks about threads" in html
    version.refresh_from_db()
    assert not version.is_approved  # nothing happens until the findings have been read
    assert client.post(url, {"acknowledged": "yes"}).status_code == 302
    version.refresh_from_db()
    assert version.is_approved
