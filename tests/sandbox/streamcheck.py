"""Recording a raw SSE stream from the sandbox, validating each event against the spec's ``ResponseStreamEvent``
schemas, and rebuilding the final output from the deltas alone (independent of the SDK's accumulator)."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx

from tests.sandbox.specval import SpecValidator


def record(base_url: str, api_key: str, body: dict[str, Any], headers: dict[str, str] | None = None,
           ) -> list[dict[str, Any]]:
    """POST /responses with ``stream: true``; every event as sent (``event:`` name checked against ``type``)."""
    with httpx.Client(timeout=30) as http:
        answer = http.post(f"{base_url}/responses", json={**body, "stream": True},
                           headers={"authorization": f"Bearer {api_key}", **(headers or {})})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    return parse_sse(answer.text)


def parse_sse(raw: str) -> list[dict[str, Any]]:
    found = []
    for block in raw.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        data = json.loads(fields["data"])
        assert fields["event"] == data["type"], block[:200]
        found.append(data)
    return found


def event_schemas(spec: dict[str, Any]) -> dict[str, str]:
    """Event type → component name, read from the spec's ``ResponseStreamEvent`` union."""
    schemas = spec["components"]["schemas"]
    out = {}
    for branch in schemas["ResponseStreamEvent"]["anyOf"]:
        name = branch["$ref"].rsplit("/", 1)[-1]
        out[schemas[name]["properties"]["type"]["enum"][0]] = name
    return out


def violations(validator: SpecValidator, events: list[dict[str, Any]]) -> list[str]:
    kinds = event_schemas(validator.spec)
    found = []
    for event in events:
        name = kinds.get(event["type"])
        if name is None:
            found.append(f"{event['type']}: not a ResponseStreamEvent type")
            continue
        found += [f"{event['type']}#{event['sequence_number']} ({name}): {p}" for p in validator.component(name, event)]
        found += [f"{event['type']}: {p}" for p in validator.component("ResponseStreamEvent", event)]
    return found


def rebuild(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The output items as the deltas build them: item added → parts added → deltas and annotations. Each
    ``*.done`` event's full value must equal what the deltas built up to it."""
    items: dict[int, dict[str, Any]] = {}
    for event in events:
        kind = event["type"]
        index = event.get("output_index")
        if kind == "response.output_item.added":
            assert index not in items and index == len(items), f"output_index {index} out of order"
            items[index] = copy.deepcopy(event["item"])
        elif kind == "response.content_part.added":
            assert event["content_index"] == len(items[index]["content"])
            items[index]["content"].append(copy.deepcopy(event["part"]))
        elif kind == "response.output_text.delta":
            items[index]["content"][event["content_index"]]["text"] += event["delta"]
        elif kind == "response.output_text.annotation.added":
            part = items[index]["content"][event["content_index"]]
            assert event["annotation_index"] == len(part["annotations"])
            part["annotations"].append(event["annotation"])
        elif kind == "response.output_text.done":
            assert items[index]["content"][event["content_index"]]["text"] == event["text"]
        elif kind == "response.content_part.done":
            assert items[index]["content"][event["content_index"]] == event["part"]
        elif kind == "response.function_call_arguments.delta":
            items[index]["arguments"] += event["delta"]
        elif kind == "response.function_call_arguments.done":
            assert items[index]["arguments"] == event["arguments"] and items[index]["name"] == event["name"]
        elif kind == "response.code_interpreter_call_code.delta":
            items[index]["code"] += event["delta"]
        elif kind == "response.code_interpreter_call_code.done":
            assert items[index]["code"] == event["code"]
        elif kind == "response.output_item.done":
            built, done = items[index], event["item"]
            assert built["id"] == done["id"] and built["type"] == done["type"]
            # what only the done event carries: the final status, and a tool call's results/outputs
            built["status"] = done["status"]
            for key in ("results", "outputs"):
                if key in done:
                    built[key] = done[key]
            assert built == done, f"item {index}: deltas built {built!r}, done says {done!r}"
    return [items[i] for i in sorted(items)]


def check_order(events: list[dict[str, Any]]) -> None:
    """Sequence numbers 0..n-1; created → in_progress first; one terminal event last; items open and close."""
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert [e["type"] for e in events[:2]] == ["response.created", "response.in_progress"]
    terminal = ("response.completed", "response.incomplete", "response.failed")
    assert events[-1]["type"] in (*terminal, "error")
    assert not any(e["type"] in terminal for e in events[:-1])
    open_items: set[int] = set()
    for event in events[2:-1]:
        if event["type"] == "response.output_item.added":
            open_items.add(event["output_index"])
        elif event["type"] == "response.output_item.done":
            open_items.remove(event["output_index"])
        elif "output_index" in event:
            assert event["output_index"] in open_items, f"{event['type']} outside its item"
    if events[-1]["type"] != "error":
        assert not open_items
