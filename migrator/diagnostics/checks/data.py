"""What the flow checks read from other apps, each behind one small function so a moved module is one edit.

Providers (``backfill.coverage``, ``validation.latest_run``, ``validation.lowest_similarity``,
``validation.answer_lengths``) are looked up in the registry: the apps that own that data register them in
their own ``diagnostics.py``; until then the checks that need them report "unknown".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from migrator.core.models import Flow

MARKDOWN_RE = re.compile(r"(^|\n)\s{0,3}(#{1,6}\s|[-*+]\s|\d+\.\s|>\s)|\*\*[^*\n]+\*\*|```|\[[^\]\n]+\]\([^)\n]+\)")
CITATION_MARKER_RE = re.compile(r"【[^】]{0,80}】|\[\d+(?::\d+)?†[^\]]{0,40}\]")
ANSWER_SAMPLE = 2000


def candidate_version(flow: Flow):
    """The version being put forward: the one pinned by ``run_flow(version=…)`` (a cutover request's), else
    the one under review (draft label, else the newest)."""
    pinned = getattr(flow, "_diagnostics_candidate", None)
    if pinned is not None:
        return pinned
    from migrator.tools import toolset

    return toolset.latest_version(flow.assistant)


def releases(flow: Flow) -> dict[str, str]:
    """The release hashes a diagnostics pass speaks for, recorded with its results and shown beside them:
    ``release``, the judged version with the flow's working mode, truncation, store and streaming (what a
    cutover request would put forward), and ``production_release``, the release production calls with now.
    Each is "" where it is not known (no version yet, no mode chosen, never cut over)."""
    from migrator.core.diagnostics import pass_cache
    from migrator.cutover.services.releases import production_release, spec_for

    cache = pass_cache(flow)
    if "releases" not in cache:
        version = candidate_version(flow)
        served = production_release(flow)
        cache["releases"] = {
            "release": spec_for(flow, version).hash if version is not None and flow.mode else "",
            "version": version.number if version is not None else None,
            "production_release": served.hash if served is not None else "",
        }
    return cache["releases"]


def serving_version(flow: Flow):
    from migrator.tools import toolset

    return toolset.serving_version(flow.assistant)


def tool_gate(flow: Flow, version):
    """Latest tool-test verdicts for ``version``'s tools (the one place diagnostics reads tool tests)."""
    from migrator.tools.services import tool_gate as gate

    return gate(flow.assistant, version)


def thread_recommendation(flow: Flow):
    from migrator.flows.services.flows import compute_recommendation

    return compute_recommendation(flow)


def _threads(flow: Flow):
    from migrator.inventory.models import LegacyThread

    tagged = LegacyThread.objects.filter(assistant_id=flow.assistant_id, flow_slug=flow.slug)
    if tagged.exists():
        return tagged, "flow"
    return LegacyThread.objects.filter(assistant_id=flow.assistant_id), "assistant"


@dataclass
class RecordedAnswers:
    source: str = "assistant"
    count: int = 0
    lengths: list[int] = field(default_factory=list)
    markdown: int = 0
    citation_markers: int = 0
    annotated: int = 0
    json_like: int = 0
    examples: dict[str, str] = field(default_factory=dict)


def recorded_answers(flow: Flow) -> RecordedAnswers:
    """The most recent recorded assistant answers of the flow's threads (else its assistant's).

    Memoised on the flow instance: one diagnostics run reads them for several checks.
    """
    cached = getattr(flow, "_diagnostics_answers", None)
    if cached is None:
        cached = _read_answers(flow)
        flow._diagnostics_answers = cached  # type: ignore[attr-defined]
    return cached


def _read_answers(flow: Flow) -> RecordedAnswers:
    from migrator.inventory.models import LegacyMessage

    threads, source = _threads(flow)
    rows = (LegacyMessage.objects.filter(thread__in=threads, role="assistant")
            .order_by("-created_at_legacy", "-id").values_list("text", "content")[:ANSWER_SAMPLE])
    out = RecordedAnswers(source=source)
    for text, content in rows:
        text = text or ""
        out.count += 1
        out.lengths.append(len(text))
        if MARKDOWN_RE.search(text):
            out.markdown += 1
            out.examples.setdefault("markdown", text[:160])
        if CITATION_MARKER_RE.search(text):
            out.citation_markers += 1
            out.examples.setdefault("citation", CITATION_MARKER_RE.search(text).group(0))
        kinds = {a.get("type") for part in content or [] if isinstance(part, dict) and isinstance(part.get("text"), dict)
                 for a in part["text"].get("annotations") or [] if isinstance(a, dict)}
        if "file_citation" in kinds:
            out.annotated += 1  # cites a file (file_search); file_path annotations are generated files instead
        stripped = text.strip()
        if stripped.startswith(("{", "[")) and stripped.endswith(("}", "]")):
            out.json_like += 1
    return out


def legacy_tool_choices(flow: Flow) -> dict[str, int]:
    """How the legacy runs set ``tool_choice`` (from the recorded run objects)."""
    from migrator.inventory.models import LegacyRun

    threads, _ = _threads(flow)
    counts: dict[str, int] = {}
    for raw in LegacyRun.objects.filter(thread__in=threads).values_list("raw", flat=True)[:5000]:
        choice = (raw or {}).get("tool_choice")
        if isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name") if isinstance(choice.get("function"), dict) else ""
            key = f"{choice.get('type')}:{name}" if name else str(choice.get("type"))
        else:
            key = str(choice) if choice else "auto"
        counts[key] = counts.get(key, 0) + 1
    return counts


def recorded_latencies(flow: Flow) -> list[float]:
    """Seconds from creation to completion of the legacy runs (what users waited for an answer)."""
    from migrator.inventory.models import LegacyRun

    threads, _ = _threads(flow)
    seconds = []
    for raw in LegacyRun.objects.filter(thread__in=threads).values_list("raw", flat=True)[:5000]:
        raw = raw or {}
        start, end = raw.get("created_at"), raw.get("completed_at")
        if isinstance(start, int | float) and isinstance(end, int | float) and end >= start:
            seconds.append(float(end - start))
    return seconds
