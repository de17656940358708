"""Benchmark webhook deliveries: emit events, deliver them through the job layer to a local receiver.

    python bench/webhooks.py                  # 500 events to 2 endpoints on a throw-away SQLite database
    python bench/webhooks.py --events 100 --endpoints 1

Prints the time to record the events (emit: event row, delivery rows, jobs, each in its own transaction) and
to deliver them (each attempt a job run in this process, as a worker runs it, over real HTTP to a receiver on
127.0.0.1), with deliveries per second and the median and p95 request duration recorded on the rows. Redis is
not needed: jobs are run in-process, the broker is never called.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--endpoints", type=int, default=2)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "migrator.settings", "DEBUG": "false", "MIGRATOR_TESTING": "true",
                       "MIGRATOR_DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite:///{data_dir / 'bench.sqlite3'}",
                       "MIGRATOR_BROKER": "filesystem", "LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    from migrator.core.actors import system
    from migrator.core.models import Job, JobStatus
    from migrator.core.services import jobs as job_services
    from migrator.webhooks import services
    from migrator.webhooks.models import Delivery, DeliveryStatus

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    admin = system("bench", "the webhook bench")
    for i in range(args.endpoints):
        services.create_endpoint(actor=admin, name=f"receiver {i}", url=url, events=["cutover.ramped"])

    enqueued: list[int] = []
    job_services.enqueue = enqueued.append  # no broker in the bench: collect the ids the worker would get

    started = time.perf_counter()
    for n in range(args.events):
        with transaction.atomic():
            services.emit(event="cutover.ramped", payload={"flow": f"flow-{n % 20}", "percent": n % 100}, actor=admin)
    emit_seconds = time.perf_counter() - started

    started = time.perf_counter()
    for job_id in Job.objects.filter(kind=services.JOB_KIND, status=JobStatus.QUEUED).order_by("id").values_list(
            "id", flat=True):
        job_services.execute_job(job_id)
    deliver_seconds = time.perf_counter() - started
    server.shutdown()

    total = Delivery.objects.count()
    ok = Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count()
    durations = sorted(Delivery.objects.values_list("duration_ms", flat=True))
    print(f"events: {args.events} to {args.endpoints} endpoint(s) = {total} deliveries ({ok} succeeded)")
    print(f"emit:    {emit_seconds:.2f}s  ({args.events / emit_seconds:.0f} events/s, {total / emit_seconds:.0f} "
          f"deliveries recorded/s; {len(enqueued)} jobs handed to the broker after commit)")
    print(f"deliver: {deliver_seconds:.2f}s  ({total / deliver_seconds:.0f} deliveries/s, one process)")
    print(f"request duration: median {statistics.median(durations)} ms, p95 {durations[int(0.95 * (len(durations) - 1))]} ms")


if __name__ == "__main__":
    main()
