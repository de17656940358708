"""Diagnostics as cutover evidence: failing fails, unknown for want of data is incomplete, else passed."""

from __future__ import annotations

import pytest

from migrator.core.evidence import State
from migrator.core.evidence import providers as discover
from migrator.inventory.models import LegacyMessage, LegacyRun
from tests.flows.factories import AssistantFactory, FlowFactory, make_threads, make_version

pytestmark = pytest.mark.django_db

CONFIG = {"model": "gpt-4o", "instructions": "Answer billing questions."}


def _item(flow, version):
    from migrator.core.confighash import config_hash

    return discover()["diagnostics"].func(flow=flow, version=version, config_hash=config_hash(version.config))


def _flow(mode: str = "stateless"):
    assistant = AssistantFactory(model="gpt-4o", instructions="Answer billing questions.")
    return FlowFactory(assistant=assistant, slug="billing", mode=mode)


def test_passes_when_no_check_fails_and_every_check_had_its_data():
    flow = _flow()
    version = make_version(flow.assistant, CONFIG, approved=True)
    [thread, *_] = make_threads(flow.assistant, [(1, 50, 0)] * 10, flow_slug="billing")
    LegacyMessage.objects.create(thread=thread, legacy_id="m1", role="assistant", text="Your invoice is paid.")
    LegacyRun.objects.create(thread=thread, legacy_id="run_1", raw={"created_at": 1_700_000_000,
                                                                    "completed_at": 1_700_000_003})
    # With the validation app installed its checks wait for a run: diagnostics is incomplete, never passed.
    waiting = _item(flow, version)
    assert waiting.state == State.MISSING and "No validation run" in waiting.summary
    from migrator.core import diagnostics as registry

    saved = {k: registry._providers.pop(k) for k in list(registry._providers) if k.startswith("validation.")}
    try:  # as in an installation without validation: its own required evidence item stands for those checks
        item = _item(flow, version)
    finally:
        registry._providers.update(saved)
    assert item.state == State.PASSED, item.details
    assert item.url == "/diagnostics/flows/billing/"
    statuses = {c["key"]: c["status"] for c in item.details["checks"]}
    assert statuses["outputs_validation"] == "unknown"


def test_unknown_for_want_of_data_is_incomplete():
    flow = _flow()
    version = make_version(flow.assistant, CONFIG, approved=True)
    item = _item(flow, version)  # no threads imported: the mode cannot be checked against them
    assert item.state == State.MISSING and "State mode vs thread statistics" in item.summary


def test_a_failing_check_fails_and_the_requested_version_is_the_one_checked():
    flow = _flow()
    make_threads(flow.assistant, [(1, 50, 0)] * 10, flow_slug="billing")
    broken = make_version(flow.assistant, {**CONFIG, "text": {"format": {"type": "json_object"}}}, approved=True)
    good = make_version(flow.assistant, CONFIG, approved=True)  # the newer draft is fine…
    item = _item(flow, broken)  # …but the request names the broken one
    assert item.state == State.FAILED and "Output format" in item.summary
    assert _item(flow, good).state != State.FAILED


def test_diagnostics_record_and_show_the_releases_they_judged(client, support_lead, engineer):
    """The release a diagnostics pass judged (the version put forward with the flow's working settings) and the
    one production calls with are recorded in the evidence item and shown on the page, the card and in
    ``diagnose --json``; after a mode change on a live flow they differ."""
    import contextlib
    import json
    from io import StringIO

    from django.core.management import call_command

    from migrator.cutover.services import releases
    from migrator.flows.services import flows as flow_services
    from tests.cutover.helpers import serve

    flow = _flow()
    version = make_version(flow.assistant, CONFIG, approved=True)
    before = _item(flow, version)
    assert before.details["release"] == releases.spec_for(flow, version).hash
    assert before.details["production_release"] == ""  # never cut over: production calls with nothing
    serve(flow, version)
    served = releases.production_release(flow).hash
    flow_services.choose_mode(flow_id=flow.pk, actor=engineer, mode="conversation", truncation="auto",
                              store=True, reason="agents read the history")
    flow.refresh_from_db()
    item = _item(flow, version)
    judged = releases.spec_for(flow, version).hash
    assert item.details["production_release"] == served and item.details["release"] == judged != served
    client.force_login(support_lead)
    page = client.get("/diagnostics/flows/billing/").content.decode()
    assert judged[:12] in page and served[:12] in page and 'data-testid="diag-releases"' in page
    card = client.get("/diagnostics/flows/billing/summary/").content.decode()
    assert judged[:12] in card and served[:12] in card
    out = StringIO()
    with contextlib.suppress(SystemExit):  # exit 1: a check fails (no threads imported); the JSON is written
        call_command("diagnose", "--json", "--flow", "billing", stdout=out)
    [entry] = json.loads(out.getvalue())["flows"]
    assert entry["release"] == judged and entry["production_release"] == served
