"""Asking for approval: review requests on prompt versions (services; views and tabs call these).

A person who drafted or edited a version asks one product owner, or the product-owner group, to review it.
The request waits in the reviewer's "Waiting for my review" list (with a count in the sidebar) until the
version is approved (the request closes as approved), the requester withdraws it, or a newer request for the
same assistant supersedes it. Approval itself stays ``services.approve_version`` with its self-approval rule.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from migrator.core.actors import check_actor, label_of, require, user_or_none
from migrator.core.services import InvalidTransition, NotAllowed, ServiceError, audit
from migrator.core.status import move
from migrator.prompts.models import (
    PRODUCT_OWNER_GROUP,
    PromptVersion,
    ReviewRequest,
    ReviewStatus,
)


def _move(request: ReviewRequest, to: str, *, actor) -> None:
    try:  # along REVIEW_TRANSITIONS, by core's compare-and-set (False: someone closed it meanwhile)
        moved = move(request, to, closed_at=timezone.now(), closed_by_label=label_of(actor)[:150])
    except InvalidTransition:
        moved = False
    if not moved:
        raise ServiceError(f"This review request is {request.get_status_display().lower()}; it cannot become "
                           f"{ReviewStatus(to).label.lower()}.")


def reviewers() -> list:
    """People who may be asked: active users holding ``core.approve_prompt`` (product owners, admins)."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return [u for u in users if u.has_perm("core.approve_prompt")]


def request_review(*, version_id: int, actor, reviewer_id: int | None = None, note: str = "") -> ReviewRequest:
    """Ask ``reviewer_id`` (or, when None, every product owner) to review and approve a version."""
    require(actor, "prompts.request_review", action="ask for a review")
    note = (note or "").strip()
    if len(note) > 2000:
        raise ServiceError(f"The note is {len(note):,} characters; keep it under 2,000.")
    with transaction.atomic():
        version = (PromptVersion.objects.select_for_update(of=("self",)).select_related("assistant", "author")
                   .filter(pk=version_id).first())
        if version is None:
            raise ServiceError(f"Prompt version #{version_id} does not exist.")
        if version.is_approved and not version.needs_rereview:
            raise ServiceError(f"v{version.number} is already approved; there is nothing to review.")
        reviewer = None
        if reviewer_id is not None:
            reviewer = get_user_model().objects.filter(pk=reviewer_id, is_active=True).first()
            if reviewer is None:
                raise ServiceError(f"Reviewer #{reviewer_id} does not exist or is inactive.")
            if not reviewer.has_perm("core.approve_prompt"):
                raise ServiceError(f"{reviewer.get_username()} cannot approve prompts; ask a product owner.")
            if version.author_id == reviewer.pk and not settings.ALLOW_SELF_APPROVAL:
                raise ServiceError(f"{reviewer.get_username()} wrote v{version.number} and may not approve their own "
                                   "edit; ask another product owner.")
        existing = ReviewRequest.objects.select_for_update().filter(version=version, status=ReviewStatus.OPEN).first()
        if existing is not None:
            raise ServiceError(f"v{version.number} is already waiting for review by {existing.reviewer_label} "
                               f"(asked by {existing.requested_by_label} on "
                               f"{timezone.localtime(existing.created_at):%Y-%m-%d %H:%M}).")
        for older in ReviewRequest.objects.select_for_update().filter(
                version__assistant=version.assistant, status=ReviewStatus.OPEN):
            _move(older, ReviewStatus.SUPERSEDED, actor=actor)
        request = ReviewRequest.objects.create(
            version=version, requested_by=user_or_none(actor), requested_by_label=label_of(actor)[:150],
            reviewer=reviewer, reviewer_group="" if reviewer else PRODUCT_OWNER_GROUP, note=note,
        )
        audit.record(actor=actor, verb="migrator.prompt.review_requested", obj=version,
                     after={"reviewer": request.reviewer_label},
                     data={"assistant_id": version.assistant_id, "version": version.number,
                           "request_id": request.pk, "note": note})
    return request


def withdraw_review(*, request_id: int, actor) -> ReviewRequest:
    """The requester, or someone who may approve prompts, withdraws an open request (nobody else: an engineer
    cannot take back what a product owner asked for)."""
    check_actor(actor)
    with transaction.atomic():
        request = (ReviewRequest.objects.select_for_update(of=("self",)).select_related("version")
                   .filter(pk=request_id).first())
        if request is None:
            raise ServiceError(f"Review request #{request_id} does not exist.")
        if not request.may_withdraw(actor):
            raise NotAllowed(f"Only {request.requested_by_label or 'the requester'}, who asked, or someone who may "
                             "approve prompts can withdraw this review request.")
        _move(request, ReviewStatus.WITHDRAWN, actor=actor)
        audit.record(actor=actor, verb="migrator.prompt.review_withdrawn", obj=request.version,
                     data={"assistant_id": request.version.assistant_id, "version": request.version.number,
                           "request_id": request.pk})
    return request


def close_on_approval(*, version: PromptVersion, actor) -> None:
    """Called inside ``approve_version``'s transaction: the version's requests are answered, older ones moot."""
    for request in ReviewRequest.objects.select_for_update().filter(
            version__assistant_id=version.assistant_id, status=ReviewStatus.OPEN).select_related("version"):
        to = ReviewStatus.APPROVED if request.version_id == version.pk else ReviewStatus.SUPERSEDED
        _move(request, to, actor=actor)


def waiting_count(user) -> int:
    """The sidebar badge: open requests this user can answer."""
    return ReviewRequest.objects.waiting_for(user).count()
