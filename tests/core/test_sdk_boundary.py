"""Only the SDK's own types cross into the ``openai`` SDK (issue 19).

openai 3.x is built on httpx2; an ``httpx.Timeout`` handed to it made every client migrator built fail the day
httpx2 2.17 started checking types. The plain ``httpx`` migrator uses for its own requests (webhook deliveries,
the demo export download) stays on migrator's side and is never passed into the SDK.
"""

from __future__ import annotations

import ast
from pathlib import Path

import openai

from migrator.core.openai_client import make_client

ROOT = Path(__file__).resolve().parents[2]
SDK_CONSTRUCTORS = {"OpenAI", "AsyncOpenAI", "DefaultHttpxClient", "DefaultAsyncHttpxClient"}


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def test_no_httpx_object_is_passed_to_an_sdk_constructor():
    offenders = []
    for path in [*ROOT.joinpath("migrator").rglob("*.py"), *ROOT.joinpath("bench").rglob("*.py")]:
        text = path.read_text()
        if not any(f"{name}(" in text for name in SDK_CONSTRUCTORS):
            continue
        tree = ast.parse(text, filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in SDK_CONSTRUCTORS:
                continue
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                if "httpx" in _names(argument):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], f"httpx objects handed to the openai SDK at {offenders}"


def test_the_client_module_does_not_import_httpx():
    tree = ast.parse(ROOT.joinpath("migrator/core/openai_client.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])}
    assert "httpx" not in imported


def test_clients_carry_the_sdks_own_timeout_and_connect_limit():
    client = make_client(base_url="http://127.0.0.1:9/v1", api_key="sk-test", timeout=7)
    assert isinstance(client.timeout, openai.Timeout)
    assert (client.timeout.read, client.timeout.connect) == (7.0, 5.0)
