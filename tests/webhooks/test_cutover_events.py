"""The cutover services' events reach webhook receivers: signed, after commit, and only for what happened."""

from __future__ import annotations

import json

import pytest

from migrator.core.models import Job, JobStatus
from migrator.core.services.jobs import execute_job
from migrator.cutover import services as cutover
from migrator.webhooks import services, signing
from migrator.webhooks.models import Delivery
from tests.cutover.helpers import evidence_passing
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version

CONFIG = {"model": "gpt-5.4-mini", "instructions": "Help with orders.", "tools": []}
OTHERS = ("validation", "backfill", "diagnostics")


def _deliver_all() -> None:
    for job_id in Job.objects.filter(kind=services.JOB_KIND, status=JobStatus.QUEUED).order_by("id").values_list(
            "id", flat=True):
        execute_job(job_id)


@pytest.mark.django_db(transaction=True)
def test_request_and_approval_are_delivered_signed(engineer, support_lead, receiver):
    assistant = AssistantFactory(legacy_id="asst_cut")
    make_version(assistant, CONFIG, approved=True)
    flow = FlowFactory(assistant=assistant, slug="orders", name="Orders", mode="stateless", status="validated")
    _row, secret = services.create_endpoint(actor=engineer, name="relay", url=receiver.url,
                                            events=["cutover.requested", "cutover.approved", "cutover.declined"])
    with evidence_passing(*OTHERS):
        request = cutover.request_cutover(flow_id=flow.pk, actor=engineer, note="ship it")
        cutover.approve(request_id=request.pk, actor=support_lead, reason="evidence is complete")
    _deliver_all()
    bodies = []
    for r in receiver.requests:
        signing.verify(secret, r.body, r.headers[signing.SIGNATURE_HEADER])
        bodies.append(json.loads(r.body))
    assert [b["type"] for b in bodies] == ["cutover.requested", "cutover.approved"]  # not subscribed: completed
    assert bodies[0]["data"]["flow"]["slug"] == "orders" and bodies[0]["actor"] == "eng"
    assert bodies[1]["actor"] == "lead" and bodies[1]["data"]["reason"] == "evidence is complete"
    assert len({b["id"] for b in bodies}) == 2


@pytest.mark.django_db(transaction=True)
def test_a_refused_request_notifies_nobody(engineer, receiver):
    assistant = AssistantFactory(legacy_id="asst_cut2")
    make_version(assistant, CONFIG, approved=True)
    flow = FlowFactory(assistant=assistant, slug="orders2", mode="stateless", status="validated")
    services.create_endpoint(actor=engineer, name="relay", url=receiver.url, events=["cutover.requested"])
    with pytest.raises(cutover.EvidenceIncomplete):
        cutover.request_cutover(flow_id=flow.pk, actor=engineer)  # validation/backfill evidence is missing
    assert not Delivery.objects.exists()
