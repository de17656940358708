"""``manage.py testset create``: the command door of New test set, on transcripts recorded through the sandbox."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from migrator.validation.models import TestSet

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("testset", *args, stdout=out)
    return out.getvalue()


def test_create_draws_or_hand_picks_threads_as_the_user(weather, engineer, support_lead, tmp_path):
    legacy = weather.assistant.legacy_id
    body = json.loads(_run("create", "--assistant", legacy, "--name", "CLI recent", "--sample", "5",
                           "--by", engineer.username, "--json"))
    test_set = TestSet.objects.get(pk=body["id"])
    assert body["version"] == 1 and body["cases"] > 0 and test_set.created_by == engineer
    picked = tmp_path / "threads.txt"
    picked.write_text(f"# one thread\n{weather.thread_ids[0]}\n")
    text = _run("create", "--assistant", legacy, "--name", "CLI picked", "--threads", str(picked),
                "--by", engineer.username)
    assert "version 1 with" in text and TestSet.objects.get(name="CLI picked").strategy == "hand_picked"
    with pytest.raises(CommandError, match="Refused"):
        _run("create", "--assistant", legacy, "--name", "Lead's", "--by", support_lead.username)
    with pytest.raises(CommandError, match="Cannot read"):
        _run("create", "--assistant", legacy, "--name", "x", "--threads", str(tmp_path / "nope"),
             "--by", engineer.username)
