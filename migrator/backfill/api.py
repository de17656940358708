"""``GET /api/v1/threads/{thread_id}``: the conversation a legacy thread became (production apps swap lazily).

Mounted on the production API (``migrator.flows.api``) with the same bearer tokens; a token limited to some
flows may read only the threads of those flows.
"""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from migrator.backfill.services.lookup import lookup
from migrator.flows.api import ApiTokenAuth, ErrorOut, error
from migrator.inventory.models import LegacyThread

router = Router(tags=["threads"])


class ThreadOut(Schema):
    thread_id: str = Field(description="The legacy thread_… id asked for.")
    conversation_id: str | None = Field(description="The conversation to use instead; null unless status is done.")
    flow: str | None = Field(description="The flow the thread belongs to, when known.")
    status: Literal["done", "pending", "creating", "appending", "failed", "skipped", "rolled_back",
                    "not_backfilled"] = Field(description="Only `done` means the conversation holds the whole thread.")
    items: int = Field(description="Items in the conversation (0 unless done or in progress).")
    connection: str | None = Field(description="The connection (API project) the conversation lives in.")


@router.get(
    "/threads/{thread_id}",
    auth=ApiTokenAuth(),
    response={200: ThreadOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="The conversation a legacy thread was backfilled into",
    operation_id="get_thread_conversation",
    url_name="thread_conversation",
)
def get_thread(request: HttpRequest, thread_id: str, connection: str | None = None):
    """`conversation_id` is set only when the backfill of the thread is `done`; otherwise keep the thread's
    history where it is (or start a new conversation). `connection` picks one connection by name when a thread
    was backfilled to several.

    - 401 for a missing or invalid token; 403 when the token is limited to flows and the thread is not one of
      theirs, whether or not it exists (so a limited token cannot probe thread ids);
    - 404 `thread_not_found` (tokens not limited to flows) for a thread id the inventory does not hold.
    """
    thread = LegacyThread.objects.filter(legacy_id=thread_id[:128]).first() if len(thread_id) <= 128 else None
    token = request.auth
    if token.flows.exists() and (thread is None or not token.flows.filter(slug=thread.flow_slug).exists()):
        # One answer for an unknown thread and another flow's thread: a limited token cannot probe which
        # thread ids exist (as with flow slugs).
        return error(403, "token_not_allowed", "This token may read only the threads of its own flows.")
    if thread is None:
        shown = thread_id[:128].encode("unicode_escape").decode()
        return error(404, "thread_not_found", f"There is no imported thread '{shown}'.")
    body = lookup(thread, connection=connection).as_dict()
    response = Status(200, body)
    return response
