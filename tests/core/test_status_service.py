import pytest

from migrator.core.models import AuditEvent
from migrator.core.services import InvalidTransition, NotAllowed
from migrator.core.services.status import allowed_assistant_transitions, change_assistant_status
from migrator.core.status import MigrationStatus as S
from tests.factories import AssistantFactory

pytestmark = pytest.mark.django_db


def test_allowed_transition_is_applied_recorded_and_audited(product_owner):
    assistant = AssistantFactory(status=S.PROMPT_DRAFTED)
    updated, changed = change_assistant_status(assistant_id=assistant.pk, to=S.PROMPT_APPROVED, actor=product_owner)
    assert changed and updated.status == S.PROMPT_APPROVED
    history = list(updated.status_changes.all())
    assert [(h.from_status, h.to_status, h.actor) for h in history] == [(S.PROMPT_DRAFTED, S.PROMPT_APPROVED, product_owner)]
    event = AuditEvent.objects.get(verb="migrator.assistant.status_changed")
    assert event.before == {"status": "prompt_drafted"} and event.after == {"status": "prompt_approved"}


def test_repeating_a_done_transition_is_a_no_op(product_owner):
    assistant = AssistantFactory(status=S.PROMPT_DRAFTED)
    change_assistant_status(assistant_id=assistant.pk, to=S.PROMPT_APPROVED, actor=product_owner)
    _, changed = change_assistant_status(assistant_id=assistant.pk, to=S.PROMPT_APPROVED, actor=product_owner)
    assert not changed
    assert assistant.status_changes.count() == 1


def test_transition_not_in_table_is_refused_with_a_clear_message(admin_user):
    assistant = AssistantFactory(status=S.INVENTORIED)
    with pytest.raises(InvalidTransition, match="cannot go from Inventoried to Migrated"):
        change_assistant_status(assistant_id=assistant.pk, to=S.MIGRATED, actor=admin_user)
    assistant.refresh_from_db()
    assert assistant.status == S.INVENTORIED


def test_missing_permission_is_refused(support_lead):
    assistant = AssistantFactory(status=S.PROMPT_DRAFTED)
    with pytest.raises(NotAllowed):
        change_assistant_status(assistant_id=assistant.pk, to=S.PROMPT_APPROVED, actor=support_lead)
    assert not AuditEvent.objects.exists()


def test_each_role_sees_only_its_actions(product_owner, engineer, support_lead):
    validated = AssistantFactory(status=S.VALIDATED)
    targets = {t.target for t in allowed_assistant_transitions(assistant=validated, user=support_lead)}
    assert targets == {S.CUTOVER_APPROVED}
    po_targets = {t.target for t in allowed_assistant_transitions(assistant=validated, user=product_owner)}
    assert S.CUTOVER_APPROVED not in po_targets and S.BLOCKED in po_targets
    eng_targets = {t.target for t in allowed_assistant_transitions(assistant=validated, user=engineer)}
    assert S.RETIRED in eng_targets and S.CUTOVER_APPROVED not in eng_targets
