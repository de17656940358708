"""Pages and permissions: every role reads, only engineers act (403 otherwise), bad input is a 422 never a 500."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.urls import reverse

from migrator.core.models import Flow, Job
from migrator.core.status import FlowStatus
from migrator.flows.models import ApiToken
from tests.factories import PASSWORD, AssistantFactory, FlowFactory
from tests.flows.factories import make_threads, make_version

pytestmark = pytest.mark.django_db

PING = {"type": "function", "name": "ping", "strict": False, "description": "Ping.",
        "parameters": {"type": "object", "properties": {"host": {"type": "string"}}}}


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def setup():
    assistant = AssistantFactory(name="Pinger", tools=[{"type": "function", "function": {
        "name": "ping", "description": "Ping.", "parameters": {"type": "object", "properties": {"host": {"type": "string"}}}}}])
    make_version(assistant, {"model": "gpt-4o", "instructions": "Ping hosts.", "tools": [PING]}, approved=True)
    flow = FlowFactory(assistant=assistant, slug="ping-web", name="Ping web")
    return {"assistant": assistant, "flow": flow}


@pytest.mark.parametrize("role", ["product_owner", "engineer", "support_lead"])
def test_every_role_reads_the_pages(client, request, setup, role):
    user = request.getfixturevalue(role)
    login(client, user)
    assistant, flow = setup["assistant"], setup["flow"]
    tools = client.get(reverse("tools:assistant_tools", args=[assistant.pk]))
    assert tools.status_code == 200
    html = tools.content.decode()
    assert 'data-tool="function:ping"' in html and "Not tested" in html and "Gate not passed" in html
    assert ('data-testid="test-tool"' in html) == (role == "engineer")
    assert "def ping(**arguments" in html  # the generated loop
    for url in (reverse("flows:list"), reverse("flows:assistant_flows", args=[assistant.pk]), flow.get_absolute_url()):
        assert client.get(url).status_code == 200, url
    detail = client.get(flow.get_absolute_url()).content.decode()
    assert ('data-testid="mode-form"' in detail) == (role == "engineer")
    assert 'data-testid="switch-form"' not in detail  # what production serves changes only through a cutover
    assert 'data-testid="open-cutover"' in detail and 'data-testid="step-validation"' in detail
    tokens = client.get(reverse("flows:token_list"))
    assert tokens.status_code == (200 if role == "engineer" else 403)


@pytest.mark.parametrize("role", ["product_owner", "support_lead"])
def test_readers_get_403_on_every_action(client, request, setup, role):
    login(client, request.getfixturevalue(role))
    assistant, flow = setup["assistant"], setup["flow"]
    posts = [
        (reverse("tools:test_tool", args=[assistant.pk]), {"tool_key": "function:ping"}),
        (reverse("tools:test_all_tools", args=[assistant.pk]), {}),
        (reverse("tools:check_resources", args=[assistant.pk]), {}),
        (reverse("flows:assistant_flows", args=[assistant.pk]), {"name": "New", "slug": "new"}),
        (reverse("flows:choose_mode", args=[flow.slug]), {"mode": "stateless", "truncation": "auto"}),
        (reverse("flows:accept_recommendation", args=[flow.slug]), {}),
        (reverse("flows:refresh_recommendation", args=[flow.slug]), {}),
        (reverse("flows:edit", args=[flow.slug]), {"name": "Renamed"}),
        (reverse("flows:transition", args=[flow.slug]), {"to": "blocked", "reason": "no"}),
        (reverse("flows:token_create"), {"name": "x", "consumer": "y"}),
        (reverse("flows:token_revoke", args=[1]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert not Job.objects.exists() and Flow.objects.count() == 1 and not ApiToken.objects.exists()


def test_anonymous_users_are_sent_to_login(client, setup):
    response = client.get(reverse("flows:list"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_bad_input_is_a_clear_422_never_a_500(client, engineer, setup):
    login(client, engineer)
    assistant, flow = setup["assistant"], setup["flow"]
    bad = [
        (reverse("flows:choose_mode", args=[flow.slug]), {"mode": "threads", "truncation": "auto"}, "Select a valid choice"),
        (reverse("flows:choose_mode", args=[flow.slug]), {"mode": "previous_response", "truncation": "auto"},
         "needs store=true"),
        (reverse("flows:transition", args=[flow.slug]), {"to": "validated", "reason": "trust me"},
         "by hand: that happens when a validation run of this flow passes"),
        (reverse("flows:transition", args=[flow.slug]), {"to": "migrated", "reason": "trust me"}, "cannot"),
        (reverse("flows:transition", args=[flow.slug]), {"to": "exploded"}, "Select a valid choice"),
        (reverse("flows:transition", args=[flow.slug]), {"to": "blocked"}, "say why the flow is blocked"),
        (reverse("flows:edit", args=[flow.slug]), {"name": ""}, "This field is required"),
        (reverse("flows:assistant_flows", args=[assistant.pk]), {"name": "X", "slug": "Not OK"}, "lowercase letters"),
        (reverse("flows:assistant_flows", args=[assistant.pk]), {"name": "X", "slug": "ping-web"}, "is taken"),
        (reverse("flows:token_create"), {"name": "", "consumer": ""}, "This field is required"),
    ]
    for url, data, message in bad:
        response = client.post(url, data)
        assert response.status_code == 422, (url, data, response.status_code)
        assert message in response.content.decode(), (url, message)
    response = client.post(reverse("tools:test_tool", args=[assistant.pk]), {"tool_key": "function:nope"})
    assert response.status_code == 302  # back to the page with the reason as a message
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("has no tool 'function:nope'" in m for m in messages)
    assert client.get(reverse("flows:detail", args=["no-such-flow"])).status_code == 404
    assert client.get(reverse("tools:assistant_tools", args=[999999])).status_code == 404


def test_engineer_creates_a_flow_and_accepts_the_recommendation(client, engineer, setup):
    login(client, engineer)
    assistant = setup["assistant"]
    make_threads(assistant, [(1, 200, 0)] * 30, flow_slug="ping-faq")
    response = client.post(reverse("flows:assistant_flows", args=[assistant.pk]),
                           {"name": "Ping FAQ", "slug": "", "description": "widget"}.copy() | {"slug": "ping-faq"})
    flow = Flow.objects.get(slug="ping-faq")
    assert response.status_code == 302 and response["Location"] == flow.get_absolute_url()
    page = client.get(flow.get_absolute_url()).content.decode()
    assert "single question" in page and 'data-testid="accept-recommendation"' in page
    client.post(reverse("flows:accept_recommendation", args=[flow.slug]))
    flow.refresh_from_db()
    assert flow.mode == "stateless" and flow.store is False
    # A slug is made from the name when left empty.
    client.post(reverse("flows:assistant_flows", args=[assistant.pk]), {"name": "Ping Admin Console", "slug": ""})
    assert Flow.objects.filter(slug="ping-admin-console").exists()


def test_engineer_blocks_and_unblocks_a_flow_with_reasons(client, engineer, setup):
    login(client, engineer)
    flow = setup["flow"]
    client.post(reverse("flows:choose_mode", args=[flow.slug]),
                {"mode": "conversation", "truncation": "auto", "store": "on", "reason": "long chats with history"})
    response = client.post(reverse("flows:transition", args=[flow.slug]), {"to": "blocked", "reason": "legal"})
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.status == FlowStatus.BLOCKED and flow.mode == "conversation"
    client.post(reverse("flows:transition", args=[flow.slug]), {"to": "planning", "reason": "legal cleared it"})
    flow.refresh_from_db()
    assert flow.status == FlowStatus.PLANNING
    page = client.get(flow.get_absolute_url()).content.decode()
    assert "<strong>Conversation (durable state)</strong>" in page  # the activity feed says it in words
    assert "migrator.flow.mode_" not in page
    assert "conversation=conversation_id" in page  # the loop follows the chosen mode
    assert 'data-testid="flow-transition-validated-disabled"' in page or "validation run" in page


def test_flow_list_filters(client, support_lead, setup):
    login(client, support_lead)
    FlowFactory(slug="chat-a", name="Chat A", mode="conversation", status=FlowStatus.VALIDATED)
    FlowFactory(slug="chat-b", name="Chat B")
    def slugs(**params):
        html = client.get(reverse("flows:list"), params).content.decode()
        return sorted(set(re.findall(r'class="muted small mono">([a-z0-9-]+)<', html)))
    assert slugs() == ["chat-a", "chat-b", "ping-web"]
    assert slugs(status="validated") == ["chat-a"]
    assert slugs(mode="none") == ["chat-b", "ping-web"]
    assert slugs(mode="conversation") == ["chat-a"]
    assert slugs(q="ping") == ["ping-web"]
    assert slugs(assistant=setup["assistant"].pk) == ["ping-web"]
    assert client.get(reverse("flows:list"), {"status": "bogus", "page": "x"}).status_code == 200
    partial = client.get(reverse("flows:list"), HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and 'data-testid="flow-table"' in partial.content.decode()


def test_tokens_page_shows_the_secret_once(client, engineer, setup):
    login(client, engineer)
    posted = client.post(reverse("flows:token_create"),
                         {"name": "checkout web", "consumer": "web team", "flows": setup["flow"].slug})
    # POST/redirect/GET: the secret is shown on the one GET that follows, and a reload neither shows it again
    # nor issues a second token.
    assert posted.status_code == 302 and posted["Location"] == reverse("flows:token_list")
    assert "mgr_" not in posted["Location"]
    response = client.get(posted["Location"])
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    secret = re.search(r'data-testid="token-value">(mgr_[^<]+)<', response.content.decode()).group(1)
    token = ApiToken.objects.get()
    assert token.matches(secret) and list(token.flows.all()) == [setup["flow"]]
    listing = client.get(reverse("flows:token_list")).content.decode()  # the reload
    assert secret not in listing and token.display_prefix in listing and ApiToken.objects.count() == 1
    client.post(reverse("flows:token_revoke", args=[token.pk]), {"reason": "rotated"})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.display_prefix in client.get(reverse("flows:token_list"), {"show": "revoked"}).content.decode()


def test_tokens_page_is_paginated(client, engineer, setup):
    from migrator.flows.services.tokens import create_token
    from migrator.flows.views.tokens import TOKENS_PER_PAGE

    login(client, engineer)
    for n in range(TOKENS_PER_PAGE + 3):
        create_token(actor=engineer, name=f"token {n:02d}", consumer="load test", flow_ids=[])
    first = client.get(reverse("flows:token_list")).content.decode()
    assert first.count('data-testid="token-row"') == TOKENS_PER_PAGE and "Page 1 of 2" in first
    assert "token 27" in first and "token 00" not in first  # newest first
    second = client.get(reverse("flows:token_list"), {"page": 2, "show": "all"}).content.decode()
    assert second.count('data-testid="token-row"') == 3 and "token 00" in second


def test_any_slug_is_a_flow_page_and_old_tab_links_redirect(client, engineer):
    """Flow pages live under /flows/f/<slug>/, so slugs that name other pages need no reserving."""
    login(client, engineer)
    assistant = AssistantFactory()
    for slug in ("tokens", "assistants", "f"):
        flow = FlowFactory(assistant=assistant, slug=slug, name=f"Flow {slug}")
        assert flow.get_absolute_url() == f"/flows/f/{slug}/"
        assert f"Flow {slug}" in client.get(flow.get_absolute_url()).content.decode()
    assert 'data-testid="token-form"' in client.get("/flows/tokens/").content.decode()
    old_tools = client.get(f"/flows/assistants/{assistant.pk}/tools/")
    assert old_tools.status_code == 301 and old_tools["Location"] == reverse("tools:assistant_tools", args=[assistant.pk])
    old_flows = client.get(f"/flows/assistants/{assistant.pk}/flows/")
    assert old_flows.status_code == 301 and old_flows["Location"] == reverse("flows:assistant_flows", args=[assistant.pk])


def test_engineer_records_that_production_streams(client, engineer, product_owner, setup):
    from migrator.core.models import AuditEvent

    login(client, engineer)
    flow = setup["flow"]
    page = client.get(reverse("flows:detail", args=[flow.slug])).content.decode()
    assert "Production streams answers" in page
    response = client.post(reverse("flows:edit", args=[flow.slug]), {"name": flow.name, "streams": "on"})
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.streams is True
    event = AuditEvent.objects.for_object(flow).filter(verb="migrator.flow.updated").first()
    assert event.before["streams"] is False and event.after["streams"] is True
    client.post(reverse("flows:edit", args=[flow.slug]), {"name": flow.name})  # unticked: stops streaming
    flow.refresh_from_db()
    assert flow.streams is False
    client.logout()
    login(client, product_owner)
    flow.streams = True
    flow.save(update_fields=["streams"])
    assert "Production streams answers (stream=true)." in client.get(reverse("flows:detail", args=[flow.slug])).content.decode()


def test_flow_streams_command(setup):
    import json

    from django.core.management import CommandError, call_command

    from migrator.core.models import AuditEvent

    flow = setup["flow"]
    out = StringIO()
    call_command("flow_streams", flow.slug, "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"flow": "ping-web", "streams": False, "changed": False}
    out = StringIO()
    call_command("flow_streams", flow.slug, "--on", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"flow": "ping-web", "streams": True, "changed": True}
    flow.refresh_from_db()
    assert flow.streams is True
    event = AuditEvent.objects.for_object(flow).filter(verb="migrator.flow.updated").first()
    assert event.actor_label == "the flow_streams command"
    out = StringIO()
    call_command("flow_streams", flow.slug, "--on", stdout=out)
    assert out.getvalue().strip() == "Ping web (ping-web): production streams its answers (stream=true)."
    with pytest.raises(CommandError, match="No flow with the slug 'nope'"):
        call_command("flow_streams", "nope")
