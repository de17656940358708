"""Files, vector stores (enough for file_search and code_interpreter resources) and models."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from . import catalog
from .common import Ctx, Route, deleted, get_or_404, list_body, metadata, now, opt_str, paging, require
from .errors import ApiError, bad_request, invalid_value
from .store import Store, public

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
WORD_RE = re.compile(r"[a-z0-9]{3,}")
STOP = {"the", "and", "for", "what", "does", "with", "this", "that", "are", "our", "how", "from", "you", "please",
        "search", "find", "docs", "documentation", "look", "check", "about", "according"}


# --- files ------------------------------------------------------------------------------------
def file_object(file_id: str, filename: str, size: int, purpose: str, created: int) -> dict[str, Any]:
    return {"id": file_id, "object": "file", "bytes": size, "created_at": created, "filename": filename,
            "purpose": purpose, "status": "processed"}


def add_file(store: Store, filename: str, content: bytes, purpose: str, *, file_id: str | None = None,
             created: int | None = None) -> dict[str, Any]:
    obj = file_object(file_id or catalog.new_id("file-", 22), filename, len(content), purpose, created or now())
    with store.tx():
        store.put_blob(obj["id"], content)
        store.insert("file", obj)
    return obj


def create_file(ctx: Ctx) -> dict[str, Any]:
    form = ctx.form or {}
    upload = form.get("file")
    purpose = form.get("purpose")
    if upload is None:
        raise ApiError(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
    if purpose is None:
        raise ApiError(400, "Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter")
    if purpose not in PURPOSES:
        raise invalid_value("purpose", f"'{purpose}'. Supported values are: {', '.join(repr(p) for p in PURPOSES)}.")
    filename, content = upload
    return add_file(ctx.store, filename, content, purpose)


def list_files(ctx: Ctx) -> dict[str, Any]:
    page = paging(ctx, max_limit=10_000, default_limit=10_000)
    purpose = ctx.query.get("purpose")
    where, args = ("", ()) if not purpose else (" AND json_extract(data, '$.purpose') = ?", (purpose,))
    rows, more = ctx.store.page("file", limit=page["limit"], order=page["order"], after=page["after"],
                                where=where, args=args)
    return list_body(rows, more)


def retrieve_file(ctx: Ctx, file_id: str) -> dict[str, Any]:
    return get_or_404(ctx, "file", file_id, "such File object")


def delete_file(ctx: Ctx, file_id: str) -> dict[str, Any]:
    get_or_404(ctx, "file", file_id, "such File object")
    ctx.store.delete("file", file_id)
    return deleted(file_id, "file")


def file_content(ctx: Ctx, file_id: str) -> Response:
    get_or_404(ctx, "file", file_id, "such File object")
    content = ctx.store.get_blob(file_id) or b""
    return Response(content, media_type="application/octet-stream")


# --- vector stores ----------------------------------------------------------------------------
def vector_store_object(vs_id: str, name: str, created: int, files: list[dict[str, Any]], meta: dict | None) -> dict:
    done = sum(1 for f in files if f["status"] == "completed")
    return {
        "id": vs_id, "object": "vector_store", "created_at": created, "name": name,
        "usage_bytes": sum(f["usage_bytes"] for f in files),
        "file_counts": {"in_progress": 0, "completed": done, "failed": 0, "cancelled": 0, "total": len(files)},
        "status": "completed", "last_active_at": created, "metadata": meta or {}, "expires_at": None,
    }


def attach_file(store: Store, vs_id: str, file_id: str, created: int, attributes: dict | None = None) -> dict:
    file = store.get("file", file_id)
    if file is None:
        raise ApiError(404, f"No file found with id '{file_id}'.", param="file_id")
    row = {"id": file_id, "object": "vector_store.file", "usage_bytes": file["bytes"], "created_at": created,
           "vector_store_id": vs_id, "status": "completed", "last_error": None, "attributes": attributes or {},
           "chunking_strategy": {"type": "static",
                                 "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}}
    with store.tx():
        store.insert("vs_file", row, parent=vs_id)
        _refresh_counts(store, vs_id)
    return row


def _refresh_counts(store: Store, vs_id: str) -> None:
    vs = store.get("vector_store", vs_id)
    if vs is None:
        return
    files = store.all("vs_file", vs_id)
    fresh = vector_store_object(vs_id, vs["name"], vs["created_at"], files, vs["metadata"])
    fresh.update({k: vs[k] for k in ("expires_after", "expires_at") if vs.get(k) is not None})
    store.save("vector_store", fresh)


def add_vector_store(store: Store, name: str, file_ids: list[str], *, vs_id: str | None = None,
                     created: int | None = None, meta: dict | None = None) -> dict[str, Any]:
    created = created or now()
    obj = vector_store_object(vs_id or catalog.new_id("vs_"), name, created, [], meta)
    with store.tx():
        store.insert("vector_store", obj)
        for file_id in file_ids:
            attach_file(store, obj["id"], file_id, created)
    return store.get("vector_store", obj["id"]) or obj


def create_vector_store(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json()
    file_ids = body.get("file_ids") or []
    if not isinstance(file_ids, list):
        raise bad_request("Invalid type for 'file_ids': expected an array.", param="file_ids")
    obj = add_vector_store(ctx.store, opt_str(body, "name") or "", file_ids, meta=metadata(body))
    if body.get("expires_after"):
        obj["expires_after"] = body["expires_after"]
        ctx.store.save("vector_store", obj)
    return obj


def list_vector_stores(ctx: Ctx) -> dict[str, Any]:
    page = paging(ctx)
    return list_body(*ctx.store.page("vector_store", **page))


def retrieve_vector_store(ctx: Ctx, vs_id: str) -> dict[str, Any]:
    return get_or_404(ctx, "vector_store", vs_id, "vector store")


def update_vector_store(ctx: Ctx, vs_id: str) -> dict[str, Any]:
    obj = get_or_404(ctx, "vector_store", vs_id, "vector store")
    body = ctx.json()
    if body.get("name") is not None:
        obj["name"] = opt_str(body, "name")
    if body.get("metadata") is not None:
        obj["metadata"] = metadata(body)
    return ctx.store.save("vector_store", obj)


def delete_vector_store(ctx: Ctx, vs_id: str) -> dict[str, Any]:
    get_or_404(ctx, "vector_store", vs_id, "vector store")
    with ctx.store.tx():
        ctx.store.delete("vector_store", vs_id)
        ctx.store.delete_children(vs_id)
    return deleted(vs_id, "vector_store.deleted")


def create_vs_file(ctx: Ctx, vs_id: str) -> dict[str, Any]:
    get_or_404(ctx, "vector_store", vs_id, "vector store")
    body = ctx.json()
    file_id = require(body, "file_id")
    existing = ctx.store.get("vs_file", file_id, vs_id)
    return existing or attach_file(ctx.store, vs_id, file_id, now(), body.get("attributes"))


def list_vs_files(ctx: Ctx, vs_id: str) -> dict[str, Any]:
    get_or_404(ctx, "vector_store", vs_id, "vector store")
    page = paging(ctx)
    status = ctx.query.get("filter")
    where, args = ("", ()) if not status else (" AND json_extract(data, '$.status') = ?", (status,))
    return list_body(*ctx.store.page("vs_file", vs_id, **page, where=where, args=args))


def retrieve_vs_file(ctx: Ctx, vs_id: str, file_id: str) -> dict[str, Any]:
    return get_or_404(ctx, "vs_file", file_id, "vector store file", parent=vs_id)


def delete_vs_file(ctx: Ctx, vs_id: str, file_id: str) -> dict[str, Any]:
    get_or_404(ctx, "vs_file", file_id, "vector store file", parent=vs_id)
    with ctx.store.tx():
        ctx.store.delete("vs_file", file_id, parent=vs_id)
        _refresh_counts(ctx.store, vs_id)
    return deleted(file_id, "vector_store.file.deleted")


def search(store: Store, vs_ids: list[str], query: str, limit: int) -> list[dict[str, Any]]:
    """Keyword match: score = share of query words found in the file; best chunk as the text."""
    words = [w for w in WORD_RE.findall(query.lower()) if w not in STOP]
    hits: list[dict[str, Any]] = []
    for vs_id in vs_ids:
        for row in store.all("vs_file", vs_id):
            file = store.get("file", row["id"])
            if file is None:
                continue
            text = (store.get_blob(row["id"]) or b"").decode("utf-8", "replace")
            low = text.lower()
            found = [w for w in words if w in low]
            if words and not found:
                continue
            score = round(len(found) / len(words), 4) if words else 0.5
            paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()] or [text]
            best = max(paragraphs, key=lambda p: sum(w in p.lower() for w in found))
            hits.append({"file_id": row["id"], "filename": file["filename"], "score": score,
                         "text": best[:800], "attributes": row.get("attributes") or {}})
    hits.sort(key=lambda h: (-h["score"], h["filename"]))
    return hits[:limit]


def search_vector_store(ctx: Ctx, vs_id: str) -> dict[str, Any]:
    get_or_404(ctx, "vector_store", vs_id, "vector store")
    body = ctx.json()
    query = require(body, "query")
    text = query if isinstance(query, str) else " ".join(query)
    hits = search(ctx.store, [vs_id], text, int(body.get("max_num_results") or 10))
    data = [{"file_id": h["file_id"], "filename": h["filename"], "score": h["score"], "attributes": h["attributes"],
             "content": [{"type": "text", "text": h["text"]}]} for h in hits]
    return {"object": "vector_store.search_results.page", "search_query": [text], "data": data,
            "has_more": False, "next_page": None}


# --- models -----------------------------------------------------------------------------------
def list_models(ctx: Ctx) -> dict[str, Any]:
    return {"object": "list", "data": catalog.model_list()}


def retrieve_model(ctx: Ctx, model: str) -> dict[str, Any]:
    found = catalog.MODELS.get(model)
    if found is None:
        raise ApiError(404, f"The model '{model}' does not exist", param="model", code="model_not_found")
    return dict(found)


ROUTES: list[Route] = [
    ("POST", "/files", create_file),
    ("GET", "/files", list_files),
    ("GET", "/files/{file_id}", retrieve_file),
    ("DELETE", "/files/{file_id}", delete_file),
    ("GET", "/files/{file_id}/content", file_content),
    ("POST", "/vector_stores", create_vector_store),
    ("GET", "/vector_stores", list_vector_stores),
    ("GET", "/vector_stores/{vs_id}", retrieve_vector_store),
    ("POST", "/vector_stores/{vs_id}", update_vector_store),
    ("DELETE", "/vector_stores/{vs_id}", delete_vector_store),
    ("POST", "/vector_stores/{vs_id}/files", create_vs_file),
    ("GET", "/vector_stores/{vs_id}/files", list_vs_files),
    ("GET", "/vector_stores/{vs_id}/files/{file_id}", retrieve_vs_file),
    ("DELETE", "/vector_stores/{vs_id}/files/{file_id}", delete_vs_file),
    ("POST", "/vector_stores/{vs_id}/search", search_vector_store),
    ("GET", "/models", list_models),
    ("GET", "/models/{model}", retrieve_model),
]

__all__ = ["ROUTES", "add_file", "add_vector_store", "public", "search"]
