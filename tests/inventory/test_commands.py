"""The management commands are thin doors: JSON report, exit status, readable errors."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from migrator.core.models import Assistant
from tests.inventory import archives as a

pytestmark = pytest.mark.django_db


def test_archive_import_prints_the_report_and_exits_zero(tmp_path, capsys):
    path = a.write_jsonl(tmp_path / "ok.jsonl", [a.assistant(1), *a.conversation("thread_c", "asst_0001")])
    call_command("import_assistants", "--archive", str(path), "--json")
    report = json.loads(capsys.readouterr().out)
    assert list(report) == ["assistants", "threads", "messages", "errors"]
    assert report["assistants"] == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 0}
    assert report["messages"]["created"] == 4 and report["errors"] == []


def test_rejections_exit_non_zero_with_the_report(tmp_path, capsys):
    path = a.write_jsonl(tmp_path / "bad.jsonl", [a.assistant(1), a.assistant(2, model=None)])
    with pytest.raises(SystemExit) as exited:
        call_command("import_assistants", "--archive", str(path), "--json")
    assert exited.value.code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["assistants"]["rejected"] == 1
    assert report["errors"] == [{"where": "line 3: assistant asst_0002, field model",
                                 "message": "missing; every assistant object names its model"}]
    assert Assistant.objects.count() == 1

    with pytest.raises(SystemExit):
        call_command("import_assistants", "--archive", str(path))
    captured = capsys.readouterr()
    assert "line 3: assistant asst_0002, field model" in captured.out and "rejected" in captured.err


def test_truncated_archive_exits_non_zero(tmp_path, capsys):
    path = tmp_path / "cut.json"
    path.write_text('{"assistants": [' + json.dumps(a.assistant(1)) + ", {\"id\": \"asst_2\", ")
    with pytest.raises(SystemExit):
        call_command("import_assistants", "--archive", str(path), "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["assistants"]["created"] == 1 and "truncated" in report["errors"][0]["message"]


def test_readable_command_errors(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_assistants", "--archive", str(tmp_path / "nope.jsonl"))
    with pytest.raises(CommandError, match="No connection is named 'Prod'"):
        call_command("import_assistants", "--connection", "Prod")
    with pytest.raises(CommandError, match="goes with --connection"):
        call_command("import_assistants", "--archive", "x.jsonl", "--thread-ids", "t.csv")
    bad = tmp_path / "t.csv"
    bad.write_text("thread_id\nthread ok\n")
    from tests.factories import ConnectionFactory

    ConnectionFactory(name="Prod")
    with pytest.raises(CommandError, match="line 2: thread_id"):
        call_command("import_assistants", "--connection", "Prod", "--thread-ids", str(bad))
    with pytest.raises(CommandError, match="Cannot read the thread list"):
        call_command("export_assistants", "--connection", "Prod", "--thread-ids", str(tmp_path / "no.csv"),
                     "--out", str(tmp_path / "o.jsonl"))
