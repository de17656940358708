from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

# ../shared beside the checkout; MIGRATOR_SHARED points elsewhere (a git worktree sits one level deeper).
SHARED = Path(os.environ.get("MIGRATOR_SHARED") or Path(__file__).resolve().parents[2].parent / "shared")
CORPUS = SHARED / "corpus" / "assistants"
SPEC = SHARED / "openai-openapi" / "openapi.json"


def corpus_paths() -> list[Path]:
    return sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []


@pytest.fixture
def need_shared():
    if not CORPUS.is_dir():
        pytest.skip(f"../shared is not present ({SHARED}); the corpus and spec tests need it")


def _any_of(node: Any) -> Any:
    """Read the spec's oneOf as anyOf and drop discriminator (contract-testing.md: ambiguous oneOf)."""
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): _any_of(v) for k, v in node.items() if k != "discriminator"}
    if isinstance(node, list):
        return [_any_of(v) for v in node]
    return node


@pytest.fixture(scope="session")
def create_response_validator():
    """A jsonschema Draft 2020-12 validator for the spec's CreateResponse (skips without ../shared)."""
    if not SPEC.is_file():
        pytest.skip(f"the OpenAPI spec is not present ({SPEC})")
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = _any_of(json.loads(SPEC.read_text()))
    uri = "urn:openai-openapi"
    registry = Registry().with_resource(uri, Resource(contents=spec, specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"{uri}#/components/schemas/CreateResponse"}, registry=registry)
