"""`manage.py cutover …`: the exact contract automation depends on (flags, JSON shape, exit codes)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from migrator.cutover.models import CutoverRequest
from tests.cutover.helpers import evidence_passing, serve
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version

pytestmark = pytest.mark.django_db
OTHERS = ("validation", "backfill", "diagnostics")


def run(*args: str) -> str:
    out = StringIO()
    call_command("cutover", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def flows(db):
    planning = FlowFactory(slug="planning-flow", mode="stateless")
    a = AssistantFactory(legacy_id="asst_cmd")
    v1 = make_version(a, {"model": "gpt-4.1", "instructions": "one", "tools": []}, approved=True)
    live = FlowFactory(assistant=a, slug="live-flow", mode="stateless", status="migrated")
    serve(live, v1)
    return {"planning": planning, "live": live, "v1": v1}


def test_status_json_names_every_flow_with_its_stage(flows, engineer, support_lead):
    body = json.loads(run("status", "--json"))
    by_slug = {f["slug"]: f for f in body["flows"]}
    assert set(by_slug["live-flow"]) == {"slug", "stage", "percent", "candidate_version", "production_version",
                                         "requested_by", "missing", "guard", "live", "production_release",
                                         "candidate_release"}
    assert by_slug["live-flow"]["stage"] == "migrated" and by_slug["live-flow"]["production_version"] == 1
    served = flows["live"].rollout.production_release
    assert by_slug["live-flow"]["production_release"] == served.hash and len(served.hash) == 64
    assert by_slug["live-flow"]["candidate_release"] is None
    assert by_slug["planning-flow"]["production_release"] is None
    assert by_slug["planning-flow"]["stage"] == "planning"
    assert by_slug["planning-flow"]["missing"] == ["prompt: no version is approved yet"]


def test_request_refusal_exits_non_zero_naming_the_missing_evidence(flows, engineer):
    v2 = make_version(flows["live"].assistant, {"model": "gpt-5.4-mini", "instructions": "two", "tools": []},
                      approved=True)
    assert v2.number == 2
    with pytest.raises(CommandError, match="validation") as refused:
        run("request", "--flow", "live-flow", "--by", engineer.username)
    assert "evidence is incomplete" in str(refused.value)
    assert not CutoverRequest.objects.exists()


def test_the_whole_path_acting_as_named_users(flows, engineer, support_lead):
    make_version(flows["live"].assistant, {"model": "gpt-5.4-mini", "instructions": "two", "tools": []},
                 approved=True)
    with evidence_passing(*OTHERS):
        assert "awaiting approval" in run("request", "--flow", "live-flow", "--by", engineer.username)
        with pytest.raises(CommandError, match=r"needs the 'cutover\.approve_cutover'"):
            run("approve", "--flow", "live-flow", "--by", engineer.username, "--reason", "self-service")
        run("approve", "--flow", "live-flow", "--by", support_lead.username, "--reason", "validated")
    assert "serves 10" in run("ramp", "--flow", "live-flow", "--by", support_lead.username, "--percent", "10")
    stage = {f["slug"]: f for f in json.loads(run("status", "--json"))["flows"]}["live-flow"]
    assert (stage["stage"], stage["percent"], stage["candidate_version"], stage["production_version"]) == (
        "rolling_out", 10.0, 2, 1)
    assert stage["requested_by"] == engineer.username
    with pytest.raises(CommandError, match="reason"):
        run("rollback", "--flow", "live-flow", "--by", support_lead.username)
    assert "v1 serves everyone" in run("rollback", "--flow", "live-flow", "--by", support_lead.username,
                                       "--reason", "latency")
    with pytest.raises(CommandError, match="No active user"):
        run("ramp", "--flow", "live-flow", "--by", "ghost", "--percent", "5")
