"""``manage.py flush_traffic [--every SECONDS]``: move config API call counts into the database.

The worker does this every ``TRAFFIC_FLUSH_SECONDS`` on its own; run this where no worker runs, or from cron.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from migrator.flows.services import traffic


class Command(BaseCommand):
    help = "Move the config API's pending call counts (Redis or the spool file) into the per-day tables."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--every", type=float, default=0,
                            help="keep running and flush every SECONDS (0: flush once and exit)")

    def handle(self, *args, every: float = 0, **options) -> None:
        if every < 0:
            raise CommandError("--every must be 0 (once) or a positive number of seconds.")
        while True:
            try:
                result = traffic.flush()
            except Exception as exc:  # the store or the database is down: say so, keep looping if asked
                if not every:
                    raise CommandError(f"Could not flush the call counts: {exc}") from exc
                self.stderr.write(f"flush failed: {exc}")
            else:
                self.stdout.write(str(result))
            if not every:
                return
            time.sleep(every)
