"""Responses/Conversations items: input validation, stored shapes, and the model's view of them."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from . import catalog
from .errors import ApiError, bad_request, invalid_value, missing_param
from .model import Output, Turn

INPUT_PARTS = ("input_text", "input_image", "input_file")
ASSISTANT_PARTS = ("output_text", "refusal")
ROLES = ("user", "assistant", "system", "developer")
PREFIX = {"message": "msg_", "function_call": "fc_", "function_call_output": "fco_",
          "file_search_call": "fs_", "code_interpreter_call": "ci_", "reasoning": "rs_",
          "compaction": "cmp_"}
COMPACTION_PREFIX = "sbxc1."  # opaque to clients; the sandbox reads it back (zlib + base64 of the turns)


def _part(part: Any, role: str, param: str) -> dict[str, Any]:
    if not isinstance(part, dict) or "type" not in part:
        raise missing_param(f"{param}.type")
    kind = part["type"]
    allowed = ASSISTANT_PARTS if role == "assistant" else INPUT_PARTS
    if kind not in allowed:
        supported = " and ".join(f"'{a}'" for a in allowed) if role == "assistant" else (
            "'input_text', 'input_image', and 'input_file'")
        raise invalid_value(f"{param}.type", f"'{kind}'. Supported values are: {supported}.")
    if kind in ("input_text", "output_text") and not isinstance(part.get("text"), str):
        raise missing_param(f"{param}.text")
    if kind == "output_text":
        return {"type": "output_text", "text": part["text"], "annotations": part.get("annotations") or [],
                "logprobs": part.get("logprobs") or []}
    if kind == "input_image":
        if not part.get("image_url") and not part.get("file_id"):
            raise bad_request(f"Invalid '{param}': an input_image needs 'image_url' or 'file_id'.", param=param)
        out = {"type": "input_image", "detail": part.get("detail") or "auto"}
        out.update({k: part[k] for k in ("image_url", "file_id") if part.get(k)})
        return out
    return {k: v for k, v in part.items() if v is not None}


def normalize_input(value: Any, param: str = "input") -> list[dict[str, Any]]:
    """Turn ``input`` (string or item list) into stored item resources, validating as the API does."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"id": catalog.new_id("msg_"), "type": "message", "status": "completed", "role": "user",
                 "content": [{"type": "input_text", "text": value}]}]
    if not isinstance(value, list):
        raise ApiError(400, f"Invalid type for '{param}': expected one of a string or array of input items, "
                       f"but got {type(value).__name__} instead.", param=param, code="invalid_type")
    return [normalize_item(item, f"{param}[{i}]") for i, item in enumerate(value)]


def normalize_item(item: Any, param: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ApiError(400, f"Invalid type for '{param}': expected an object.", param=param, code="invalid_type")
    kind = item.get("type") or ("message" if "role" in item else None)
    if kind is None:
        raise missing_param(f"{param}.type")
    if kind == "message":
        role = item.get("role")
        if role not in ROLES:
            raise invalid_value(f"{param}.role", f"'{role}'. Supported values are: 'user', 'assistant', 'system', and 'developer'.")
        content = item.get("content")
        if isinstance(content, str):
            parts = [{"type": "output_text" if role == "assistant" else "input_text", "text": content}]
            if role == "assistant":
                parts[0].update(annotations=[], logprobs=[])
        elif isinstance(content, list):
            parts = [_part(p, role, f"{param}.content[{j}]") for j, p in enumerate(content)]
        else:
            raise missing_param(f"{param}.content")
        return {"id": item.get("id") or catalog.new_id("msg_"), "type": "message",
                "status": item.get("status") or "completed", "role": role, "content": parts}
    if kind == "function_call":
        for key in ("call_id", "name", "arguments"):
            if not isinstance(item.get(key), str):
                raise missing_param(f"{param}.{key}")
        return {"id": item.get("id") or catalog.new_id("fc_"), "type": "function_call", "status": "completed",
                "call_id": item["call_id"], "name": item["name"], "arguments": item["arguments"]}
    if kind == "function_call_output":
        if not isinstance(item.get("call_id"), str):
            raise missing_param(f"{param}.call_id")
        output = item.get("output")
        if output is None:
            raise missing_param(f"{param}.output")
        return {"id": item.get("id") or catalog.new_id("fco_"), "type": "function_call_output",
                "status": "completed", "call_id": item["call_id"], "output": output}
    if kind == "compaction":
        content = item.get("encrypted_content")
        if not isinstance(content, str):
            raise missing_param(f"{param}.encrypted_content")
        decode_compaction(content, f"{param}.encrypted_content")
        return {"id": item.get("id") or catalog.new_id("cmp_"), "type": "compaction", "encrypted_content": content}
    if kind == "item_reference":
        if not isinstance(item.get("id"), str):
            raise missing_param(f"{param}.id")
        return {"type": "item_reference", "id": item["id"]}
    out = dict(item)
    out.setdefault("id", catalog.new_id(PREFIX.get(str(kind), "item_")))
    return out


def text_of(item: dict[str, Any]) -> str:
    parts = []
    for part in item.get("content") or []:
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append(part.get("text", ""))
        elif kind == "refusal":
            parts.append(part.get("refusal", ""))
        elif kind == "input_image":
            parts.append("[image]")
        elif kind == "input_file":
            parts.append(f"[file {part.get('filename') or part.get('file_id') or ''}]")
    return "\n".join(parts)


def to_turn(item: dict[str, Any]) -> Turn:
    kind = item.get("type")
    if kind == "message":
        return Turn("message", role=item.get("role", "user"), text=text_of(item))
    if kind == "function_call":
        return Turn("function_call", name=item["name"], call_id=item["call_id"], arguments=item["arguments"])
    if kind == "function_call_output":
        output = item["output"]
        text = output if isinstance(output, str) else json.dumps(output)
        return Turn("function_call_output", call_id=item["call_id"], text=text)
    return Turn("other", text=str(kind))


def encode_compaction(turns: list[Turn]) -> str:
    raw = json.dumps([{k: v for k, v in vars(t).items() if v} for t in turns], separators=(",", ":"))
    return COMPACTION_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw.encode())).decode()


def decode_compaction(content: str, param: str = "input") -> list[Turn]:
    """The turns a compaction item stands for; 400 when it was not made by this sandbox (or was altered)."""
    try:
        if not content.startswith(COMPACTION_PREFIX):
            raise ValueError(content[:12])
        rows = json.loads(zlib.decompress(base64.urlsafe_b64decode(content[len(COMPACTION_PREFIX):])))
        return [Turn(**row) for row in rows]
    except (ValueError, TypeError, zlib.error, binascii.Error):
        raise ApiError(400, "The encrypted content could not be decrypted or parsed.", param=param,
                       code="invalid_encrypted_content") from None


def to_turns(found: list[dict[str, Any]]) -> list[Turn]:
    """The model's view of items: a compaction item expands back into the turns it compacted."""
    turns: list[Turn] = []
    for item in found:
        if item.get("type") == "compaction":
            turns.extend(decode_compaction(item["encrypted_content"]))
        else:
            turns.append(to_turn(item))
    return turns


def output_items(outputs: list[Output], include: list[str]) -> list[dict[str, Any]]:
    """Model outputs as Responses output items."""
    items: list[dict[str, Any]] = []
    for out in outputs:
        if out.kind == "function_call":
            items.append({"id": catalog.new_id("fc_"), "type": "function_call", "status": "completed",
                          "call_id": catalog.new_id("call_"), "name": out.name, "arguments": out.arguments})
        elif out.kind == "file_search":
            results = None
            if "file_search_call.results" in include:
                results = [{k: r[k] for k in ("file_id", "filename", "score", "text", "attributes")}
                           for r in out.results]
            items.append({"id": catalog.new_id("fs_"), "type": "file_search_call", "status": "completed",
                          "queries": out.queries, "results": results})
        elif out.kind == "code":
            outputs_ = [{"type": "logs", "logs": out.logs}] if "code_interpreter_call.outputs" in include else None
            items.append({"id": catalog.new_id("ci_"), "type": "code_interpreter_call", "status": "completed",
                          "code": out.code, "container_id": catalog.new_id("cntr_"), "outputs": outputs_})
        else:
            annotations = [{"type": "file_citation", **c} for c in out.citations]
            items.append({"id": catalog.new_id("msg_"), "type": "message", "status": "completed", "role": "assistant",
                          "content": [{"type": "output_text", "text": out.text, "annotations": annotations,
                                       "logprobs": []}]})
    return items
