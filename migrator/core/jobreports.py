"""Job parameters and results in words: each job kind registers how to say them (in ``<app>/activity.py``).

    from migrator.core.jobreports import register_report

    register_report("inventory.import_archive", params=lambda job: "…", template="inventory/_import_report.html")

``params(job)`` returns a sentence (safe HTML) describing what the job was asked to do; ``template`` renders
``job.result`` as tables and sentences with links (context: ``job``, ``result``). Kinds with neither get a
readable fallback: scalar parameters as a definition list. The raw JSON stays one click away on the job page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


@dataclass(frozen=True)
class JobReport:
    kind: str
    params: Callable[[Any], SafeString | str] | None = None
    template: str = ""


_REPORTS: dict[str, JobReport] = {}


def register_report(kind: str, *, params: Callable[[Any], SafeString | str] | None = None, template: str = "") -> None:
    _REPORTS[kind] = JobReport(kind=kind, params=params, template=template)


def _report(kind: str) -> JobReport | None:
    return _REPORTS.get(kind)  # filled by every app's activity module (imported by CoreConfig.ready)


def _words(key: str) -> str:
    return key.replace("_id", "").replace("_", " ").strip().capitalize()


def _fallback_params(params: dict[str, Any]) -> SafeString:
    rows = [(_words(k), v) for k, v in params.items() if isinstance(v, str | int | float | bool) and v not in ("", None)]
    if not rows:
        return format_html('<p class="muted">{}</p>', "No parameters.")
    return format_html('<dl class="fields">{}</dl>', format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows))


SERVER_PATH = "(a file on the server)"


def shown_params(params: Any) -> dict[str, Any]:
    """A job's parameters as pages show them: server-side file paths (an upload's location) are left out."""
    if not isinstance(params, dict):
        return {}
    return {key: SERVER_PATH if isinstance(value, str) and (key in ("path", "threads_file") or value.startswith("/"))
            else value for key, value in params.items()}


def params_html(job: Any) -> SafeString:
    report = _report(job.kind)
    params = shown_params(job.params)
    if report and report.params:
        try:
            return format_html("<p data-testid=\"job-params-sentence\">{}</p>", report.params(job))
        except Exception:  # a missing object or odd params: fall back to the plain list
            pass
    return _fallback_params(params)


def result_html(job: Any, request: Any = None) -> SafeString:
    report = _report(job.kind)
    if report and report.template and job.result:
        return SafeString(render_to_string(report.template, {"job": job, "result": job.result}, request=request))
    result = job.result if isinstance(job.result, dict) else {}
    return _fallback_params(result) if result else SafeString("")
