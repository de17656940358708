"""`seed_demo` (what `make run` calls) against a real sandbox: accounts, connection, inventory, prompts, flows
and a flow at every cutover stage, each reached through the services on real evidence."""

import io
import json

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from migrator.core.model_catalog import lookup
from migrator.core.models import Assistant, Connection, Flow, Job, JobStatus
from migrator.core.services.status import flow_progress
from migrator.core.status import FlowStatus as F
from migrator.core.status import MigrationStatus as S
from migrator.cutover.models import CutoverRequest, RequestStatus, ServingChange
from migrator.cutover.selectors import flow_stages
from migrator.prompts.models import PromptVersion
from migrator.rollouts.demo import REVISION
from migrator.validation.models import RunStatus, ValidationRun

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_seed_demo_builds_a_usable_demo_and_is_idempotent(sandbox, capsys):
    sandbox.reset("demo")
    call_command("seed_demo", sandbox_url=sandbox.base_url, password="demo-pass-123")
    out = capsys.readouterr().out
    assert "demo-pass-123" in out
    for username in ("admin", "product", "engineer", "support"):
        assert authenticate(username=username, password="demo-pass-123") is not None, username
    connection = Connection.objects.get(name="Sandbox")
    assert connection.is_sandbox and connection.base_url == sandbox.base_url.rstrip("/")
    assert Assistant.objects.count() >= 30
    assert Assistant.objects.filter(status=S.PROMPT_APPROVED).count() >= 2
    assert Assistant.objects.filter(status=S.PROMPT_DRAFTED).exists()
    # The busiest assistant carries most traffic, as the demo organisation is skewed on purpose.
    top = Assistant.objects.order_by("-traffic_share").first()
    assert top.traffic_share > 0.1 and top.message_count > 0

    flows = Flow.objects.all()
    # The flows demo accepts the recommended mode on two flows; the cutover demo chooses the modes of the three
    # flows it takes through cutover. The rest stay undecided: the engineer's next choice.
    assert flows.count() >= 4 and flows.exclude(mode="").count() == 5
    assert all(f.recommended_mode for f in flows)
    assert "Demo rollouts:" in out and "still planning" in out and "stopped" not in out
    # Before gpt-4o and gpt-4.1 shut down the second cutover moves to a successor model, after it revises.
    _assert_a_flow_at_every_cutover_stage_on_real_evidence(revision=lookup("gpt-4o").is_retired())
    stages = _stages()
    _assert_no_page_contradicts_another()

    counts = dict(Assistant.objects.values_list("legacy_id", "status"))
    rows = _row_counts()
    call_command("seed_demo", sandbox_url=sandbox.base_url, password="demo-pass-123")
    assert dict(Assistant.objects.values_list("legacy_id", "status")) == counts
    assert Flow.objects.count() == flows.count()
    assert _row_counts() == rows and _stages() == stages
    assert "cutover stages already exist" in capsys.readouterr().out


def _assert_no_page_contradicts_another() -> None:
    """One status story on the demo: each assistant stands where its flows put it (the one rule), its page says
    so in words that count the flows it lists, and the dashboard counts what the lists show."""
    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    progress = flow_progress(Assistant.objects.values_list("pk", flat=True))
    for assistant in Assistant.objects.filter(flows__isnull=False).distinct():
        mine = progress[assistant.pk]
        assert mine.assistant_status(assistant.status) == assistant.status, (assistant.name, mine.counts)
        html = client.get(assistant.get_absolute_url()).content.decode()
        assert S(assistant.status).label in html
        words = mine.words()
        assert words[0].upper() + words[1:] in html, (assistant.name, words)
        migrated = assistant.flows.filter(status=F.MIGRATED).count()
        assert words.startswith(f"{migrated} of {assistant.flows.count()} flow")
        if assistant.status == S.MIGRATED:
            assert not assistant.flows.exclude(status=F.MIGRATED).exists()
    dashboard = client.get(reverse("core:dashboard")).content.decode()
    flows_migrated = Flow.objects.filter(status=F.MIGRATED).count()
    assert f"{flows_migrated} / {Flow.objects.count()}" in dashboard
    for status in S:
        n = Assistant.objects.filter(status=status).count()
        listed = client.get(reverse("core:assistant_list"), {"status": status.value}).content.decode()
        assert f'{reverse("core:assistant_list")}?status={status.value}">{n}</a>' in dashboard, status
        assert listed.count('class="assistant-link"') == min(n, 25), status
    for status in F:
        n = Flow.objects.filter(status=status).count()
        assert f'{reverse("flows:list")}?status={status.value}">{n}</a>' in dashboard, status
    # An assistant with a migrated flow is never shown as less than validated while every flow has moved on.
    for assistant in Assistant.objects.filter(status__in=[S.PROMPT_APPROVED, S.VALIDATING]):
        assert assistant.flows.filter(status=F.PLANNING).exists() or not assistant.flows.exists(), assistant.name


def _row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (
        CutoverRequest, ServingChange, PromptVersion, ValidationRun, Job)}


def _stages() -> dict[str, tuple]:
    return {s.flow.slug: (s.stage, s.percent, s.production_version, s.candidate_version) for s in flow_stages()}


def _model(flow: Flow, number: int) -> str:
    return PromptVersion.objects.get(assistant=flow.assistant, number=number).config["model"]


def _version(flow: Flow, number: int) -> PromptVersion:
    return PromptVersion.objects.get(assistant=flow.assistant, number=number)


def _assert_a_flow_at_every_cutover_stage_on_real_evidence(*, revision: bool) -> None:
    """One seed serves both halves (it takes a while): here, the stages a newcomer sees in the first minute."""
    by_stage: dict[str, list] = {}
    for stage in flow_stages():
        by_stage.setdefault(stage.stage, []).append(stage)
    assert set(by_stage) == {"planning", "awaiting_approval", "rolling_out", "migrated"}, by_stage
    [awaiting], [ramping], [migrated] = by_stage["awaiting_approval"], by_stage["rolling_out"], by_stage["migrated"]
    assert by_stage["planning"] and all(s.production_version is None for s in by_stage["planning"])

    # Awaiting the support lead: production on a retiring model, the candidate on its successor; once no demo
    # prompt is on a retiring model (the conversion picks successors after 2027-01-14), the reviewed revision.
    assert awaiting.request.status == RequestStatus.AWAITING and awaiting.requested_by == "engineer"
    for stage in (awaiting, ramping):
        production, candidate = _model(stage.flow, stage.production_version), _model(stage.flow,
                                                                                     stage.candidate_version)
        if revision:
            assert candidate == production and REVISION in _version(stage.flow, stage.candidate_version).config[
                "instructions"]
        else:
            assert candidate != production and candidate == lookup(production).successor, (production, candidate)
            assert lookup(production).shutdown_date is not None
    # Ramping: approved by the support lead (not the requester) and serving 10% of subjects.
    assert ramping.percent == 10.0 and ramping.production_version and ramping.candidate_version
    assert ramping.request.decided_by.username == "support" and ramping.requested_by == "engineer"
    # Migrated: a first cutover serves its version to everyone.
    assert migrated.percent == 100.0 and migrated.production_version and migrated.candidate_version is None

    # Real evidence: every request was made on complete evidence from passing runs and tool tests, by the
    # engineer, and decided by someone else; the successor edit was approved by someone other than its author.
    for request in CutoverRequest.objects.all():
        assert request.requested_by.username == "engineer"
        assert all(item["state"] in ("passed", "not_required") for item in request.evidence), request.evidence
        assert request.decided_by is None or request.decided_by.username == "support"
    staged = [awaiting.flow, ramping.flow, migrated.flow]
    for flow in staged:
        assert ValidationRun.objects.filter(flow=flow, status=RunStatus.PASSED, started_by__username="engineer",
                                            job__status=JobStatus.SUCCEEDED).exists(), flow.slug
    assert not Job.objects.exclude(status=JobStatus.SUCCEEDED).exists()
    edit = _version(awaiting.flow, awaiting.candidate_version)
    assert edit.author.username == "product" and edit.approved_by.username == "admin"

    # The CLI contract reports the same stages.
    buffer = io.StringIO()
    call_command("cutover", "status", "--json", stdout=buffer)
    reported = {row["slug"]: row for row in json.loads(buffer.getvalue())["flows"]}
    assert reported[awaiting.flow.slug]["stage"] == "awaiting_approval"
    assert reported[awaiting.flow.slug]["candidate_version"] == awaiting.candidate_version
    assert reported[awaiting.flow.slug]["production_version"] == awaiting.production_version
    assert reported[ramping.flow.slug]["stage"] == "rolling_out" and reported[ramping.flow.slug]["percent"] == 10.0
    assert reported[migrated.flow.slug]["stage"] == "migrated" and reported[migrated.flow.slug]["percent"] == 100.0
    assert {row["stage"] for row in reported.values()} == set(by_stage)


def test_with_no_prompt_on_a_retiring_model_the_second_cutover_is_a_reviewed_revision(sandbox, monkeypatch):
    """What the demo shows from 2027-01-14 (no demo prompt is on a retiring model then), shown today."""
    from migrator.rollouts import demo

    monkeypatch.setattr(demo, "_successor", lambda model: "")
    sandbox.reset("demo")
    call_command("seed_demo", sandbox_url=sandbox.base_url, password="demo-pass-123", stdout=io.StringIO())
    _assert_a_flow_at_every_cutover_stage_on_real_evidence(revision=True)


def test_moving_a_configuration_to_a_reasoning_successor_drops_what_it_would_refuse():
    from migrator.core.model_catalog import parameter_problems
    from migrator.rollouts.demo import on_model

    config = {"model": "gpt-4o", "instructions": "Hi.", "temperature": 0.2, "top_p": 1}
    moved = on_model(config, "gpt-6-luna")
    assert moved == {"model": "gpt-6-luna", "instructions": "Hi.", "top_p": 1, "reasoning": {"effort": "low"}}
    assert parameter_problems(moved) == [] and config["model"] == "gpt-4o"  # the original is left alone
    assert on_model({"model": "gpt-4o", "temperature": 0.2}, "gpt-4.1") == {"model": "gpt-4.1", "temperature": 0.2}
