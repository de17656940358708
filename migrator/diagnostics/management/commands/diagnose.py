"""``manage.py diagnose [--flow SLUG] [--json]``: the system checks and each flow's troubleshooting checks.

Exit status 0 when no check fails (warnings and unknowns do not fail), 1 otherwise, 2 for an unknown flow.
``--json`` prints ``{"system": [...], "flows": [{"slug", "checks": [{"key", "title", "status", "summary",
"evidence", "fix_url"}], "release", "production_release"}]}``: each flow's entry names the release hash its checks
judged (the judged version with the flow's working settings) and the one production calls with ("" when not
known); system entries have the same keys as flow checks.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from migrator.core import diagnostics as registry
from migrator.core.models import Flow
from migrator.diagnostics.checks import data

MARK = {registry.OK: "ok  ", registry.WARN: "WARN", registry.FAIL: "FAIL", registry.UNKNOWN: "?   "}


class Command(BaseCommand):
    help = "Run the system checks and every flow's diagnostics (or one flow's); exit 1 when any check fails."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--flow", metavar="SLUG", help="Only this flow (the system checks always run).")
        parser.add_argument("--json", action="store_true", help="Print the results as JSON.")

    def handle(self, *args, **options) -> None:
        flows = Flow.objects.select_related("assistant").order_by("slug")
        if options["flow"]:
            slug = options["flow"].strip().lower()
            flows = flows.filter(slug=slug)
            if not flows.exists():
                raise CommandError(f"No flow with the slug {slug!r}.", returncode=2)
        system = registry.run_system()
        per_flow = [(flow, registry.run_flow(flow)) for flow in flows]
        failed = any(r.status == registry.FAIL for r in system) or any(
            r.status == registry.FAIL for _, results in per_flow for r in results)
        if options["json"]:
            self.stdout.write(json.dumps({
                "system": [r.as_json() for r in system],
                "flows": [{"slug": flow.slug, "checks": [r.as_json() for r in results], **_releases(flow)}
                          for flow, results in per_flow],
            }, indent=2, ensure_ascii=False, cls=DjangoJSONEncoder))
        else:
            self._print("System", system)
            for flow, results in per_flow:
                found = _releases(flow)
                self._print(f"Flow {flow.slug} ({flow.name}), release {found['release'][:12] or 'none yet'}, "
                            f"production {found['production_release'][:12] or 'not cut over'}", results)
            self.stdout.write("Result: " + ("FAILED (at least one check fails)" if failed else "no check fails"))
        if failed:
            raise SystemExit(1)

    def _print(self, heading: str, results: list[registry.Result]) -> None:
        self.stdout.write(heading)
        for r in results:
            self.stdout.write(f"  [{MARK[r.status]}] {r.title}: {r.summary}")
            if r.fix_url and r.status != registry.OK:
                self.stdout.write(f"         fix: {r.fix_url}")
        self.stdout.write("")


def _releases(flow: Flow) -> dict[str, str]:
    found = data.releases(flow)
    return {"release": found["release"], "production_release": found["production_release"]}
