"""Every command names people, assistants, flows and connections the same way (migrator.core.management.lookups)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from migrator.core.management import lookups
from tests.factories import AssistantFactory, FlowFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_each_lookup_finds_its_row_or_says_what_is_missing():
    user = UserFactory(username="ana")
    assistant = AssistantFactory(legacy_id="asst_lookup01")
    flow = FlowFactory(assistant=assistant, slug="lookup-web")
    assert lookups.active_user("ana") == user
    assert lookups.assistant("asst_lookup01") == assistant
    assert lookups.flow("lookup-web") == flow and lookups.flow("lookup-web", of=assistant) == flow
    with pytest.raises(CommandError, match="No active user named 'bob'"):
        lookups.active_user("bob")
    user.is_active = False
    user.save(update_fields=["is_active"])
    with pytest.raises(CommandError, match="No active user named 'ana'"):
        lookups.active_user("ana")  # a deactivated account acts for nobody
    with pytest.raises(CommandError, match=r"No assistant 'asst_nope' \(ids are the legacy asst_… ids\)"):
        lookups.assistant("asst_nope")
    with pytest.raises(CommandError, match="No flow with the slug 'nope'"):
        lookups.flow("nope")
    other = AssistantFactory(legacy_id="asst_lookup02")
    with pytest.raises(CommandError, match="has no flow 'lookup-web'"):
        lookups.flow("lookup-web", of=other)
    with pytest.raises(CommandError, match="No connection named 'Nowhere'"):
        lookups.connection("Nowhere")


@pytest.mark.parametrize("argv", [
    ["tooltest", "--assistant", "asst_x", "--by", "ghost"],
    ["testset", "create", "--assistant", "asst_x", "--name", "n", "--by", "ghost"],
    ["webhook", "test", "--id", "1", "--by", "ghost"],
    ["flow", "mode", "--flow", "some-flow", "--mode", "stateless", "--reason", "r", "--by", "ghost"],
])
def test_commands_refuse_an_unknown_user_in_the_same_words(argv):
    with pytest.raises(CommandError, match="No active user named 'ghost'"):
        call_command(*argv)
