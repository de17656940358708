"""Status vocabularies and the one explicit transitions table for each.

Only services change a status (see ``migrator.core.services.status``); views, tasks and commands ask them to.
Each transition names the permission it needs, so the UI can show exactly the actions a user may take.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class MigrationStatus(models.TextChoices):
    INVENTORIED = "inventoried", "Inventoried"
    PROMPT_DRAFTED = "prompt_drafted", "Prompt drafted"
    PROMPT_APPROVED = "prompt_approved", "Prompt approved"
    VALIDATING = "validating", "Validating"
    VALIDATED = "validated", "Validated"
    CUTOVER_APPROVED = "cutover_approved", "Cutover approved"
    MIGRATED = "migrated", "Migrated"
    BLOCKED = "blocked", "Blocked"
    RETIRED = "retired", "Retired"


class FlowStatus(models.TextChoices):
    PLANNING = "planning", "Planning"
    READY = "ready", "Ready for cutover"
    MIGRATED = "migrated", "Migrated"
    BLOCKED = "blocked", "Blocked"


class FlowMode(models.TextChoices):
    STATELESS = "stateless", "Stateless (full input each call)"
    CONVERSATION = "conversation", "Conversation (durable state)"
    PREVIOUS_RESPONSE = "previous_response", "previous_response_id chaining"


class Priority(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"


PRIORITY_RANK = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    permission: str  # "app_label.codename"
    label: str  # what the button says
    style: str = "primary"  # primary | secondary | danger


S = MigrationStatus
_ACTIVE = [S.INVENTORIED, S.PROMPT_DRAFTED, S.PROMPT_APPROVED, S.VALIDATING, S.VALIDATED, S.CUTOVER_APPROVED]

ASSISTANT_TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.INVENTORIED, S.PROMPT_DRAFTED, "core.draft_prompt", "Draft prompt"),
    Transition(S.PROMPT_DRAFTED, S.PROMPT_APPROVED, "core.approve_prompt", "Approve prompt"),
    # Back to review: an edit or upstream drift after approval invalidates everything downstream.
    Transition(S.PROMPT_APPROVED, S.PROMPT_DRAFTED, "core.draft_prompt", "Send back to review", "secondary"),
    Transition(S.VALIDATING, S.PROMPT_DRAFTED, "core.draft_prompt", "Send back to review", "secondary"),
    Transition(S.VALIDATED, S.PROMPT_DRAFTED, "core.draft_prompt", "Send back to review", "secondary"),
    Transition(S.CUTOVER_APPROVED, S.PROMPT_DRAFTED, "core.draft_prompt", "Send back to review", "secondary"),
    Transition(S.PROMPT_APPROVED, S.VALIDATING, "core.run_validation", "Start validation"),
    Transition(S.VALIDATING, S.VALIDATED, "core.run_validation", "Mark validated"),
    Transition(S.VALIDATING, S.PROMPT_APPROVED, "core.run_validation", "Validation failed", "secondary"),
    Transition(S.VALIDATED, S.CUTOVER_APPROVED, "core.approve_cutover", "Approve cutover"),
    Transition(S.CUTOVER_APPROVED, S.VALIDATED, "core.approve_cutover", "Withdraw cutover approval", "secondary"),
    Transition(S.CUTOVER_APPROVED, S.MIGRATED, "core.mark_migrated", "Mark migrated"),
    Transition(S.MIGRATED, S.CUTOVER_APPROVED, "core.mark_migrated", "Roll back", "danger"),
    *(Transition(s, S.BLOCKED, "core.block_assistant", "Block", "danger") for s in _ACTIVE),
    Transition(S.BLOCKED, S.INVENTORIED, "core.block_assistant", "Unblock", "secondary"),
    *(Transition(s, S.RETIRED, "core.retire_assistant", "Retire", "danger") for s in [*_ACTIVE, S.BLOCKED]),
    Transition(S.RETIRED, S.INVENTORIED, "core.retire_assistant", "Restore", "secondary"),
)

F = FlowStatus
FLOW_TRANSITIONS: tuple[Transition, ...] = (
    Transition(F.PLANNING, F.READY, "core.change_flow", "Mark ready"),
    Transition(F.READY, F.PLANNING, "core.change_flow", "Back to planning", "secondary"),
    Transition(F.READY, F.MIGRATED, "core.mark_flow_migrated", "Mark migrated"),
    Transition(F.MIGRATED, F.READY, "core.mark_flow_migrated", "Roll back", "danger"),
    Transition(F.PLANNING, F.BLOCKED, "core.change_flow", "Block", "danger"),
    Transition(F.READY, F.BLOCKED, "core.change_flow", "Block", "danger"),
    Transition(F.BLOCKED, F.PLANNING, "core.change_flow", "Unblock", "secondary"),
)


def transitions_from(table: tuple[Transition, ...], source: str) -> list[Transition]:
    return [t for t in table if t.source == source]


def find_transition(table: tuple[Transition, ...], source: str, target: str) -> Transition | None:
    return next((t for t in table if t.source == source and t.target == target), None)
