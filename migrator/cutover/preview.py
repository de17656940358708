"""What an action on a flow's cutover will do to production, in words, before anyone confirms it.

Each sentence reads the same rollout state the service acts on (``services.approve``/``ramp``/``rollback``), so
the confirmation says what production will get and for whom: "10% of subjects get v3 (gpt-6-luna); the rest
stay on v2 (gpt-4.1)".
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from migrator.core.models import Flow
from migrator.cutover.models import ChangeKind, CutoverRequest, FlowRollout, ServingChange
from migrator.prompts.models import PromptVersion


@dataclass(frozen=True)
class Preview:
    title: str  # "Ramp Docs bot email to 10%?"
    sentence: str  # what production gets, for whom
    button: str  # "Ramp to 10%"
    style: str = "primary"


def version_words(version: PromptVersion | None) -> str:
    if version is None:
        return "nothing"
    model = (version.config or {}).get("model") if isinstance(version.config, dict) else None
    return f"v{version.number} ({model})" if model else f"v{version.number}"


def percent_words(value) -> str:
    """10 → "10%", 12.5 → "12.5%"."""
    text = format(Decimal(str(value)).normalize(), "f")
    return f"{text}%"


def _rollout(flow: Flow) -> FlowRollout | None:
    return FlowRollout.objects.filter(flow=flow).select_related("production", "candidate").first()


def approval(request: CutoverRequest) -> Preview:
    flow, version = request.flow, request.version
    rollout = _rollout(flow)
    production = rollout.production if rollout else None
    if production is None:
        sentence = (f"Every subject of {flow.name} gets {version_words(version)} at once: nothing is served yet, "
                    "so there is nothing to ramp from.")
    else:
        sentence = (f"Nothing changes for production yet: {version_words(production)} keeps serving every subject "
                    f"of {flow.name}. {version_words(version)} becomes the candidate you then ramp step by step.")
    return Preview(f"Approve the cutover of {flow.name} to v{version.number}?", sentence, "Approve")


def ramp(flow: Flow, percent) -> Preview:
    rollout = _rollout(flow)
    candidate = rollout.candidate if rollout else None
    production = rollout.production if rollout else None
    pct = Decimal(str(percent))
    now = Decimal(rollout.percent or 0) if rollout else Decimal(0)
    if pct >= 100:
        sentence = f"Every subject of {flow.name} gets {version_words(candidate)}"
        sentence += f"; {version_words(production)} stops serving." if production else "."
        button = "Complete the cutover"
    else:
        sentence = f"{percent_words(pct)} of subjects of {flow.name} get {version_words(candidate)}; the rest stay on "
        sentence += f"{version_words(production)}." if production else "nothing (they are not served)."
        button = f"Ramp to {percent_words(pct)}"
    if now > 0:
        sentence += f" Today {percent_words(now)} get it; subjects keep what they got (sticky per subject)."
    return Preview(f"Ramp {flow.name} to {percent_words(pct)}?", sentence, button)


def rollback(flow: Flow) -> Preview:
    rollout = _rollout(flow)
    if rollout is None or (rollout.production_id is None and rollout.candidate_id is None):
        return Preview(f"Roll {flow.name} back?", f"{flow.name} serves nothing yet: there is nothing to roll back.",
                       "Roll back", "danger")
    if rollout.candidate_id:
        back_to, leaving = rollout.production, rollout.candidate
        served = f" (it serves {percent_words(rollout.percent or 0)} of subjects now)"
    else:
        last = (ServingChange.objects.filter(flow=flow, kind__in=[ChangeKind.COMPLETE, ChangeKind.IMPORTED])
                .select_related("from_version").first())
        back_to, leaving, served = (last.from_version if last else None), rollout.production, ""
    if back_to is None:
        sentence = (f"{version_words(leaving)} stops serving{served}, and {flow.name} serves nothing: production "
                    "gets no configuration for it (409 not_cut_over) until a new cutover.")
    else:
        sentence = (f"Every subject of {flow.name} gets {version_words(back_to)} again; {version_words(leaving)} "
                    f"stops serving{served}.")
    return Preview(f"Roll {flow.name} back?", sentence, "Roll back", "danger")
