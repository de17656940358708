"""Background responses (``queued`` → ``in_progress`` → final, one step per read), cancel, input-token counts
and compaction.

- ``background: true`` stores the response ``queued``; every ``GET /responses/{id}`` moves it one status on,
  like the sandbox's runs, and the final step puts the output (computed at create time, so it is the same as
  a foreground call's) in place and appends it to the conversation.
- ``POST /responses/{id}/cancel``: a queued or in-progress background response becomes ``cancelled`` (no
  output, nothing added to a conversation); a finished background response comes back unchanged (cancel is
  idempotent); a foreground response is refused with 400 ("Cannot cancel a synchronous response.").
- ``POST /responses/input_tokens`` runs the same planning and the same count as ``responses.create``, so
  the number equals the ``usage.input_tokens`` a create with the same body reports.
- ``POST /responses/compact`` keeps the user messages and folds everything else into one ``compaction`` item
  whose ``encrypted_content`` is opaque to clients; a later create that sends the output back sees the same
  history (the compaction item expands into the turns it stands for).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import catalog, items, streaming
from .common import Ctx, get_or_404, now
from .errors import ApiError
from .model import count_tokens
from .store import public

if TYPE_CHECKING:
    from .responses import Plan

ACTIVE = ("queued", "in_progress")
_FINAL_KEYS = ("status", "output", "usage", "error", "incomplete_details", "completed_at")


def start_background(ctx: Ctx, plan: Plan, resp: dict[str, Any], *, stream: bool) -> Any:
    """Store ``resp`` as a queued background response (or, streamed, run it to its end as the stream goes)."""
    final = {k: resp[k] for k in _FINAL_KEYS if k in resp}
    row = {**{k: v for k, v in resp.items() if k != "usage"}, "status": "queued", "output": [], "error": None,
           "incomplete_details": None,
           "completed_at": None, "_input": plan.new_items, "_context": plan.context,
           "_bg": {"final": final, "conv_id": plan.conv_id, "new_items": plan.new_items}}
    with ctx.store.tx():
        ctx.store.insert("response", row)
        if stream:
            row = _finish(ctx, row)
    if stream:
        return streaming.sse_response(ctx, public(row))
    return public(row)


def _finish(ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
    pending = row.pop("_bg")
    row.update(pending["final"])
    if row["status"] == "completed":
        row["completed_at"] = now()
    row["_context"] = row.get("_context", []) + row["output"]
    if pending["conv_id"] and row["status"] != "failed":
        ctx.store.insert_many("conv_item", pending["new_items"] + row["output"], parent=pending["conv_id"])
    return ctx.store.save("response", row)


def advance(ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
    """One read of a background response: ``queued`` → ``in_progress`` → its final status."""
    if "_bg" not in row or row["status"] not in ACTIVE:
        return row
    with ctx.store.tx():
        if row["status"] == "queued":
            row["status"] = "in_progress"
            return ctx.store.save("response", row)
        return _finish(ctx, row)


def run_to_end(ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
    """A background response moved to its final status (streaming it waits for the end)."""
    while "_bg" in row and row["status"] in ACTIVE:
        row = advance(ctx, row)
    return row


def cancel_response(ctx: Ctx, response_id: str) -> dict[str, Any]:
    row = get_or_404(ctx, "response", response_id, "response")
    if not row.get("background"):
        raise ApiError(400, "Cannot cancel a synchronous response.", param=None, code=None)
    if row["status"] in ACTIVE:
        row.pop("_bg", None)
        row["status"] = "cancelled"
        row = ctx.store.save("response", row)
    return public(row)


def count_input_tokens(ctx: Ctx) -> dict[str, Any]:
    from .responses import plan_request  # the one planning path of responses.create

    plan = plan_request(ctx, ctx.json(), model_default="gpt-4o")
    return {"object": "response.input_tokens", "input_tokens": ctx.model.run(plan.request).input_tokens}


def compact(ctx: Ctx) -> dict[str, Any]:
    from .responses import check_model, history_from_previous

    body = ctx.json()
    check_model(body.get("model"))
    prev_id = body.get("previous_response_id")
    history = history_from_previous(ctx, prev_id) if isinstance(prev_id, str) and prev_id else []
    found = history + items.normalize_input(body.get("input"))
    kept = [i for i in found if i.get("type") == "message" and i.get("role") in ("user", "developer", "system")]
    folded = items.to_turns([i for i in found if i not in kept])
    summary = {"id": catalog.new_id("cmp_"), "type": "compaction",
               "encrypted_content": items.encode_compaction(folded)}
    instructions = body.get("instructions") if isinstance(body.get("instructions"), str) else ""
    input_tokens = max(count_tokens(instructions) + sum(count_tokens(t.text or t.arguments) + 4
                                                        for t in items.to_turns(found)), 1)
    output_tokens = sum(count_tokens(t.text or t.arguments) for t in folded)
    return {"id": catalog.new_id("resp_"), "object": "response.compaction", "output": [*kept, summary],
            "created_at": now(),
            "usage": {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                      "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": input_tokens + output_tokens}}
