"""``manage.py testset create --assistant ASST_ID --name NAME [--flow SLUG] [--strategy S] [--sample N]
[--threads FILE] --by USER [--json]``.

The command door of *New test set* on the Validation page, through the same service, acting as the named user
with their permissions: it draws threads by the strategy (or takes the thread ids listed in FILE, one a line)
and turns every answered assistant turn into a case (version 1).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.management import lookups
from migrator.core.services import ServiceError
from migrator.validation.models import SamplingStrategy
from migrator.validation.services import testsets


class Command(BaseCommand):
    help = "Build a validation test set from imported threads (as New test set on the Validation page does)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="create")
        create = sub.add_parser("create", help="Draw threads and turn their answered turns into cases.")
        create.add_argument("--assistant", required=True, metavar="ASST_ID", help="The legacy assistant id (asst_…).")
        create.add_argument("--name", required=True)
        create.add_argument("--flow", metavar="SLUG", help="Only threads of this flow.")
        create.add_argument("--strategy", choices=SamplingStrategy.values, default=SamplingStrategy.RECENT)
        create.add_argument("--sample", type=int, default=20, metavar="N", help="Threads to draw (1-1000).")
        create.add_argument("--threads", metavar="FILE", help="Hand-pick: a file of thread ids, one a line.")
        create.add_argument("--by", required=True, metavar="USER", help="Act as this user, with their permissions.")
        create.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options) -> None:
        user = lookups.active_user(options["by"])
        assistant = lookups.assistant(options["assistant"])
        flow_id = None
        if options["flow"]:
            flow = lookups.flow(options["flow"], of=assistant)
            flow_id = flow.pk
        thread_ids = None
        strategy = options["strategy"]
        if options["threads"]:
            try:
                lines = Path(options["threads"]).read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise CommandError(f"Cannot read {options['threads']}: {exc.strerror or exc}.") from exc
            thread_ids = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
            strategy = SamplingStrategy.HAND_PICKED
        try:
            test_set = testsets.create_test_set(actor=user, assistant_id=assistant.pk, name=options["name"],
                                                strategy=strategy, sample_size=options["sample"], flow_id=flow_id,
                                                thread_ids=thread_ids)
        except ServiceError as exc:
            raise CommandError(f"Refused: {exc}") from exc
        version = test_set.versions.order_by("-number").first()
        cases = len(version.case_ids) if version else 0
        result = {"id": test_set.pk, "name": test_set.name, "assistant": assistant.legacy_id,
                  "flow": test_set.flow.slug if test_set.flow else None, "strategy": test_set.strategy,
                  "version": version.number if version else None, "cases": cases}
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(f"Test set #{test_set.pk} '{test_set.name}': version {result['version']} with {cases} "
                          f"case{'' if cases == 1 else 's'} ({test_set.get_strategy_display().lower()}).")
