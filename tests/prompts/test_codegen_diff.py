"""Copy-as-code output and the word diff."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess

import pytest

from migrator.prompts import codegen
from migrator.prompts.diff import tokens, word_diff

CONFIG = {"model": "gpt-5.5", "instructions": "Line one\nLine \"two\" with ünïcode\n" + "x" * 100,
          "tools": [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}},
                     "strict": True}], "temperature": 0.5, "store": True, "metadata": {"legacy_assistant_id": "a"},
          "parallel_tool_calls": False, "text": None}


def test_python_call_round_trips():
    source = codegen.python_call(CONFIG, input_text="Hi")
    call = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)
                and getattr(n.func, "attr", "") == "create")
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    assert kwargs == {**CONFIG, "input": "Hi"}


def test_json_body_round_trips():
    assert json.loads(codegen.json_body(CONFIG, input_text="Hi")) == {**CONFIG, "input": "Hi"}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_call_parses(tmp_path):
    path = tmp_path / "call.mjs"
    path.write_text(codegen.javascript_call(CONFIG))
    assert subprocess.run(["node", "--check", str(path)], capture_output=True, timeout=60).returncode == 0


def test_word_diff_marks_words_and_escapes():
    diff = word_diff("Say <hi> to the thread.", "Say <hi> to this conversation.")
    assert "<del>the thread</del>" in diff.left and "<ins>this conversation</ins>" in diff.right
    assert "&lt;hi&gt;" in diff.left and diff.changed and diff.added == 2 and diff.removed == 2


def test_identical_texts_have_no_changes():
    assert not word_diff("same words", "same words").changed


def test_tokens_keep_whitespace():
    assert "".join(tokens("a  b\n\tc, d")) == "a  b\n\tc, d"
