"""System checks: database, broker, workers, queue, connections, stuck jobs."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from migrator.core.diagnostics import Finding, system_check
from migrator.core.models import Connection, Job, JobStatus
from migrator.diagnostics.checks.common import ago, url

QUEUE_WARN_SECONDS = 300  # a job queued this long with live workers means they are saturated or stuck
CONNECTION_TEST_MAX_AGE = timedelta(days=7)


@system_check("database", title="Database", order=10)
def database() -> Finding:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return Finding.fail(f"The database does not answer: {type(exc).__name__}: {exc}")
    name = str(connection.settings_dict.get("NAME", ""))
    where = name.rsplit("/", 1)[-1] if connection.vendor == "sqlite" else name
    return Finding.ok(f"{connection.vendor} answers.", evidence={"vendor": connection.vendor, "database": where})


@system_check("broker", title="Task broker", order=20)
def broker() -> Finding:
    from migrator.celery import broker_choice, redis_answers

    choice = broker_choice()
    evidence = {"kind": choice.kind, "why": choice.reason}
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return Finding.warn("Tasks run inline in the web process (CELERY_TASK_ALWAYS_EAGER): fine for a demo, not "
                            "for production.", evidence=evidence)
    if choice.kind == "redis":
        where = settings.REDIS_URL.rsplit("@", 1)[-1]  # never show a password
        evidence["where"] = where
        if not redis_answers(settings.REDIS_URL):
            return Finding.fail(f"Redis at {where} does not answer: jobs cannot be queued.", evidence=evidence,
                                fix_url=url("core:system_status"), fix_label="System page")
        return Finding.ok(f"Redis answers at {where}.", evidence=evidence)
    folder = settings.DATA_DIR / "broker"
    evidence["folder"] = str(folder)
    if not folder.exists():
        return Finding.fail(f"The embedded broker folder {folder} is missing.", evidence=evidence)
    return Finding.ok("The embedded filesystem broker is in use (one machine only).", evidence=evidence)


@system_check("workers", title="Workers alive", order=30)
def workers() -> Finding:
    from migrator.core.models import WorkerHeartbeat
    from migrator.core.services.jobs import live_workers

    alive = live_workers()
    now = timezone.now()
    evidence = {"live": [{"worker": w.hostname, "broker": w.broker, "last_seen_seconds_ago":
                          int((now - w.last_seen).total_seconds())} for w in alive]}
    gone = WorkerHeartbeat.objects.exclude(pk__in=[w.pk for w in alive]).filter(
        last_seen__gte=now - timedelta(days=1))[:5]
    if gone:
        evidence["stopped_recently"] = [{"worker": w.hostname, "last_seen": w.last_seen.isoformat()} for w in gone]
    if not alive:
        return Finding.fail("No worker has sent a heartbeat recently: background jobs (tool tests, imports, "
                            "webhook deliveries) wait until one runs. Start one with `celery -A migrator worker`.",
                            evidence=evidence, fix_url=url("core:system_status"), fix_label="System page")
    return Finding.ok(f"{len(alive)} worker{'s' if len(alive) != 1 else ''} alive.", evidence=evidence)


@system_check("queue", title="Job queue", order=40)
def queue() -> Finding:
    from migrator.core.services.jobs import live_workers

    queued = Job.objects.filter(status=JobStatus.QUEUED)
    count = queued.count()
    oldest = queued.order_by("created_at").first()
    evidence: dict = {"queued": count, "running": Job.objects.filter(status=JobStatus.RUNNING).count()}
    if oldest is None:
        return Finding.ok("Nothing is waiting.", evidence=evidence)
    age = (timezone.now() - oldest.created_at).total_seconds()
    evidence["oldest"] = {"job": oldest.pk, "kind": oldest.kind, "queued_seconds": int(age)}
    fix = url("core:job_list")
    if not live_workers():
        return Finding.fail(f"{count} job(s) queued and no worker alive to run them; the oldest has waited "
                            f"{ago(age)}.", evidence=evidence, fix_url=fix, fix_label="Jobs")
    if age > QUEUE_WARN_SECONDS:
        return Finding.warn(f"{count} job(s) queued; the oldest (#{oldest.pk}, {oldest.kind_label}) has waited "
                            f"{ago(age)}: the workers are busy or not reading this queue.", evidence=evidence,
                            fix_url=fix, fix_label="Jobs")
    return Finding.ok(f"{count} job(s) queued, the oldest for {ago(age)}.", evidence=evidence)


@system_check("stuck_jobs", title="Stuck jobs", order=50)
def stuck_jobs() -> Finding:
    """Running jobs whose heartbeat stopped (the reaper marks them failed when their worker is gone)."""
    stale_before = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
    stuck = list(Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale_before).order_by("heartbeat_at")[:10])
    if not stuck:
        return Finding.ok("No running job has gone quiet.")
    evidence = [{"job": j.pk, "kind": j.kind, "worker": j.worker,
                 "quiet_seconds": int((timezone.now() - j.heartbeat_at).total_seconds())} for j in stuck]
    return Finding.fail(f"{len(stuck)} running job(s) have not reported for more than {settings.JOB_STALE_SECONDS}s "
                        f"(oldest: #{stuck[0].pk}, {stuck[0].kind_label}).", evidence=evidence,
                        fix_url=url("core:job_detail", stuck[0].pk), fix_label=f"Job #{stuck[0].pk}")


@system_check("connections", title="Connections tested and answering", order=60)
def connections() -> Finding:
    """From each connection's last recorded test (diagnostics never calls the API itself)."""
    rows = list(Connection.objects.all())
    fix = url("inventory:connection_list")
    if not rows:
        return Finding.warn("No connection is configured: tools cannot be tested and nothing can be validated.",
                            fix_url=fix, fix_label="Connections")
    now = timezone.now()
    evidence, failing, untested, stale = [], [], [], []
    for c in rows:
        responses = c.answers_api("responses")
        evidence.append({"connection": c.name, "last_tested": c.last_tested_at.isoformat() if c.last_tested_at else None,
                         "responses_api": responses, "conversations_api": c.answers_api("conversations")})
        # The Assistants API is gone everywhere, so its failing probe is expected; the Responses API is the one
        # migrated flows depend on.
        if c.last_tested_at is None:
            untested.append(c.name)
        elif responses is False:
            failing.append(c.name)
        elif now - c.last_tested_at > CONNECTION_TEST_MAX_AGE:
            stale.append(c.name)
    if failing:
        return Finding.fail(f"{', '.join(failing)}: the Responses API did not answer the last test.",
                            evidence=evidence, fix_url=fix, fix_label="Test connections")
    if untested or stale:
        parts = []
        if untested:
            parts.append(f"never tested: {', '.join(untested)}")
        if stale:
            parts.append(f"not tested for over {CONNECTION_TEST_MAX_AGE.days} days: {', '.join(stale)}")
        return Finding.warn("; ".join(parts).capitalize() + ".", evidence=evidence, fix_url=fix,
                            fix_label="Test connections")
    return Finding.ok(f"{len(rows)} connection(s) answered their last test.", evidence=evidence)
