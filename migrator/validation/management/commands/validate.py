"""Replay an assistant's recorded threads through a configuration, in this process, and say pass or fail.

    manage.py validate --assistant ASST_ID (--version N | --label NAME | --config FILE) --connection NAME
                       [--mode stateless|conversation|previous_response] [--threads FILE | --sample N]
                       [--repeats N] [--json]

Exit status 0 when the verdict is ``pass``, 1 otherwise (``fail``, ``incomplete``, or an error).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from migrator.core.actors import system
from migrator.core.models import Assistant, Connection
from migrator.core.services import ServiceError
from migrator.core.status import FlowMode
from migrator.validation.models import SamplingStrategy, Verdict
from migrator.validation.services import runs as run_services
from migrator.validation.services import testsets as set_services

ACTOR = system("command:validate", "the validate command")
DEFAULT_SAMPLE = 20


def read_thread_ids(path: str) -> list[str]:
    """Thread ids from a file: one a line, a CSV whose first column is the id (header optional), or JSON."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"--threads {path}: cannot read it ({exc.strerror or exc}).") from exc
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            values = json.loads(stripped)
        except ValueError as exc:
            raise CommandError(f"--threads {path}: invalid JSON ({exc}).") from exc
        ids = [str(v.get("thread_id") or v.get("id") if isinstance(v, dict) else v).strip() for v in values]
    else:
        ids = [row[0].strip() for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
        if ids and ids[0].lower() in ("thread_id", "id", "thread"):
            ids = ids[1:]
    ids = [i for i in ids if i and not i.startswith("#")]
    if not ids:
        raise CommandError(f"--threads {path}: no thread ids in it.")
    return list(dict.fromkeys(ids))


def read_config(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"--config {path}: cannot read it ({exc.strerror or exc}).") from exc
    except ValueError as exc:
        raise CommandError(f"--config {path}: invalid JSON ({exc}).") from exc
    if isinstance(data, dict) and "model" not in data and isinstance(data.get("kwargs"), dict):
        data = data["kwargs"]  # convert_assistant --with-ledger output
    if not isinstance(data, dict) or not data.get("model"):
        raise CommandError(f"--config {path}: expected keyword arguments for responses.create with a 'model'.")
    return data


class Command(BaseCommand):
    help = "Replay an assistant's recorded threads through a configuration and report pass / fail / incomplete."

    def add_base_argument(self, parser: CommandParser, *args: Any, **kwargs: Any) -> None:
        if "--version" in args:
            return  # here --version is the prompt version number (the contract), not Django's version flag
        super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--assistant", required=True, metavar="ASST_ID", help="The legacy asst_… id.")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--version", type=int, metavar="N", help="Prompt version number.")
        which.add_argument("--label", metavar="NAME", help="Prompt label: draft, approved or production.")
        which.add_argument("--config", metavar="FILE", help="Keyword arguments for responses.create (JSON).")
        parser.add_argument("--connection", required=True, metavar="NAME", help="Connection name to replay on.")
        parser.add_argument("--mode", choices=FlowMode.values,
                            help="State mode (default: the assistant's flow's mode, else stateless).")
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--threads", metavar="FILE", help="Thread ids to replay (one a line, CSV or JSON).")
        source.add_argument("--sample", type=int, metavar="N",
                            help=f"Replay the N most recent threads (default {DEFAULT_SAMPLE}).")
        parser.add_argument("--repeats", type=int, default=1, metavar="N", help="Replays per case (flaky cases show).")
        parser.add_argument("--concurrency", type=int, default=4, metavar="N", help="Cases replayed at once.")
        parser.add_argument("--budget", metavar="USD", help="Stop cleanly (status budget_reached, results kept) once "
                                                                "the replies have cost this much.")
        parser.add_argument("--batch", action="store_true",
                            help="Send the teacher-forced cases through the Batch API (half price; stateless or "
                                 "chained responses mode); the free runs are sent direct.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a summary.")

    def handle(self, *args: Any, **options: Any) -> None:
        assistant = Assistant.objects.filter(legacy_id=options["assistant"]).first()
        if assistant is None:
            raise CommandError(f"No assistant {options['assistant']} in the inventory; import it first.")
        connection = Connection.objects.filter(name=options["connection"]).first()
        if connection is None:
            names = ", ".join(Connection.objects.order_by("name").values_list("name", flat=True)) or "none"
            raise CommandError(f"No connection named {options['connection']!r} (known: {names}).")
        if options["sample"] is not None and not 1 <= options["sample"] <= 1000:
            raise CommandError("--sample must be between 1 and 1000.")
        flow = self._flow(assistant, options["mode"])
        mode = options["mode"] or (flow.mode if flow is not None and flow.mode else FlowMode.STATELESS)
        try:
            version, config, label = None, None, ""
            if options["config"]:
                config, label = read_config(options["config"]), f"file {Path(options['config']).name}"
            else:
                version = run_services.resolve_version(assistant, version_number=options["version"],
                                                        label=options["label"] or "")
                config, label = dict(version.config or {}), f"v{version.number}"
            if options["threads"]:
                ids = read_thread_ids(options["threads"])
                strategy, size = SamplingStrategy.HAND_PICKED, len(ids)
            else:
                ids, strategy, size = [], SamplingStrategy.RECENT, options["sample"] or DEFAULT_SAMPLE
            stamp = timezone.now().strftime("%Y-%m-%d %H:%M")
            test_set = set_services.create_test_set(
                actor=ACTOR, assistant_id=assistant.pk, flow_id=flow.pk if flow is not None else None,
                name=f"CLI {stamp}: {'threads from ' + Path(options['threads']).name if ids else f'{size} recent threads'}",
                strategy=strategy, sample_size=size, thread_ids=ids)
            run = run_services.create_run(actor=ACTOR, test_set=test_set, connection=connection, config=config,
                                          config_label=label, prompt_version=version, mode=mode,
                                          repeats=options["repeats"], concurrency=options["concurrency"],
                                          source="cli", budget_usd=options["budget"],
                                          path="batch" if options["batch"] else "direct")
            log = (lambda m: None) if options["json"] else (lambda m: self.stderr.write(m))
            plan = run.projection
            cost = f", ~${plan['cost_usd']:.4f}" if plan.get("cost_usd") is not None else ", price unknown"
            budget = f"; budget ${run.budget_usd}" if run.budget_usd is not None else ""
            log(f"Projection: {plan.get('requests')} requests, ~{plan.get('input_tokens')} input and "
                f"~{plan.get('output_tokens')} output tokens{cost} (prices of {plan.get('priced_on')}){budget}")
            run = run_services.execute_run(run_id=run.pk, actor=ACTOR, log=log)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result_json(run), indent=2, ensure_ascii=False))
        else:
            self._summary(run)
        if run.verdict != Verdict.PASS:
            raise SystemExit(1)

    def _flow(self, assistant: Assistant, mode: str | None):
        flows = list(assistant.flows.order_by("pk"))
        if len(flows) <= 1:
            return flows[0] if flows else None
        chosen = [f for f in flows if f.mode]
        modes = {f.mode for f in chosen}
        if mode is None and len(modes) > 1:
            listing = ", ".join(f"{f.slug}: {f.mode}" for f in chosen)
            raise CommandError(f"{assistant.display_name} has flows in different modes ({listing}); pass --mode.")
        return next((f for f in chosen if mode is None or f.mode == mode), None)

    def _summary(self, run) -> None:
        self.stdout.write(f"Run #{run.pk}: {run.verdict.upper()} — {run.summary}")
        for point in run.points:
            self.stdout.write(f"  [{point['status']}] {point['title']}: {point['detail']}")
        totals = run.totals or {}
        if totals.get("streamed"):
            first = (f"p50 {totals['ttft_p50_ms']} ms · p95 {totals['ttft_p95_ms']} ms"
                     if totals.get("ttft_p50_ms") is not None else "no text was streamed")
            self.stdout.write(f"  Streamed: time to first token {first}; latency p50 {totals.get('latency_p50_ms')} ms")
        for check in run.check_summary:
            rate = "—" if check["pass_rate"] is None else f"{check['pass_rate']:.0%}"
            self.stdout.write(f"  {check['label']}: {rate} of {check['ran']} passed")
        for case in result_json(run)["cases"]:
            if case["verdict"] != Verdict.PASS:
                where = f"{case['thread_id']} turn {case['turn']}" if case["thread_id"] else case["case"]
                self.stdout.write(f"  {case['verdict']}: {where}: {'; '.join(case['reasons'][:3])}")


def result_json(run) -> dict[str, Any]:
    cases: dict[int, dict[str, Any]] = {}
    for result in run.results.select_related("case").order_by("case_id", "repeat"):
        row = cases.setdefault(result.case_id, {
            "thread_id": result.case.thread_legacy_id or None, "turn": result.case.turn, "case": result.case.key,
            "verdict": result.verdict, "reasons": [], "score": result.score})
        if result.verdict == Verdict.FAIL or (result.verdict == Verdict.INCOMPLETE and row["verdict"] == Verdict.PASS):
            row["verdict"] = result.verdict
        row["reasons"] = list(dict.fromkeys([*row["reasons"], *result.reasons]))
    order = {case_id: i for i, case_id in enumerate(run.case_ids)}
    return {
        "verdict": run.verdict or Verdict.INCOMPLETE,
        "summary": run.summary,
        "run_id": run.pk,
        "url": run.get_absolute_url(),
        "assistant": run.assistant.legacy_id,
        "config": {"label": run.config_label, "hash": run.config_hash},
        "release": run.release_hash,
        "mode": run.mode,
        "store": run.store,
        "connection": run.connection_name,
        "repeats": run.repeats,
        "path": run.path,
        "projection": run.projection,
        "spent_usd": round(run.spent_usd, 8),
        "points": {p["key"]: {"title": p["title"], "status": p["status"], "detail": p["detail"]} for p in run.points},
        "checks": {c["name"]: {k: v for k, v in c.items() if k != "name"} for c in run.check_summary},
        "totals": run.totals,
        "cases": [cases[i] for i in sorted(cases, key=lambda i: order.get(i, 0))],
    }
