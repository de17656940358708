"""Validation through the Batch API (real sandbox over HTTP): the same test set gives the same verdicts on the
direct and the batch path, case by case, at the Batch price; tool calls take one batch round each; a run whose
worker dies mid-poll resumes on the batch in flight without sending a case twice; conversation mode is refused."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from django.core.management import call_command

from migrator.core.actors import SYSTEM
from migrator.core.services import ServiceError
from migrator.validation.models import CaseResult, RunStatus
from migrator.validation.pricing import BATCH_DISCOUNT
from migrator.validation.services import batchruns
from migrator.validation.services import runs as run_services
from migrator.validation.services import testsets as set_services

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

PRICED = "gpt-4.1"


@pytest.fixture(autouse=True)
def _no_wait(monkeypatch):
    monkeypatch.setattr(batchruns, "POLL_SECONDS", 0)  # the sandbox moves a batch one status per read


def _set(rec, name="paths"):
    return set_services.create_test_set(actor=SYSTEM, assistant_id=rec.assistant.pk, name=name, strategy="recent",
                                        sample_size=10)


def _run(rec, test_set, path, **kw):
    config = {**rec.version.config, "model": PRICED}
    run = run_services.create_run(actor=SYSTEM, test_set=test_set, connection=rec.connection, config=config,
                                  config_label=f"{path} path", concurrency=2, source="test", path=path, **kw)
    return run


def _per_case(run):
    return {(r.case_id, r.repeat): (r.verdict, r.answer_text, [c["name"] for c in r.tool_calls], r.reasons)
            for r in CaseResult.objects.filter(run=run)}


def test_batch_path_gives_the_same_verdicts_as_the_direct_path(weather):
    test_set = _set(weather)
    direct = run_services.execute_run(run_id=_run(weather, test_set, "direct").pk, actor=SYSTEM)
    batch = _run(weather, test_set, "batch")
    assert batch.projection["path"] == "batch" and batch.projection["cost_usd"] < direct.projection["cost_usd"]
    batch = run_services.execute_run(run_id=batch.pk, actor=SYSTEM)
    assert direct.status in (RunStatus.PASSED, RunStatus.FAILED, RunStatus.INCOMPLETE), direct.summary
    assert (batch.status, batch.verdict, batch.summary) == (direct.status, direct.verdict, direct.summary)
    assert _per_case(batch) == _per_case(direct) and len(_per_case(batch)) == len(direct.case_ids)
    assert [p["status"] for p in batch.points] == [p["status"] for p in direct.points]
    # The weather threads call tools: each answered call is one more batch round.
    assert any(r.tool_calls for r in CaseResult.objects.filter(run=batch))
    assert len(batch.batch["batches"]) >= 2 and batch.batch["jobs"] == {} and batch.batch["batch_id"] == ""
    assert batch.totals["path"] == "batch" and direct.totals["path"] == "direct"
    # Same tokens, Batch price.
    assert batch.totals["input_tokens"] == direct.totals["input_tokens"]
    assert batch.totals["cost_usd"] == pytest.approx(direct.totals["cost_usd"] * BATCH_DISCOUNT, rel=1e-3)


def test_chained_mode_through_batches_matches_direct(weather):
    test_set = _set(weather, "chained")
    direct = run_services.execute_run(run_id=_run(weather, test_set, "direct", mode="previous_response").pk,
                                      actor=SYSTEM)
    batch = run_services.execute_run(run_id=_run(weather, test_set, "batch", mode="previous_response").pk,
                                     actor=SYSTEM)
    assert batch.verdict == direct.verdict and _per_case(batch) == _per_case(direct)


def test_conversation_mode_is_refused_on_the_batch_path(weather):
    with pytest.raises(ServiceError, match="conversation"):
        _run(weather, _set(weather, "conv"), "batch", mode="conversation")
    with pytest.raises(ServiceError, match="Unknown path"):
        _run(weather, _set(weather, "nope"), "carrier-pigeon")


class _Killed(BaseException):
    """The worker process dies: no except clause of the run gets to say so."""


def test_a_run_whose_worker_dies_mid_poll_resumes_on_its_batch_and_loses_nothing(weather, monkeypatch):
    test_set = _set(weather, "resume")
    reference = run_services.execute_run(run_id=_run(weather, test_set, "direct").pk, actor=SYSTEM)
    run = _run(weather, test_set, "batch")
    real_wait, real_move = batchruns._wait, run_services.move_run
    created = []
    real_start = batchruns.openai_client.start_batch
    monkeypatch.setattr(batchruns.openai_client, "start_batch",
                        lambda *a, **k: created.append(1) or real_start(*a, **k))
    calls = {"n": 0}

    def dying_wait(client, batch_id, **kw):
        calls["n"] += 1
        if calls["n"] == 2:  # the second round's batch is created and stored, then the worker dies
            raise _Killed
        return real_wait(client, batch_id, **kw)

    monkeypatch.setattr(batchruns, "_wait", dying_wait)
    monkeypatch.setattr(run_services, "move_run", lambda r, to, **f: to != RunStatus.ERROR and real_move(r, to, **f))
    with pytest.raises(_Killed):
        run_services.execute_run(run_id=run.pk, actor=SYSTEM)
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.batch["batch_id"] and run.batch["round"] == 2
    kept = CaseResult.objects.filter(run=run).count()
    assert kept > 0 and kept + len(run.batch["jobs"]) == len(run.case_ids)  # answered or still in a job

    monkeypatch.setattr(batchruns, "_wait", real_wait)
    monkeypatch.setattr(run_services, "move_run", real_move)
    with pytest.raises(ServiceError, match="not queued"):  # a plain start never takes a running run over
        run_services.execute_run(run_id=run.pk, actor=SYSTEM)
    sent_before = len(created)
    run = run_services.execute_run(run_id=run.pk, actor=SYSTEM, resume=True)
    assert run.verdict == reference.verdict and _per_case(run) == _per_case(reference)
    # The batch in flight was read, not sent again: the resumed worker created only the later rounds.
    assert len(run.batch["batches"]) == len(created) and len(created) - sent_before == len(run.batch["batches"]) - 2


def test_the_command_and_the_form_choose_the_batch_path(weather, client, engineer):
    out = io.StringIO()
    with contextlib.suppress(SystemExit):  # exits 1 unless the run passes
        call_command("validate", "--assistant", weather.assistant.legacy_id, "--version", str(weather.version.number),
                     "--connection", weather.connection.name, "--batch", "--json", stdout=out, stderr=io.StringIO())
    doc = json.loads(out.getvalue())
    assert doc["path"] == "batch" and doc["projection"]["path"] == "batch" and doc["cases"]
    from migrator.validation.models import ValidationRun

    test_set = _set(weather, "form")
    client.force_login(engineer)
    response = client.post(f"/validation/sets/{test_set.pk}/run/", {
        "connection": weather.connection.pk, "repeats": 1, "concurrency": 2, "path": "batch"})
    assert response.status_code == 302, response.content.decode()[:500]
    run = ValidationRun.objects.get(test_set=test_set)
    assert run.path == "batch" and run.projection["path"] == "batch"
    detail = client.get(run.get_absolute_url()).content.decode()
    assert 'data-testid="run-path">Cases sent through the <strong>Batch API</strong>' in detail


def test_a_dead_batch_job_is_replaced_by_a_resuming_one_a_direct_one_ends(weather):
    from migrator.core.models import Job
    from migrator.core.services.jobs import start_job
    from migrator.validation import jobs as validation_jobs

    test_set = _set(weather, "jobs")
    runs = {}
    for path in ("batch", "direct"):
        run = _run(weather, test_set, path)
        run.job = start_job(kind=run_services.JOB_KIND, actor=SYSTEM, params={"run_id": run.pk}, subject=run,
                            subject_label=f"run {path}")
        run.status = RunStatus.RUNNING
        run.save(update_fields=["job", "status"])
        runs[path] = run
    validation_jobs._abandoned(runs["batch"].job)
    runs["batch"].refresh_from_db()
    again = Job.objects.get(pk=runs["batch"].job_id)
    assert again.params == {"run_id": runs["batch"].pk, "resume": 1} and runs["batch"].status == RunStatus.RUNNING
    validation_jobs._abandoned(runs["direct"].job)
    runs["direct"].refresh_from_db()
    assert runs["direct"].status == RunStatus.ERROR and "ended without finishing" in runs["direct"].error
    # A batch run whose workers keep dying ends too, instead of looping.
    again.params = {"run_id": runs["batch"].pk, "resume": validation_jobs.MAX_RESUMES}
    validation_jobs._abandoned(again)
    runs["batch"].refresh_from_db()
    assert runs["batch"].status == RunStatus.ERROR
