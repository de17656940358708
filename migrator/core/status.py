"""Status vocabularies, the one explicit transitions table for each, and the one helper that moves a status.

Only services change a status (see ``migrator.core.services.status``); views, tasks and commands ask them to.
Each transition names the permission it needs, so the UI can show exactly the actions a user may take.

Every model with a status machine names its table as ``STATUS_TRANSITIONS`` (declared next to its
``TextChoices``), either a tuple of :class:`Transition` or a ``{source: {targets}}`` mapping. The field is
``status`` unless the model names another as ``STATUS_FIELD`` (the rollout guard's is ``state``). A row is created
at its field's default; after that :func:`move` (one row) and :func:`move_all` (a queryset) are the only code
that writes the field; a test (``tests/core/test_status_writes.py``) reads every module under ``migrator/`` and
fails on any other write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models

from migrator.core.services import InvalidTransition


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
    """A flow's way to production. Every claiming status comes from the domain action that proves it."""

    PLANNING = "planning", "Planning"
    VALIDATED = "validated", "Validated"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting cutover approval"
    APPROVED = "approved", "Cutover approved"
    ROLLING_OUT = "rolling_out", "Rolling out"
    MIGRATED = "migrated", "Migrated"
    BLOCKED = "blocked", "Blocked"


class FlowMode(models.TextChoices):
    STATELESS = "stateless", "Stateless (full input each call)"
    CONVERSATION = "conversation", "Conversation (durable state)"
    PREVIOUS_RESPONSE = "previous_response", "Chained responses (previous_response_id)"


class Priority(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"


PRIORITY_RANK = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class Outcome(models.TextChoices):
    """Domain actions that move statuses. Only the service that performs the action reports its outcome."""

    VERSION_GENERATED = "prompts.version_generated", "a prompt version was generated"
    VERSION_APPROVED = "prompts.version_approved", "a prompt version was approved"
    VERSION_EDITED = "prompts.version_edited", "the prompt changed after approval"
    RUN_STARTED = "validation.run_started", "a validation run started"
    RUN_PASSED = "validation.run_passed", "a validation run passed"
    RUN_FAILED = "validation.run_failed", "a validation run failed or was incomplete"
    CUTOVER_REQUESTED = "cutover.requested", "an engineer requested the cutover"
    CUTOVER_APPROVED = "cutover.approved", "a support lead approved the cutover"
    CUTOVER_DECLINED = "cutover.declined", "a support lead declined the cutover"
    CUTOVER_RAMPED = "cutover.ramped", "the rollout moved to a new stage"
    CUTOVER_COMPLETED = "cutover.completed", "the rollout reached 100%"
    CUTOVER_ROLLED_BACK = "cutover.rolled_back", "the rollout was rolled back"
    EVIDENCE_STALE = "evidence.stale", "the configuration or state mode changed, so earlier evidence is stale"
    # Not a domain action: a rule of the status story (an assistant follows its flows; a flow unblocked while it
    # serves production is migrated). No button or panel shows these moves.
    RULE = "core.rule", "the status rule put it there"


@dataclass(frozen=True)
class Transition:
    """One allowed move. A *manual* transition is a button (with ``permission`` and a required reason); an
    *outcome* transition happens only when the named domain action reports it, and its ``via`` tells people
    where that action lives (shown on the disabled button)."""

    source: str
    target: str
    permission: str = ""  # "app_label.codename", for manual transitions
    label: str = ""  # what the button says
    style: str = "primary"  # primary | secondary | danger
    outcome: str = ""  # the Outcome that performs this move ("" for manual transitions)
    via: str = ""  # for outcome transitions: where people go to make it happen

    @property
    def manual(self) -> bool:
        return not self.outcome


def _manual(source: str, target: str, permission: str, label: str, style: str = "secondary") -> Transition:
    return Transition(source, target, permission, label, style)


def _outcome(source: str, target: str, outcome: str, label: str, via: str) -> Transition:
    return Transition(source, target, label=label, outcome=outcome, via=via)


S = MigrationStatus
O = Outcome  # noqa: E741 - reads as a table
_ACTIVE = [S.INVENTORIED, S.PROMPT_DRAFTED, S.PROMPT_APPROVED, S.VALIDATING, S.VALIDATED, S.CUTOVER_APPROVED]
_PROMPT = "approve a version on the Prompt tab"
_VALIDATE = "run a validation for one of its flows"
_CUTOVER = "a support lead approves a cutover request"
_ROLLOUT = "a flow's rollout reaches 100%"

ASSISTANT_TRANSITIONS: tuple[Transition, ...] = (
    _outcome(S.INVENTORIED, S.PROMPT_DRAFTED, O.VERSION_GENERATED, "Draft prompt", "generate a draft on the Prompt tab"),
    _outcome(S.PROMPT_DRAFTED, S.PROMPT_APPROVED, O.VERSION_APPROVED, "Approve prompt", _PROMPT),
    # An edit or upstream drift after approval invalidates everything downstream.
    *(_outcome(s, S.PROMPT_DRAFTED, O.VERSION_EDITED, "Back to review", "edit the prompt")
      for s in (S.PROMPT_APPROVED, S.VALIDATING, S.VALIDATED, S.CUTOVER_APPROVED, S.MIGRATED)),
    *(_manual(s, S.PROMPT_DRAFTED, "core.draft_prompt", "Send back to review")
      for s in (S.PROMPT_APPROVED, S.VALIDATING, S.VALIDATED, S.CUTOVER_APPROVED)),
    *(_outcome(s, S.VALIDATING, O.RUN_STARTED, "Start validation", _VALIDATE) for s in (S.PROMPT_APPROVED, S.VALIDATED)),
    _outcome(S.VALIDATING, S.VALIDATED, O.RUN_PASSED, "Mark validated", "a validation run passes"),
    _outcome(S.VALIDATING, S.PROMPT_APPROVED, O.RUN_FAILED, "Validation failed", "a validation run fails"),
    _outcome(S.VALIDATED, S.PROMPT_APPROVED, O.EVIDENCE_STALE, "Evidence stale", "the mode or configuration changes"),
    _outcome(S.VALIDATED, S.CUTOVER_APPROVED, O.CUTOVER_APPROVED, "Approve cutover", _CUTOVER),
    _outcome(S.CUTOVER_APPROVED, S.VALIDATED, O.EVIDENCE_STALE, "Approval void", "the configuration changes"),
    _outcome(S.CUTOVER_APPROVED, S.VALIDATED, O.CUTOVER_ROLLED_BACK, "Roll back", "roll back on the flow's cutover page"),
    _outcome(S.CUTOVER_APPROVED, S.MIGRATED, O.CUTOVER_COMPLETED, "Mark migrated", _ROLLOUT),
    _outcome(S.MIGRATED, S.VALIDATED, O.CUTOVER_ROLLED_BACK, "Roll back", "roll back on the flow's cutover page"),
    *(_manual(s, S.BLOCKED, "core.block_assistant", "Block", "danger") for s in _ACTIVE),
    _manual(S.BLOCKED, S.INVENTORIED, "core.block_assistant", "Unblock"),
    *(_manual(s, S.RETIRED, "core.retire_assistant", "Retire", "danger") for s in [*_ACTIVE, S.BLOCKED]),
    _manual(S.RETIRED, S.INVENTORIED, "core.retire_assistant", "Restore"),
    # Once its prompt is approved, an assistant with flows stands where they stand (``FlowProgress``): any
    # move between those stages. No button shows them; the panels leave RULE out.
    *(_outcome(s, t, O.RULE, "Follow its flows", "its flows move")
      for s in (S.PROMPT_APPROVED, S.VALIDATING, S.VALIDATED, S.CUTOVER_APPROVED, S.MIGRATED)
      for t in (S.PROMPT_APPROVED, S.VALIDATING, S.VALIDATED, S.CUTOVER_APPROVED, S.MIGRATED) if s != t),
)

F = FlowStatus
_F_ACTIVE = [F.PLANNING, F.VALIDATED, F.AWAITING_APPROVAL, F.APPROVED]
_ROLLBACK = "roll back on the flow's cutover page"
# A flow that already serves a production version (MIGRATED) can put a successor forward; when that request
# ends without a rollout (declined, void), or a ramp is rolled back, it returns to MIGRATED: it still serves
# its production version to everyone. Where one outcome has two targets, the cutover service names the one
# that matches what the flow serves.
FLOW_TRANSITIONS: tuple[Transition, ...] = (
    _outcome(F.PLANNING, F.VALIDATED, O.RUN_PASSED, "Mark validated", "a validation run of this flow passes"),
    _outcome(F.VALIDATED, F.PLANNING, O.RUN_FAILED, "Validation failed", "a validation run of this flow fails"),
    *(_outcome(s, F.PLANNING, O.EVIDENCE_STALE, "Evidence stale", "the mode or configuration changes")
      for s in (F.VALIDATED, F.AWAITING_APPROVAL, F.APPROVED)),
    *(_outcome(s, F.MIGRATED, O.EVIDENCE_STALE, "Evidence stale", "the mode or configuration changes")
      for s in (F.AWAITING_APPROVAL, F.APPROVED)),
    *(_outcome(s, F.AWAITING_APPROVAL, O.CUTOVER_REQUESTED, "Request cutover",
               "an engineer requests a cutover with complete evidence") for s in (F.VALIDATED, F.MIGRATED)),
    _outcome(F.AWAITING_APPROVAL, F.APPROVED, O.CUTOVER_APPROVED, "Approve cutover", _CUTOVER),
    *(_outcome(F.AWAITING_APPROVAL, t, O.CUTOVER_DECLINED, "Decline", "a support lead declines the request")
      for t in (F.VALIDATED, F.MIGRATED)),
    _outcome(F.APPROVED, F.ROLLING_OUT, O.CUTOVER_RAMPED, "Ramp", "ramp on the flow's cutover page"),
    *(_outcome(s, F.MIGRATED, O.CUTOVER_COMPLETED, "Mark migrated", "the rollout reaches 100%")
      for s in (F.APPROVED, F.ROLLING_OUT)),
    *(_outcome(s, t, O.CUTOVER_ROLLED_BACK, "Roll back", _ROLLBACK)
      for s in (F.APPROVED, F.ROLLING_OUT, F.MIGRATED) for t in (F.VALIDATED, F.MIGRATED) if s != t),
    *(_manual(s, F.BLOCKED, "core.change_flow", "Block", "danger") for s in _F_ACTIVE),
    _manual(F.BLOCKED, F.PLANNING, "core.change_flow", "Unblock"),
    # Unblocking a flow that serves a production release returns it to migrated, not planning: the service
    # picks this target for the Unblock button (one button; this move shows none).
    _outcome(F.BLOCKED, F.MIGRATED, O.RULE, "Unblock", "it is unblocked while serving production"),
)


Table = tuple[Transition, ...] | Mapping[str, Iterable[str]]


def field_of(model: type[models.Model]) -> str:
    """The name of the field ``model``'s table moves: ``STATUS_FIELD``, or ``status``."""
    return getattr(model, "STATUS_FIELD", "status")


def table_of(model: type[models.Model]) -> Table:
    table = getattr(model, "STATUS_TRANSITIONS", None)
    if table is None:
        raise TypeError(f"{model.__name__} declares no STATUS_TRANSITIONS: its status cannot move.")
    return table


def targets_of(table: Table, source: str) -> frozenset[str]:
    """Where the table lets a status go from ``source``."""
    if isinstance(table, Mapping):
        return frozenset(table.get(source, ()))
    return frozenset(t.target for t in table if t.source == source)


def sources_of(table: Table, target: str) -> list[str]:
    """Every status the table lets leave for ``target``."""
    if isinstance(table, Mapping):
        return [s for s, targets in table.items() if target in targets]
    return list(dict.fromkeys(t.source for t in table if t.target == target))


def _label(model: type[models.Model], value: str) -> str:
    choices = dict(model._meta.get_field(field_of(model)).choices or ())
    return str(choices.get(value, value)).lower()


def check_move(model: type[models.Model], source: str, target: str) -> None:
    """Raise :class:`InvalidTransition` unless ``model``'s table allows ``source → target``."""
    if target not in targets_of(table_of(model), source):
        raise InvalidTransition(f"A {model._meta.verbose_name} that is {_label(model, source)} cannot become "
                                f"{_label(model, target)}.")


def move(obj: models.Model, to: str, *, where: Mapping[str, Any] | None = None, any_source: bool = False,
         history: Mapping[str, Any] | None = None, **fields: Any) -> bool:
    """Move one row from the status ``obj`` holds to ``to``, writing ``fields`` with it.

    Refuses (:class:`InvalidTransition`) a move the model's table does not list. The write is a compare-and-set,
    ``UPDATE … WHERE pk AND status = <obj.status> [AND where]``, so of two movers only one wins; it returns
    False (and changes nothing, ``obj`` included) when the row was no longer where ``obj`` said. With
    ``any_source`` the row may be in any status the table lets go to ``to`` (``status IN …``), whatever ``obj``
    last saw; ``where`` may narrow those further. A model that keeps a history (``STATUS_HISTORY``, the related
    name of its rows with from/to status, actor and reason) gets a row, from ``history`` (``actor``, ``reason``).
    ``status`` stands for the model's ``STATUS_FIELD`` throughout. ``.update()`` skips ``auto_now`` fields: a
    caller that wants one touched passes it in ``fields``.
    """
    model = type(obj)
    field = field_of(model)
    before = getattr(obj, field)
    kept = getattr(model, "STATUS_HISTORY", "")
    if kept and (history is None or any_source):
        raise TypeError(f"{model.__name__} keeps a status history: say who moved it and why (history=…), "
                        "from the status it holds.")
    if any_source:
        rows = model._base_manager.filter(pk=obj.pk, **{f"{field}__in": sources_of(table_of(model), to)})
    else:
        check_move(model, before, to)
        rows = model._base_manager.filter(pk=obj.pk, **{field: before})
    values = {field: to, **fields}
    done = rows.filter(**(where or {})).update(**values)
    if not done:
        return False
    for key, value in values.items():
        if not hasattr(value, "resolve_expression"):  # F() and friends: the caller refreshes if it needs them
            setattr(obj, key, value)
    if kept:
        getattr(obj, kept).create(from_status=before, to_status=to, **history)
    return True


def move_all(queryset: models.QuerySet, to: str, **fields: Any) -> int:
    """Move every row of ``queryset`` that the table lets go to ``to``; the others are left alone.

    One ``UPDATE … WHERE <queryset> AND status IN <sources of to>``, so it is a compare-and-set as well: a
    worker's claim, a reaper and a user racing on one row cannot both win. Returns how many rows moved.
    A model that keeps a status history cannot be moved in bulk (each move needs its row).
    """
    model = queryset.model
    if getattr(model, "STATUS_HISTORY", ""):
        raise TypeError(f"{model.__name__} keeps a status history: move its rows one by one (move()).")
    sources = sources_of(table_of(model), to)
    if not sources:
        return 0
    field = field_of(model)
    return queryset.filter(**{f"{field}__in": sources}).update(**{field: to, **fields})


def transitions_from(table: tuple[Transition, ...], source: str) -> list[Transition]:
    return [t for t in table if t.source == source]


def find_transition(table: tuple[Transition, ...], source: str, target: str, outcome: str = "") -> Transition | None:
    """The move ``source → target``: the manual one when ``outcome`` is empty, else the one ``outcome`` makes."""
    return next((t for t in table if t.source == source and t.target == target and t.outcome == outcome), None)


def outcome_move(
    table: tuple[Transition, ...], source: str, outcome: str, prefer: str | None = None
) -> Transition | None:
    """Where ``outcome`` takes a status from ``source`` (None: this outcome does not move it from there).

    Where the table lists two targets for one outcome, ``prefer`` picks one (the first listed otherwise).
    """
    moves = [t for t in table if t.source == source and t.outcome == outcome]
    if prefer is not None:
        return next((t for t in moves if t.target == prefer), None)
    return moves[0] if moves else None


# --- The one status story -----------------------------------------------------------------------------------
# Once its prompt is approved, an assistant stands where its least advanced flow stands: it is Migrated when
# every flow is, Cutover approved when every flow serves (or is approved to serve) the new configuration,
# Validated when every flow has passed validation, Validating while a flow still in planning has a run going,
# and Prompt approved otherwise. Every page and count reads statuses kept by this rule, and says it in words.

FOLLOWS_FLOWS = frozenset({S.PROMPT_APPROVED, S.VALIDATING, S.VALIDATED, S.CUTOVER_APPROVED, S.MIGRATED})
_STAGE_OF_FLOW = {
    F.PLANNING: S.PROMPT_APPROVED, F.BLOCKED: S.PROMPT_APPROVED,
    F.VALIDATED: S.VALIDATED, F.AWAITING_APPROVAL: S.VALIDATED,
    F.APPROVED: S.CUTOVER_APPROVED, F.ROLLING_OUT: S.CUTOVER_APPROVED,
    F.MIGRATED: S.MIGRATED,
}
_STAGE_ORDER = [S.PROMPT_APPROVED, S.VALIDATING, S.VALIDATED, S.CUTOVER_APPROVED, S.MIGRATED]
# How the words list the flows that are not migrated yet, most advanced first.
_WORDS = [
    (F.ROLLING_OUT, "rolling out"), (F.APPROVED, "cutover approved"),
    (F.AWAITING_APPROVAL, "awaiting cutover approval"), (F.VALIDATED, "validated"),
    ("validating", "validating"), (F.PLANNING, "planning"), (F.BLOCKED, "blocked"),
]


@dataclass(frozen=True)
class FlowProgress:
    """An assistant's flows counted by status; ``validating`` counts planning flows with a run going."""

    counts: tuple[tuple[str, int], ...] = ()
    validating: int = 0

    def count(self, status: str) -> int:
        return dict(self.counts).get(status, 0)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)

    def assistant_status(self, stored: str) -> str:
        """The assistant's status by the one rule (``stored`` stands where the rule does not apply: before
        approval, blocked, retired, or no flows yet)."""
        if stored not in FOLLOWS_FLOWS or not self.total:
            return stored
        least = min((_STAGE_OF_FLOW[s] for s, n in self.counts if n), key=_STAGE_ORDER.index)
        if least == S.PROMPT_APPROVED and self.validating:
            return S.VALIDATING
        return least

    def words(self) -> str:
        """"2 of 3 flows migrated; 1 validating"."""
        total = self.total
        if not total:
            return "no flows yet"
        parts = [f"{self.count(F.MIGRATED)} of {total} {'flow' if total == 1 else 'flows'} migrated"]
        for key, label in _WORDS:
            if key == "validating":
                n = self.validating
            elif key == F.PLANNING:
                n = self.count(F.PLANNING) - self.validating
            else:
                n = self.count(key)
            if n > 0:
                parts.append(f"{n} {label}")
        return "; ".join(parts)
