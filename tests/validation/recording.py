"""Transcripts recorded through the sandbox's Assistants API, imported, and converted (test set-up)."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

from migrator.core.actors import SYSTEM
from migrator.core.models import Assistant, Connection, Flow
from migrator.core.services.connections import save_connection

WEATHER_TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city.", "strict": True,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                       "additionalProperties": False}}},
    {"type": "function", "function": {
        "name": "get_forecast", "description": "Forecast for a city.", "strict": True,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                       "additionalProperties": False}}},
]
OUTPUTS = {"get_weather": {"temp_c": 21, "sky": "clear"}, "get_forecast": {"days": [18, 19, 17]}}
WEATHER_THREADS = [
    ["Hi, my name is Ada.", "use get_weather city: Paris", "what is my name?"],
    ["use get_forecast city: Oslo", "And remember that the code is 42.", "Thanks, bye."],
    ["hello there"],
]
INVOICE_FORMAT = {"type": "json_schema", "json_schema": {"name": "invoice", "strict": True, "schema": {
    "type": "object", "properties": {"summary": {"type": "string"}, "total": {"type": "number"}},
    "required": ["summary", "total"], "additionalProperties": False}}}


@dataclass
class Recorded:
    connection: Connection
    assistant: Assistant
    thread_ids: list[str]
    version: Any


def _record(client, assistant_id: str, turns: list[str]) -> str:
    thread = client.beta.threads.create()
    for text in turns:
        client.beta.threads.messages.create(thread.id, role="user", content=text)
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
        while run.status == "requires_action":
            outputs = [{"tool_call_id": c.id, "output": json.dumps(OUTPUTS[c.function.name])}
                       for c in run.required_action.submit_tool_outputs.tool_calls]
            run = client.beta.threads.runs.submit_tool_outputs_and_poll(thread_id=thread.id, run_id=run.id,
                                                                         tool_outputs=outputs)
        assert run.status == "completed", run.status
    return thread.id


def record_and_import(sandbox, *, name: str, instructions: str, tools=None, response_format=None,
                      threads: list[list[str]], connection_name: str = "Sandbox") -> Recorded:
    """Record threads through the Assistants API, import them, and generate the faithful conversion."""
    from migrator.inventory.services.imports import import_from_connection
    from migrator.prompts.services import generate_version

    client = sandbox.client()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        kwargs: dict[str, Any] = {"model": "gpt-4o", "name": name, "instructions": instructions}
        if tools:
            kwargs["tools"] = tools
        if response_format:
            kwargs["response_format"] = response_format
        legacy = client.beta.assistants.create(**kwargs)
        thread_ids = [_record(client, legacy.id, turns) for turns in threads]
    connection = Connection.objects.filter(name=connection_name).first() or save_connection(
        actor=SYSTEM, name=connection_name, base_url=sandbox.base_url, api_key=sandbox.api_key, is_sandbox=True)
    report = import_from_connection(connection=connection, actor=SYSTEM, thread_ids=thread_ids).to_dict()
    assert report["errors"] == [], report["errors"]
    assistant = Assistant.objects.get(legacy_id=legacy.id)
    version = generate_version(assistant_id=assistant.pk, actor=SYSTEM)
    return Recorded(connection=connection, assistant=assistant, thread_ids=thread_ids, version=version)


def make_flow(assistant: Assistant, *, mode: str, store: bool = True, slug: str = "weather") -> Flow:
    return Flow.objects.create(assistant=assistant, slug=slug, name=slug.title(), mode=mode, store=store)
