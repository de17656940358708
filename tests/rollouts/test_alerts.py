"""OpenAI's webhooks as a pause signal: Standard Webhooks signatures checked (bad, old, unsigned → 400, nothing
recorded), every event recorded once per webhook-id, and a burst of failure events pausing every rollout in
progress through the guard (breach row, audit event, webhook, the reason shown where a ramp is refused)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from django.urls import reverse

from migrator.core.models import AuditEvent
from migrator.core.services import ServiceError
from migrator.core.signals import cutover_event
from migrator.cutover import services as cutover
from migrator.cutover.models import FlowRollout
from migrator.rollouts import standard_webhooks
from migrator.rollouts.models import Breach, Guard, GuardState, ProviderEvent
from migrator.rollouts.services import guard as guard_services
from tests.cutover.test_services import OTHERS
from tests.rollouts.helpers import evidence_passing, ramping_flow

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
URL = "/api/v1/openai/webhooks"


@pytest.fixture(autouse=True)
def configured(settings):
    settings.OPENAI_WEBHOOK_SECRETS = [SECRET]
    settings.OPENAI_WEBHOOK_PAUSE_EVENTS = ["response.failed"]
    settings.OPENAI_WEBHOOK_PAUSE_AFTER = 3


def _event(kind: str = "response.failed", n: int = 1) -> bytes:
    return json.dumps({"id": f"evt_{kind}_{n}", "object": "event", "type": kind, "created_at": int(time.time()),
                       "data": {"id": f"resp_{n}"}}).encode()


def _headers(body: bytes, *, webhook_id: str = "msg_1", secret: str = SECRET, at: int | None = None) -> dict:
    stamp = int(time.time()) if at is None else at
    return {"HTTP_WEBHOOK_ID": webhook_id, "HTTP_WEBHOOK_TIMESTAMP": str(stamp),
            "HTTP_WEBHOOK_SIGNATURE": standard_webhooks.sign(secret, webhook_id, stamp, body)}


def _post(client, body: bytes, **headers):
    return client.post(URL, data=body, content_type="application/json", **headers)


def test_signatures_agree_with_the_openai_sdk_and_rotation_accepts_either_secret():
    from openai import OpenAI

    body = _event()
    stamp = int(time.time())
    signature = standard_webhooks.sign(SECRET, "msg_sdk", stamp, body)
    headers = {"webhook-id": "msg_sdk", "webhook-timestamp": str(stamp), "webhook-signature": signature}
    OpenAI(api_key="sk-test", webhook_secret=SECRET).webhooks.verify_signature(body, headers)  # raises if not
    assert standard_webhooks.verify([SECRET], headers, body) == ("msg_sdk", stamp)
    old = "whsec_" + base64.b64encode(b"an older secret, still accepted").decode()
    rotated = {**headers, "webhook-signature": f"{standard_webhooks.sign(old, 'msg_sdk', stamp, body)} {signature}"}
    assert standard_webhooks.verify(["whsec_other", SECRET], rotated, body)[0] == "msg_sdk"
    with pytest.raises(standard_webhooks.SignatureError, match="does not match"):
        standard_webhooks.verify([SECRET], headers, body + b" ")


@pytest.mark.parametrize("case, message", [
    ("wrong secret", "does not match"),
    ("tampered body", "does not match"),
    ("too old", "at most 300 s"),
    ("from the future", "at most 300 s"),
    ("unsigned", "Missing the webhook-id, webhook-timestamp, webhook-signature headers"),
    ("no v1 entry", "no v1,<base64> entry"),
    ("bad timestamp", "not unix seconds"),
])
def test_a_bad_or_old_signature_is_refused_and_nothing_is_recorded(client, case, message):
    body = _event()
    headers = _headers(body)
    if case == "wrong secret":
        headers = _headers(body, secret="whsec_" + base64.b64encode(b"someone else's secret").decode())
    elif case == "tampered body":
        body = body.replace(b"resp_1", b"resp_2")
    elif case == "too old":
        headers = _headers(body, at=int(time.time()) - 301)
    elif case == "from the future":
        headers = _headers(body, at=int(time.time()) + 400)
    elif case == "unsigned":
        headers = {}
    elif case == "no v1 entry":
        headers["HTTP_WEBHOOK_SIGNATURE"] = "v2,abc"
    elif case == "bad timestamp":
        headers["HTTP_WEBHOOK_TIMESTAMP"] = "yesterday"
    response = _post(client, body, **headers)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_signature"
    assert message in response.json()["error"]["message"]
    assert not ProviderEvent.objects.exists()


def test_unconfigured_is_a_404_and_a_signed_non_event_a_400(client, settings):
    body = b'["not", "an", "event"]'
    response = _post(client, body, **_headers(body))
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_event"
    settings.OPENAI_WEBHOOK_SECRETS = []
    response = _post(client, _event(), **_headers(_event()))
    assert response.status_code == 404 and "OPENAI_WEBHOOK_SECRET" in response.json()["error"]["message"]
    assert not ProviderEvent.objects.exists()


def test_a_good_delivery_is_recorded_once_and_other_types_never_pause(client, engineer, support_lead):
    flow, _v1, _v2 = ramping_flow(engineer, support_lead)
    for n in range(5):
        body = _event("batch.completed", n)
        response = _post(client, body, **_headers(body, webhook_id=f"msg_b{n}"))
        assert response.status_code == 200 and response.json() == {"received": True, "duplicate": False,
                                                                   "paused": 0}
    again = _post(client, _event("batch.completed", 0), **_headers(_event("batch.completed", 0), webhook_id="msg_b0"))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert ProviderEvent.objects.count() == 5
    event = ProviderEvent.objects.get(webhook_id="msg_b0")
    assert event.type == "batch.completed" and event.event_id == "evt_batch.completed_0"
    assert event.data == {"id": "resp_0"} and event.created_at is not None
    assert not Guard.objects.filter(flow=flow).exists() and not Breach.objects.exists()


def test_a_burst_of_failures_pauses_every_rollout_in_progress(client, engineer, support_lead,
                                                               django_capture_on_commit_callbacks):
    guarded, _v1, _v2 = ramping_flow(engineer, support_lead, slug="guarded")
    guard_services.set_guard(flow_id=guarded.pk, actor=support_lead, min_sample=100, max_error_rate_increase=0.02,
                             action="rollback")
    bare, _v1b, _v2b = ramping_flow(engineer, support_lead, slug="bare", percent=25)
    events = []

    def listen(sender, *, event, payload, **_):
        events.append((event, payload))

    cutover_event.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            answers = []
            for n in range(3):
                body = _event("response.failed", n)
                answers.append(_post(client, body, **_headers(body, webhook_id=f"msg_f{n}")).json())
            # A retried delivery of the third changes nothing (it is a duplicate, not a fourth failure).
            retry = _post(client, _event("response.failed", 2), **_headers(_event("response.failed", 2),
                                                                           webhook_id="msg_f2")).json()
    finally:
        cutover_event.disconnect(listen)
    assert [a["paused"] for a in answers] == [0, 0, 2] and retry == {"received": True, "duplicate": True,
                                                                      "paused": 2}
    for flow, percent in ((guarded, 10), (bare, 25)):
        guard = Guard.objects.get(flow=flow)
        assert guard.state == GuardState.PAUSED and guard.metric == "openai_alert"
        assert FlowRollout.objects.get(flow=flow).percent == percent  # paused at its step, not rolled back
        breach = Breach.objects.get(flow=flow)
        assert breach.action == "pause" and "OpenAI sent 3 response.failed events within 10 minutes" in breach.summary
        assert "evt_response.failed_2" in breach.summary
        with pytest.raises(ServiceError, match="paused this ramp on an OpenAI alert: OpenAI sent 3"), \
                evidence_passing(*OTHERS):
            cutover.ramp(flow_id=flow.pk, actor=support_lead, percent=50)
    assert Guard.objects.get(flow=bare).max_error_rate_increase is None  # holds the pause, judges nothing
    audits = AuditEvent.objects.filter(verb="migrator.rollouts.alert_paused")
    assert audits.count() == 2 and all(a.data["figures"]["events_in_window"] == 3 for a in audits)
    sent = [p for e, p in events if e == "cutover.guard_breached"]
    assert {p["flow"]["slug"] for p in sent} == {"guarded", "bare"} and all(p["metric"] == "openai_alert"
                                                                             for p in sent)
    assert guard_services.evaluate(flow_id=bare.pk) is None  # no limits: nothing judged while paused
    client.force_login(support_lead)
    page = client.get(reverse("cutover:flow", args=[bare.slug])).content.decode()
    assert 'data-testid="guard-reason"' in page and "OpenAI sent 3 response.failed events" in page
    assert "this guard only holds the pause" in page
    # A fourth failure does not pause twice; setting the guard resumes the ramp.
    body = _event("response.failed", 3)
    assert _post(client, body, **_headers(body, webhook_id="msg_f3")).json()["paused"] == 0
    assert Breach.objects.count() == 2
    guard_services.set_guard(flow_id=bare.pk, actor=support_lead, min_sample=100, max_error_rate_increase=0.02)
    with evidence_passing(*OTHERS):
        cutover.ramp(flow_id=bare.pk, actor=support_lead, percent=50)
    assert FlowRollout.objects.get(flow=bare).percent == 50


def test_failures_spread_beyond_the_window_and_flows_not_ramping_are_left_alone(client, engineer, support_lead):
    from datetime import timedelta

    from django.utils import timezone

    flow, _v1, _v2 = ramping_flow(engineer, support_lead)
    cutover.rollback(flow_id=flow.pk, actor=support_lead, reason="done with it")
    for n in range(2):
        body = _event("response.failed", n)
        assert _post(client, body, **_headers(body, webhook_id=f"msg_old{n}")).status_code == 200
    ProviderEvent.objects.update(received_at=timezone.now() - timedelta(minutes=11))
    body = _event("response.failed", 9)
    assert _post(client, body, **_headers(body, webhook_id="msg_new")).json()["paused"] == 0
    for n in range(2):
        body = _event("response.failed", 10 + n)
        assert _post(client, body, **_headers(body, webhook_id=f"msg_n{n}")).json()["paused"] == 0
    assert not Guard.objects.exists() and not Breach.objects.exists()  # nothing in progress to pause
