"""Responses and Conversations endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import catalog, items, lifecycle, streaming
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
from .errors import ApiError, bad_request, invalid_type, invalid_value
from .files import search
from .model import Request, Result, count_tokens
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
    if catalog.is_embedding(model):
        raise ApiError(400, f"The model `{model}` is an embedding model and does not support the Responses API.",
                       param="model", code="model_not_supported")
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


def history_from_previous(ctx: Ctx, prev_id: str) -> list[dict[str, Any]]:
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


@dataclass
class Plan:
    """A validated ``responses.create`` body: what the model sees and what the stored response carries."""

    body: dict[str, Any]
    model: str
    request: Request
    include: list[str]
    instructions: Any
    effort: str | None
    reasoning: Any
    temperature: float | None
    top_p: float | None
    max_out: int | None
    truncation: str
    meta: dict[str, str]
    store: bool
    tools: list[dict[str, Any]]
    tool_choice: Any
    text_cfg: dict[str, Any]
    prev_id: str | None
    conv_id: str | None
    new_items: list[dict[str, Any]]
    context: list[dict[str, Any]]


def plan_request(ctx: Ctx, body: dict[str, Any], *, model_default: str | None = None) -> Plan:
    """Validate a create (or input-token count) body as the API does and build the model's request."""
    raw_model = body.get("model") if body.get("model") is not None else model_default
    model = check_model(raw_model if raw_model is not None else require(body, "model"))
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
    meta = metadata(body) or {}
    store_flag = body.get("store", True) is not False
    tools, model_tools = response_tools(body.get("tools"), lambda vs: ctx.store.get("vector_store", vs) is not None)
    tool_choice = body.get("tool_choice") if body.get("tool_choice") is not None else "auto"
    functions = {t.name for t in model_tools if t.type == "function"}
    if isinstance(tool_choice, dict) and tool_choice.get("type") == "function" and tool_choice.get("name") not in functions:
        raise invalid_value("tool_choice", f"Tool choice '{tool_choice.get('name')}' not found in 'tools' parameter.")

    history: list[dict[str, Any]] = []
    if conv_id:
        get_or_404(ctx, "conversation", conv_id, "conversation")
        history = ctx.store.all("conv_item", conv_id)
    elif prev_id:
        history = history_from_previous(ctx, prev_id)
    new_items = _resolve_refs(items.normalize_input(body.get("input")), history, ctx, conv_id)
    context = history + new_items
    instr_text = instructions if isinstance(instructions, str) else "\n".join(
        items.text_of(i) for i in items.normalize_input(instructions, "instructions"))
    text_cfg = _text_format(body, (instr_text or "") + " " + " ".join(items.text_of(i) for i in context))
    turns = items.to_turns(context)
    if count_tokens(" ".join(t.text for t in turns)) > catalog.CONTEXT_WINDOW:
        if truncation == "disabled":
            raise ApiError(400, "Your input exceeds the context window of this model. Please adjust your input "
                           "and try again.", param="input", code="context_length_exceeded")
        while len(turns) > 1 and count_tokens(" ".join(t.text for t in turns)) > catalog.CONTEXT_WINDOW:
            turns.pop(0)
    request = Request(
        model=model, instructions=instr_text, history=turns, tools=model_tools, tool_choice=tool_choice,
        text_format=text_cfg["format"], max_output_tokens=max_out,
        parallel_tool_calls=body.get("parallel_tool_calls", True) is not False, reasoning_effort=effort,
    )
    return Plan(body, model, request, include, instructions, effort, reasoning, temperature, top_p, max_out,
                truncation, meta, store_flag, tools, tool_choice, text_cfg, prev_id, conv_id, new_items, context)


def _usage(result: Result) -> dict[str, Any]:
    return {"input_tokens": result.input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": result.output_tokens,
            "output_tokens_details": {"reasoning_tokens": result.reasoning_tokens},
            "total_tokens": result.input_tokens + result.output_tokens}


def response_object(plan: Plan, result: Result, output: list[dict[str, Any]]) -> dict[str, Any]:
    """The finished response (``completed``, ``incomplete`` or, by request, ``failed``)."""
    body = plan.body
    created = now()
    failed = plan.meta.get("sandbox_outcome") == "failed"
    status = "failed" if failed else "incomplete" if result.incomplete else "completed"
    resp: dict[str, Any] = {
        "id": catalog.new_id("resp_"), "object": "response", "created_at": created,
        "status": status, "completed_at": created if status == "completed" else None,
        "background": bool(body.get("background") or False),
        "error": {"code": "server_error", "message": "The model failed to generate a response (sandbox_outcome "
                  "metadata asked for it)."} if failed else None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": plan.instructions, "max_output_tokens": plan.max_out,
        "max_tool_calls": body.get("max_tool_calls"),
        "model": plan.model, "output": [] if failed else output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True) is not False,
        "previous_response_id": plan.prev_id,
        "reasoning": {"effort": plan.effort, "summary": (plan.reasoning or {}).get("summary")}
        if catalog.is_reasoning(plan.model) else None,
        "service_tier": "default", "store": plan.store,
        "temperature": plan.temperature if plan.temperature is not None else 1.0, "text": plan.text_cfg,
        "tool_choice": plan.tool_choice, "tools": plan.tools,
        "top_p": plan.top_p if plan.top_p is not None else 1.0,
        "truncation": plan.truncation,
        "usage": _usage(result),
        "metadata": plan.meta,
        "conversation": {"id": plan.conv_id} if plan.conv_id else None,
        "safety_identifier": body.get("safety_identifier"), "prompt_cache_key": body.get("prompt_cache_key"),
    }
    if body.get("user") is not None:
        resp["user"] = body["user"]
    if failed:  # the spec's ``usage`` is an object or absent, never null
        del resp["usage"]
    return resp


def without_usage(resp: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resp.items() if k != "usage"}


def create_response(ctx: Ctx) -> Any:
    body = ctx.json()
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        raise invalid_type("stream", "a boolean")
    background = body.get("background") or False
    if background and body.get("store") is False:
        raise bad_request("Background responses must be stored: 'background' requires 'store' to be true.",
                          param="background")
    fault = streaming.stream_fault(ctx, stream=stream)
    plan = plan_request(ctx, body)
    result = ctx.model.run(plan.request)
    output = items.output_items(result.outputs, plan.include)
    resp = response_object(plan, result, output)
    stored = resp
    if fault == "stream-error":  # the error ends the stream: the stored response failed and produced nothing
        stored = {**without_usage(resp), "status": "failed", "output": [], "completed_at": None,
                  "incomplete_details": None, "error": {"code": "server_error", "message": "The server had an "
                                                        "error while processing your request (sandbox fault "
                                                        "'stream-error')."}}
    if background:
        return lifecycle.start_background(ctx, plan, resp, stream=stream)
    with ctx.store.tx():
        if plan.store:
            ctx.store.insert("response", {**stored, "_input": plan.new_items,
                                          "_context": plan.context + stored["output"]})
        if plan.conv_id and stored["status"] != "failed":
            ctx.store.insert_many("conv_item", plan.new_items + stored["output"], parent=plan.conv_id)
    if stream:
        return streaming.sse_response(ctx, resp, fault)
    return resp


def retrieve_response(ctx: Ctx, response_id: str) -> Any:
    resp = get_or_404(ctx, "response", response_id, "response")
    if ctx.query.get("stream") in ("true", "1"):
        # Resuming a background response's stream: the same numbered events as when it was created.
        if not resp.get("background"):
            raise bad_request("This response cannot be streamed because it was not created with background=true.",
                              param="stream")
        raw_after = ctx.query.get("starting_after")
        try:
            after = int(raw_after) if raw_after is not None else -1
        except ValueError:
            raise invalid_type("starting_after", "an integer") from None
        return streaming.sse_response(ctx, public(lifecycle.run_to_end(ctx, resp)), starting_after=after)
    return public(lifecycle.advance(ctx, resp))


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
    ("POST", "/responses/{response_id}/cancel", lifecycle.cancel_response),
    ("POST", "/responses/input_tokens", lifecycle.count_input_tokens),
    ("POST", "/responses/compact", lifecycle.compact),
    ("POST", "/conversations", create_conversation),
    ("GET", "/conversations/{conv_id}", retrieve_conversation),
    ("POST", "/conversations/{conv_id}", update_conversation),
    ("DELETE", "/conversations/{conv_id}", delete_conversation),
    ("POST", "/conversations/{conv_id}/items", create_items),
    ("GET", "/conversations/{conv_id}/items", list_items),
    ("GET", "/conversations/{conv_id}/items/{item_id}", retrieve_item),
    ("DELETE", "/conversations/{conv_id}/items/{item_id}", delete_item),
]
