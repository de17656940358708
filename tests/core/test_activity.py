"""Audit events read as sentences: one registry, each app's verbs registered, a fallback for the rest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from migrator.core.activity import present, presenter_for, register
from migrator.core.actors import system
from migrator.core.models import AuditEvent
from migrator.core.services import audit
from migrator.core.services.status import change_assistant_status
from migrator.core.status import MigrationStatus as S
from migrator.prompts import services
from tests.factories import AssistantFactory

pytestmark = pytest.mark.django_db

SOURCE = Path(__file__).resolve().parents[2] / "migrator"
VERB = re.compile(r'verb=f?"(migrator\.[a-z_.]+)(\{)?')


def test_every_verb_the_code_records_has_a_sentence():
    verbs = set()
    for path in SOURCE.rglob("*.py"):
        for literal, templated in VERB.findall(path.read_text()):
            verbs.add(literal + ("*" if templated else ""))
    assert len(verbs) > 20
    missing = [v for v in sorted(verbs) if presenter_for(v.rstrip("*") + ("x" if v.endswith("*") else "")) is None]
    assert missing == []


def test_sentences_link_objects_and_never_dump_dicts(product_owner):
    assistant = AssistantFactory(name="Refund bot", model="gpt-5.5")
    version = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
    services.approve_version(version_id=version.pk, actor=product_owner)
    entries = {e.event.verb: str(e.sentence) for e in present(AuditEvent.objects.all())}
    assert entries["migrator.prompt.generated"] == (
        f'<strong>{product_owner.username}</strong> generated prompt <a href="{version.get_absolute_url()}">v1</a> of '
        f'<a href="{assistant.get_absolute_url()}">Refund bot</a> on gpt-5.5.')
    assert "approved" in entries["migrator.prompt.approved"]
    assert "Prompt drafted" in entries["migrator.assistant.status_changed"]
    for sentence in entries.values():
        assert "{" not in sentence and "migrator." not in sentence and "_id" not in sentence


def test_unknown_verbs_fall_back_to_words_and_system_actors_read_as_such():
    assistant = AssistantFactory(name="Docs bot")
    audit.record(actor=system("nightly", "the nightly sweep"), verb="migrator.assistant.swept_clean", obj=assistant,
                 data={"x": 1})
    [entry] = present(AuditEvent.objects.filter(verb="migrator.assistant.swept_clean"))
    assert str(entry.sentence) == (f'<span class="actor-system">the nightly sweep</span>: swept clean — '
                                   f'<a href="{assistant.get_absolute_url()}">Docs bot</a>.')
    assert '"x": 1' in entry.raw  # the raw event stays available for engineers


def test_a_broken_presenter_never_breaks_the_page():
    register("migrator.test.broken", lambda e: 1 / 0)
    audit.record(actor=system("t", "a test"), verb="migrator.test.broken")
    [entry] = present(AuditEvent.objects.filter(verb="migrator.test.broken"))
    assert "broken" in str(entry.sentence)


def test_audit_log_dashboard_and_assistant_page_show_sentences(client, admin_user, product_owner):
    assistant = AssistantFactory(name="Billing helper")
    change_assistant_status(assistant_id=assistant.pk, to=S.BLOCKED, actor=product_owner, reason="Waiting on legal.")
    client.force_login(admin_user)
    for url in (reverse("core:audit_log"), reverse("core:dashboard"), assistant.get_absolute_url()):
        html = client.get(url).content.decode()
        assert "moved <a href" in html and "Billing helper</a> from Inventoried to <strong>Blocked</strong>" in html
        assert "(Waiting on legal)" in html
        assert "migrator.assistant.status_changed</td>" not in html and "{&#x27;status&#x27;" not in html
    assert "<details><summary" in client.get(reverse("core:audit_log")).content.decode()


def test_the_audit_log_filters_by_action_and_object_in_words(client, admin_user, product_owner):
    assistant = AssistantFactory(name="Billing helper")
    change_assistant_status(assistant_id=assistant.pk, to=S.BLOCKED, actor=product_owner, reason="Waiting on legal.")
    audit.record(actor=system("t", "a test"), verb="migrator.connection.tested")
    client.force_login(admin_user)
    html = client.get(reverse("core:audit_log")).content.decode()
    # Choices read as words; their values stay the recorded codes.
    assert '<option value="migrator.assistant">Any assistant action</option>' in html
    assert '<option value="migrator.assistant.status_changed">Status changed</option>' in html
    assert '<option value="core.assistant">Assistant</option>' in html
    assert '<optgroup label="Cutover">' in html and "API token" in html

    def rows(**params) -> int:
        response = client.get(reverse("core:audit_log"), params)
        assert response.status_code == 200
        return response.content.decode().count('data-testid="audit-row"')

    assert rows(verb="migrator.assistant") == rows(verb="migrator.assistant.status_changed") == 1
    assert rows(object_type="core.assistant") == 1 and rows(verb="migrator.connection") == 1
    response = client.get(reverse("core:audit_log"), {"verb": "drop table"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
