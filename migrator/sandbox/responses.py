"""Responses and Conversations endpoints."""

from __future__ import annotations

from typing import Any

from . import catalog, items
from .common import (
    Ctx,
    Route,
    check_list,
    get_or_404,
    list_body,
    metadata,
    now,
    opt_number,
    opt_str,
    paging,
    require,
)
from .errors import ApiError, bad_request, invalid_value
from .files import search
from .model import Request, count_tokens
from .store import public
from .tools import check_name, response_tools, strict_problem

INCLUDABLE = (
    "file_search_call.results", "web_search_call.results", "web_search_call.action.sources",
    "message.input_image.image_url", "computer_call_output.output.image_url", "code_interpreter_call.outputs",
    "reasoning.encrypted_content", "message.output_text.logprobs",
)
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
MAX_ITEMS = 20


def check_model(model: Any) -> str:
    if not isinstance(model, str) or model not in catalog.MODELS:
        raise ApiError(404, f"The model `{model}` does not exist or you do not have access to it.",
                       param="model", code="model_not_found")
    if catalog.is_retired(model):
        raise ApiError(404, f"The model `{model}` has been deprecated, learn more here: "
                       "https://platform.openai.com/docs/deprecations", param="model", code="model_not_found")
    return model


def _text_format(body: dict[str, Any], context: str) -> dict[str, Any]:
    text = body.get("text") or {}
    if not isinstance(text, dict):
        raise bad_request("Invalid type for 'text': expected an object.", param="text")
    fmt = text.get("format") or {"type": "text"}
    kind = fmt.get("type")
    if kind == "json_schema":
        check_name(fmt.get("name"), "text.format.name")
        if not isinstance(fmt.get("schema"), dict):
            raise ApiError(400, "Missing required parameter: 'text.format.schema'.", param="text.format.schema",
                           code="missing_required_parameter")
        if fmt.get("strict"):
            problem = strict_problem(fmt["schema"])
            if problem:
                raise ApiError(400, f"Invalid schema for response_format '{fmt['name']}': {problem}",
                               param="text.format.schema", code="invalid_json_schema")
    elif kind == "json_object":
        if "json" not in context.lower():
            raise ApiError(400, "Response input messages must contain the word 'json' in some form to use "
                           "'text.format' of type 'json_object'.", param="input", code=None)
    elif kind != "text":
        raise invalid_value("text.format.type", f"'{kind}'. Supported values are: 'text', 'json_object', and 'json_schema'.")
    return {"format": fmt, "verbosity": text.get("verbosity") or "medium"}


def _history_from_previous(ctx: Ctx, prev_id: str) -> list[dict[str, Any]]:
    prev = ctx.store.get("response", prev_id)
    if prev is None:
        raise ApiError(400, f"Previous response with id '{prev_id}' not found.", param="previous_response_id",
                       code="previous_response_not_found")
    return prev.get("_context", [])


def _resolve_refs(found: list[dict[str, Any]], history: list[dict[str, Any]], ctx: Ctx, conv: str | None) -> list:
    out = []
    known = {i.get("id"): i for i in history}
    for item in found:
        if item["type"] == "item_reference":
            ref = known.get(item["id"]) or (ctx.store.get("conv_item", item["id"], conv) if conv else None)
            if ref is None:
                raise ApiError(404, f"Item with id '{item['id']}' not found.", param="input")
            out.append(ref)
        else:
            out.append(item)
    return out


def create_response(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json()
    model = check_model(require(body, "model"))
    if body.get("stream"):
        raise bad_request("The sandbox does not stream; call without stream=True.", param="stream")
    prev_id = opt_str(body, "previous_response_id")
    conv_param = body.get("conversation")
    if prev_id and conv_param:
        raise ApiError(400, "Mutually exclusive parameters: Ensure you are only providing one of: "
                       "'previous_response_id' or 'conversation'.", param="previous_response_id",
                       code="mutually_exclusive_parameters")
    conv_id = conv_param.get("id") if isinstance(conv_param, dict) else conv_param
    if conv_param is not None and not isinstance(conv_id, str):
        raise bad_request("Invalid 'conversation': expected a conversation id.", param="conversation")
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str | list):
        raise bad_request("Invalid type for 'instructions'.", param="instructions")
    include = body.get("include") or []
    for i, value in enumerate(check_list(include, "include")):
        if value not in INCLUDABLE:
            raise invalid_value(f"include[{i}]", f"'{value}'.")
    reasoning = body.get("reasoning")
    effort = None
    if reasoning is not None:
        effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
        if effort is not None and effort not in EFFORTS:
            raise invalid_value("reasoning.effort", f"'{effort}'.")
        if effort is not None and not catalog.is_reasoning(model):
            raise ApiError(400, "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
                           param="reasoning.effort", code="unsupported_parameter")
    temperature = opt_number(body, "temperature", 0, 2)
    top_p = opt_number(body, "top_p", 0, 1)
    if catalog.is_reasoning(model):
        for name, value in (("temperature", temperature), ("top_p", top_p)):
            if value is not None and value != 1:
                raise ApiError(400, f"Unsupported parameter: '{name}' is not supported with this model.",
                               param=name, code="unsupported_parameter")
    max_out = body.get("max_output_tokens")
    if max_out is not None and (not isinstance(max_out, int) or max_out < 16):
        raise ApiError(400, f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, "
                       f"but got {max_out} instead.", param="max_output_tokens", code="integer_below_min_value")
    truncation = body.get("truncation") or "disabled"
    if truncation not in ("auto", "disabled"):
        raise invalid_value("truncation", f"'{truncation}'. Supported values are: 'auto' and 'disabled'.")
    meta = metadata(body)
    store_flag = body.get("store", True) is not False
    tools, model_tools = response_tools(body.get("tools"), lambda vs: ctx.store.get("vector_store", vs) is not None)
    tool_choice = body.get("tool_choice", "auto")
    functions = {t.name for t in model_tools if t.type == "function"}
    if isinstance(tool_choice, dict) and tool_choice.get("type") == "function" and tool_choice.get("name") not in functions:
        raise invalid_value("tool_choice", f"Tool choice '{tool_choice.get('name')}' not found in 'tools' parameter.")

    history: list[dict[str, Any]] = []
    conv = None
    if conv_id:
        conv = get_or_404(ctx, "conversation", conv_id, "conversation")
        history = ctx.store.all("conv_item", conv_id)
    elif prev_id:
        history = _history_from_previous(ctx, prev_id)
    new_items = _resolve_refs(items.normalize_input(body.get("input")), history, ctx, conv_id)
    context = history + new_items
    instr_text = instructions if isinstance(instructions, str) else "\n".join(
        items.text_of(i) for i in items.normalize_input(instructions, "instructions"))
    text_cfg = _text_format(body, (instr_text or "") + " " + " ".join(items.text_of(i) for i in context))
    turns = [items.to_turn(i) for i in context]
    if count_tokens(" ".join(t.text for t in turns)) > catalog.CONTEXT_WINDOW:
        if truncation == "disabled":
            raise ApiError(400, "Your input exceeds the context window of this model. Please adjust your input "
                           "and try again.", param="input", code="context_length_exceeded")
        while len(turns) > 1 and count_tokens(" ".join(t.text for t in turns)) > catalog.CONTEXT_WINDOW:
            turns.pop(0)

    result = ctx.model.run(Request(
        model=model, instructions=instr_text, history=turns, tools=model_tools, tool_choice=tool_choice,
        text_format=text_cfg["format"], max_output_tokens=max_out,
        parallel_tool_calls=body.get("parallel_tool_calls", True) is not False, reasoning_effort=effort,
    ))
    output = items.output_items(result.outputs, include)
    created = now()
    resp: dict[str, Any] = {
        "id": catalog.new_id("resp_"), "object": "response", "created_at": created,
        "status": "incomplete" if result.incomplete else "completed",
        "completed_at": None if result.incomplete else created,
        "background": bool(body.get("background") or False),
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if result.incomplete else None,
        "instructions": instructions, "max_output_tokens": max_out, "max_tool_calls": body.get("max_tool_calls"),
        "model": model, "output": output, "parallel_tool_calls": body.get("parallel_tool_calls", True) is not False,
        "previous_response_id": prev_id,
        "reasoning": {"effort": effort, "summary": (reasoning or {}).get("summary")} if catalog.is_reasoning(model)
        else None,
        "service_tier": "default", "store": store_flag,
        "temperature": temperature if temperature is not None else 1.0, "text": text_cfg,
        "tool_choice": tool_choice, "tools": tools, "top_p": top_p if top_p is not None else 1.0,
        "truncation": truncation,
        "usage": {"input_tokens": result.input_tokens,
                  "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                  "output_tokens": result.output_tokens,
                  "output_tokens_details": {"reasoning_tokens": result.reasoning_tokens},
                  "total_tokens": result.input_tokens + result.output_tokens},
        "metadata": meta or {},
        "conversation": {"id": conv_id} if conv_id else None,
        "safety_identifier": body.get("safety_identifier"), "prompt_cache_key": body.get("prompt_cache_key"),
    }
    if body.get("user") is not None:
        resp["user"] = body["user"]
    with ctx.store.tx():
        if store_flag:
            ctx.store.insert("response", {**resp, "_input": new_items, "_context": context + output})
        if conv is not None:
            ctx.store.insert_many("conv_item", new_items + output, parent=conv_id)
    return resp


def retrieve_response(ctx: Ctx, response_id: str) -> dict[str, Any]:
    return public(get_or_404(ctx, "response", response_id, "response"))


def delete_response(ctx: Ctx, response_id: str) -> dict[str, Any]:
    get_or_404(ctx, "response", response_id, "response")
    ctx.store.delete("response", response_id)
    return {"id": response_id, "object": "response.deleted", "deleted": True}


def input_items(ctx: Ctx, response_id: str) -> dict[str, Any]:
    resp = get_or_404(ctx, "response", response_id, "response")
    return _page_list(resp.get("_input", []), paging(ctx))


def _page_list(rows: list[dict[str, Any]], page: dict[str, Any]) -> dict[str, Any]:
    ordered = rows if page["order"] == "asc" else list(reversed(rows))
    if page["after"]:
        ids = [r.get("id") for r in ordered]
        ordered = ordered[ids.index(page["after"]) + 1 :] if page["after"] in ids else ordered
    chunk = ordered[: page["limit"]]
    return list_body(chunk, len(ordered) > page["limit"])


# --- conversations ----------------------------------------------------------------------------
def _conv_items(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    check_list(raw, "items", MAX_ITEMS)
    found = items.normalize_input(raw, "items")
    for i, item in enumerate(found):
        if item["type"] == "item_reference":
            raise invalid_value(f"items[{i}].type", "'item_reference' is not supported here.")
    return found


def create_conversation(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json()
    new = _conv_items(body.get("items"))
    conv = {"id": catalog.new_id("conv_", 48), "object": "conversation", "created_at": now(),
            "metadata": metadata(body) or {}}
    with ctx.store.tx():
        ctx.store.insert("conversation", conv)
        if new:
            ctx.store.insert_many("conv_item", new, parent=conv["id"])
    return conv


def retrieve_conversation(ctx: Ctx, conv_id: str) -> dict[str, Any]:
    return get_or_404(ctx, "conversation", conv_id, "conversation")


def update_conversation(ctx: Ctx, conv_id: str) -> dict[str, Any]:
    conv = get_or_404(ctx, "conversation", conv_id, "conversation")
    body = ctx.json()
    require(body, "metadata")
    conv["metadata"] = metadata(body) or {}
    return ctx.store.save("conversation", conv)


def delete_conversation(ctx: Ctx, conv_id: str) -> dict[str, Any]:
    get_or_404(ctx, "conversation", conv_id, "conversation")
    with ctx.store.tx():
        ctx.store.delete("conversation", conv_id)
        ctx.store.delete_children(conv_id)
    return {"id": conv_id, "object": "conversation.deleted", "deleted": True}


def create_items(ctx: Ctx, conv_id: str) -> dict[str, Any]:
    get_or_404(ctx, "conversation", conv_id, "conversation")
    body = ctx.json()
    new = _conv_items(require(body, "items"))
    ctx.store.insert_many("conv_item", new, parent=conv_id)
    return list_body(new, False)


def list_items(ctx: Ctx, conv_id: str) -> dict[str, Any]:
    get_or_404(ctx, "conversation", conv_id, "conversation")
    page = paging(ctx)
    page["before"] = None  # the API has no ``before`` here
    return list_body(*ctx.store.page("conv_item", conv_id, **page))


def retrieve_item(ctx: Ctx, conv_id: str, item_id: str) -> dict[str, Any]:
    get_or_404(ctx, "conversation", conv_id, "conversation")
    return get_or_404(ctx, "conv_item", item_id, "item", parent=conv_id)


def delete_item(ctx: Ctx, conv_id: str, item_id: str) -> dict[str, Any]:
    conv = get_or_404(ctx, "conversation", conv_id, "conversation")
    get_or_404(ctx, "conv_item", item_id, "item", parent=conv_id)
    ctx.store.delete("conv_item", item_id, parent=conv_id)
    return conv


def bind_search(ctx_store: Any) -> Any:
    return lambda ids, query, n: search(ctx_store, ids, query, n)


ROUTES: list[Route] = [
    ("POST", "/responses", create_response),
    ("GET", "/responses/{response_id}", retrieve_response),
    ("DELETE", "/responses/{response_id}", delete_response),
    ("GET", "/responses/{response_id}/input_items", input_items),
    ("POST", "/conversations", create_conversation),
    ("GET", "/conversations/{conv_id}", retrieve_conversation),
    ("POST", "/conversations/{conv_id}", update_conversation),
    ("DELETE", "/conversations/{conv_id}", delete_conversation),
    ("POST", "/conversations/{conv_id}/items", create_items),
    ("GET", "/conversations/{conv_id}/items", list_items),
    ("GET", "/conversations/{conv_id}/items/{item_id}", retrieve_item),
    ("DELETE", "/conversations/{conv_id}/items/{item_id}", delete_item),
]
