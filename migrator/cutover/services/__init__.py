"""Cutover services: request on evidence, approve or decline, ramp, complete, roll back; void on change.

Every change of what a flow serves happens here, in one transaction with the flow's status, a
``ServingChange`` row and an audit event. Views, commands and (never) API tokens are doors onto these.

The package is read as one: ``decisions`` (request, withdraw, approve, decline), ``ramps`` (ramp, complete, roll
back), ``stale`` (evidence that no longer holds voids a request), ``common`` (what they share) and ``releases``.
"""

from migrator.cutover.services import releases
from migrator.cutover.services.common import (
    EvidenceIncomplete,
    approved_version,
    evidence_for,
    open_request,
    rollout_of,
)
from migrator.cutover.services.decisions import (
    EvidenceChanged,
    LoosenedChecks,
    approve,
    decline,
    flow_release_short,
    loosened_of,
    may_decide,
    request_cutover,
    withdraw,
)
from migrator.cutover.services.ramps import (
    DEFAULT_STEPS,
    NOT_CUT_OVER,
    NoPreviousRelease,
    is_first_cutover,
    parse_percent,
    production_gets,
    ramp,
    rollback,
)
from migrator.cutover.services.stale import StaleResult, evidence_changed, still_current

__all__ = [
    "DEFAULT_STEPS", "NOT_CUT_OVER", "EvidenceChanged", "EvidenceIncomplete", "LoosenedChecks", "NoPreviousRelease",
    "StaleResult", "approve", "approved_version", "decline", "evidence_changed", "evidence_for", "flow_release_short",
    "is_first_cutover", "loosened_of", "may_decide", "open_request", "parse_percent", "production_gets", "ramp",
    "releases", "request_cutover", "rollback", "rollout_of", "still_current", "withdraw",
]
