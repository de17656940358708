"""`manage.py cutover status|request|approve|decline|ramp|rollback|guard|shadow`: the cutover, for automation.

Each action acts as ``--by USERNAME`` with that user's permissions (a person is always named: nobody approves
as "the system"); a refusal exits 1 with the reason on stderr (for ``request``, the missing evidence named).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.management import lookups
from migrator.core.models import Flow
from migrator.core.services import ServiceError
from migrator.core.signals import cutover_command, cutover_status_extra
from migrator.cutover import services
from migrator.cutover.models import RequestStatus
from migrator.cutover.selectors import flow_stages

ACTIONS = ("status", "request", "approve", "decline", "ramp", "rollback", "guard", "shadow")


class Command(BaseCommand):
    help = "Show cutover stages, or request, approve, decline, ramp or roll back a flow's cutover."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs):
        # The contract's --version N (a prompt version) replaces Django's --version (the Django version).
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("--flow", help="The flow's slug (required for every action but status).")
        parser.add_argument("--by", help="Act as this user, with their permissions (required for actions).")
        parser.add_argument("--version", type=int, help="request: the version number (default: the approved one).")
        parser.add_argument("--percent", help="ramp: the share of subjects on the candidate, 0.01 to 100.")
        parser.add_argument("--reason", default="", help="Why (required to approve, decline and roll back).")
        parser.add_argument("--json", action="store_true", help="status: print JSON.")
        parser.add_argument("--accept-loosened", default="", metavar="TEXT",
                            help="approve: why checks loosened since the last approved release are acceptable "
                                 "(required when the evidence shows any).")
        parser.add_argument("--stop-serving", action="store_true",
                            help="rollback of a first cutover: confirm that production then gets 409 not_cut_over.")
        # guard: the support lead's guardrails for each ramp step (docs/rollouts.md).
        parser.add_argument("--min-sample", help="guard: candidate outcomes before any decision.")
        parser.add_argument("--max-error-rate-increase", help="guard: largest allowed error-rate worsening (0.02).")
        parser.add_argument("--max-schema-invalid-increase", help="guard: largest schema-invalid-rate worsening.")
        parser.add_argument("--max-p95-latency-ratio", help="guard: largest candidate/production p95 latency ratio.")
        parser.add_argument("--max-tool-parity-drop", help="guard: largest drop of the tool-call rate.")
        parser.add_argument("--soak-minutes", default="0", help="guard: how long a step soaks before it is healthy.")
        parser.add_argument("--action", dest="on_breach", choices=("pause", "rollback"),
                            help="guard: what a breach does.")
        parser.add_argument("--auto-advance", action="store_true", help="guard: ramp a healthy step on by itself.")
        parser.add_argument("--share", help="shadow: percent of production calls that also call the candidate.")

    def handle(self, *args, **options) -> None:
        action = options["action"]
        if action == "status":
            return self._status(as_json=options["json"])
        if not options["flow"] or not options["by"]:
            raise CommandError(f"cutover {action} needs --flow SLUG and --by USERNAME.")
        user = lookups.active_user(options["by"])
        flow = lookups.flow(options["flow"])
        reason = options["reason"]
        try:
            message = self._act(action, flow, user, options, reason)
        except services.EvidenceIncomplete as exc:
            lines = "\n".join(f"  - {i.key}: {i.summary}" for i in exc.missing)
            raise CommandError(f"Refused: the evidence is incomplete for {flow.slug}:\n{lines}") from exc
        except ServiceError as exc:
            raise CommandError(f"Refused: {exc}") from exc
        self.stdout.write(message)

    def _act(self, action: str, flow: Flow, user, options: dict, reason: str) -> str:
        if action in ("guard", "shadow"):
            return self._extension(action, flow, user, options)
        if action == "request":
            req = services.request_cutover(flow_id=flow.pk, actor=user, version_number=options["version"], note=reason)
            return f"Requested cutover #{req.pk} of {flow.slug} to v{req.version.number}; awaiting approval."
        if action in ("approve", "decline"):
            req = services.open_request(flow)
            if req is None or req.status != RequestStatus.AWAITING:
                raise ServiceError(f"{flow.slug} has no request awaiting approval.")
            if action == "approve":
                req = services.approve(request_id=req.pk, actor=user, reason=reason,
                                       accept_loosened=options["accept_loosened"])
            else:
                req = services.decline(request_id=req.pk, actor=user, reason=reason)
            return f"Request #{req.pk} of {flow.slug}: {req.get_status_display().lower()}."
        if action == "ramp":
            if options["percent"] is None:
                raise ServiceError("cutover ramp needs --percent P.")
            rollout = services.ramp(flow_id=flow.pk, actor=user, percent=options["percent"], reason=reason)
            if rollout.candidate_id:
                return f"{flow.slug}: v{rollout.candidate.number} serves {rollout.percent}% of subjects."
            return f"{flow.slug}: v{rollout.production.number} serves everyone (migrated)."
        rollout = services.rollback(flow_id=flow.pk, actor=user, reason=reason, stop_serving=options["stop_serving"])
        if rollout.production_gets == services.NOT_CUT_OVER:
            return f"{flow.slug}: stopped serving; production now gets {services.NOT_CUT_OVER}."
        return f"{flow.slug} rolled back: {rollout.production_gets}."

    def _extension(self, action: str, flow: Flow, user, options: dict) -> str:
        # Guards and shadow runs live in migrator.rollouts, which answers this signal (cutover does not import it).
        for _receiver, message in cutover_command.send(sender=type(self), action=action, flow=flow, user=user,
                                                       options=options):
            if message:
                return message
        raise ServiceError("Guarded rollouts are not installed (migrator.rollouts).")

    def _status(self, *, as_json: bool) -> None:
        stages = flow_stages(with_missing=True)
        if as_json:
            live: dict[int, dict] = {}
            for _receiver, extra in cutover_status_extra.send(sender=type(self), flows=[s.flow for s in stages]):
                for pk, fields in (extra or {}).items():
                    live.setdefault(pk, {}).update(fields)
            self.stdout.write(json.dumps({"flows": [{**s.as_json(), **live.get(s.flow.pk, {})} for s in stages]},
                                         indent=2))
            return
        if not stages:
            self.stdout.write("No flows.")
            return
        for s in stages:
            versions = f"production v{s.production_version or '-'}, candidate v{s.candidate_version or '-'}"
            extra = f" at {s.percent:g}%" if s.stage == "rolling_out" else ""
            self.stdout.write(f"{s.flow.slug:30} {s.stage:18}{extra} {versions}")
            for m in s.missing:
                self.stdout.write(f"    missing {m}")
