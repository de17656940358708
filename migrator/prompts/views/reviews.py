"""Asking for approval: request a review of a version, withdraw it, and the reviewer's inbox."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from migrator.core import safeinput
from migrator.core.views.common import refusals_go_to
from migrator.prompts import reviews
from migrator.prompts.models import ReviewRequest, ReviewStatus
from migrator.prompts.views.common import visible_version


@require_POST
def request_review(request: HttpRequest, pk: int) -> HttpResponse:
    version = visible_version(request, pk)
    raw = (request.POST.get("reviewer") or "").strip()
    reviewer_id = safeinput.parse_int(raw, low=1)
    if raw and reviewer_id is None:
        messages.error(request, f"Reviewer: {raw[:40]!r} is not a person; pick one from the list or the product owners.")
        return redirect(version.get_absolute_url() + "#review")
    refusals_go_to(request, version.get_absolute_url() + "#review")
    made = reviews.request_review(version_id=version.pk, actor=request.user,
                                  reviewer_id=reviewer_id, note=request.POST.get("note", ""))
    messages.success(request, f"Asked {made.reviewer_label} to review v{version.number}.")
    return redirect(version.get_absolute_url() + "#review")


@require_POST
def withdraw_review(request: HttpRequest, pk: int) -> HttpResponse:
    found = ReviewRequest.objects.filter(pk=pk, version__in=_visible_versions(request)).select_related("version").first()
    if found is None:
        messages.error(request, f"Review request #{pk} does not exist.")
        return redirect("prompts:reviews")
    refusals_go_to(request, found.version.get_absolute_url() + "#review")
    reviews.withdraw_review(request_id=found.pk, actor=request.user)
    messages.success(request, f"Withdrew the review request for v{found.version.number}.")
    return redirect(found.version.get_absolute_url() + "#review")


def _visible_versions(request: HttpRequest):
    from migrator.prompts.models import PromptVersion

    return PromptVersion.objects.visible_to(request.user)


@require_GET
def review_inbox(request: HttpRequest) -> HttpResponse:
    related = ("version", "version__assistant", "version__author", "requested_by", "reviewer")
    waiting = ReviewRequest.objects.waiting_for(request.user).select_related(*related).order_by("created_at")
    asked = (ReviewRequest.objects.filter(requested_by=request.user, status=ReviewStatus.OPEN,
                                          version__in=_visible_versions(request))
             .select_related(*related).order_by("created_at")) if request.user.is_authenticated else []
    answered = (ReviewRequest.objects.exclude(status=ReviewStatus.OPEN).filter(version__in=_visible_versions(request))
                .select_related(*related).order_by("-closed_at")[:10])
    return render(request, "prompts/reviews.html", {
        "waiting": waiting, "asked": asked, "answered": answered,
        "can_approve": request.user.has_perm("core.approve_prompt"),
    })
