"""Asking for approval: request review, the reviewer's inbox and sidebar count, who asked and who approved."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings
from django.urls import reverse

from migrator.core.models import AuditEvent
from migrator.core.services import NotAllowed, ServiceError
from migrator.prompts import reviews, services
from migrator.prompts.models import ReviewRequest, ReviewStatus
from tests.factories import AssistantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_po(db):
    user = UserFactory(username="po2")
    user.groups.add(Group.objects.get(name="Product owner"))
    return user


@pytest.fixture
def edited(product_owner):
    assistant = AssistantFactory(name="Refund bot", model="gpt-5.5", instructions="Be brief.")
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    return services.save_edit(parent_id=v1.pk, actor=product_owner, instructions="Be brief and kind.")


def test_asking_one_product_owner(edited, product_owner, other_po, client):
    request = reviews.request_review(version_id=edited.pk, actor=product_owner, reviewer_id=other_po.pk,
                                     note="Tone changed")
    assert request.status == ReviewStatus.OPEN and request.reviewer_label == "po2"
    assert AuditEvent.objects.filter(verb="migrator.prompt.review_requested").count() == 1
    assert list(ReviewRequest.objects.waiting_for(other_po)) == [request]
    assert list(ReviewRequest.objects.waiting_for(product_owner)) == []  # the author cannot approve it anyway

    client.force_login(other_po)
    home = client.get("/").content.decode()
    assert 'data-testid="nav-badge-reviews">1<' in home
    inbox = client.get(reverse("prompts:reviews")).content.decode()
    assert "Refund bot v2" in inbox and "Tone changed" in inbox and product_owner.username in inbox
    page = client.get(edited.get_absolute_url()).content.decode()
    assert f"<strong>{product_owner.username}</strong> asked po2 to review v2" in page

    services.approve_version(version_id=edited.pk, actor=other_po)
    request.refresh_from_db()
    assert request.status == ReviewStatus.APPROVED and request.closed_by_label == "po2"
    assert reviews.waiting_count(other_po) == 0
    page = client.get(edited.get_absolute_url()).content.decode()
    assert "approved by po2 on" in page and 'data-testid="approved-line"' in page
    assert 'data-testid="request-review-form"' not in page


def test_asking_the_product_owner_group(edited, engineer, product_owner, other_po):
    request = reviews.request_review(version_id=edited.pk, actor=engineer)
    assert request.reviewer is None and request.reviewer_label == "any product owner"
    assert reviews.waiting_count(other_po) == 1
    assert reviews.waiting_count(product_owner) == 0  # wrote v2; self-approval is off
    with override_settings(ALLOW_SELF_APPROVAL=True):
        assert reviews.waiting_count(product_owner) == 1


def test_bad_requests_say_why(edited, product_owner, other_po, engineer, support_lead):
    with pytest.raises(ServiceError, match="wrote v2 and may not approve their own edit"):
        reviews.request_review(version_id=edited.pk, actor=other_po, reviewer_id=product_owner.pk)
    with pytest.raises(ServiceError, match="cannot approve prompts"):
        reviews.request_review(version_id=edited.pk, actor=product_owner, reviewer_id=engineer.pk)
    with pytest.raises(NotAllowed):
        reviews.request_review(version_id=edited.pk, actor=support_lead)
    reviews.request_review(version_id=edited.pk, actor=product_owner)
    with pytest.raises(ServiceError, match="already waiting for review by any product owner"):
        reviews.request_review(version_id=edited.pk, actor=product_owner, reviewer_id=other_po.pk)
    assert ReviewRequest.objects.count() == 1


def test_a_newer_request_supersedes_and_withdraw_closes(edited, product_owner, other_po):
    first = reviews.request_review(version_id=edited.pk, actor=product_owner)
    v3 = services.save_edit(parent_id=edited.pk, actor=product_owner, instructions="Be brief, kind and exact.")
    second = reviews.request_review(version_id=v3.pk, actor=product_owner, reviewer_id=other_po.pk)
    first.refresh_from_db()
    assert first.status == ReviewStatus.SUPERSEDED and second.status == ReviewStatus.OPEN
    reviews.withdraw_review(request_id=second.pk, actor=product_owner)
    second.refresh_from_db()
    assert second.status == ReviewStatus.WITHDRAWN
    with pytest.raises(ServiceError, match="withdrawn; it cannot become withdrawn"):
        reviews.withdraw_review(request_id=second.pk, actor=product_owner)


def test_request_review_via_the_page(client, edited, product_owner, other_po):
    client.force_login(product_owner)
    page = client.get(edited.get_absolute_url()).content.decode()
    assert 'data-testid="request-review-form"' in page
    assert f'value="{product_owner.pk}"' not in page.split('id="review-reviewer"')[1].split("</select>")[0]
    response = client.post(reverse("prompts:request_review", args=[edited.pk]),
                           {"reviewer": str(other_po.pk), "note": "please"})
    assert response.status_code == 302 and response["Location"].endswith("#review")
    assert ReviewRequest.objects.get().reviewer == other_po
    bad = client.post(reverse("prompts:request_review", args=[edited.pk]), {"reviewer": "bob"})
    assert bad.status_code == 302 and ReviewRequest.objects.count() == 1


def test_any_product_owner_reaches_everyone_who_may_approve_admins_too(edited, engineer, admin_user, client):
    reviews.request_review(version_id=edited.pk, actor=engineer, note="Please look")
    assert admin_user.has_perm("core.approve_prompt") and not admin_user.groups.filter(name="Product owner").exists()
    assert reviews.waiting_count(admin_user) == 1
    client.force_login(admin_user)
    assert 'data-testid="nav-badge-reviews">1<' in client.get("/").content.decode()
    assert "Please look" in client.get(reverse("prompts:reviews")).content.decode()


def test_only_the_requester_or_an_approver_may_withdraw(edited, engineer, product_owner, other_po, client):
    from tests.factories import UserFactory as Users

    second_engineer = Users(username="eng2")
    second_engineer.groups.add(Group.objects.get(name="Engineer"))
    request = reviews.request_review(version_id=edited.pk, actor=product_owner, note="mine")
    with pytest.raises(NotAllowed, match="who asked, or someone who may approve"):
        reviews.withdraw_review(request_id=request.pk, actor=engineer)
    client.force_login(engineer)
    assert 'data-testid="withdraw-review"' not in client.get(edited.get_absolute_url()).content.decode()
    reviews.withdraw_review(request_id=request.pk, actor=other_po)  # an approver may
    request.refresh_from_db()
    assert request.status == ReviewStatus.WITHDRAWN
    own = reviews.request_review(version_id=edited.pk, actor=second_engineer)
    reviews.withdraw_review(request_id=own.pk, actor=second_engineer)  # and so may the requester
    own.refresh_from_db()
    assert own.status == ReviewStatus.WITHDRAWN
