"""Webhooks in one process: signing, emitting after commit, retries and their schedule, permissions, pages.

Deliveries go over real HTTP to a receiver on 127.0.0.1; jobs run in this process through the job layer
(``run_queued_jobs``), as a worker would. tests/webhooks/test_worker.py does the same with a real worker.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from migrator.core.actors import system
from migrator.core.models import AuditEvent, Job, JobStatus
from migrator.core.services import NotAllowed, ServiceError
from migrator.core.services.jobs import execute_job, start_job
from migrator.webhooks import services, signing
from migrator.webhooks.models import Delivery, DeliveryStatus, WebhookEndpoint

CUTOVER = system("command:cutover", "the cutover command")


def _endpoint(actor, url, events=("cutover.approved",), **kw):
    return services.create_endpoint(actor=actor, name="Slack relay", url=url, events=list(events), **kw)


def _run_jobs() -> list[Job]:
    done = []
    for job_id in Job.objects.filter(status=JobStatus.QUEUED, kind=services.JOB_KIND).order_by("id").values_list(
            "id", flat=True):
        done.append(execute_job(job_id))
    return done


# --- signing -----------------------------------------------------------------------------------------------


def test_signature_round_trip_and_refusals():
    body = b'{"id":"evt_1"}'
    header = signing.header_value("whsec_abc", body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert signing.verify("whsec_abc", body, header, now=1_700_000_100) == 1_700_000_000
    with pytest.raises(signing.SignatureError, match="does not match"):
        signing.verify("whsec_other", body, header, now=1_700_000_100)
    with pytest.raises(signing.SignatureError, match="does not match"):
        signing.verify("whsec_abc", body + b" ", header, now=1_700_000_100)
    with pytest.raises(signing.SignatureError, match="old"):
        signing.verify("whsec_abc", body, header, now=1_700_000_000 + 301)
    with pytest.raises(signing.SignatureError, match="No X-Migrator-Signature"):
        signing.verify("whsec_abc", body, None)
    with pytest.raises(signing.SignatureError, match="t="):
        signing.verify("whsec_abc", body, "v1=00")
    # A second v1 (during a secret rotation) is accepted when either matches.
    both = header + ",v1=" + "0" * 64
    assert signing.verify("whsec_abc", body, both, now=1_700_000_000)


# --- endpoints ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_endpoint_secret_is_encrypted_and_bad_input_is_refused(engineer, support_lead):
    endpoint, secret = _endpoint(engineer, "https://hooks.example.com/x")
    assert secret.startswith("whsec_") and len(secret) > 40
    assert secret not in endpoint.secret_encrypted and endpoint.get_secret() == secret
    assert endpoint.secret_hint == secret[-4:]
    for url, message in [("ftp://example.com/x", "http:// or https://"), ("file:///etc/passwd", "http"),
                         ("javascript:alert(1)", "http"), ("https://user:pw@example.com/", "credentials"),
                         ("https:///nohost", "host"), ("", "Enter")]:
        with pytest.raises(ServiceError, match=message):
            _endpoint(engineer, url)
    with pytest.raises(ServiceError, match="Unknown event"):
        _endpoint(engineer, "https://example.com/", events=["cutover.exploded"])
    with pytest.raises(ServiceError, match="at least one event"):
        _endpoint(engineer, "https://example.com/", events=[])
    with pytest.raises(NotAllowed):
        _endpoint(support_lead, "https://example.com/")
    assert WebhookEndpoint.objects.count() == 1
    internal, _ = _endpoint(engineer, "http://relay:8080/hook")  # an internal host name without a dot
    assert internal.url == "http://relay:8080/hook"
    internal.delete()
    rotated, new_secret = services.rotate_secret(actor=engineer, endpoint_id=endpoint.pk)
    assert new_secret != secret and rotated.get_secret() == new_secret
    assert AuditEvent.objects.filter(verb="migrator.webhook.secret_rotated").exists()


# --- emitting and delivering --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_emit_delivers_a_verifiable_signed_request_after_commit(engineer, receiver):
    _endpoint_row, secret = _endpoint(engineer, receiver.url, events=["cutover.approved", "cutover.ramped"])
    _endpoint(engineer, receiver.url, events=["cutover.declined"])  # not subscribed: gets nothing
    payload = {"flow": "checkout", "version": 3, "at": timezone.now()}
    with transaction.atomic():
        assert services.emit(event="cutover.approved", payload=payload, actor=CUTOVER) == 1
        delivery = Delivery.objects.get()
        assert delivery.status == DeliveryStatus.PENDING and delivery.job_id
    jobs = _run_jobs()
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED]
    assert receiver.count() == 1
    request = receiver.requests[0]
    signing.verify(secret, request.body, request.headers[signing.SIGNATURE_HEADER])
    body = json.loads(request.body)
    assert body["type"] == "cutover.approved" and body["data"]["flow"] == "checkout"
    assert body["actor"] == "the cutover command"
    assert request.headers[signing.EVENT_ID_HEADER] == body["id"] == delivery.event.event_id
    assert request.headers[signing.EVENT_TYPE_HEADER] == "cutover.approved"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.SUCCEEDED, 1, 200)
    assert delivery.duration_ms is not None and delivery.job_id is None
    assert delivery.attempt_log.get().succeeded


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_action_notifies_nobody(engineer, receiver):
    _endpoint(engineer, receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.emit(event="cutover.approved", payload={"flow": "x"}, actor=CUTOVER)
        raise RuntimeError("the cutover failed after emitting")
    assert not Delivery.objects.exists()
    assert not Job.objects.filter(kind=services.JOB_KIND).exists()
    assert receiver.count() == 0


@pytest.mark.django_db
def test_emit_refuses_unknown_events_bad_payloads_and_anonymous_callers(engineer):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(ServiceError, match="Unknown webhook event"):
        services.emit(event="cutover.aproved", payload={}, actor=CUTOVER)
    with pytest.raises(ServiceError, match="JSON object"):
        services.emit(event="cutover.approved", payload=["x"], actor=CUTOVER)  # type: ignore[arg-type]
    with pytest.raises(ServiceError, match="not JSON-serialisable"):
        services.emit(event="cutover.approved", payload={"x": object()}, actor=CUTOVER)
    with pytest.raises(ServiceError, match="not JSON-serialisable"):
        services.emit(event="cutover.approved", payload={"x": float("nan")}, actor=CUTOVER)
    with pytest.raises(NotAllowed):
        services.emit(event="cutover.approved", payload={}, actor=AnonymousUser())
    # No endpoint at all is not an error: nobody listens.
    assert services.emit(event="cutover.approved", payload={}, actor=engineer) == 0


@pytest.mark.django_db(transaction=True)
def test_retries_back_off_then_succeed_on_one_delivery_row(engineer, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 60
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    receiver.statuses = [500, 503]
    _endpoint_row, secret = _endpoint(engineer, receiver.url)
    services.emit(event="cutover.approved", payload={"flow": "checkout"}, actor=CUTOVER)
    [job] = _run_jobs()
    assert job.status == JobStatus.FAILED and "HTTP 500" in job.error and "Next attempt" in job.error
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1 and delivery.job_id is None
    first_delay = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 50 < first_delay <= 66  # base 60s ± 10% jitter
    assert services.schedule_due() == 0  # not due yet
    assert services.schedule_due(now=delivery.next_attempt_at + timedelta(seconds=1)) == 1
    assert services.schedule_due(now=delivery.next_attempt_at + timedelta(seconds=1)) == 0  # taken once only
    _run_jobs()
    delivery.refresh_from_db()
    second_delay = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert delivery.attempts == 2 and 100 < second_delay <= 132  # doubled
    services.schedule_due(now=delivery.next_attempt_at)
    _run_jobs()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.SUCCEEDED, 3, 200)
    assert [a.response_code for a in delivery.attempt_log.all()] == [500, 503, 200]
    assert Delivery.objects.count() == 1
    ids = {r.headers[signing.EVENT_ID_HEADER] for r in receiver.requests}
    assert ids == {delivery.event.event_id}  # every retry carries the same event id
    for r in receiver.requests:
        signing.verify(secret, r.body, r.headers[signing.SIGNATURE_HEADER])


@pytest.mark.django_db(transaction=True)
def test_gives_up_after_max_attempts_and_redeliver_makes_a_new_row(engineer, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.statuses = [500, 500]
    _endpoint_row, _ = _endpoint(engineer, receiver.url)
    services.emit(event="cutover.approved", payload={}, actor=CUTOVER)
    _run_jobs()
    delivery = Delivery.objects.get()
    services.schedule_due(now=delivery.next_attempt_at)
    [job] = _run_jobs()
    assert "Giving up" in job.error
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    assert services.schedule_due(now=timezone.now() + timedelta(days=1)) == 0
    again = services.redeliver(actor=engineer, delivery_id=delivery.pk)
    assert again.redelivery_of_id == delivery.pk and again.event_id == delivery.event_id
    _run_jobs()
    again.refresh_from_db()
    assert again.status == DeliveryStatus.SUCCEEDED
    assert receiver.requests[-1].headers[signing.EVENT_ID_HEADER] == delivery.event.event_id
    with pytest.raises(ServiceError, match="still being retried"):
        services.emit(event="cutover.approved", payload={}, actor=CUTOVER)
        services.redeliver(actor=engineer, delivery_id=Delivery.objects.filter(status="pending").get().pk)


@pytest.mark.django_db(transaction=True)
def test_a_second_job_for_a_delivered_delivery_sends_nothing(engineer, receiver):
    _endpoint(engineer, receiver.url)
    services.emit(event="cutover.approved", payload={}, actor=CUTOVER)
    [job] = _run_jobs()
    delivery = Delivery.objects.get()
    assert execute_job(job.pk).status == JobStatus.SUCCEEDED  # the same job again: not queued, skipped
    extra = start_job(kind=services.JOB_KIND, actor=CUTOVER, params={"delivery_id": delivery.pk})
    assert execute_job(extra.pk).result["outcome"] == "skipped"
    assert receiver.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_attempt_whose_job_died_is_retried_not_lost(engineer, receiver):
    _endpoint(engineer, receiver.url)
    services.emit(event="cutover.approved", payload={}, actor=CUTOVER)
    delivery = Delivery.objects.get()
    Job.objects.filter(pk=delivery.job_id).update(status=JobStatus.FAILED, error="worker stopped responding")
    assert services.schedule_due() == 1
    _run_jobs()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and receiver.count() == 1


@pytest.mark.django_db(transaction=True)
def test_unreachable_receiver_and_redirects_are_failed_attempts(engineer, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    _endpoint(engineer, f"http://127.0.0.1:{closed_port}/nothing-here")
    services.emit(event="cutover.approved", payload={}, actor=CUTOVER)
    _run_jobs()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.response_code is None
    assert "ConnectError" in delivery.error
    receiver.statuses = [302]
    WebhookEndpoint.objects.all().delete()
    _endpoint(engineer, receiver.url)
    services.emit(event="cutover.approved", payload={}, actor=CUTOVER)
    _run_jobs()
    redirected = Delivery.objects.get()
    assert redirected.status == DeliveryStatus.FAILED and "redirects are not followed" in redirected.error


@pytest.mark.django_db(transaction=True)
def test_test_event_reaches_the_endpoint_whatever_it_subscribes(engineer, support_lead, receiver):
    endpoint, _secret = _endpoint(engineer, receiver.url, events=["cutover.rolled_back"])
    with pytest.raises(NotAllowed):
        services.send_test(actor=support_lead, endpoint_id=endpoint.pk)
    services.send_test(actor=engineer, endpoint_id=endpoint.pk)
    _run_jobs()
    body = json.loads(receiver.requests[0].body)
    assert body["type"] == "webhook.test" and body["data"]["endpoint"]["id"] == endpoint.pk
    services.set_active(actor=engineer, endpoint_id=endpoint.pk, active=False)
    with pytest.raises(ServiceError, match="disabled"):
        services.send_test(actor=engineer, endpoint_id=endpoint.pk)
    assert services.emit(event="cutover.rolled_back", payload={}, actor=CUTOVER) == 0


@pytest.mark.django_db(transaction=True)
def test_disabling_an_endpoint_fails_its_pending_deliveries_without_sending(engineer, receiver):
    endpoint, _ = _endpoint(engineer, receiver.url)
    services.emit(event="cutover.approved", payload={}, actor=CUTOVER)
    services.set_active(actor=engineer, endpoint_id=endpoint.pk, active=False)
    _run_jobs()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and "disabled" in delivery.error
    assert receiver.count() == 0


# --- pages -------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_pages_create_show_secret_once_log_and_redeliver(client, engineer, support_lead, receiver):
    client.force_login(engineer)
    page = client.get("/webhooks/")
    assert page.status_code == 200 and b"New endpoint" in page.content
    bad = client.post("/webhooks/new/", {"name": "x", "url": "gopher://x", "events": ["cutover.approved"]})
    assert bad.status_code == 422 and b"http:// or https://" in bad.content
    created = client.post("/webhooks/new/", {"name": "Relay", "url": receiver.url, "events": ["cutover.approved"],
                                             "is_active": "on"})
    assert created.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.get_secret().encode() in created.content  # shown once, on creation
    assert "no-store" in created["Cache-Control"]
    detail = client.get(f"/webhooks/endpoints/{endpoint.pk}/")
    assert endpoint.get_secret().encode() not in detail.content and endpoint.secret_hint.encode() in detail.content
    assert client.post(f"/webhooks/endpoints/{endpoint.pk}/test/").status_code == 302
    polling = client.get(f"/webhooks/endpoints/{endpoint.pk}/log/", headers={"HX-Request": "true"})
    assert polling.status_code == 200 and b'hx-trigger="every 2s"' in polling.content  # pending: keep polling
    _run_jobs()
    done = client.get(f"/webhooks/endpoints/{endpoint.pk}/log/", headers={"HX-Request": "true"})
    assert done.status_code == 286 and b'data-status="succeeded"' in done.content and b"hx-get" not in done.content
    log = client.get(f"/webhooks/endpoints/{endpoint.pk}/")
    assert b"webhook.test" in log.content and b'data-status="succeeded"' in log.content
    delivery = Delivery.objects.get()
    assert client.get(f"/webhooks/deliveries/{delivery.pk}/").status_code == 200
    response = client.post(f"/webhooks/deliveries/{delivery.pk}/redeliver/")
    assert response.status_code == 302 and Delivery.objects.count() == 2
    assert b"Webhooks" in client.get("/").content  # sidebar entry for those who may see them
    client.force_login(support_lead)
    assert client.get(f"/webhooks/endpoints/{endpoint.pk}/").status_code == 200
    assert b"Send test event" not in client.get(f"/webhooks/endpoints/{endpoint.pk}/").content
    assert client.post(f"/webhooks/endpoints/{endpoint.pk}/test/").status_code == 403
    assert client.post(f"/webhooks/deliveries/{delivery.pk}/redeliver/").status_code == 403
    assert client.get("/webhooks/endpoints/999/").status_code == 404


@pytest.mark.django_db
def test_product_owner_sees_no_webhooks(client, product_owner):
    client.force_login(product_owner)
    assert client.get("/webhooks/").status_code == 403
    assert b'href="/webhooks/"' not in client.get("/").content


@pytest.mark.django_db
def test_pages_survive_junk_query_strings(client, engineer, admin_user):
    endpoint, _ = _endpoint(engineer, "https://hooks.example.com/x")
    junk = {"status": "\x00", "page": "99999999999999999999", "fragment": "x" * 5000}
    for user in (engineer, admin_user):
        client.force_login(user)
        for url in ("/webhooks/", f"/webhooks/endpoints/{endpoint.pk}/"):
            assert client.get(url, junk).status_code == 200
            assert client.get(url, junk, HTTP_HX_REQUEST="true").status_code == 200
    assert client.get("/webhooks/endpoints/99999999999999999999999/").status_code == 404
    assert client.post(f"/webhooks/endpoints/{endpoint.pk}/edit/", {"name": "", "url": "x\x00", "events": ["\x00"]}).status_code == 422


@pytest.mark.django_db(transaction=True)
def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(engineer, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.delay = 2.5
    _endpoint(engineer, receiver.url)
    services.emit(event="cutover.approved", payload={}, actor=CUTOVER)
    [job] = _run_jobs()
    delivery = Delivery.objects.get()
    assert job.status == JobStatus.FAILED and delivery.status == DeliveryStatus.PENDING
    assert delivery.error == "No answer within 1s (timed out)." and delivery.response_code is None


@pytest.mark.django_db(transaction=True)
def test_rotation_signs_with_both_secrets_for_a_day_and_the_documented_receiver_accepts_it(engineer, receiver):
    import re
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", docs, re.S).group(1)
    namespace: dict = {}
    exec(snippet, namespace)  # the receiver code docs/webhooks.md tells people to use
    documented_verify = namespace["verify"]

    endpoint, old = _endpoint(engineer, receiver.url)
    _row, new = services.rotate_secret(actor=engineer, endpoint_id=endpoint.pk)
    services.emit(event="cutover.approved", payload={}, actor=CUTOVER)
    _run_jobs()
    request = receiver.requests[-1]
    header = request.headers[signing.SIGNATURE_HEADER]
    assert header.count("v1=") == 2
    for secret in (new, old):
        signing.verify(secret, request.body, header)
        documented_verify(secret, request.body, header)
    with pytest.raises(ValueError, match="bad signature"):
        documented_verify("whsec_wrong", request.body, header)

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    services.emit(event="cutover.approved", payload={}, actor=CUTOVER)
    _run_jobs()
    request = receiver.requests[-1]
    header = request.headers[signing.SIGNATURE_HEADER]
    assert header.count("v1=") == 1
    documented_verify(new, request.body, header)
    with pytest.raises(signing.SignatureError):
        signing.verify(old, request.body, header)


@pytest.mark.django_db
def test_system_check_reports_failed_and_overdue_deliveries(engineer):
    from migrator.core import diagnostics as registry

    def check():
        return {r.key: r for r in registry.run_system()}["webhooks"]

    assert check().status == "ok" and "No active webhook endpoint" in check().summary
    endpoint, _ = _endpoint(engineer, "https://hooks.example.com/x")
    services.emit(event="cutover.approved", payload={}, actor=CUTOVER)
    assert check().status == "ok"
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, error="The receiver answered HTTP 500.")
    failed = check()
    assert failed.status == "warn" and "HTTP 500" in failed.summary
    assert failed.fix_url == f"/webhooks/endpoints/{endpoint.pk}/?status=failed"
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING, job_id=None,
                                                   next_attempt_at=timezone.now() - timedelta(minutes=10))
    overdue = check()
    assert overdue.status == "fail" and "overdue" in overdue.summary


@pytest.mark.django_db
def test_webhook_audit_events_read_as_sentences(engineer):
    from migrator.core.activity import present

    endpoint, _ = _endpoint(engineer, "https://hooks.example.com/x")
    services.update_endpoint(actor=engineer, endpoint_id=endpoint.pk, name="Relay", url="https://hooks.example.com/y",
                             events=["cutover.approved"])
    services.rotate_secret(actor=engineer, endpoint_id=endpoint.pk)
    services.set_active(actor=engineer, endpoint_id=endpoint.pk, active=False)
    sentences = {e.event.verb: str(e.sentence) for e in present(AuditEvent.objects.filter(verb__startswith="migrator.webhook."))}
    assert "added the webhook endpoint" in sentences["migrator.webhook.created"]
    assert "(name, url)" in sentences["migrator.webhook.changed"]
    assert "rotated the signing secret" in sentences["migrator.webhook.secret_rotated"]
    assert "disabled the webhook endpoint" in sentences["migrator.webhook.disabled"]
    for sentence in sentences.values():
        assert "{" not in sentence and "migrator." not in sentence


def test_a_receivers_answer_is_shown_only_to_those_who_manage_webhooks(client, engineer, support_lead, receiver):
    """Issue 21, finding 7: what an internal address answers must not reach read-only roles."""
    from django.urls import reverse

    from migrator.webhooks.models import Delivery, DeliveryAttempt

    endpoint, _secret = _endpoint(engineer, receiver.url)
    services.send_test(actor=engineer, endpoint_id=endpoint.pk)
    _run_jobs()
    delivery = Delivery.objects.get(endpoint=endpoint)
    DeliveryAttempt.objects.filter(delivery=delivery).update(response_excerpt="ami-id secret-token-from-metadata")
    url = reverse("webhooks:delivery", args=[delivery.pk])
    client.force_login(support_lead)
    page = client.get(url)
    assert page.status_code == 200 and "secret-token-from-metadata" not in page.content.decode()
    client.force_login(engineer)
    assert "secret-token-from-metadata" in client.get(url).content.decode()
