"""In-process contract checks: validate recorded SDK traffic against the OpenAI spec with jsonschema.

The spec is read as contract-testing.md says (``oneOf`` → ``anyOf``, no ``discriminator``; see
``tests.plugins.sandbox.derive_spec``).  Traffic is recorded with an httpx event hook on the client the
SDK uses: the SDK and its transport are untouched.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

URI = "urn:openai-openapi"


@dataclass
class Exchange:
    method: str
    path: str
    request_body: Any
    status: int
    content_type: str
    response_body: Any


@dataclass
class Recorder:
    exchanges: list[Exchange] = field(default_factory=list)

    def hook(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        sent = None
        if request.headers.get("content-type", "").startswith("application/json"):
            raw = request.content
            sent = json.loads(raw) if raw else None
        ctype = response.headers.get("content-type", "")
        body = response.json() if ctype.startswith("application/json") and response.content else None
        path = request.url.path.removeprefix("/v1")
        self.exchanges.append(Exchange(request.method, path, sent, response.status_code, ctype, body))

    def http_client(self) -> httpx.Client:
        return httpx.Client(event_hooks={"response": [self.hook]}, timeout=30)


class SpecValidator:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.registry = Registry().with_resource(URI, Resource.from_contents(spec, default_specification=DRAFT202012))
        self.routes: list[tuple[str, re.Pattern[str], dict[str, Any]]] = []
        for path, ops in spec["paths"].items():
            if "?" in path:
                continue
            regex = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
            for method, op in ops.items():
                if isinstance(op, dict) and method in ("get", "post", "delete"):
                    self.routes.append((method.upper(), regex, op))
        # literal paths first (``/threads/runs`` before ``/threads/{thread_id}``)
        self.routes.sort(key=lambda r: r[1].pattern.count("[^/]+"))

    def operation(self, method: str, path: str) -> dict[str, Any]:
        for verb, regex, op in self.routes:
            if verb == method and regex.match(path):
                return op
        raise AssertionError(f"{method} {path} is not in the spec")

    def check(self, schema: dict[str, Any], value: Any) -> list[str]:
        validator = jsonschema.Draft202012Validator(schema, registry=self.registry)
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in validator.iter_errors(value)]

    def component(self, name: str, value: Any) -> list[str]:
        return self.check({"$ref": f"{URI}#/components/schemas/{name}"}, value)

    def exchange(self, ex: Exchange) -> list[str]:
        op = self.operation(ex.method, ex.path)
        problems = []
        if ex.request_body is not None:
            schema = (op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
            if schema:
                problems += [f"request {p}" for p in self.check(_rebase(schema), ex.request_body)]
        if ex.status >= 400:
            problems += [f"error body {p}" for p in self.component("ErrorResponse", ex.response_body)]
            return problems
        response = op.get("responses", {}).get(str(ex.status))
        if response is None:
            return [f"status {ex.status} not in spec"]
        content = response.get("content") or {}
        if "application/json" in content and ex.response_body is not None:
            problems += [f"response {p}" for p in self.check(_rebase(content["application/json"]["schema"]), ex.response_body)]
        return problems


def _rebase(schema: Any) -> Any:
    """Local ``#/components/...`` refs of an inline schema, pointed at the registered document."""
    if isinstance(schema, dict):
        return {k: (URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rebase(v))
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [_rebase(x) for x in schema]
    return schema
