"""Nothing a live flow serves changes except through a cutover: every door that edits a part of a release (Save
mode on the page, ``manage.py flow mode``, accepting the recommendation, a new approved version, renaming,
block → change → unblock) leaves the config API's answer byte for byte as it was, and makes a candidate
release instead, which reaches production through request, approval and ramp."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from migrator.core.services.status import change_flow_status
from migrator.core.status import FlowStatus
from migrator.cutover import services
from migrator.cutover.models import CutoverRequest, Release, RequestStatus
from migrator.cutover.services import releases
from migrator.flows.services import flows as flow_services
from migrator.flows.services.tokens import create_token
from tests.cutover.helpers import evidence_passing, serve
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version

pytestmark = pytest.mark.django_db
CONFIG = {"model": "gpt-4.1", "instructions": "Help with orders.", "tools": []}
OTHERS = ("validation", "backfill", "diagnostics", "tools")


@pytest.fixture
def live(engineer):
    assistant = AssistantFactory(legacy_id="asst_rel")
    v1 = make_version(assistant, CONFIG, approved=True)
    flow = FlowFactory(assistant=assistant, slug="orders", name="Orders", mode="stateless", truncation="disabled",
                       store=True, status="migrated")
    serve(flow, v1)
    _token, plaintext = create_token(actor=engineer, name="prod", consumer="web")
    return {"flow": flow, "v1": v1, "token": plaintext}


def served(client, live) -> tuple[dict, str]:
    answer = client.get("/api/v1/flows/orders/config", HTTP_AUTHORIZATION=f"Bearer {live['token']}")
    assert answer.status_code == 200, answer.content
    return answer.json(), answer["ETag"]


def assert_unchanged(client, live, before: tuple[dict, str]) -> None:
    body, etag = before
    answer = client.get("/api/v1/flows/orders/config", HTTP_AUTHORIZATION=f"Bearer {live['token']}",
                        HTTP_IF_NONE_MATCH=etag)
    assert answer.status_code == 304, "the ETag moved: production would fetch a changed configuration"
    now, now_etag = served(client, live)
    assert now_etag == etag
    for key in ("release", "config", "version", "rollout"):
        assert now[key] == body[key], key
    for key in ("mode", "state_param", "truncation", "store", "streams"):
        assert now["flow"][key] == body["flow"][key], key


def status_row(slug: str) -> dict:
    out = StringIO()
    call_command("cutover", "status", "--json", stdout=out)
    return next(f for f in json.loads(out.getvalue())["flows"] if f["slug"] == slug)


def test_save_mode_on_the_page_makes_a_candidate_and_serves_the_same(client, live, engineer):
    before = served(client, live)
    client.force_login(engineer)
    answer = client.post(reverse("flows:choose_mode", args=["orders"]),
                         {"mode": "conversation", "truncation": "auto", "store": "on", "reason": "agents read history"},
                         follow=True)
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "Production still serves release" in page and before[0]["release"][:12] in page
    assert_unchanged(client, live, before)
    row = status_row("orders")
    assert row["production_release"] == before[0]["release"]
    candidate = Release.objects.get(hash=row["candidate_release"])
    assert candidate.mode == "conversation" and candidate.truncation == "auto"
    assert candidate.hash != before[0]["release"]
    # Putting it back is allowed (no rollback needed) and leaves no candidate.
    answer = client.post(reverse("flows:choose_mode", args=["orders"]),
                         {"mode": "stateless", "truncation": "disabled", "store": "on", "reason": "back as it was"})
    assert answer.status_code == 302
    assert status_row("orders")["candidate_release"] is None
    assert_unchanged(client, live, before)


def test_flow_mode_command_is_the_same_service(client, live, engineer):
    before = served(client, live)
    out = StringIO()
    call_command("flow", "mode", "--flow", "orders", "--mode", "previous_response", "--by", engineer.username,
                 "--reason", "cheaper chaining", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["mode"] == "previous_response" and result["decision"] in ("accepted", "overridden")
    assert result["production_release"] == before[0]["release"]
    assert result["candidate_release"] and result["candidate_release"] != before[0]["release"]
    assert Release.objects.filter(hash=result["candidate_release"], mode="previous_response").exists()
    assert_unchanged(client, live, before)
    with pytest.raises(CommandError, match="No flow"):
        call_command("flow", "mode", "--flow", "nope", "--mode", "stateless", "--by", engineer.username,
                     "--reason", "x")
    with pytest.raises(CommandError, match="Refused"):
        call_command("flow", "mode", "--flow", "orders", "--mode", "conversation", "--by", engineer.username,
                     "--reason", "")


def test_a_re_cutover_awaiting_approval_is_voided_and_production_is_untouched(client, live, engineer):
    flow = live["flow"]
    make_version(flow.assistant, {**CONFIG, "model": "gpt-5.4-mini"}, approved=True)
    before = served(client, live)
    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
    assert request.release is not None and request.release.hash != before[0]["release"]
    flow_services.choose_mode(flow_id=flow.pk, actor=engineer, mode="conversation", truncation="disabled",
                              store=True, reason="agents read history")
    request.refresh_from_db()
    flow.refresh_from_db()
    assert request.status == RequestStatus.VOID and "mode" in request.closed_reason
    assert flow.status == FlowStatus.MIGRATED
    assert_unchanged(client, live, before)


def test_every_other_door_leaves_production_alone(client, live, engineer, admin_user):
    flow = live["flow"]
    before = served(client, live)
    # A new approved version, a rename, block → mode change → unblock.
    make_version(flow.assistant, {**CONFIG, "instructions": "Help with orders and refunds."}, approved=True)
    assert_unchanged(client, live, before)
    flow_services.update_flow(flow_id=flow.pk, actor=engineer, name="Orders (renamed)")
    assert_unchanged(client, live, before)
    with evidence_passing(*OTHERS):
        services.request_cutover(flow_id=flow.pk, actor=engineer)
    change_flow_status(flow_id=flow.pk, to=FlowStatus.BLOCKED, actor=admin_user, reason="incident")
    flow_services.choose_mode(flow_id=flow.pk, actor=engineer, mode="conversation", truncation="auto", store=True,
                              reason="while blocked")
    unblocked, _ = change_flow_status(flow_id=flow.pk, to=FlowStatus.PLANNING, actor=admin_user,
                                      reason="incident over")
    assert unblocked.status == FlowStatus.MIGRATED  # it serves its production release: never "planning"
    assert_unchanged(client, live, before)


def test_the_candidate_reaches_production_only_through_the_cutover(client, live, engineer, support_lead):
    flow = live["flow"]
    before = served(client, live)
    flow_services.choose_mode(flow_id=flow.pk, actor=engineer, mode="conversation", truncation="auto",
                              store=True, reason="agents read history")
    candidate = status_row("orders")["candidate_release"]
    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
        assert request.release.hash == candidate
        assert_unchanged(client, live, before)
        services.approve(request_id=request.pk, actor=support_lead, reason="evidence holds")
        # Approved at 0%: nobody gets it yet (the rollout part names the candidate, the release is the same).
        body, _etag = served(client, live)
        assert body["release"] == before[0]["release"] and body["config"] == before[0]["config"]
        assert body["rollout"]["candidate_version"] == request.version.number
        services.ramp(flow_id=flow.pk, actor=support_lead, percent=100, reason="all in")
    body, etag = served(client, live)
    assert body["release"] == candidate and etag != before[1]
    assert body["flow"]["mode"] == "conversation" and body["flow"]["state_param"] == "conversation"
    assert body["config"]["truncation"] == "auto"
    assert status_row("orders")["production_release"] == candidate
    assert CutoverRequest.objects.get(pk=request.pk).status == RequestStatus.COMPLETED


def test_create_candidate_is_callable_by_a_system_actor(live):
    from migrator.core.actors import system

    flow = live["flow"]
    successor = make_version(flow.assistant, {**CONFIG, "model": "gpt-5.4-mini"}, approved=False)
    release = releases.create_candidate(flow_id=flow.pk, actor=system("autopilot"), version_id=successor.pk,
                                        reason="successor model")
    assert release.version_id == successor.pk and release.spec().model == "gpt-5.4-mini"
    assert release.created_by_label and release.mode == flow.mode
    again = releases.create_candidate(flow_id=flow.pk, actor=system("autopilot"), version_id=successor.pk,
                                      reason="same again")
    assert again.pk == release.pk  # same content, same release


def test_the_other_page_doors_leave_production_alone(client, live, engineer):
    """Accept the recommendation, and the Details form (rename, streams): production's answer is unchanged."""
    from migrator.core.models import Flow

    flow = live["flow"]
    Flow.objects.filter(pk=flow.pk).update(recommended_mode="conversation",
                                           recommendation={"mode": "conversation", "truncation": "auto",
                                                           "store": True, "reason": "long chats"})
    before = served(client, live)
    client.force_login(engineer)
    assert client.post(reverse("flows:accept_recommendation", args=["orders"])).status_code == 302
    flow.refresh_from_db()
    assert flow.mode == "conversation" and flow.truncation == "auto"
    assert_unchanged(client, live, before)
    assert status_row("orders")["candidate_release"] not in (None, before[0]["release"])
    answer = client.post(reverse("flows:edit", args=["orders"]),
                         {"name": "Orders and refunds", "description": "renamed", "streams": "on"})
    assert answer.status_code == 302
    assert_unchanged(client, live, before)


def test_streaming_is_part_of_the_release(client, live, engineer, support_lead):
    """Turning production streaming on (the Details form, ``flow_streams``) makes a candidate release with its own
    hash, voids a request for the old release, and production keeps its answer until a cutover reaches it."""
    flow = live["flow"]
    make_version(flow.assistant, {**CONFIG, "model": "gpt-5.4-mini"}, approved=True)
    before = served(client, live)
    assert before[0]["flow"]["streams"] is False
    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
    client.force_login(engineer)
    answer = client.post(reverse("flows:edit", args=["orders"]), {"name": "Orders", "description": "",
                                                                  "streams": "on"})
    assert answer.status_code == 302
    assert_unchanged(client, live, before)
    request.refresh_from_db()
    assert request.status == RequestStatus.VOID and "streams" in request.closed_reason
    streamed = Release.objects.get(hash=status_row("orders")["candidate_release"])
    assert streamed.stream and streamed.content["stream"] is True
    assert streamed.hash not in (before[0]["release"], request.release.hash)
    # The same release but for streaming: only that differs, and it is what the hash tells apart.
    assert streamed.spec().call == request.release.spec().call and streamed.mode == request.release.mode
    # Off again through the command: the working release is the requested one again (no streaming).
    call_command("flow_streams", "orders", "--off", stdout=StringIO())
    assert status_row("orders")["candidate_release"] == request.release.hash
    assert_unchanged(client, live, before)
    call_command("flow_streams", "orders", "--on", stdout=StringIO())
    assert status_row("orders")["candidate_release"] == streamed.hash
    with evidence_passing(*OTHERS):
        again = services.request_cutover(flow_id=flow.pk, actor=engineer)
        assert again.release.hash == streamed.hash
        services.approve(request_id=again.pk, actor=support_lead, reason="evidence holds")
        services.ramp(flow_id=flow.pk, actor=support_lead, percent=100, reason="all in")
    body, etag = served(client, live)
    assert body["release"] == streamed.hash and body["flow"]["streams"] is True and etag != before[1]
