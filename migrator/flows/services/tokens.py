"""API tokens for the production config API: issued per consumer, shown once, stored hashed, revocable."""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from migrator.core.actors import require, user_or_none
from migrator.core.models import Flow
from migrator.core.services import ServiceError, audit
from migrator.flows.models import TOKEN_PREFIX, ApiToken

TOKEN_RE = re.compile(rf"^{TOKEN_PREFIX}_([0-9a-f]{{8}})_([A-Za-z0-9_-]{{40,64}})$")


def _require(actor, perm: str, action: str) -> None:
    require(actor, perm, action=action)


def _snapshot(token: ApiToken) -> dict:
    return {"name": token.name, "consumer": token.consumer, "prefix": token.display_prefix,
            "flows": sorted(token.flows.values_list("slug", flat=True)),
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None}


def create_token(*, actor, name: str, consumer: str, flow_ids: list[int] | None = None) -> tuple[ApiToken, str]:
    """Create a token; returns (row, plaintext). The plaintext exists only in this return value."""
    _require(actor, "flows.add_apitoken", "create API tokens")
    name, consumer = (name or "").strip(), (consumer or "").strip()
    if not name:
        raise ServiceError("Name the token (what it is for).")
    if not consumer:
        raise ServiceError("Say who holds the token (team or service).")
    flows = list(Flow.objects.filter(pk__in=flow_ids or []))
    if flow_ids and len(flows) != len(set(flow_ids)):
        raise ServiceError("One of the chosen flows no longer exists.")
    for _attempt in range(5):
        prefix = secrets.token_hex(4)
        plaintext = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    name=name[:100], consumer=consumer[:100], prefix=prefix,
                    token_hash=ApiToken.hash_token(plaintext), created_by=user_or_none(actor),
                )
                token.flows.set(flows)
                audit.record(actor=actor, verb="migrator.apitoken.created", obj=token, after=_snapshot(token))
            return token, plaintext
        except IntegrityError:  # prefix collision (1 in 4 billion): draw again
            continue
    raise ServiceError("Could not create a unique token; try again.")


def revoke_token(*, actor, token_id: int, reason: str = "") -> ApiToken:
    _require(actor, "flows.change_apitoken", "revoke API tokens")
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
        if token is None:
            raise ServiceError(f"API token #{token_id} does not exist.")
        if token.revoked_at is not None:
            return token  # revoking twice is a no-op
        before = _snapshot(token)
        token.revoked_at = timezone.now()
        token.revoked_by = user_or_none(actor)
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit.record(actor=actor, verb="migrator.apitoken.revoked", obj=token, before=before,
                     after=_snapshot(token), data={"reason": reason.strip()} if reason.strip() else {})
    return token


@dataclass
class TokenError(Exception):
    """Why a request's credentials were refused: ``code`` is the RFC 6750 error (or "" when none was sent)."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


_verified: OrderedDict[str, ApiToken] = OrderedDict()  # sha256 of a raw token -> the token it matched
_verified_lock = threading.Lock()
MAX_VERIFIED = 1024


def authenticate_remembered(authorization: str | None) -> ApiToken:
    """:func:`authenticate`, remembering per process the tokens it accepted (by the hash of the whole secret), so
    a repeat call costs no query and no row to build. Only for callers whose next statement re-reads the token's
    ``revoked_at`` (the config API: ``served_cache.load_flow``) and call :func:`forget_verified` when it is gone,
    so a revocation still takes effect on the very next request in every process."""
    raw = (authorization or "").strip().partition(" ")[2].strip()
    key = ApiToken.hash_token(raw) if raw else ""
    if key:
        with _verified_lock:
            token = _verified.get(key)
        if token is not None:
            return token
    token = authenticate(authorization)
    with _verified_lock:
        _verified[key] = token
        while len(_verified) > MAX_VERIFIED:
            _verified.popitem(last=False)
    return token


def forget_verified(token_id: int | None = None) -> None:
    with _verified_lock:
        for key in [k for k, t in _verified.items() if token_id is None or t.pk == token_id]:
            del _verified[key]


def authenticate(authorization: str | None) -> ApiToken:
    """The active token named by an ``Authorization: Bearer …`` header, or raise :class:`TokenError`."""
    if not authorization or not authorization.strip():
        raise TokenError("", "Send the API token as 'Authorization: Bearer <token>'.")
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise TokenError("invalid_request", "The Authorization header must be 'Bearer <token>'.")
    raw = value.strip()
    match = TOKEN_RE.match(raw)
    if not match:
        raise TokenError("invalid_token", f"That is not a migrator API token (they look like "
                                          f"'{TOKEN_PREFIX}_0123abcd_…').")
    token = ApiToken.objects.filter(prefix=match.group(1)).first()
    if token is None or not token.matches(raw):
        raise TokenError("invalid_token", "The API token is not valid.")
    if token.revoked_at is not None:
        raise TokenError("invalid_token", f"The API token {token.display_prefix}… was revoked.")
    return token

