"""The admin is no side door: fields that services own (with their permission checks, rules and audit) are
read-only in every registered ModelAdmin, and rows that are evidence cannot be deleted there."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from tests.factories import PASSWORD, AssistantFactory, FlowFactory

pytestmark = pytest.mark.django_db

ALL = "every field"

# Model → the fields services own. ALL: every field (the admin only views; the row changes through its app's
# pages, jobs and commands). A model registered in the admin must be listed here, so a new registration or a
# new editable field that bypasses the services fails this test until someone decides on purpose.
OWNED: dict[str, str | set[str]] = {
    "core.Assistant": ALL,  # definition (imports), business fields (inventory service), status (status service)
    "core.AssistantStatusChange": ALL,
    "core.Flow": ALL,  # slug, mode, store, truncation, steps, status, timestamps: the flows services
    "core.FlowStatusChange": ALL,
    "core.Connection": ALL,  # connection pages: encrypted key, test, audit
    "core.Job": ALL,
    "core.WorkerHeartbeat": ALL,
    "core.AuditEvent": ALL,
    "prompts.PromptVersion": ALL,
    "prompts.PromptLabel": ALL,
    "prompts.PromptComment": ALL,
    "prompts.ReviewRequest": ALL,  # requested, withdrawn and answered only through migrator.prompts.reviews
    "tools.ToolTestResult": ALL,
    "tools.ToolResourceCheck": ALL,
    "flows.ApiToken": ALL,
    "cutover.CutoverRequest": ALL,  # requests, approvals and rollouts happen only through the cutover service
    "cutover.FlowRollout": ALL,
    "cutover.ServingChange": ALL,  # issued on the tokens page (secret shown once), revoked through the token service
    "backfill.BackfillRun": ALL,  # runs and thread rows move only through the backfill services (CAS, leases)
    "backfill.ThreadBackfill": ALL,
    "backfill.ConnectionRateLimit": ALL,  # set on the Backfill page or `connection add --rpm`, audited
    "webhooks.WebhookEndpoint": ALL,  # the Webhooks page: URL rule, events, secret shown once, audit
    "webhooks.Delivery": ALL,  # the delivery log, written by the delivery jobs
    "webhooks.WebhookEvent": ALL,
    "validation.TestSet": ALL,  # built, edited and redrawn through the validation services (versions, audit)
    "validation.TestCase": ALL,  # immutable
    "validation.TestSetVersion": ALL,
    "validation.ValidationRun": ALL,  # evidence: written only by the run service
    "validation.CaseResult": ALL,
    # Django's own: roles are granted by adding users to the role groups here (README, "Production").
    "auth.User": set(),
    "auth.Group": set(),
    # django-axes (login throttling): its admin shows every field read-only; deleting an attempt unlocks.
    "axes.AccessAttempt": set(),
    "axes.AccessLog": set(),
    "axes.AccessFailureLog": set(),
}


def _owned(model) -> set[str]:
    declared = OWNED[model._meta.label]
    if declared == ALL:
        return {f.name for f in model._meta.get_fields() if getattr(f, "editable", False) and not f.auto_created}
    return set(declared)


def _editable(model_admin, request, obj=None) -> set[str]:
    form = model_admin.get_form(request, obj, change=obj is not None)
    return set(form.base_fields) - set(model_admin.get_readonly_fields(request, obj))


@pytest.fixture
def superuser_request(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    return request


def test_every_registered_admin_keeps_service_owned_fields_read_only(superuser_request):
    request = superuser_request
    unlisted = [m._meta.label for m in admin.site._registry if m._meta.label not in OWNED]
    assert not unlisted, f"declare in OWNED which fields services own for {unlisted}"
    problems = []
    for model, model_admin in admin.site._registry.items():
        owned = _owned(model)
        label = model._meta.label
        if model_admin.has_add_permission(request) and (bypass := _editable(model_admin, request) & owned):
            problems.append(f"{label}: the add form edits {sorted(bypass)}")
        instance = model()
        if model_admin.has_change_permission(request, instance):
            if bypass := _editable(model_admin, request, instance) & owned:
                problems.append(f"{label}: the change form edits {sorted(bypass)}")
            if bypass := set(model_admin.list_editable) & owned:
                problems.append(f"{label}: the list edits {sorted(bypass)}")
            for inline in model_admin.get_inline_instances(request, instance):
                inline_owned = _owned(inline.model)
                form = inline.get_formset(request, instance).form
                editable = set(form.base_fields) - set(inline.get_readonly_fields(request, instance))
                if bypass := editable & inline_owned:
                    problems.append(f"{label} inline {inline.model._meta.label}: edits {sorted(bypass)}")
        if OWNED[label] == ALL and model_admin.has_delete_permission(request, instance):
            problems.append(f"{label}: rows can be deleted in the admin")
    assert not problems, "\n".join(problems)


def test_the_table_names_only_real_fields():
    for label, fields in OWNED.items():
        if fields != ALL:
            model = next(m for m in admin.site._registry if m._meta.label == label)
            assert set(fields) <= {f.name for f in model._meta.get_fields()}, label


def test_the_admin_shows_a_flow_but_refuses_to_change_it(client, admin_user):
    flow = FlowFactory(assistant=AssistantFactory(), slug="checkout", mode="stateless")
    assert client.login(username=admin_user.username, password=PASSWORD)
    url = reverse("admin:core_flow_change", args=[flow.pk])
    page = client.get(url)
    assert page.status_code == 200 and "checkout" in page.content.decode()
    response = client.post(url, {"slug": "hijacked", "mode": "conversation", "name": "x", "assistant": flow.assistant_id})
    assert response.status_code == 403
    flow.refresh_from_db()
    assert (flow.slug, flow.mode) == ("checkout", "stateless")
    assert client.get(reverse("admin:core_flow_add")).status_code == 403
    assert client.get(reverse("admin:core_flow_delete", args=[flow.pk])).status_code == 403
