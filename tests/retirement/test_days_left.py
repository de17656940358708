"""Days left per flow: the earliest date any source gives for the model production serves, on the flows list
(sortable) and the dashboard, red when the move cannot finish in time."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from migrator.core import model_catalog
from migrator.retirement.services import catalogue
from migrator.retirement.services.exposure import flow_deadlines
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version

pytestmark = pytest.mark.django_db


def _dated_catalogue(tmp_path, settings, dates: dict[str, int]) -> None:
    """The shipped file with these models' groups shutting down ``days`` from today."""
    doc = json.loads(model_catalog.SHIPPED_FILE.read_text())
    today = timezone.localdate()
    for model, days in dates.items():
        doc["groups"] = [dict(g, models=[m for m in g["models"] if m != model]) for g in doc["groups"]]
        doc["current"] = [m for m in doc["current"] if m != model]
        doc["groups"].append({"shutdown_date": (today + timedelta(days=days)).isoformat(), "models": [model],
                              "successor": {"model": "gpt-6-sol", "source": "test", "seen": today.isoformat()}})
    path = tmp_path / "dated.json"
    path.write_text(json.dumps(doc))
    settings.MODEL_CATALOGUE_FILE = str(path)


def _flow(slug: str, model: str):
    assistant = AssistantFactory(model=model)
    make_version(assistant, {"model": model, "instructions": "Help."}, approved=True)
    return FlowFactory(assistant=assistant, slug=slug, name=slug.title())


def test_flows_list_shows_days_left_sorts_by_them_and_marks_late_flows_red(tmp_path, settings, engineer, client):
    _dated_catalogue(tmp_path, settings, {"gpt-4.1": 40, "gpt-5": 5, "gpt-5.4": 90})
    soon, later, safe, far = _flow("soon", "gpt-5"), _flow("later", "gpt-4.1"), _flow("safe", "gpt-5.5"), \
        _flow("far", "gpt-5.4")
    catalogue.sync(actor=catalogue.SYNC_ACTOR, refresh=False)
    today = timezone.localdate()
    deadlines = flow_deadlines([soon, later, safe, far])
    assert deadlines[soon.pk].days_left(today) == 5 and deadlines[soon.pk].late(today)  # a move needs ~14 days
    assert deadlines[later.pk].days_left(today) == 40 and not deadlines[later.pk].late(today)
    assert deadlines[safe.pk].days_left(today) is None and not deadlines[safe.pk].late(today)

    client.force_login(engineer)
    page = client.get("/flows/?sort=days").content.decode()
    order = [m for m in re.findall(r'class="muted small mono">([a-z]+)</div>', page)]
    assert order == ["soon", "later", "far", "safe"], order  # soonest first, no date last
    assert re.search(rf'data-testid="days-left-{soon.pk}" data-late="true"[^>]*>5 · late', page)
    assert re.search(rf'badge badge-warn" data-testid="days-left-{later.pk}"[^>]*>40<', page)
    by_name = client.get("/flows/").content.decode()
    assert [m for m in re.findall(r'class="muted small mono">([a-z]+)</div>', by_name)] == [
        "far", "later", "safe", "soon"]

    dashboard = client.get("/").content.decode()
    assert 'data-testid="flows-days-left"' in dashboard and "1 flow will not finish the move" in dashboard
    assert dashboard.index('days-row-soon') < dashboard.index('days-row-later') < dashboard.index('days-row-far')


def test_a_candidate_on_a_safe_successor_needs_only_the_decision_and_the_ramp(tmp_path, settings, engineer):
    from migrator.cutover.models import CutoverRequest, FlowRollout, RequestStatus
    from migrator.prompts.models import PromptVersion

    _dated_catalogue(tmp_path, settings, {"gpt-4.1": 9})
    flow = _flow("moving", "gpt-4.1")
    FlowRollout.objects.create(flow=flow, production=PromptVersion.objects.get(assistant=flow.assistant))
    candidate = make_version(flow.assistant, {"model": "gpt-6-luna", "instructions": "Help."}, approved=True)
    CutoverRequest.objects.create(flow=flow, version=candidate, config_hash="x", status=RequestStatus.AWAITING,
                                  requested_by_label="eng")
    flow.status = "awaiting_approval"
    deadline = flow_deadlines([flow])[flow.pk]
    today = timezone.localdate()
    assert deadline.model == "gpt-4.1" and deadline.moving_to == "gpt-6-luna"
    assert deadline.days_needed == 7 and not deadline.late(today)  # 9 days left, 7 needed


def test_the_dashboard_card_finds_the_soonest_flows_as_the_sorted_list_does(tmp_path, settings):
    """soonest_flow_ids (a join, for the dashboard) agrees with order_by_days_left (the annotation) whichever
    source names the model: the served version, the approved one, or the assistant itself."""
    from migrator.core.models import Flow
    from migrator.cutover.models import FlowRollout
    from migrator.retirement.services.exposure import order_by_days_left, soonest_flow_ids

    _dated_catalogue(tmp_path, settings, {"gpt-4.1": 40, "gpt-5": 5, "gpt-5.4": 90})
    _flow("approved-soon", "gpt-5")
    _flow("approved-later", "gpt-4.1")
    _flow("safe", "gpt-5.5")
    FlowFactory(assistant=AssistantFactory(model="gpt-5.4"), slug="bare-far", name="Bare far")  # no version
    served = _flow("served", "gpt-5.5")  # approved on a safe model, but production serves gpt-5
    FlowRollout.objects.create(flow=served, production=make_version(served.assistant, {"model": "gpt-5"}))
    catalogue.sync(actor=catalogue.SYNC_ACTOR, refresh=False)
    expected = list(order_by_days_left(Flow.objects.all()).filter(shutdown__isnull=False).values_list("pk", flat=True))
    assert len(expected) == 4
    assert soonest_flow_ids(10) == expected and soonest_flow_ids(2) == expected[:2]
