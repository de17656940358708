"""The job layer in one process: transitions, tokens, cancelling, the reaper's rules, queue names, pages."""

from __future__ import annotations

import ast
import itertools
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from migrator.core.jobs.queues import database_identity, installation_id, job_queue
from migrator.core.jobs.registry import job_handler, registry
from migrator.core.jobs.runner import Delivery, deliver, execute_job
from migrator.core.models import Job, JobStatus, WorkerHeartbeat
from migrator.core.models.job import JOB_TRANSITIONS
from migrator.core.services import NotAllowed, ServiceError
from migrator.core.services.jobs import reap_jobs, request_cancel, start_job
from tests.factories import JobFactory

REPO = Path(__file__).resolve().parents[2]


# --- the transitions table -----------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "target"), list(itertools.product(JobStatus.values, repeat=2)))
def test_every_move_follows_the_transitions_table(db, source, target):
    job = JobFactory(status=source)
    moved = Job.objects.move(job.pk, target)
    job.refresh_from_db()
    allowed = target in JOB_TRANSITIONS[source]
    assert moved is allowed
    assert job.status == (target if allowed else source)


def test_a_finished_job_never_runs_again(db):
    job = JobFactory(status=JobStatus.SUCCEEDED, result={"done": 1})
    assert Job.objects.move(job.pk, JobStatus.RUNNING) is False
    assert execute_job(job.pk).status == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.started_at is None and job.result == {"done": 1}


def test_a_job_runs_once_however_often_it_is_delivered(db, engineer):
    job = start_job(kind="core.selftest", actor=engineer, params={"steps": 1, "delay": 0})
    token = str(job.token)
    assert deliver(job_id=job.pk, token=token, installation=installation_id()) is Delivery.RAN
    assert deliver(job_id=job.pk, token=token, installation=installation_id()) is Delivery.RAN
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.log.count("Self-test finished") == 1


# --- tokens --------------------------------------------------------------------------------------------


def test_a_message_from_another_installation_is_left_for_its_owner(db, engineer):
    job = JobFactory(created_by=engineer)
    outcome = deliver(job_id=job.pk, token=str(uuid.uuid4()), installation="ffffffffff")
    assert outcome is Delivery.FOREIGN
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.started_at is None


def test_a_message_for_a_job_this_installation_no_longer_has_is_dropped(db, engineer):
    job = JobFactory(created_by=engineer)
    assert deliver(job_id=job.pk, token=str(uuid.uuid4()), installation=installation_id()) is Delivery.GONE
    assert deliver(job_id=job.pk + 1000, token=str(job.token), installation=installation_id()) is Delivery.GONE
    assert deliver(job_id=job.pk, token=None, installation=None) is Delivery.GONE
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


def test_every_job_gets_its_own_token(db, engineer):
    first, second = (start_job(kind="core.selftest", actor=engineer) for _ in range(2))
    assert first.token != second.token
    assert first.queue == second.queue == job_queue()


# --- cancelling ----------------------------------------------------------------------------------------


def test_cancelling_a_queued_job_ends_it_and_a_running_one_is_asked_to_stop(db, engineer):
    queued = JobFactory(created_by=engineer)
    assert request_cancel(job_id=queued.pk, actor=engineer).status == JobStatus.CANCELLED
    running = JobFactory(created_by=engineer, status=JobStatus.RUNNING)
    running = request_cancel(job_id=running.pk, actor=engineer)
    assert running.status == JobStatus.RUNNING and running.cancel_requested and not running.can_cancel


def test_a_finished_job_cannot_be_cancelled(db, engineer):
    done = JobFactory(created_by=engineer, status=JobStatus.SUCCEEDED)
    with pytest.raises(ServiceError, match="already ended"):
        request_cancel(job_id=done.pk, actor=engineer)
    assert not done.can_cancel


def test_only_the_starter_or_an_administrator_cancels(db, engineer, product_owner, admin_user):
    job = JobFactory(created_by=engineer)
    with pytest.raises(NotAllowed):
        request_cancel(job_id=job.pk, actor=product_owner)
    assert request_cancel(job_id=job.pk, actor=admin_user).status == JobStatus.CANCELLED


# --- the reaper ----------------------------------------------------------------------------------------


def test_a_running_job_whose_process_stopped_heart_beating_is_failed(db, settings):
    settings.JOB_STALE_SECONDS = 30
    old = timezone.now() - timedelta(seconds=60)
    dead = JobFactory(status=JobStatus.RUNNING, started_at=old, heartbeat_at=old, worker="w@h pid 7", time_limit=3600)
    alive = JobFactory(status=JobStatus.RUNNING, started_at=old, heartbeat_at=timezone.now(), time_limit=3600)
    report = reap_jobs()
    assert report.stale == [dead.pk]
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == JobStatus.FAILED and "w@h pid 7" in dead.error and "stopped sending heartbeats" in dead.error
    assert alive.status == JobStatus.RUNNING


def test_a_dead_job_past_its_hard_limit_says_so(db, settings):
    settings.JOB_STALE_SECONDS = 30
    job = JobFactory(status=JobStatus.RUNNING, started_at=timezone.now() - timedelta(seconds=200),
                     heartbeat_at=timezone.now() - timedelta(seconds=100), time_limit=90)
    reap_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "hard time limit of 90 s" in job.error


def test_a_job_sent_twice_on_an_idle_queue_fails_but_waits_on_a_busy_one(db, settings):
    settings.JOB_PICKUP_SECONDS = 60
    long_ago = timezone.now() - timedelta(seconds=600)
    waiting = JobFactory(queue="q-idle", enqueued_at=long_ago, enqueue_count=2)
    behind = JobFactory(queue="q-busy", enqueued_at=long_ago, enqueue_count=2)
    JobFactory(queue="q-busy", status=JobStatus.RUNNING, started_at=long_ago, heartbeat_at=timezone.now())
    report = reap_jobs()
    assert report.unclaimed == [waiting.pk]
    waiting.refresh_from_db()
    behind.refresh_from_db()
    assert waiting.status == JobStatus.FAILED and "q-idle" in waiting.error and "started_at" not in waiting.error
    assert behind.status == JobStatus.QUEUED


def test_a_finished_job_keeps_its_ending_when_the_reaper_is_late(db, settings):
    settings.JOB_STALE_SECONDS = 30
    job = JobFactory(status=JobStatus.SUCCEEDED, heartbeat_at=timezone.now() - timedelta(hours=1))
    assert not reap_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


# --- registry, queues, import direction ---------------------------------------------------------------


def test_time_limits_come_from_the_kind_or_the_settings(settings):
    settings.JOB_SOFT_TIME_LIMIT_SECONDS, settings.JOB_TIME_LIMIT_SECONDS = 100, 120
    assert registry["tests.sleepy"].limits() == (1, 20)
    assert registry["tests.stubborn"].limits() == (None, 2)
    assert registry["inventory.test_connection"].limits() == (100, 120)
    with pytest.raises(ValueError, match="must be below"):
        job_handler("tests.bad", label="Bad", soft_time_limit=10, time_limit=10)
    assert "tests.bad" not in registry


def test_the_default_queue_is_derived_from_the_database(settings, tmp_path):
    settings.CELERY_QUEUE = ""
    a = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "a" / "migrator.sqlite3")}
    b = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "b" / "migrator.sqlite3")}
    assert installation_id(a) != installation_id(b)
    assert installation_id(a) == installation_id({**a, "NAME": str(tmp_path / "a" / ".." / "a" / "migrator.sqlite3")})
    pg = {"ENGINE": "django.db.backends.postgresql", "NAME": "migrator", "HOST": "127.0.0.1", "PORT": ""}
    assert database_identity(pg) == database_identity({**pg, "HOST": "localhost", "PORT": "5432"})
    assert installation_id(pg) != installation_id({**pg, "NAME": "migrator_b"})
    assert job_queue() == f"migrator-{installation_id()}"
    settings.CELERY_QUEUE = "custom"
    assert job_queue() == "custom"


ORDER = ["registry", "context", "runner"]


@pytest.mark.parametrize("position", range(len(ORDER)))
def test_job_modules_import_in_one_direction(position):
    """registry → context → runner → task: no module imports one after it (or the services on top)."""
    name = ORDER[position]
    tree = ast.parse((REPO / "migrator" / "core" / "jobs" / f"{name}.py").read_text())
    for node in ast.walk(tree):  # imports only for type checkers do not run
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = []
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    later = {f"migrator.core.jobs.{n}" for n in ORDER[position + 1:]} | {"migrator.core.tasks", "migrator.core.services.jobs"}
    assert not imported & later
    if name == "registry":
        assert not any(m.startswith("migrator.") for m in imported)


def test_job_kinds_are_autodiscovered_from_every_app():
    assert {"core.selftest", "tools.test_tool", "inventory.import_archive", "prompts.try_version",
            "tests.sleepy"} <= set(registry)


# --- pages ---------------------------------------------------------------------------------------------


def test_a_finished_job_page_offers_no_cancel_shows_human_units_and_what_it_produced(client, engineer, run_queued_jobs):
    client.force_login(engineer)
    job = start_job(kind="tests.produces", actor=engineer)
    running_page = client.get(job.get_absolute_url())
    assert b'data-testid="job-cancel"' in running_page.content
    run_queued_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress_unit == "bytes"
    page = client.get(reverse("core:job_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert page.status_code == 286
    assert 'data-testid="job-cancel"' not in html
    assert "21.4\xa0MB of 21.4\xa0MB" in html and "22407093" not in html
    assert "Writing" not in html and 'data-testid="job-step">Finished<' in html
    assert '<a href="/assistants/">All assistants</a>' in html and '<a href="/jobs/">The job list</a>' in html


def test_progress_in_other_units_reads_as_counts(db):
    job = JobFactory(status=JobStatus.RUNNING, progress_done=1200, progress_total=3400, progress_unit="threads")
    assert job.progress_text == "1,200 of 3,400 threads"
    assert JobFactory(progress_done=3, progress_total=10).progress_text == "3 of 10"


def test_a_queued_job_says_it_waits_for_a_worker_on_its_queue(client, engineer):
    client.force_login(engineer)
    job = JobFactory(status=JobStatus.QUEUED, created_by=engineer, queue="migrator-abc", enqueued_at=timezone.now())
    url = reverse("core:job_progress", args=[job.pk])
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Waiting for a worker" in html and "migrator-abc" in html and 'data-testid="no-worker"' in html
    now = timezone.now()
    WorkerHeartbeat.objects.create(hostname="other@h", started_at=now, last_seen=now, queues="migrator-other")
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="no-worker"' in html and "migrator-other" in html
    WorkerHeartbeat.objects.create(hostname="ours@h", started_at=now, last_seen=now, queues="migrator-abc")
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Waiting for a worker" in html and 'data-testid="no-worker"' not in html


def test_pages_never_reap(client, admin_user, settings):
    settings.JOB_STALE_SECONDS = 2
    old = timezone.now() - timedelta(hours=1)
    job = JobFactory(status=JobStatus.RUNNING, created_by=admin_user, started_at=old, heartbeat_at=old)
    client.force_login(admin_user)
    for url in (job.get_absolute_url(), reverse("core:job_progress", args=[job.pk]), reverse("core:system_status"),
                reverse("core:job_list")):
        assert client.get(url).status_code == 200
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


def test_the_system_page_names_this_installations_queue(client, admin_user, settings):
    settings.CELERY_QUEUE = ""
    client.force_login(admin_user)
    html = client.get(reverse("core:system_status")).content.decode()
    assert f'data-testid="queue-name">{job_queue()}<' in html and "Derived from the database" in html
