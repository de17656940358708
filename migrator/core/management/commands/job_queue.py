"""Print the queue this installation's jobs travel on (``make run`` starts its worker on it)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from migrator.core.jobs.queues import job_queue, queue_source


class Command(BaseCommand):
    help = "Print this installation's job queue name (derived from its database unless CELERY_QUEUE is set)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--explain", action="store_true", help="Also say where the name comes from.")

    def handle(self, *args, explain: bool, **options) -> None:
        self.stdout.write(f"{job_queue()} ({queue_source()})" if explain else job_queue())
