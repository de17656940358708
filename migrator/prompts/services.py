"""Prompt services: check, act in one transaction, audit. Views, jobs, the drift receiver and commands call these.

Status changes go through ``migrator.core.services.status``; labels move only through ``move_label`` (or its
unchecked core, used after a service has already checked the permission for the larger action).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from migrator.core.actors import SYSTEM, label_of, may, system, user_or_none
from migrator.core.confighash import config_hash
from migrator.core.models import Assistant, Connection, Job
from migrator.core.services import NotAllowed, ServiceError, audit
from migrator.core.services.connection_access import require_use
from migrator.core.services.jobs import start_job
from migrator.core.services.status import apply_outcome
from migrator.core.signals import approved_version_changed
from migrator.core.status import MigrationStatus, Outcome
from migrator.prompts.conversion import convert, validate_config
from migrator.prompts.conversion.analyse import analyse
from migrator.prompts.conversion.validate import Problem
from migrator.prompts.decisions import resolve_ledger
from migrator.prompts.models import APPROVED_ONLY, LabelName, PromptComment, PromptLabel, PromptVersion
from migrator.prompts.reviews import close_on_approval
from migrator.prompts.trying import MODES, state_mode_for

S = MigrationStatus
# An edit or upstream drift in these states sends the assistant back to review.
SEND_BACK_FROM = frozenset({S.PROMPT_APPROVED, S.VALIDATING, S.VALIDATED, S.CUTOVER_APPROVED})
MAX_COMMENT = 10_000
MAX_TRY_INPUT = 20_000
TRY_JOB_KIND = "prompts.try_version"


class ConfigInvalid(ServiceError):
    """The edited configuration does not validate; ``problems`` say where and what."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        super().__init__(f"The configuration is not valid: {shown}{more}")


_DRIFT = system("drift", "upstream drift detection")


def _require(actor, perm: str, message: str) -> None:
    if not may(actor, perm):
        raise NotAllowed(message)


def _user(actor):
    return user_or_none(actor)


def _locked_assistant(assistant_id: int) -> Assistant:
    try:
        return Assistant.objects.select_for_update().get(pk=assistant_id)
    except Assistant.DoesNotExist:
        raise ServiceError(f"Assistant #{assistant_id} does not exist.") from None


def _locked_version(version_id: int) -> PromptVersion:
    try:
        return PromptVersion.objects.select_for_update().select_related("assistant").get(pk=version_id)
    except PromptVersion.DoesNotExist:
        raise ServiceError(f"Prompt version #{version_id} does not exist.") from None


def legacy_definition(assistant: Assistant) -> dict[str, Any]:
    """The assistant as an Assistants API object: the imported raw JSON, overlaid with the normalised fields
    (which the import keeps current and drift detection compares)."""
    data: dict[str, Any] = copy.deepcopy(assistant.raw) if isinstance(assistant.raw, dict) else {}
    data["id"] = assistant.legacy_id
    data.setdefault("object", "assistant")
    for field in ("name", "description", "model", "instructions", "tools", "tool_resources", "response_format",
                  "temperature", "top_p", "reasoning_effort", "metadata"):
        value = getattr(assistant, field)
        if value not in (None, "", [], {}):
            data[field] = copy.deepcopy(value)
    return data


def label_version(assistant_id: int, label: str) -> PromptVersion | None:
    found = PromptLabel.objects.filter(assistant_id=assistant_id, name=label).select_related("version").first()
    return found.version if found else None


def _move_label_unchecked(*, assistant: Assistant, label: str, version: PromptVersion, actor,
                          reason: str = "") -> tuple[PromptLabel, bool]:
    existing = PromptLabel.objects.select_for_update().filter(assistant=assistant, name=label).first()
    if existing and existing.version_id == version.pk:
        return existing, False
    before = existing.version_id if existing else None
    if existing:
        existing.version = version
        existing.moved_by = _user(actor)
        existing.save(update_fields=["version", "moved_by", "moved_at"])
        row = existing
    else:
        row = PromptLabel.objects.create(assistant=assistant, name=label, version=version, moved_by=_user(actor))
    audit.record(
        actor=actor, verb="migrator.prompt.label_moved", obj=assistant,
        before={"label": label, "version_id": before}, after={"label": label, "version_id": version.pk},
        data={"version": version.number, "reason": reason} if reason else {"version": version.number},
    )
    return row, True


def _create_version(*, assistant: Assistant, parent: PromptVersion | None, config: dict[str, Any],
                    ledger: list, findings: list, schemas: list, strict_choices: dict, source: dict,
                    is_generated: bool, author, message: str) -> PromptVersion:
    number = (PromptVersion.objects.filter(assistant=assistant).aggregate(n=Max("number"))["n"] or 0) + 1
    return PromptVersion.objects.create(
        assistant=assistant, number=number, parent=parent, config=config, ledger=ledger, findings=findings,
        schemas=schemas, strict_choices=strict_choices, source=source, source_hash=assistant.definition_hash,
        is_generated=is_generated, author=_user(author) if not is_generated else None, message=message,
    )


def _back_to_review(*, assistant_id: int, actor, reason: str) -> None:
    """Move the assistant to prompt_drafted on its first draft. A new draft on top of an approved version
    (an edit, a strict-mode choice) changes no status: the approved version still stands, and is what flows
    validate and serve, until a product owner approves the new one (upstream drift is another matter)."""
    assistant = Assistant.objects.get(pk=assistant_id)
    if assistant.status == S.INVENTORIED:
        apply_outcome(outcome=Outcome.VERSION_GENERATED, actor=actor, assistant_id=assistant_id, reason=reason)
    elif label_version(assistant_id, LabelName.APPROVED) is None:
        apply_outcome(outcome=Outcome.VERSION_EDITED, actor=actor, assistant_id=assistant_id, reason=reason)


def generate_version(*, assistant_id: int, actor, message: str = "", today: date | None = None) -> PromptVersion:
    """Convert the assistant's current legacy definition into a new generated version and move ``draft`` to it."""
    _require(actor, "core.draft_prompt", "You may not draft prompts.")
    with transaction.atomic():
        assistant = _locked_assistant(assistant_id)
        if assistant.status == S.RETIRED:
            raise ServiceError(f"{assistant.display_name} is retired; restore it before drafting a prompt.")
        source = legacy_definition(assistant)
        result = convert(source, today=today)
        if result.errors:
            raise ServiceError(f"{assistant.display_name} cannot be converted: {result.error_message()}")
        parent = label_version(assistant.pk, LabelName.DRAFT) or assistant.prompt_versions.first()
        version = _create_version(
            assistant=assistant, parent=parent, config=result.kwargs, ledger=result.ledger_dicts(),
            findings=result.finding_dicts(), schemas=[s.to_dict() for s in result.schemas],
            strict_choices=result.strict_choices(), source=source, is_generated=True, author=None,
            message=message or ("Generated from the legacy assistant." if parent is None else
                                "Regenerated from the legacy assistant."),
        )
        _move_label_unchecked(assistant=assistant, label=LabelName.DRAFT, version=version, actor=actor,
                              reason="generated")
        audit.record(actor=actor, verb="migrator.prompt.generated", obj=version,
                     after={"version": version.number, "model": version.config.get("model")},
                     data={"assistant_id": assistant.pk, "message": version.message})
        _back_to_review(assistant_id=assistant.pk, actor=actor, reason=f"Prompt v{version.number} generated.")
    return version


def save_edit(*, parent_id: int, actor, config: dict[str, Any] | None = None, instructions: str | None = None,
              message: str = "", strict_choices: dict[str, dict[str, Any]] | None = None) -> PromptVersion:
    """Save an edited configuration (or just new instructions) as a child of ``parent_id``.

    Raises ``ConfigInvalid`` (with per-field problems) when the result does not validate; nothing is saved.
    """
    _require(actor, "prompts.edit_prompt", "You may not edit prompts.")
    if config is None and instructions is None:
        raise ServiceError("Nothing to save: send a configuration or instructions.")
    return _save_child(parent_id=parent_id, actor=actor, config=config, instructions=instructions, message=message,
                       strict_choices=strict_choices)


def _save_child(*, parent_id: int, actor, config: dict[str, Any] | None, instructions: str | None, message: str,
                strict_choices: dict[str, dict[str, Any]] | None = None,
                change: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> PromptVersion:
    """A new draft version, child of ``parent_id``, after the caller checked who may make this change. ``change``
    builds the new configuration from a copy of the locked parent's (so two changes never overwrite each other)."""
    with transaction.atomic():
        parent = _locked_version(parent_id)
        assistant = _locked_assistant(parent.assistant_id)
        if assistant.status == S.RETIRED:
            raise ServiceError(f"{assistant.display_name} is retired; restore it before editing its prompt.")
        if change is not None:
            config = change(copy.deepcopy(parent.config))
        new_config = copy.deepcopy(config if config is not None else parent.config)
        if instructions is not None:
            if not isinstance(new_config, dict):
                raise ConfigInvalid([Problem("", "the configuration must be a JSON object.")])
            text = instructions.replace("\r\n", "\n")
            if text.strip():
                new_config["instructions"] = text
            else:
                new_config.pop("instructions", None)
            if "instructions" in new_config:  # keep the familiar key order: instructions right after model
                new_config = {k: new_config[k] for k in ["model", "instructions"] if k in new_config} | {
                    k: v for k, v in new_config.items() if k not in ("model", "instructions")}
        problems = validate_config(new_config)
        if problems:
            raise ConfigInvalid(problems)
        if new_config == parent.config:
            raise ServiceError("Nothing changed compared with the version you edited.")
        result = analyse(new_config, previous_schemas=parent.schemas, previous_findings=parent.findings)
        choices = dict(parent.strict_choices or {})
        by = label_of(actor)
        for review in result.schemas:
            before = choices.get(review["pointer"]) or {}
            if before.get("choice") != review["choice"] or before.get("strict") != review["strict"]:
                choices[review["pointer"]] = {"choice": review["choice"], "strict": review["strict"], "by": by,
                                              "at": timezone.now().isoformat()}
        live = {r["pointer"] for r in result.schemas}
        choices = {p: c for p, c in choices.items() if p in live}
        choices.update(strict_choices or {})
        version = _create_version(
            assistant=assistant, parent=parent, config=new_config, ledger=resolve_ledger(parent.ledger or [], choices),
            findings=result.findings,
            schemas=result.schemas, strict_choices=choices, source=parent.source, is_generated=False, author=actor,
            message=message.strip() or ("Edited the instructions." if config is None else "Edited the configuration."),
        )
        _move_label_unchecked(assistant=assistant, label=LabelName.DRAFT, version=version, actor=actor,
                              reason="edited")
        audit.record(actor=actor, verb="migrator.prompt.edited", obj=version,
                     before={"version": parent.number}, after={"version": version.number},
                     data={"assistant_id": assistant.pk, "message": version.message})
        _back_to_review(assistant_id=assistant.pk, actor=actor, reason=f"Prompt v{version.number} edited.")
    return version


VECTOR_STORE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
MAX_VECTOR_STORES = 2  # what file_search accepts in one tool


def attach_vector_stores(*, version_id: int, tool_index: int, vector_store_ids: list[str], actor) -> PromptVersion:
    """Set the vector stores of a file_search tool: a new draft version (it goes back to review like any edit).

    Who may regenerate a draft from the legacy definition (``core.draft_prompt``: engineers and product owners)
    may do this: it names the resources a tool reads, not the prompt's wording, and a tool without a store fails
    its test (the Tools tab offers it, beside that finding)."""
    _require(actor, "core.draft_prompt", "You may not change prompt versions.")
    ids = list(dict.fromkeys(v.strip() for v in vector_store_ids if v and v.strip()))
    if not ids:
        raise ServiceError("Choose a vector store, or type its id (vs_…).")
    bad = [v for v in ids if not VECTOR_STORE_ID.match(v)]
    if bad:
        raise ServiceError(f"“{bad[0][:60]}” is not a vector store id (letters, digits, _ and -, as in vs_abc123).")
    if len(ids) > MAX_VECTOR_STORES:
        raise ServiceError(f"A file_search tool reads at most {MAX_VECTOR_STORES} vector stores.")
    def with_stores(config: dict[str, Any]) -> dict[str, Any]:
        tools = config.get("tools") if isinstance(config, dict) else None
        if not isinstance(tools, list) or not 0 <= tool_index < len(tools) or not isinstance(tools[tool_index], dict):
            raise ServiceError("That tool is no longer in this version; reload the page.")
        tool = tools[tool_index]
        if tool.get("type") != "file_search":
            raise ServiceError("Only a file_search tool reads vector stores.")
        tool["vector_store_ids"] = ids
        return config

    message = f"Attached vector store{'s' if len(ids) > 1 else ''} {', '.join(ids)} to file_search."
    return _save_child(parent_id=version_id, actor=actor, config=None, instructions=None, message=message,
                       change=with_stores)


def propose_successor(*, version_id: int, successor: str, actor, info=None) -> PromptVersion:
    """A candidate for the move off a retiring model: the approved ``version_id`` on ``successor``, with the
    reasoning-model conversion rules applied and explained in the ledger. Nothing is approved or relabelled here
    and the assistant's status does not move: the flow's cutover request carries the candidate to a decision."""
    from migrator.core import model_catalog
    from migrator.prompts.successor import successor_config

    _require(actor, "prompts.propose_successor", "You may not put prompts on a successor model.")
    with transaction.atomic():
        parent = _locked_version(version_id)
        assistant = _locked_assistant(parent.assistant_id)
        if not parent.is_approved:
            raise ServiceError(f"v{parent.number} of {assistant.display_name} is not approved; only an approved "
                               "version moves to a successor.")
        old = str(parent.config.get("model") or "")
        if not successor or successor == old:
            raise ServiceError(f"v{parent.number} is already on {old or 'no model'}; name another model.")
        info = info or model_catalog.lookup(old)
        config, entries = successor_config(parent.config, info, successor)
        problems = validate_config(config)
        if problems:
            raise ConfigInvalid(problems)
        result = analyse(config, previous_schemas=parent.schemas, previous_findings=parent.findings)
        version = _create_version(
            assistant=assistant, parent=parent, config=config, ledger=[*entries, *(parent.ledger or [])],
            findings=result.findings, schemas=result.schemas, strict_choices=dict(parent.strict_choices or {}),
            source=parent.source, is_generated=True, author=actor,
            message=f"{label_of(actor)}: v{parent.number} moved from {old} to its successor {successor}.",
        )
        audit.record(actor=actor, verb="migrator.prompt.successor_proposed", obj=version,
                     before={"version": parent.number, "model": old},
                     after={"version": version.number, "model": successor},
                     data={"assistant_id": assistant.pk, "ledger": entries})
    return version


def choose_strict(*, version_id: int, pointer: str, choice: str, actor) -> PromptVersion:
    """Record the reviewer's strict-mode choice for one schema: the fixed schema with ``strict: true``, or the
    original with ``strict: false``. Saved as a child version (versions never change)."""
    _require(actor, "prompts.edit_prompt", "You may not edit prompts.")
    if choice not in ("fixed", "original"):
        raise ServiceError("Choose 'fixed' (strict: true) or 'original' (strict: false).")
    version = PromptVersion.objects.filter(pk=version_id).first()
    if version is None:
        raise ServiceError(f"Prompt version #{version_id} does not exist.")
    review = next((s for s in version.schemas or [] if s.get("pointer") == pointer), None)
    if review is None:
        raise ServiceError(f"There is no schema at {pointer} in v{version.number}.")
    if choice == "fixed" and not review.get("fixable"):
        raise ServiceError(f"The schema of {review['label']} cannot be made strict automatically; edit it in the "
                           "configuration editor, or keep the original with strict: false.")
    config = copy.deepcopy(version.config)
    parts = pointer.strip("/").split("/")
    holder: Any = config
    for part in parts[:-1]:
        holder = holder[int(part)] if isinstance(holder, list) else holder[part]
    holder[parts[-1]] = copy.deepcopy(review["fixed"] if choice == "fixed" else review["original"])
    holder["strict"] = choice == "fixed"
    by = label_of(actor)
    label = review["label"]
    return save_edit(
        parent_id=version.pk, actor=actor, config=config,
        message=f"Strict mode for {label}: " + ("fixed schema, strict: true." if choice == "fixed"
                                                 else "original schema, strict: false."),
        strict_choices={pointer: {"choice": choice, "strict": choice == "fixed", "by": by,
                                  "at": timezone.now().isoformat()}},
    )


def self_approval(actor, version: PromptVersion) -> bool:
    """Whether ``actor`` approving ``version`` would approve their own edit, which the four-eyes rule refuses
    (unless ``ALLOW_SELF_APPROVAL``). Pages ask this and :func:`may_approve` rather than re-stating the rule."""
    return bool(version.author_id and _user(actor) and version.author_id == actor.pk
                and not settings.ALLOW_SELF_APPROVAL)


def may_approve(actor, version: PromptVersion) -> bool:
    """Whether :func:`approve_version` would let ``actor`` approve ``version`` (permission and four eyes)."""
    return may(actor, "core.approve_prompt") and not self_approval(actor, version)


def approve_version(*, version_id: int, actor) -> PromptVersion:
    """A product owner approves a version: stamp it, move ``approved`` to it, move the status to prompt_approved."""
    _require(actor, "core.approve_prompt", "Only product owners may approve prompts.")
    with transaction.atomic():
        version = _locked_version(version_id)
        assistant = _locked_assistant(version.assistant_id)
        if self_approval(actor, version):
            raise NotAllowed(f"You wrote v{version.number}; another product owner has to approve it.")
        problems = validate_config(version.config)
        if problems:
            raise ConfigInvalid(problems)
        if assistant.status in (S.RETIRED, S.BLOCKED):
            raise ServiceError(f"{assistant.display_name} is {S(assistant.status).label.lower()}; it cannot be "
                               "approved now.")
        current = label_version(assistant.pk, LabelName.APPROVED)
        if version.is_approved and current and current.pk == version.pk and not version.needs_rereview:
            return version
        fields = ["needs_rereview", "rereview_reason"]
        if not version.is_approved:
            version.approved_by = _user(actor)
            version.approved_at = timezone.now()
            fields += ["approved_by", "approved_at"]
        version.needs_rereview = False
        version.rereview_reason = ""
        version.save(update_fields=fields)
        _move_label_unchecked(assistant=assistant, label=LabelName.APPROVED, version=version, actor=actor,
                              reason="approved")
        close_on_approval(version=version, actor=actor)
        Assistant.objects.filter(pk=assistant.pk).update(needs_review=False)
        audit.record(actor=actor, verb="migrator.prompt.approved", obj=version,
                     before={"approved_version_id": current.pk if current else None},
                     after={"approved_version_id": version.pk}, data={"assistant_id": assistant.pk,
                                                                       "version": version.number})
        evidence = {"version_id": version.pk, "version": version.number, "config_hash": config_hash(version.config)}
        apply_outcome(outcome=Outcome.VERSION_GENERATED, actor=actor, assistant_id=assistant.pk,
                      reason=f"Prompt v{version.number} approved.", evidence=evidence)
        apply_outcome(outcome=Outcome.VERSION_APPROVED, actor=actor, assistant_id=assistant.pk,
                      reason=f"Prompt v{version.number} approved.", evidence=evidence)
        if current is None or current.pk != version.pk:
            approved_version_changed.send(sender=PromptVersion, assistant_id=assistant.pk, version=version,
                                          previous=current, actor=actor)
    return version


def move_label(*, assistant_id: int, label: str, version_id: int, actor, reason: str = "") -> PromptLabel:
    """Point ``label`` at a version. Moving ``production`` is the cutover switch; moving it back is rollback."""
    if label not in LabelName.values:
        raise ServiceError(f"Unknown label {label!r}; use draft, approved or production.")
    if label == LabelName.PRODUCTION:
        raise ServiceError("What production serves is set per flow by a cutover (request, approval, rollout), "
                           "not by a label: open the flow's Cutover page.")
    elif label == LabelName.APPROVED:
        _require(actor, "core.approve_prompt", "Only product owners may move the approved label.")
    elif not (may(actor, "prompts.edit_prompt") or may(actor, "core.draft_prompt")):
        # A system actor is asked like a person: one holding neither permission may not move it either.
        raise NotAllowed(f"{label_of(actor)} may not move the draft label.")
    with transaction.atomic():
        assistant = _locked_assistant(assistant_id)
        version = PromptVersion.objects.filter(pk=version_id, assistant=assistant).first()
        if version is None:
            raise ServiceError(f"Version #{version_id} is not a prompt version of {assistant.display_name}.")
        if label in APPROVED_ONLY and not version.is_approved:
            raise ServiceError(f"v{version.number} has not been approved, so it cannot carry the {label} label.")
        row, _changed = _move_label_unchecked(assistant=assistant, label=label, version=version, actor=actor,
                                              reason=reason)
    return row


def add_comment(*, version_id: int, actor, body: str) -> PromptComment:
    _require(actor, "prompts.add_promptcomment", "You may not comment on prompts.")
    text = (body or "").strip()
    if not text:
        raise ServiceError("Write a comment first.")
    if len(text) > MAX_COMMENT:
        raise ServiceError(f"Comments are limited to {MAX_COMMENT:,} characters.")
    with transaction.atomic():
        version = PromptVersion.objects.filter(pk=version_id).first()
        if version is None:
            raise ServiceError(f"Prompt version #{version_id} does not exist.")
        comment = PromptComment.objects.create(version=version, author=_user(actor), body=text)
        audit.record(actor=actor, verb="migrator.prompt.commented", obj=version,
                     data={"comment_id": comment.pk, "assistant_id": version.assistant_id})
    return comment


def handle_drift(*, assistant_id: int, changed_fields: list[str]) -> PromptVersion | None:
    """Upstream changed: regenerate a draft, flag the approved version for re-review, send back to review."""
    fields = ", ".join(changed_fields) or "definition"
    with transaction.atomic():
        assistant = _locked_assistant(assistant_id)
        version = None
        source = legacy_definition(assistant)
        result = convert(source)
        if result.errors:
            audit.record(actor=SYSTEM, verb="migrator.prompt.regeneration_failed", obj=assistant,
                         data={"changed_fields": changed_fields, "errors": [str(e) for e in result.errors]})
        else:
            parent = label_version(assistant.pk, LabelName.DRAFT) or assistant.prompt_versions.first()
            version = _create_version(
                assistant=assistant, parent=parent, config=result.kwargs, ledger=result.ledger_dicts(),
                findings=result.finding_dicts(), schemas=[s.to_dict() for s in result.schemas],
                strict_choices=result.strict_choices(), source=source, is_generated=True, author=None,
                message=f"Regenerated after upstream drift: {fields}",
            )
            _move_label_unchecked(assistant=assistant, label=LabelName.DRAFT, version=version, actor=SYSTEM,
                                  reason="upstream drift")
            audit.record(actor=SYSTEM, verb="migrator.prompt.generated", obj=version,
                         after={"version": version.number}, data={"drift": changed_fields})
        approved = label_version(assistant.pk, LabelName.APPROVED)
        if approved is not None:
            approved.needs_rereview = True
            approved.rereview_reason = f"The legacy assistant changed upstream ({fields}) after this was approved."
            approved.save(update_fields=["needs_rereview", "rereview_reason"])
        Assistant.objects.filter(pk=assistant.pk).update(needs_review=True)
        if assistant.status in SEND_BACK_FROM:
            apply_outcome(outcome=Outcome.VERSION_EDITED, actor=_DRIFT, assistant_id=assistant.pk,
                          reason=f"Upstream drift: {fields}")
    return version


def start_try(*, version_id: int, actor, input_text: str, connection_id: int | None = None,
              mode: str | None = None) -> Job:
    """Queue one ``responses.create`` with this version and a sample input (the Sandbox connection by default).

    It is the first turn of a conversation in ``mode`` (the assistant's flows' mode by default); the job page
    continues it (``migrator.prompts.trying.continue_try``)."""
    _require(actor, "prompts.try_prompt", "You may not try prompt versions.")
    text = (input_text or "").strip()
    if not text:
        raise ServiceError("Write a sample input to send.")
    if len(text) > MAX_TRY_INPUT:
        raise ServiceError(f"The sample input is limited to {MAX_TRY_INPUT:,} characters.")
    if mode is not None and mode not in MODES:
        raise ServiceError(f"Unknown state mode {mode!r}; choose {', '.join(MODES)}.")
    version = PromptVersion.objects.select_related("assistant").filter(pk=version_id).first()
    if version is None:
        raise ServiceError(f"Prompt version #{version_id} does not exist.")
    if connection_id:
        connection = Connection.objects.filter(pk=connection_id).first()
        if connection is None:
            raise ServiceError(f"Connection #{connection_id} does not exist.")
    else:
        from migrator.core.services.connections import ensure_sandbox_connection

        connection = ensure_sandbox_connection()
    require_use(actor, connection, "try")
    return start_job(
        kind=TRY_JOB_KIND, actor=actor, subject=version.assistant,
        subject_label=f"{version.assistant.display_name} v{version.number}",
        params={"version_id": version.pk, "connection_id": connection.pk, "input": text, "turn": 1,
                "mode": mode or state_mode_for(version.assistant)},
    )
