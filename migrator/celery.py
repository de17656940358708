"""The Celery application.

The broker is Redis when it answers; otherwise kombu's filesystem transport, so a laptop without Redis still
runs a real worker process. Web and worker must agree, so `make run` pins the choice in MIGRATOR_BROKER.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import redis
from celery import Celery
from celery.schedules import crontab
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrator.settings")


@dataclass(frozen=True)
class BrokerChoice:
    kind: str  # "redis" or "filesystem"
    url: str
    reason: str


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def choose_broker(preference: str, redis_url: str, data_dir: Path) -> BrokerChoice:
    if preference == "redis":
        return BrokerChoice("redis", redis_url, "MIGRATOR_BROKER=redis")
    if preference == "auto" and redis_answers(redis_url):
        return BrokerChoice("redis", redis_url, f"Redis answered at {urlsplit(redis_url).netloc}")
    reason = "MIGRATOR_BROKER=filesystem" if preference == "filesystem" else "Redis did not answer"
    return BrokerChoice("filesystem", "filesystem://", f"{reason}; using the embedded filesystem broker")


class _Channel(kombu_redis.Channel):
    """A kombu Redis channel that can still reach Redis after its connection let go of it.

    When Redis goes away, Celery closes the consumer's connection and detaches its transport
    (``transport.client = None``, ``channel.connection = None``). Two things still need Redis on the old
    channel afterwards: closing it again (its first close can fail half-way on the dead socket, and the
    retry restores the unacknowledged messages), and acknowledging a job that kept running through the
    outage once it finishes. kombu rebuilds the channel's connection pool for both from those back
    references, so they raised AttributeError ('NoneType' object has no attribute 'hostname' / 'client'),
    which Celery does not count as a connection error: "Unrecoverable error", and the worker exited. This
    channel remembers its connection parameters while it has them, so both reach Redis (or fail with a
    connection error that Celery handles) instead.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._own_connparams = self._connparams()

    def _get_pool(self, asynchronous: bool = False) -> redis.ConnectionPool:
        if not asynchronous and (self.connection is None or self.connection.client is None):
            return redis.ConnectionPool(**self._own_connparams)
        return super()._get_pool(asynchronous=asynchronous)


class RedisTransport(kombu_redis.Transport):
    """kombu's Redis transport whose channels outlive their connection (see ``_Channel``)."""

    Channel = _Channel


def _configure(app: Celery) -> BrokerChoice:
    from django.conf import settings

    from migrator.core.jobs.queues import job_queue

    choice = choose_broker(settings.CELERY_BROKER_PREFERENCE, settings.REDIS_URL, settings.DATA_DIR)
    conf: dict[str, object] = {
        "broker_url": choice.url,
        "task_ignore_result": True,  # the Job row is the truth about background work, not a result backend
        "task_acks_late": True,
        "task_reject_on_worker_lost": False,  # a lost job is marked failed by the reaper, not redelivered forever
        "worker_prefetch_multiplier": 1,
        # Unique per installation (derived from its database), so two installations sharing Redis never take
        # each other's jobs; a worker started without -Q consumes exactly this queue.
        "task_default_queue": job_queue(),
        "task_always_eager": settings.CELERY_TASK_ALWAYS_EAGER,
        "task_eager_propagates": False,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "timezone": settings.TIME_ZONE,
        # `celery beat` (or a worker started with -B) sends these; each starts an ordinary job.
        "beat_schedule": {
            "model-catalogue-daily": {"task": "migrator.retirement.daily_sync", "schedule": crontab(hour=5, minute=0)},
            "retirement-autopilot-daily": {"task": "migrator.retirement.daily_autopilot",
                                           "schedule": crontab(hour=5, minute=30)},
        },
    }
    if choice.kind == "filesystem":
        folder = settings.DATA_DIR / "broker"
        (folder / "queue").mkdir(parents=True, exist_ok=True)
        (folder / "processed").mkdir(parents=True, exist_ok=True)
        (folder / "control").mkdir(parents=True, exist_ok=True)
        conf["broker_transport_options"] = {
            "control_folder": str(folder / "control"),
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
        }
    else:
        if urlsplit(choice.url).scheme == "redis":  # (rediss:// keeps kombu's transport and its TLS defaults)
            conf["broker_transport"] = f"{__name__}:RedisTransport"
        # A message a worker took but never acked (the worker was killed) comes back after this long; the
        # reaper re-sends a job nobody picked up much sooner (JOB_PICKUP_SECONDS).
        conf["broker_transport_options"] = {"visibility_timeout": max(3600, settings.JOB_TIME_LIMIT_SECONDS + 300)}
    app.conf.update(conf)
    return choice


app = Celery("migrator")
_choice: BrokerChoice | None = None


def broker_choice() -> BrokerChoice:
    global _choice
    if _choice is None:
        _choice = _configure(app)
    return _choice


@app.on_configure.connect
def _on_configure(sender: Celery, **_: object) -> None:
    broker_choice()


app.autodiscover_tasks()  # every installed app's ``tasks`` module
