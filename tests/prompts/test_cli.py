"""python manage.py convert_assistant."""

from __future__ import annotations

import ast
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from migrator.prompts.conversion import LEGACY_ID_KEY
from tests.prompts.conftest import CORPUS

ASSISTANT = {"id": "asst_cli", "object": "assistant", "model": "gpt-5.5", "instructions": "Be brief.",
             "tools": [{"type": "function", "function": {"name": "ping", "parameters": {"type": "object",
                                                                                      "properties": {}}}}]}


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("convert_assistant", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path, data, name="a.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_prints_kwargs_as_json(tmp_path):
    out, err = run("--legacy-json", write(tmp_path, ASSISTANT))
    kwargs = json.loads(out)
    assert kwargs["model"] == "gpt-5.5" and kwargs["metadata"][LEGACY_ID_KEY] == "asst_cli"
    assert kwargs["tools"][0]["name"] == "ping" and "Ledger:" in err


def test_prints_a_ready_python_call(tmp_path):
    out, _ = run("--legacy-json", write(tmp_path, ASSISTANT), "--format", "python")
    tree = ast.parse(out)
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "create")
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    assert kwargs.pop("input") == "Hello!"
    assert kwargs == json.loads(run("--legacy-json", write(tmp_path, ASSISTANT), "--quiet")[0])


def test_with_ledger(tmp_path):
    out, _ = run("--legacy-json", write(tmp_path, ASSISTANT), "--with-ledger", "--quiet")
    data = json.loads(out)
    assert set(data) == {"kwargs", "ledger", "findings", "schemas"} and data["ledger"]


def test_invalid_input_exits_non_zero_naming_the_field(tmp_path):
    bad = dict(ASSISTANT, temperature=9)
    with pytest.raises(CommandError, match=r"temperature: must be a number from 0 to 2"):
        run("--legacy-json", write(tmp_path, bad))


def test_missing_model_and_broken_json_and_missing_file(tmp_path):
    with pytest.raises(CommandError, match=r"model: missing"):
        run("--legacy-json", write(tmp_path, {"instructions": "x"}))
    with pytest.raises(CommandError, match=r"not valid JSON: .* line 1"):
        run("--legacy-json", write(tmp_path, "{nope"))
    with pytest.raises(CommandError, match=r"Cannot read"):
        run("--legacy-json", str(tmp_path / "absent.json"))


@pytest.mark.slow
def test_exit_status_is_non_zero_from_the_shell(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    path = write(tmp_path, {"model": "gpt-5.5", "tools": [{"type": "function", "function": {"name": "a b"}}]})
    proc = subprocess.run([sys.executable, "manage.py", "convert_assistant", "--legacy-json", path], cwd=root,
                          capture_output=True, text=True, env={**__import__("os").environ, "DEBUG": "true"},
                          timeout=120)
    assert proc.returncode != 0 and "tools[0].function.name" in proc.stderr


@pytest.mark.usefixtures("need_shared")
def test_accepts_the_corpus_wrapper():
    out, _ = run("--legacy-json", str(CORPUS / "027.json"), "--today", "2026-11-25", "--quiet")
    assert json.loads(out)["tools"][0]["type"] == "file_search"


def test_json_prints_one_object_as_the_convert_page_shows_it(tmp_path):
    decide = dict(ASSISTANT, file_ids=["file_1"], tools=[*ASSISTANT["tools"], {"type": "retrieval"}])
    out, err = run("--legacy-json", write(tmp_path, decide), "--json")
    data = json.loads(out)
    assert set(data) == {"kwargs", "ledger", "outcomes", "decisions", "fixes", "findings", "schemas"}
    assert data["kwargs"]["model"] == "gpt-5.5" and err == ""
    assert sum(data["outcomes"].values()) == len(data["ledger"])
    assert data["decisions"] and data["decisions"] == [{"field": e["field"], "reason": e["reason"]} for e in data["ledger"]
                                 if e["outcome"] == "needs_decision"]
    with pytest.raises(CommandError, match="leave out --format python"):
        run("--legacy-json", write(tmp_path, ASSISTANT), "--json", "--format", "python")


def test_the_convert_page_shows_what_the_command_prints(client, product_owner, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    client.force_login(product_owner)
    assert client.get(reverse("prompts:convert")).status_code == 200
    page = client.post(reverse("prompts:convert"), {"legacy": json.dumps(ASSISTANT)})
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="convert-summary"' in html
    printed = run("--legacy-json", write(tmp_path, ASSISTANT), "--quiet")[0]
    from django.utils.html import escape

    assert escape(printed.strip()) in html  # the same keyword arguments, character for character
    assert 'data-testid="ledger"' in html and "client.responses.create(" in html
    upload = SimpleUploadedFile("asst.json", json.dumps(ASSISTANT).encode(), content_type="application/json")
    assert client.post(reverse("prompts:convert"), {"legacy_file": upload}).status_code == 200

    bad = client.post(reverse("prompts:convert"), {"legacy": json.dumps(dict(ASSISTANT, temperature=9))})
    assert bad.status_code == 422 and "temperature: must be a number from 0 to 2" in bad.content.decode()
    broken = client.post(reverse("prompts:convert"), {"legacy": "{not json"})
    assert broken.status_code == 422 and "the pasted definition cannot be read" in broken.content.decode()
    empty = client.post(reverse("prompts:convert"), {"legacy": "  "})
    assert empty.status_code == 422 and "Paste or upload one assistant definition" in empty.content.decode()
