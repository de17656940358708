"""Run the job reaper: re-send queued jobs nobody picked up, then fail them; fail running jobs whose process
stopped heart-beating.

Every worker runs this in its heartbeat loop. Run it from cron (or with ``--every``) where jobs might be
queued while no worker is alive at all, so they end failed with a reason instead of waiting for ever.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser

from migrator.core.services.jobs import reap_jobs


class Command(BaseCommand):
    help = "Re-send or fail queued jobs no worker picked up, and fail running jobs whose process stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=0, metavar="SECONDS",
                            help="Keep running, one pass every SECONDS (default: one pass, then exit).")

    def handle(self, *args, every: float, **options) -> None:
        while True:
            report = reap_jobs()
            for label, ids in (("Sent again", report.resent), ("Failed, no worker picked them up", report.unclaimed),
                               ("Failed, their process stopped", report.stale)):
                if ids:
                    self.stdout.write(f"{label}: {', '.join(f'#{i}' for i in ids)}")
            if not report:
                self.stdout.write("Nothing to reap.")
            if every <= 0:
                return
            time.sleep(every)
