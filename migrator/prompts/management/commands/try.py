"""``manage.py try --assistant ASST_ID [--version N] --input TEXT [--connection NAME] [--mode MODE] --by USER
[--sync] [--json]`` and ``manage.py try --continue JOB [--input TEXT] [--output CALL_ID=TEXT ...] --by USER [--sync]
[--json]``.

The command door of the prompt page's *Try it*: the same services (``prompts.services.start_try`` for the first
turn, ``prompts.trying.continue_try`` for the next) queue one ``prompts.try_version`` job per turn, acting as the
named user with their permissions. ``--sync`` runs the job in this process and prints the answer, the tool calls
waiting for an output (answer them with ``--continue JOB --output CALL_ID=TEXT``), usage and latency; without
it the workers do, and the job id is printed. Exits 1 when a turn ran and failed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrator.core.management import lookups
from migrator.core.models import Job, JobStatus
from migrator.core.services import ServiceError
from migrator.core.services.jobs import run_job_now
from migrator.core.status import FlowMode
from migrator.prompts import selectors, services, trying


class Command(BaseCommand):
    help = "Send a prompt version one message (and continue the conversation), as Try it on the prompt page does."

    def add_base_argument(self, parser: CommandParser, *args: Any, **kwargs: Any) -> None:
        if "--version" in args:
            return  # here --version is the prompt version number (as in validate and cutover), not Django's
        super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--assistant", metavar="ASST_ID", help="The legacy assistant id (asst_…): a new try.")
        which.add_argument("--continue", type=int, dest="continue_job", metavar="JOB",
                           help="The job id of a finished try: send its next turn.")
        parser.add_argument("--version", type=int, metavar="N",
                            help="The version number (default: the one the prompt page opens on, the draft or "
                                 "the latest).")
        parser.add_argument("--input", default="", metavar="TEXT", help="The message to send.")
        parser.add_argument("--output", action="append", default=[], metavar="CALL_ID=TEXT", dest="outputs",
                            help="With --continue: what the app returns for one tool call (repeat per call).")
        parser.add_argument("--connection", metavar="NAME", help="The connection to send on (default: the Sandbox).")
        parser.add_argument("--mode", choices=FlowMode.values,
                            help="The state mode (default: the one the assistant's flows chose, else conversation).")
        parser.add_argument("--by", required=True, metavar="USER", help="Act as this user, with their permissions.")
        parser.add_argument("--sync", action="store_true", help="Run the turn here and print the answer.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options) -> None:
        user = lookups.active_user(options["by"])
        try:
            job = self._continue(user, options) if options["continue_job"] else self._start(user, options)
        except ServiceError as exc:
            raise CommandError(f"Refused: {exc}") from None
        if options["sync"]:
            job = run_job_now(job) or job
            job.refresh_from_db()
        report = _report(job)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(_words(report))
        if options["sync"] and job.status != JobStatus.SUCCEEDED:
            sys.exit(1)

    def _start(self, user, options: dict) -> Job:
        if options["outputs"]:
            raise CommandError("--output answers a tool call of an earlier turn: use it with --continue JOB.")
        assistant = lookups.assistant(options["assistant"])
        if options["version"] is not None:
            version = selectors.version_by_number(assistant, options["version"])
            if version is None:
                raise CommandError(f"{assistant.display_name} has no v{options['version']}.")
        else:
            version = selectors.current_version(assistant)
            if version is None:
                raise CommandError(f"{assistant.display_name} has no prompt version yet; generate a draft first.")
        connection_id = None
        if options["connection"]:
            connection = lookups.connection(options["connection"])
            connection_id = connection.pk
        return services.start_try(version_id=version.pk, actor=user, input_text=options["input"],
                                  connection_id=connection_id, mode=options["mode"])

    def _continue(self, user, options: dict) -> Job:
        for flag in ("version", "connection", "mode"):
            if options[flag]:
                raise CommandError(f"--{flag} belongs to a new try; a continued one keeps its version, connection "
                                   "and mode.")
        if not Job.objects.visible_to(user).filter(pk=options["continue_job"], kind=services.TRY_JOB_KIND).exists():
            raise CommandError(f"No try #{options['continue_job']} that {user.username} may see.")
        outputs: dict[str, str] = {}
        for pair in options["outputs"]:
            call_id, sep, text = pair.partition("=")
            if not sep or not call_id.strip():
                raise CommandError(f"--output {pair!r}: write CALL_ID=TEXT (the call id the last turn printed).")
            outputs[call_id.strip()] = text
        return trying.continue_try(job_id=options["continue_job"], actor=user, input_text=options["input"],
                                   tool_outputs=outputs)


def _report(job: Job) -> dict:
    result = job.result if isinstance(job.result, dict) else {}
    return {
        "job": job.pk,
        "status": job.status,
        "assistant": job.subject_label,
        "version": result.get("version"),
        "connection": result.get("connection"),
        "mode": result.get("mode") or job.params.get("mode"),
        "turn": result.get("turn") or job.params.get("turn"),
        "output_text": result.get("output_text"),
        "pending_calls": result.get("pending_calls") or [],
        "usage": result.get("usage") or {},
        "latency_ms": result.get("latency_ms"),
        "release": result.get("release"),
        "error": job.error or "",
    }


def _words(report: dict) -> str:
    head = f"Try #{report['job']} ({report['assistant']}, turn {report['turn']}): {report['status']}"
    if report["status"] in (JobStatus.QUEUED, JobStatus.RUNNING):
        return head + "; a worker sends it (the job page shows the answer)."
    if report["error"]:
        return f"{head}: {report['error']}"
    lines = [head]
    if report["output_text"]:
        lines.append(report["output_text"])
    for call in report["pending_calls"]:
        lines.append(f"Tool call {call['name']}({call['arguments']}) waits for an output: "
                     f"--continue {report['job']} --output {call['call_id']}=…")
    usage = report["usage"]
    lines.append(f"{usage.get('total_tokens', '?')} tokens in {report['latency_ms']} ms on {report['connection']} "
                 f"(release {str(report['release'] or '')[:12]})")
    return "\n".join(lines)
