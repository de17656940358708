"""Flows: creation, the recommendation from threads, accepting/overriding the mode, steps and status guards."""

from __future__ import annotations

import pytest

from migrator.core.models import AuditEvent
from migrator.core.services import NotAllowed, ServiceError
from migrator.core.status import FlowMode
from migrator.flows.services import flows as flow_services
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_threads, make_version

pytestmark = pytest.mark.django_db


def test_a_new_flow_gets_a_recommendation_from_its_own_threads(engineer):
    assistant = AssistantFactory()
    make_threads(assistant, [(1, 300, 0.01)] * 18 + [(2, 900, 0.1)] * 2, flow_slug="faq-widget")
    make_threads(assistant, [(9, 5000, 60)] * 20, flow_slug="account-chat")
    faq = flow_services.create_flow(assistant_id=assistant.pk, slug="faq-widget", name="FAQ widget", actor=engineer)
    assert faq.recommended_mode == FlowMode.STATELESS
    assert faq.recommendation["source"] == "flow" and faq.recommendation["thread_count"] == 20
    assert faq.recommendation["store"] is False and faq.mode == ""
    chat = flow_services.create_flow(assistant_id=assistant.pk, slug="account-chat", name="Account chat",
                                     actor=engineer)
    assert chat.recommended_mode == FlowMode.CONVERSATION
    # No thread carries this slug: all of the assistant's threads are the evidence.
    other = flow_services.create_flow(assistant_id=assistant.pk, slug="new-entry", name="New", actor=engineer)
    assert other.recommendation["source"] == "assistant" and other.recommendation["thread_count"] == 40
    event = AuditEvent.objects.get(verb="migrator.flow.created", object_id=str(faq.pk))
    assert event.after["recommended_mode"] == "stateless"


def test_flow_creation_rules(engineer, product_owner):
    assistant = AssistantFactory()
    with pytest.raises(NotAllowed):
        flow_services.create_flow(assistant_id=assistant.pk, slug="x", name="X", actor=product_owner)
    for slug in ("Bad Slug", "-x", "a--b", ""):
        with pytest.raises(ServiceError, match="lowercase letters"):
            flow_services.create_flow(assistant_id=assistant.pk, slug=slug, name="X", actor=engineer)
    # No slug is reserved: flow pages live under /flows/f/<slug>/, apart from the app's other pages.
    assert flow_services.create_flow(assistant_id=assistant.pk, slug="tokens", name="X", actor=engineer).slug == "tokens"
    flow_services.create_flow(assistant_id=assistant.pk, slug="taken", name="X", actor=engineer)
    with pytest.raises(ServiceError, match="already exists"):
        flow_services.create_flow(assistant_id=assistant.pk, slug="taken", name="Y", actor=engineer)
    with pytest.raises(ServiceError, match="does not exist"):
        flow_services.create_flow(assistant_id=999999, slug="z", name="Z", actor=engineer)


def test_accepting_and_overriding_the_mode_are_audited(engineer):
    assistant = AssistantFactory()
    make_threads(assistant, [(5, 2000, 0.1)] * 25, flow_slug="support")
    flow = flow_services.create_flow(assistant_id=assistant.pk, slug="support", name="Support", actor=engineer)
    assert flow.recommended_mode == FlowMode.PREVIOUS_RESPONSE

    flow, decision = flow_services.choose_mode(flow_id=flow.pk, actor=engineer, mode="previous_response",
                                               truncation="disabled", store=True)
    assert decision == "accepted" and flow.mode_chosen_at and flow.mode_reason == flow.recommendation["reason"]
    accepted = AuditEvent.objects.get(verb="migrator.flow.mode_accepted")
    assert accepted.before["mode"] == "" and accepted.after["mode"] == "previous_response"
    assert accepted.data["recommended_mode"] == "previous_response"

    with pytest.raises(ServiceError, match="Say why"):
        flow_services.choose_mode(flow_id=flow.pk, actor=engineer, mode="conversation", truncation="auto",
                                  store=True, reason="")
    flow, decision = flow_services.choose_mode(flow_id=flow.pk, actor=engineer, mode="conversation",
                                               truncation="auto", store=True, reason="Agents read history later")
    assert decision == "overridden" and flow.mode == "conversation" and flow.truncation == "auto"
    overridden = AuditEvent.objects.get(verb="migrator.flow.mode_overridden")
    assert overridden.data == {"recommended_mode": "previous_response", "reason": "Agents read history later"}
    assert overridden.before["mode"] == "previous_response"


def test_mode_rules(engineer, product_owner, support_lead):
    flow = FlowFactory()
    for user in (product_owner, support_lead):
        with pytest.raises(NotAllowed):
            flow_services.choose_mode(flow_id=flow.pk, actor=user, mode="stateless", truncation="auto", store=False,
                                      reason="because")
    with pytest.raises(ServiceError, match="Unknown mode"):
        flow_services.choose_mode(flow_id=flow.pk, actor=engineer, mode="threads", truncation="auto", store=True)
    with pytest.raises(ServiceError, match="Truncation"):
        flow_services.choose_mode(flow_id=flow.pk, actor=engineer, mode="stateless", truncation="last_3", store=True)
    with pytest.raises(ServiceError, match="needs store=true"):
        flow_services.choose_mode(flow_id=flow.pk, actor=engineer, mode="previous_response", truncation="auto",
                                  store=False, reason="cheap chaining")
    # A live flow's mode may change: it makes a candidate release (tests/cutover/test_releases.py proves that
    # production keeps its release until a cutover reaches the candidate).


def test_the_checklist_reflects_current_evidence_for_the_current_version(engineer, product_owner):
    """A tick is never a click: tools tick only when every tool of the approved version passed its latest test,
    prompt only with an approved version, and a change makes them open again."""
    from migrator.cutover.services import evidence_for

    assistant = AssistantFactory(tools=[{"type": "function", "function": {"name": "ping", "parameters": {}}}])
    v1 = make_version(assistant, {"model": "gpt-4o", "tools": [{"type": "function", "name": "ping", "strict": False,
                                                                 "parameters": {"type": "object", "properties": {}}}]},
                      approved=True)
    flow = FlowFactory(assistant=assistant)
    items = {i.key: i for i in evidence_for(flow, v1)}
    assert items["prompt"].state == "passed" and items["mode"].state == "failed"
    assert items["tools"].state == "failed" and "ping" in items["tools"].summary
    assert items["validation"].state == "missing"  # never passed without a run

    flow_services.choose_mode(flow_id=flow.pk, actor=engineer, mode="stateless", truncation="disabled",
                              store=False, reason="single questions")
    flow.refresh_from_db()
    assert {i.key: i for i in evidence_for(flow, v1)}["mode"].state == "passed"
    v2 = make_version(assistant, {"model": "gpt-4o"})
    from migrator.prompts.models import PromptVersion

    PromptVersion.objects.filter(pk=v1.pk).update(approved_at=None)
    v1.refresh_from_db()
    assert {i.key: i for i in evidence_for(flow, v1)}["prompt"].state == "failed"
    assert {i.key: i for i in evidence_for(flow, v2)}["tools"].state == "not_required"


def test_refreshing_the_recommendation_reads_new_threads(engineer, product_owner):
    assistant = AssistantFactory()
    flow = flow_services.create_flow(assistant_id=assistant.pk, slug="late", name="Late", actor=engineer)
    assert flow.recommended_mode == "" and "No imported threads" in flow.recommendation["reason"]
    make_threads(assistant, [(1, 100, 0)] * 30, flow_slug="late")
    with pytest.raises(NotAllowed):
        flow_services.refresh_recommendation(flow_id=flow.pk, actor=product_owner)
    flow = flow_services.refresh_recommendation(flow_id=flow.pk, actor=engineer)
    assert flow.recommended_mode == FlowMode.STATELESS
