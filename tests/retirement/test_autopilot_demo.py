"""The autopilot on the demo (seeded through the services against the real sandbox), with the clock at 14 days
before gpt-4.1's shutdown: each affected flow ends with a candidate on green evidence and a pending cutover request,
and nothing is approved."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command

from migrator.core import model_catalog
from migrator.core.models import AuditEvent, Flow
from migrator.cutover import evidence as ev
from migrator.cutover.models import CutoverRequest, FlowRollout, RequestStatus
from migrator.retirement.models import AutopilotMove, CatalogueNotice, NoticeKind

pytestmark = pytest.mark.django_db

SHUTDOWN = date(2027, 1, 14)


def _autopilot(*args: str) -> dict:
    out = io.StringIO()
    call_command("autopilot", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.slow  # demo-wide: seeds the whole demo and validates every affected flow
def test_autopilot_on_the_demo_prepares_every_affected_flow_and_approves_nothing(sandbox, client, engineer):
    sandbox.reset("demo")
    call_command("seed_demo", sandbox_url=sandbox.base_url, password="demo-pass-123", stdout=io.StringIO())
    decided_before = set(CutoverRequest.objects.exclude(status=RequestStatus.AWAITING).values_list("pk", "status"))
    # Affected: flows whose production serves a model that shuts down with gpt-4.1.
    affected = {r.flow.slug: r for r in FlowRollout.objects.select_related("flow", "production", "candidate")
                if r.production_id and model_catalog.lookup(r.production.config["model"]).shutdown_date == SHUTDOWN}
    assert affected, "the demo has flows in production on gpt-4o/gpt-4.1"
    # Not enrolled yet: the autopilot does nothing.
    as_of = (SHUTDOWN - timedelta(days=14)).isoformat()
    assert all(f["action"] == "none" for f in _autopilot("run", "--as-of", as_of, "--json")["flows"])
    assert not AutopilotMove.objects.exists()

    call_command("autopilot", "enrol", stdout=io.StringIO())
    doc = _autopilot("run", "--as-of", as_of, "--json")
    rows = {f["slug"]: f for f in doc["flows"]}
    assert all(list(f)[:6] == ["slug", "model", "shutdown_date", "days_left", "action", "request_id"]
               for f in doc["flows"])
    filed = [slug for slug, f in rows.items() if f["action"] == "request_filed"]
    assert filed, rows
    for slug, rollout in affected.items():
        row = rows[slug]
        assert row["shutdown_date"] == "2027-01-14" and row["days_left"] == 14, row
        flow = Flow.objects.get(slug=slug)
        request = CutoverRequest.objects.filter(flow=flow).order_by("-pk").first()
        if rollout.candidate_id:  # a move already approved and ramping before the run: left alone
            assert row["action"] == "none" and ("ramping" in row["reason"] or "already open" in row["reason"]), row
            continue
        # Every other affected flow has a pending request for a candidate on the successor, on green evidence.
        assert request.status == RequestStatus.AWAITING, (slug, row)
        successor = model_catalog.lookup(rollout.production.config["model"]).successor
        assert request.version.config["model"] == successor
        assert not ev.missing(ev.gather(flow, request.version)), ev.missing(ev.gather(flow, request.version))
        if row["action"] == "request_filed":
            assert row["request_id"] == request.pk and request.requested_by_label == "the retirement autopilot"
            ledger = request.version.ledger[0]
            assert ledger["field"] == "model" and ledger["after"] == successor and "successor" in ledger["reason"]
            assert request.version.approved_at is None  # the autopilot approves nothing, prompts included
            # The candidate release came through the releases' candidate service, and the request carries it.
            assert request.release.origin.startswith("autopilot: ") and request.release.created_by_label \
                == "the retirement autopilot", request.release.origin
            made = AuditEvent.objects.get(verb="migrator.release.candidate", actor_label="the retirement autopilot",
                                          data__reason=request.release.origin)
            assert made.after == {"candidate_release": request.release.hash}
        else:  # a person had put this move forward already
            assert row["action"] == "none" and "already open" in row["reason"]
    # Flows that never served anything are not the autopilot's to move.
    assert all(f["action"] == "none" for s, f in rows.items() if s not in affected)
    # Nothing approved, declined or ramped by the run; every step audited under the autopilot's name.
    assert set(CutoverRequest.objects.exclude(status=RequestStatus.AWAITING).values_list("pk", "status")) \
        == decided_before
    verbs = set(AuditEvent.objects.filter(actor_label="the retirement autopilot").values_list("verb", flat=True))
    assert {"migrator.prompt.successor_proposed", "migrator.release.candidate", "migrator.cutover.requested", "migrator.autopilot.request_filed",
            "migrator.autopilot.candidate_created"} <= verbs, verbs
    assert not any("approved" in v for v in verbs)
    assert CatalogueNotice.objects.filter(kind=NoticeKind.AUTOPILOT_FILED).count() == len(filed)

    # A second run finds the requests filed and files nothing new.
    awaiting = CutoverRequest.objects.filter(status=RequestStatus.AWAITING).count()
    again = {f["slug"]: f for f in _autopilot("run", "--as-of", as_of, "--json")["flows"]}
    assert {s for s, f in again.items() if f["action"] == "request_filed"} == set(filed)
    assert CutoverRequest.objects.filter(status=RequestStatus.AWAITING).count() == awaiting

    # The autopilot page lists each move with its validation's projected and spent cost.
    client.force_login(engineer)
    page = client.get("/models/autopilot/").content.decode()
    for slug in filed:
        assert f'data-testid="move-{slug}"' in page
    assert 'data-testid="move-cost">projected' in page and "spent $" in page
