"""A flow's migration receipt: what an auditor or a customer asks for after a migration, signed.

One zip holds ``receipt.json`` (everything, machine-readable) and ``receipt.html`` (the same, readable): every
release the flow served with its hash and content, the field ledger of those versions, the tool tests, the
validation runs and their verdicts (with the checks they were judged by), the backfill figures, and the cutover
requests, approvals, ramp steps and rollbacks with who and when.

The signature is an HMAC-SHA256, with a key derived from the installation's ``MIGRATOR_RECEIPT_KEY`` (in
DEBUG/testing, when it is not set, from ``SECRET_KEY``), over every byte of
the file before a fixed-length trailer in the zip's comment (``migrator-receipt v1 hmac-sha256 key=<id>
sig=<hex>``). So changing any byte of the file, the trailer included, fails verification; and a receipt from
another installation says so (its key id differs).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from migrator.core.actors import label_of, require
from migrator.core.models import Flow
from migrator.core.services import ServiceError, audit

VERSION = 1
_TRAILER = re.compile(rb"migrator-receipt v1 hmac-sha256 key=([0-9a-f]{16}) sig=([0-9a-f]{64})\Z")
TRAILER_LENGTH = len(b"migrator-receipt v1 hmac-sha256 key=") + 16 + len(b" sig=") + 64
_FILES = ("receipt.json", "receipt.html")
_STAMP = (1980, 1, 1, 0, 0, 0)  # fixed zip timestamps: the bytes depend on the content only


def _key() -> bytes:
    """The signing key: from MIGRATOR_RECEIPT_KEY (required in production), else, in DEBUG/testing only,
    derived from SECRET_KEY (settings refuses to start without it otherwise)."""
    material = settings.MIGRATOR_RECEIPT_KEY or settings.SECRET_KEY
    return hmac.new(material.encode(), b"migrator.receipt.v1", hashlib.sha256).digest()


def key_id() -> str:
    """A public name of this installation's receipt key (a hash of it), printed in every receipt."""
    return hashlib.sha256(_key()).hexdigest()[:16]


def filename(flow: Flow) -> str:
    return f"migration-receipt-{flow.slug}.zip"


# --- what the receipt says ----------------------------------------------------------------------------------


def _at(value) -> str | None:
    return value.isoformat() if value else None


def _release(release) -> dict[str, Any] | None:
    if release is None:
        return None
    return {"hash": release.hash, "version": release.version.number, "mode": release.mode,
            "truncation": release.truncation, "store": release.store, "content": release.content,
            "created_at": _at(release.created_at), "created_by": release.created_by_label, "origin": release.origin}


def build(flow: Flow, *, actor) -> dict[str, Any]:
    from migrator.backfill.models import BackfillRun
    from migrator.cutover.models import FlowRollout, Release, ServingChange
    from migrator.tools.models import ToolTestResult
    from migrator.validation.models import ValidationRun

    changes = list(ServingChange.objects.filter(flow=flow).select_related(
        "from_version", "to_version", "from_release", "to_release").order_by("created_at", "id"))
    rollout = FlowRollout.objects.filter(flow=flow).select_related("production_release", "candidate_release").first()
    served_ids = {c.to_release_id for c in changes if c.to_release_id} | {c.from_release_id for c in changes
                                                                          if c.from_release_id}
    if rollout is not None:
        served_ids |= {i for i in (rollout.production_release_id, rollout.candidate_release_id) if i}
    releases = list(Release.objects.filter(pk__in=served_ids).select_related("version").order_by("created_at", "id"))
    requests = list(flow.cutover_requests.select_related("version", "release").order_by("requested_at", "id"))
    runs = list(ValidationRun.objects.filter(flow=flow).order_by("created_at", "id"))
    tool_tests = list(ToolTestResult.objects.filter(assistant_id=flow.assistant_id).order_by("created_at", "id"))
    backfills = list(BackfillRun.objects.filter(flow=flow).order_by("created_at", "id"))
    return {
        "receipt": {"format": "migrator migration receipt", "version": VERSION, "generated_at": _at(timezone.now()),
                    "generated_by": label_of(actor), "key_id": key_id()},
        "flow": {"slug": flow.slug, "name": flow.name, "status": flow.status, "mode": flow.mode,
                 "assistant": {"legacy_id": flow.assistant.legacy_id, "name": flow.assistant.name},
                 "migrated_at": _at(flow.migrated_at)},
        "serving_now": {
            "production_release": rollout.production_release.hash if rollout and rollout.production_release_id
            else None,
            "candidate_release": rollout.candidate_release.hash if rollout and rollout.candidate_release_id else None,
            "candidate_percent": float(rollout.percent) if rollout and rollout.candidate_id else 0.0,
        },
        "releases": [_release(r) for r in releases],
        "field_ledger": [{"version": r.version.number, "release": r.hash, "ledger": r.version.ledger}
                         for r in releases],
        "tool_tests": [{"tool": t.tool_key, "version": t.version_number, "status": t.status, "summary": t.summary,
                        "tool_hash": t.tool_hash, "connection": t.connection_name, "at": _at(t.created_at)}
                       for t in tool_tests],
        "validation_runs": [{"id": r.pk, "release": r.release_hash, "config": r.config_label, "mode": r.mode,
                             "truncation": r.truncation, "store": r.store, "status": r.status,
                             "verdict": r.verdict, "summary": r.summary, "cases": r.cases_total,
                             "passed": r.cases_passed, "failed": r.cases_failed,
                             "checks": (r.options or {}).get("checks"), "by": r.actor_label,
                             "finished_at": _at(r.finished_at)} for r in runs],
        "backfill": [{"id": b.pk, "release": b.release_hash, "status": b.status, "threads": b.thread_count, "planned_items": b.planned_items,
                      "items_sent": b.items_sent, "writes": b.writes, "calls": b.calls,
                      "rate_limited": b.rate_limited, "retries": b.retries, "recoveries": b.recoveries,
                      "orphans": b.orphans, "started_at": _at(b.started_at), "finished_at": _at(b.finished_at)}
                     for b in backfills],
        "cutover_requests": [{"id": q.pk, "version": q.version.number,
                              "release": q.release.hash if q.release_id else None, "mode": q.mode,
                              "status": q.status, "requested_by": q.requested_by_label,
                              "requested_at": _at(q.requested_at), "note": q.note,
                              "decided_by": q.decided_by.get_username() if q.decided_by_id else None,
                              "decided_at": _at(q.decided_at), "decision_reason": q.decision_reason,
                              "closed_reason": q.closed_reason,
                              "evidence": [{k: i.get(k) for k in ("key", "title", "state", "summary", "release")}
                                           for i in q.evidence or []]} for q in requests],
        "serving_changes": [{"kind": c.kind, "from_version": c.from_version.number if c.from_version_id else None,
                             "to_version": c.to_version.number if c.to_version_id else None,
                             "from_release": c.from_release.hash if c.from_release_id else None,
                             "to_release": c.to_release.hash if c.to_release_id else None,
                             "from_percent": float(c.from_percent), "to_percent": float(c.to_percent),
                             "by": c.actor_label, "reason": c.reason, "at": _at(c.created_at)} for c in changes],
    }


# --- the signed bundle ----------------------------------------------------------------------------------------


def _zip(files: dict[str, bytes], comment: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in _FILES:
            info = zipfile.ZipInfo(name, date_time=_STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
        archive.comment = comment
    return buffer.getvalue()


def sign(files: dict[str, bytes]) -> bytes:
    """The zip of ``files`` with the signature trailer as its comment (same length as the placeholder, so the
    signed bytes, which include the comment's length, do not change when the placeholder is replaced)."""
    ident = key_id().encode()
    placeholder = b"migrator-receipt v1 hmac-sha256 key=" + ident + b" sig=" + b"0" * 64
    unsigned = _zip(files, placeholder)
    body = unsigned[:-TRAILER_LENGTH]
    signature = hmac.new(_key(), body, hashlib.sha256).hexdigest().encode()
    return body + b"migrator-receipt v1 hmac-sha256 key=" + ident + b" sig=" + signature


def export(*, flow_id: int, actor) -> bytes:
    """The flow's signed receipt (audited: who exported which flow's receipt)."""
    require(actor, "core.view_flow", action="export migration receipts")
    flow = Flow.objects.select_related("assistant").filter(pk=flow_id).first()
    if flow is None:
        raise ServiceError(f"Flow #{flow_id} does not exist.")
    data = build(flow, actor=actor)
    document = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
    page = render_to_string("receipts/receipt.html", {"r": data, "raw": document.decode()}).encode()
    bundle = sign({"receipt.json": document, "receipt.html": page})
    audit.record(actor=actor, verb="migrator.receipt.exported", obj=flow,
                 data={"sha256": hashlib.sha256(bundle).hexdigest(), "bytes": len(bundle),
                       "production_release": data["serving_now"]["production_release"]})
    return bundle


@dataclass
class Verified:
    ok: bool
    reason: str = ""
    receipt: dict[str, Any] | None = None


def verify(data: bytes) -> Verified:
    """Whether ``data`` is a receipt this installation signed and nobody changed since (any byte)."""
    if len(data) <= TRAILER_LENGTH:
        return Verified(False, "not a migrator receipt: the file is too short to carry a signature")
    match = _TRAILER.match(data[-TRAILER_LENGTH:])
    if match is None:
        return Verified(False, "not a migrator receipt, or its signature trailer was changed: the zip comment is "
                               "not 'migrator-receipt v1 hmac-sha256 key=… sig=…'")
    ident, signature = match.group(1).decode(), match.group(2)
    if ident != key_id():
        return Verified(False, f"signed with another installation's key ({ident}); this installation's key is "
                               f"{key_id()}, so it cannot check it")
    expected = hmac.new(_key(), data[:-TRAILER_LENGTH], hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, signature):
        return Verified(False, "the signature does not match the content: the file was changed after it was signed")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if archive.namelist() != list(_FILES):
                return Verified(False, f"the bundle holds {archive.namelist()}, not {list(_FILES)}")
            receipt = json.loads(archive.read("receipt.json"))
    except (zipfile.BadZipFile, ValueError, KeyError) as exc:
        return Verified(False, f"the signature matches but the bundle cannot be read ({exc})")
    return Verified(True, "", receipt)
