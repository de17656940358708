"""``manage.py validate``: the exact flags, JSON shape, verdicts and exit codes of the contract."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from migrator.validation.models import ValidationRun
from tests.validation.recording import make_flow

pytestmark = pytest.mark.django_db


def _validate(*args: str) -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("validate", *args, stdout=out, stderr=StringIO())
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def test_version_passes_with_exact_json_shape(weather):
    make_flow(weather.assistant, mode="conversation")
    code, out = _validate("--assistant", weather.assistant.legacy_id, "--version", str(weather.version.number),
                          "--connection", "Sandbox", "--json")
    data = json.loads(out)
    assert code == 0 and data["verdict"] == "pass"
    assert data["mode"] == "conversation"  # the flow's mode when --mode is not given
    assert list(data["points"]) == ["new_chat", "state", "tools", "contract", "workflow"]
    assert {p["status"] for p in data["points"].values()} <= {"pass", "not_applicable"}
    assert "tool_names" in data["checks"] and "text_similarity" in data["checks"]
    assert len(data["cases"]) == 7
    assert set(data["cases"][0]) >= {"thread_id", "turn", "verdict", "reasons"}
    assert {c["thread_id"] for c in data["cases"]} == set(weather.thread_ids)
    run = ValidationRun.objects.get(pk=data["run_id"])
    assert run.source == "cli" and run.config_hash == data["config"]["hash"]


def test_config_file_with_a_tool_removed_fails_and_says_which(weather, tmp_path):
    config = copy.deepcopy(weather.version.config)
    config["tools"] = [t for t in config["tools"] if t.get("name") != "get_weather"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    threads = tmp_path / "threads.txt"
    threads.write_text("\n".join(weather.thread_ids[:1]) + "\n")
    code, out = _validate("--assistant", weather.assistant.legacy_id, "--config", str(path), "--connection",
                          "Sandbox", "--mode", "stateless", "--threads", str(threads), "--json")
    data = json.loads(out)
    assert code == 1 and data["verdict"] == "fail"
    failing = [c for c in data["cases"] if c["verdict"] == "fail"]
    assert [(c["thread_id"], c["turn"]) for c in failing] == [(weather.thread_ids[0], 2)]
    assert any("get_weather was not called" in r for r in failing[0]["reasons"])
    assert data["points"]["tools"]["status"] == "fail"


def test_label_and_sample_and_human_output(weather):
    from migrator.core.actors import SYSTEM
    from migrator.prompts.services import approve_version

    approve_version(version_id=weather.version.pk, actor=SYSTEM)
    code, out = _validate("--assistant", weather.assistant.legacy_id, "--label", "approved", "--connection",
                          "Sandbox", "--sample", "1", "--repeats", "2")
    assert code == 0, out
    assert "PASS" in out and "A new chat completes end to end" in out


@pytest.mark.parametrize("args, message", [
    (["--assistant", "asst_nope", "--version", "1", "--connection", "Sandbox"], "No assistant asst_nope"),
    (["--version", "1", "--connection", "Nope"], "No connection named 'Nope'"),
    (["--version", "99", "--connection", "Sandbox"], "has no prompt version 99"),
    (["--config", "/nonexistent.json", "--connection", "Sandbox"], "cannot read it"),
])
def test_bad_input_is_a_clear_error(weather, args, message):
    if "--assistant" not in args:
        args = ["--assistant", weather.assistant.legacy_id, *args]
    with pytest.raises(CommandError, match=message):
        call_command("validate", *args)


@pytest.mark.slow
def test_exit_status_from_a_real_process(weather, settings):
    # Flags are parsed by the real argparse: --version is the prompt version, not Django's version flag.
    result = subprocess.run([sys.executable, "manage.py", "validate", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0
    for flag in ("--assistant", "--version", "--label", "--config", "--connection", "--mode", "--threads",
                 "--sample", "--repeats", "--json"):
        assert flag in result.stdout
