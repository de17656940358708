"""Guards for the architecture the README promises, checked on the source itself."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "migrator"


def _modules(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path, ast.parse(path.read_text(), filename=str(path))


def _imported_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_sandbox_never_imports_the_migration_domain():
    offenders = []
    for path, tree in _modules(ROOT / "sandbox"):
        for name in _imported_names(tree):
            if name.startswith("migrator.") and not name.startswith("migrator.sandbox"):
                offenders.append(f"{path.relative_to(ROOT.parent)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_the_domain_never_imports_the_sandbox():
    offenders = []
    for path, tree in _modules(ROOT):
        if "sandbox" in path.parts:
            continue
        for name in _imported_names(tree):
            if name.startswith("migrator.sandbox"):
                offenders.append(f"{path.relative_to(ROOT.parent)} imports {name}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("client_class", ["OpenAI", "AsyncOpenAI", "AzureOpenAI"])
def test_sdk_clients_are_built_only_by_the_client_module(client_class):
    allowed = {ROOT / "core" / "openai_client.py"}
    offenders = []
    for path, tree in _modules(ROOT):
        if path in allowed or "sandbox" in path.parts:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name == client_class:
                    offenders.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    assert not offenders, f"build SDK clients with migrator.core.openai_client: {offenders}"
