"""Versions, labels, approval rules, permissions and the drift receiver."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from migrator.core.actors import SYSTEM
from migrator.core.models import AuditEvent
from migrator.core.services import NotAllowed, ServiceError
from migrator.core.signals import assistant_definition_changed
from migrator.core.status import MigrationStatus as S
from migrator.prompts import selectors, services
from migrator.prompts.models import LabelName, PromptComment, PromptLabel, PromptVersion
from tests.factories import AssistantFactory, UserFactory

pytestmark = pytest.mark.django_db

LOOSE_TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {
    "type": "object", "properties": {"q": {"type": "string"}, "limit": {"type": "integer", "default": 5}},
    "required": ["q"]}}}


@pytest.fixture
def assistant():
    return AssistantFactory(model="gpt-5.5", instructions="You answer questions about the attached files.",
                            tools=[LOOSE_TOOL], definition_hash="h1")


@pytest.fixture
def other_po(db):
    from django.contrib.auth.models import Group

    user = UserFactory(username="po2")
    user.groups.add(Group.objects.get(name="Product owner"))
    return user


def labels(assistant):
    return {name: row.version.number for name, row in selectors.labels_for(assistant).items()}


def test_generating_the_first_draft(assistant, product_owner):
    version = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    assert version.number == 1 and version.is_generated and version.author is None
    assert version.config["model"] == "gpt-5.5" and version.config["metadata"]["legacy_assistant_id"] == assistant.legacy_id
    assert version.source_hash == "h1" and version.ledger and version.findings
    assert version.strict_choices == {"/tools/0/parameters": {"choice": "original", "strict": False, "by": "generated",
                                                               "reason": version.schemas[0]["reason"]}}
    assert labels(assistant) == {"draft": 1}
    assistant.refresh_from_db()
    assert assistant.status == S.PROMPT_DRAFTED
    assert AuditEvent.objects.filter(verb="migrator.prompt.generated").exists()
    assert AuditEvent.objects.filter(verb="migrator.prompt.label_moved").count() == 1


def test_engineer_may_generate_but_support_lead_may_not(assistant, engineer, support_lead):
    services.generate_version(assistant_id=assistant.pk, actor=engineer)
    with pytest.raises(NotAllowed):
        services.generate_version(assistant_id=assistant.pk, actor=support_lead)


def test_unconvertible_assistant_is_refused_and_nothing_is_written(product_owner):
    assistant = AssistantFactory(model="", raw={}, instructions="x")
    with pytest.raises(ServiceError, match="model: missing"):
        services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    assert not PromptVersion.objects.exists() and not PromptLabel.objects.exists()
    assistant.refresh_from_db()
    assert assistant.status == S.INVENTORIED


def test_versions_are_immutable(assistant, product_owner):
    version = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    version.config = {"model": "changed"}
    with pytest.raises(ValidationError):
        version.save()
    with pytest.raises(ValidationError):
        version.save(update_fields=["config"])
    with pytest.raises(ValidationError):
        version.delete()
    version.refresh_from_db()
    assert version.config["model"] == "gpt-5.5"


def test_an_edit_creates_a_child_and_moves_the_draft(assistant, product_owner):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    v2 = services.save_edit(parent_id=v1.pk, actor=product_owner, instructions="You answer questions.",
                            message="Drop 'attached files'")
    assert (v2.number, v2.parent_id, v2.author, v2.is_generated) == (2, v1.pk, product_owner, False)
    assert v2.config["instructions"] == "You answer questions." and v2.ledger == v1.ledger
    assert not [f for f in v2.findings if f["kind"] == "instructions"]  # the attached-files finding is gone
    assert labels(assistant) == {"draft": 2}
    v1.refresh_from_db()
    assert v1.config["instructions"].endswith("attached files.")


def test_an_invalid_config_is_refused_with_field_errors(assistant, product_owner):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    bad = dict(v1.config, temperature="hot", tools=[{"type": "function", "name": "x"}], input="hi")
    with pytest.raises(services.ConfigInvalid) as caught:
        services.save_edit(parent_id=v1.pk, actor=product_owner, config=bad)
    pointers = {p.pointer for p in caught.value.problems}
    assert {"/temperature", "/tools/0/parameters", "/tools/0/strict", "/input"} <= pointers
    assert PromptVersion.objects.count() == 1


def test_strict_true_with_an_incompatible_schema_is_refused(assistant, product_owner):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    config = v1.config | {"tools": [dict(v1.config["tools"][0], strict=True)]}
    with pytest.raises(services.ConfigInvalid, match="strict is true"):
        services.save_edit(parent_id=v1.pk, actor=product_owner, config=config)


def test_nothing_changed_is_refused(assistant, product_owner):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    with pytest.raises(ServiceError, match="Nothing changed"):
        services.save_edit(parent_id=v1.pk, actor=product_owner, instructions=v1.config["instructions"])


def test_engineers_and_support_leads_cannot_edit(assistant, product_owner, engineer, support_lead):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    for user in (engineer, support_lead):
        with pytest.raises(NotAllowed):
            services.save_edit(parent_id=v1.pk, actor=user, instructions="x")


def test_strict_choice_is_recorded_as_a_child_version(assistant, product_owner):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    v2 = services.choose_strict(version_id=v1.pk, pointer="/tools/0/parameters", choice="fixed", actor=product_owner)
    tool = v2.config["tools"][0]
    assert tool["strict"] is True and tool["parameters"]["additionalProperties"] is False
    assert tool["parameters"]["properties"]["limit"]["type"] == ["integer", "null"]
    assert v2.strict_choices["/tools/0/parameters"]["choice"] == "fixed"
    assert v2.strict_choices["/tools/0/parameters"]["by"] == product_owner.username
    assert v2.schemas[0]["choice"] == "fixed"
    v3 = services.choose_strict(version_id=v2.pk, pointer="/tools/0/parameters", choice="original", actor=product_owner)
    assert v3.config["tools"][0] == v1.config["tools"][0]
    with pytest.raises(ServiceError, match="no schema"):
        services.choose_strict(version_id=v3.pk, pointer="/tools/9/parameters", choice="fixed", actor=product_owner)


def test_approval_moves_label_and_status_and_is_audited(assistant, product_owner):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    services.approve_version(version_id=v1.pk, actor=product_owner)  # generated: anyone allowed may approve
    v1.refresh_from_db()
    assert v1.approved_by == product_owner and v1.approved_at
    assert labels(assistant) == {"draft": 1, "approved": 1}
    assistant.refresh_from_db()
    assert assistant.status == S.PROMPT_APPROVED
    assert AuditEvent.objects.filter(verb="migrator.prompt.approved").count() == 1
    services.approve_version(version_id=v1.pk, actor=product_owner)  # idempotent
    assert AuditEvent.objects.filter(verb="migrator.prompt.approved").count() == 1


def test_nobody_approves_their_own_edit(assistant, product_owner, other_po):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    v2 = services.save_edit(parent_id=v1.pk, actor=product_owner, instructions="Short answers.")
    with pytest.raises(NotAllowed, match="another product owner"):
        services.approve_version(version_id=v2.pk, actor=product_owner)
    services.approve_version(version_id=v2.pk, actor=other_po)
    assert selectors.serving_version(assistant).pk == v2.pk


@override_settings(ALLOW_SELF_APPROVAL=True)
def test_the_setting_relaxes_self_approval(assistant, product_owner):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    v2 = services.save_edit(parent_id=v1.pk, actor=product_owner, instructions="Short answers.")
    services.approve_version(version_id=v2.pk, actor=product_owner)
    assert labels(assistant)["approved"] == 2


def test_only_product_owners_approve(assistant, product_owner, engineer, support_lead):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    for user in (engineer, support_lead):
        with pytest.raises(NotAllowed):
            services.approve_version(version_id=v1.pk, actor=user)


def test_an_edit_after_approval_keeps_the_approved_status_while_v1_stays_approved(assistant, product_owner,
                                                                                    other_po):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    services.approve_version(version_id=v1.pk, actor=product_owner)
    v2 = services.save_edit(parent_id=v1.pk, actor=other_po, instructions="Changed.")
    assistant.refresh_from_db()
    # v1 is still the approved version: the new draft waits for review without taking the status back.
    assert assistant.status == S.PROMPT_APPROVED
    assert selectors.labels_for(assistant)["approved"].version_id == v1.pk
    assert selectors.serving_version(assistant).pk == v1.pk  # the approved version keeps serving meanwhile
    services.approve_version(version_id=v2.pk, actor=product_owner)
    assistant.refresh_from_db()
    assert assistant.status == S.PROMPT_APPROVED


def test_no_label_switches_production_any_more(assistant, product_owner, engineer, support_lead):
    """What production serves is a flow's cutover rollout; the old production label is refused for everyone."""
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    services.approve_version(version_id=v1.pk, actor=product_owner)
    for actor in (product_owner, engineer, support_lead):
        with pytest.raises(ServiceError, match="set per flow by a cutover"):
            services.move_label(assistant_id=assistant.pk, label="production", version_id=v1.pk, actor=actor)
    assert "production" not in selectors.labels_for(assistant)
    assert selectors.serving_version(assistant).pk == v1.pk  # the approved version is the cutover candidate


def test_move_label_rejects_bad_input(assistant, product_owner, admin_user):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    other = AssistantFactory()
    with pytest.raises(ServiceError, match="Unknown label"):
        services.move_label(assistant_id=assistant.pk, label="staging", version_id=v1.pk, actor=admin_user)
    with pytest.raises(ServiceError, match="is not a prompt version of"):
        services.move_label(assistant_id=other.pk, label="draft", version_id=v1.pk, actor=admin_user)


def test_a_system_actor_without_the_permission_may_not_move_the_draft_label(assistant, product_owner):
    from migrator.core.actors import system
    from migrator.core.services import NotAllowed

    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    bare = system("command:test", "a command with no permissions", perms=set())
    with pytest.raises(NotAllowed, match="may not move the draft label"):
        services.move_label(assistant_id=assistant.pk, label="draft", version_id=v1.pk, actor=bare)
    allowed = system("command:test", "a drafting command", perms={"core.draft_prompt"})
    row = services.move_label(assistant_id=assistant.pk, label="draft", version_id=v1.pk, actor=allowed)
    assert row.version_id == v1.pk


def test_one_version_per_label(assistant, product_owner):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    assert PromptLabel.objects.filter(assistant=assistant, name=LabelName.DRAFT).count() == 1
    assert labels(assistant) == {"draft": 2}
    assert PromptVersion.objects.get(number=2).parent == v1


def test_comments(assistant, product_owner, engineer, support_lead):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    for user in (product_owner, engineer, support_lead):
        services.add_comment(version_id=v1.pk, actor=user, body=f"  note from {user.username} ")
    assert [c.body for c in PromptComment.objects.all()] == ["note from po", "note from eng", "note from lead"]
    with pytest.raises(ServiceError, match="Write a comment"):
        services.add_comment(version_id=v1.pk, actor=engineer, body="   ")


def test_serving_version_is_none_before_approval(assistant, product_owner):
    assert selectors.serving_version(assistant) is None
    services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    assert selectors.serving_version(assistant) is None


def test_drift_regenerates_flags_and_sends_back_to_review(assistant, product_owner):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    services.approve_version(version_id=v1.pk, actor=product_owner)
    assistant.refresh_from_db()
    assistant.instructions = "New upstream instructions."
    assistant.definition_hash = "h2"
    assistant.save()
    assistant_definition_changed.send(sender=type(assistant), assistant=assistant, before={}, after={},
                                      changed_fields=["instructions"], actor=SYSTEM)
    draft = selectors.labels_for(assistant)["draft"].version
    assert draft.number == 2 and draft.is_generated and draft.source_hash == "h2"
    assert draft.message == "Regenerated after upstream drift: instructions"
    assert draft.config["instructions"] == "New upstream instructions."
    v1.refresh_from_db()
    assert v1.needs_rereview and "instructions" in v1.rereview_reason
    assistant.refresh_from_db()
    assert assistant.status == S.PROMPT_DRAFTED and assistant.needs_review
    change = assistant.status_changes.first()
    assert change.actor is None and "drift" in change.reason
    # Approving again clears the flags.
    services.approve_version(version_id=draft.pk, actor=product_owner)
    assistant.refresh_from_db()
    assert assistant.status == S.PROMPT_APPROVED and not assistant.needs_review


def test_drift_on_an_undrafted_assistant_does_nothing(assistant):
    assistant_definition_changed.send(sender=type(assistant), assistant=assistant, before={}, after={},
                                      changed_fields=["model"], actor=SYSTEM)
    assert not PromptVersion.objects.exists()


def test_drift_that_breaks_conversion_still_flags_review(assistant, product_owner):
    v1 = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    services.approve_version(version_id=v1.pk, actor=product_owner)
    assistant.refresh_from_db()
    assistant.temperature = 7
    assistant.save()
    assistant_definition_changed.send(sender=type(assistant), assistant=assistant, before={}, after={},
                                      changed_fields=["temperature"], actor=SYSTEM)
    assert PromptVersion.objects.count() == 1
    assert AuditEvent.objects.filter(verb="migrator.prompt.regeneration_failed").exists()
    v1.refresh_from_db()
    assistant.refresh_from_db()
    assert v1.needs_rereview and assistant.status == S.PROMPT_DRAFTED


def test_retired_assistants_are_not_drafted(product_owner):
    assistant = AssistantFactory(status=S.RETIRED)
    with pytest.raises(ServiceError, match="retired"):
        services.generate_version(assistant_id=assistant.pk, actor=product_owner)


def test_roles_hold_the_prompt_permissions(product_owner, engineer, support_lead):
    assert product_owner.has_perm("prompts.edit_prompt")
    assert not engineer.has_perm("prompts.edit_prompt") and support_lead.has_perm("prompts.add_promptcomment")
    assert not any(u.has_perm("prompts.set_production_label") for u in (product_owner, engineer, support_lead))
    for user in (product_owner, engineer, support_lead):
        assert user.has_perm("prompts.try_prompt")
