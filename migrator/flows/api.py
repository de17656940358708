"""The production config API (``/api/v1/…``), described by OpenAPI at ``/api/v1/openapi.json``.

Production code reads the configuration its flow should use *now* on each request (or on a short timer)
with an ``If-None-Match`` header; a 304 costs two indexed queries (the token; the flow with the fingerprint of
everything its answer depends on, see ``services/served_cache.py``), no write and no body. Calls are counted
outside the database (``services/traffic.py``). A cutover (approval, ramp, rollback) takes effect on the very
next request.

Every error is JSON: ``{"error": {"code": "...", "message": "..."}}``.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Header, NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import ConfigDict, Field

from migrator.cutover.serving import NotServable, ServedConfig, etag_matches, flow_config
from migrator.flows.services import served_cache, traffic
from migrator.flows.services import tokens as token_services
from migrator.flows.services.tokens import TokenError

# Django's slug alphabet (SlugField also admits underscores and capitals, e.g. flows made in the admin).
_SLUG_SHAPE = re.compile(r"[-a-zA-Z0-9_]+")

logger = logging.getLogger(__name__)

REALM = "migrator"

api = NinjaAPI(
    title="migrator production config API",
    version="1",
    description=(
        "Read the Responses API configuration that each product flow should use now (the prompt version "
        "its cutover put in production, ramped per subject), with the flow's state mode. Authenticate with an API "
        "token from the API tokens page: `Authorization: Bearer mgr_…`. Send `If-None-Match` with the last "
        "ETag to get `304 Not Modified` while nothing changed."
    ),
    urls_namespace="api:v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


# --- schemas ---------------------------------------------------------------------------------------------


class ErrorDetail(Schema):
    code: str = Field(description="Machine-readable: missing_token, invalid_token, invalid_request, "
                                  "flow_not_found, token_not_allowed, mode_not_chosen, not_cut_over.")
    message: str = Field(description="What went wrong and what to do, for people.")


class ErrorOut(Schema):
    error: ErrorDetail


class FlowInfo(Schema):
    slug: str
    name: str
    status: Literal["planning", "validated", "awaiting_approval", "approved", "rolling_out", "migrated", "blocked"]
    mode: Literal["stateless", "conversation", "previous_response"]
    state_param: Literal["conversation", "previous_response_id"] | None = Field(
        description="The responses.create parameter that carries state in this mode (null when stateless: "
                    "send the whole input each call)."
    )
    truncation: Literal["auto", "disabled"]
    store: bool
    streams: bool = Field(default=False, description="Whether production calls with stream=true (part of the "
                                                     "release, like the mode).")


class AssistantInfo(Schema):
    id: int
    legacy_id: str = Field(description="The asst_… id the flow used before the migration.")
    name: str


class VersionInfo(Schema):
    id: int
    number: int
    label: Literal["production", "candidate"] = Field(
        description="Why this version is served to this subject: 'production', or 'candidate' while a cutover ramps."
    )
    config_hash: str = Field(description="sha256 of the configuration; evidence is bound to it.")
    approved_at: str | None = Field(description="ISO 8601 time of approval.")


class RolloutInfo(Schema):
    stage: Literal["rolling_out", "complete"]
    percent: float = Field(description="Share of subjects on the candidate (100 when the rollout is complete).")
    served: Literal["production", "candidate"]
    subject_assigned: bool = Field(description="Whether a subject was given (X-Migrator-Subject or ?subject=); "
                                               "without one, the production version is served while ramping.")
    production_version: int | None
    candidate_version: int | None


class CallConfig(Schema):
    """Keyword arguments for ``client.responses.create(**config, input=...)``; other settings may appear."""

    model_config = ConfigDict(extra="allow")

    model: str
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    metadata: dict[str, str] | None = None
    truncation: Literal["auto", "disabled"]
    store: bool


class ShadowInfo(Schema):
    release: str = Field(description="The candidate release the client also calls, in the background.")
    sample: float = Field(description="Share of production calls (0–1) to shadow.")
    config: CallConfig = Field(description="The candidate's call settings, with store false.")
    mode: Literal["stateless", "conversation", "previous_response"]


class FlowConfigOut(Schema):
    release: str = Field(description="The content hash (sha256) of the release served to this subject: the "
                                     "configuration, state mode, store, truncation, tools and model together. "
                                     "The ETag starts with it.")
    flow: FlowInfo
    assistant: AssistantInfo
    version: VersionInfo
    rollout: RolloutInfo
    config: CallConfig
    pulled_releases: list[str] | None = Field(None, description=(
        "Release hashes this flow rolled back and no longer serves: a conversation pinned to one of them moves "
        "to what the flow serves now; every other change leaves a conversation on the release it started on."))
    shadow: ShadowInfo | None = Field(None, description=(
        "Present while the cutover runs in shadow and this subject is on production: call the candidate too, "
        "in the background, with store false, show the user nothing from it, and report both outcomes "
        "(migrator-client does this)."))
    etag: str = Field(description="The same value as the ETag header, without quotes.")


# --- authentication --------------------------------------------------------------------------------------


class ApiTokenAuth(HttpBearer):
    """Bearer tokens from ``flows.ApiToken``. Every authenticated call is counted on its token (by the endpoint,
    together with the flow and version it served, in one round trip to the counter store)."""

    def __init__(self, remembered: bool = False) -> None:
        super().__init__()
        # The config API re-reads the token's revocation in its one statement, so it may skip the token query.
        self.check = token_services.authenticate_remembered if remembered else token_services.authenticate

    def __call__(self, request: HttpRequest) -> Any:
        return self.check(request.headers.get("Authorization"))

    def authenticate(self, request: HttpRequest, token: str) -> Any:  # pragma: no cover - __call__ does it all
        return None


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    response["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def _challenge(code: str, message: str) -> str:
    # RFC 6750 §3: no error attribute when the request carried no credentials at all.
    if not code:
        return f'Bearer realm="{REALM}"'
    # Header values must be plain ASCII (Django would MIME-encode anything else).
    safe = message.replace("…", "...").replace("\\", "").replace('"', "'").encode("ascii", "replace").decode()
    return f'Bearer realm="{REALM}", error="{code}", error_description="{safe}"'


@api.exception_handler(TokenError)
def _token_error(request: HttpRequest, exc: TokenError) -> HttpResponse:
    # A malformed header is answered 401 too (not RFC 6750's 400): clients then treat every credential
    # problem the same way, by fetching a valid token.
    return error(401, exc.code or "missing_token", exc.message, {"WWW-Authenticate": _challenge(exc.code, exc.message)})


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = "Send the API token as 'Authorization: Bearer <token>'."
    return error(401, "missing_token", message, {"WWW-Authenticate": _challenge("", message)})


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}" for e in exc.errors[:5])
    return error(400, "invalid_request", f"The request is not valid: {where}")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error(exc.status_code, "http_error", str(exc))


# --- endpoints -------------------------------------------------------------------------------------------


@api.get(
    "/flows/{slug}/config",
    auth=ApiTokenAuth(remembered=True),
    response={200: FlowConfigOut, 304: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    exclude_unset=True,
    summary="The configuration a flow should use now",
    operation_id="get_flow_config",
    url_name="flow_config",
    tags=["flows"],
)
def get_flow_config(
    request: HttpRequest,
    slug: str,
    response: HttpResponse,
    if_none_match: str | None = Header(
        None, alias="If-None-Match", description="The ETag from an earlier answer: 304 while it is still current."
    ),
    x_migrator_subject: str | None = Header(
        None, alias="X-Migrator-Subject",
        description="Who is asking (an end user or chat id, hashed with the flow): while a cutover ramps, each "
                    "subject is assigned to production or the candidate and keeps that version as the ramp grows.",
    ),
    subject: str | None = None,
):
    """Model, instructions, tools, text format, reasoning and the other call settings of the flow's serving
    prompt version its cutover serves to this subject, plus the flow's state mode, truncation and store.

    - 304 when `If-None-Match` names the current ETag (no body);
    - 401 for a missing, malformed, unknown or revoked token (with `WWW-Authenticate`);
    - 403 when the token is limited to other flows (also for unknown slugs: a limited token cannot tell them
      apart);
    - 404 for an unknown flow (tokens for every flow);
    - 409 when the flow has nothing to serve yet (no mode chosen, or never cut over: `not_cut_over`).

    Pass a subject (`X-Migrator-Subject` header or `?subject=`) so a ramping cutover assigns it stickily; the
    answer's `version` and `rollout` say what this subject got, for your logs.
    """
    token = request.auth
    # Anything that cannot be a slug (NUL bytes, slashes, overlong) is simply not found: it never reaches the
    # database, which would reject some of it (PostgreSQL refuses NUL) with an error instead of a 404.
    is_slug = len(slug) <= 100 and _SLUG_SHAPE.fullmatch(slug) is not None
    shown = slug[:100].encode("unicode_escape").decode()
    try:
        flow = served_cache.load_flow(slug if is_slug else "", token.pk)
    except served_cache.TokenGone:
        # Revoked or deleted since this process remembered it: forget it and answer as a fresh check would.
        token_services.forget_verified(token.pk)
        token = token_services.authenticate(request.headers.get("Authorization"))
        flow = served_cache.load_flow(slug if is_slug else "", token.pk)
    # A token limited to some flows gets one answer for every other slug, existing or not: it must not be able
    # to list the other flows by trying names.
    if (flow is not None and not served_cache.token_may_read(flow)) or (flow is None and token.flows.exists()):
        traffic.record(token_id=token.pk)
        return error(403, "token_not_allowed", f"This token may not read a flow '{shown}'; it reads only the "
                                               "flows it was created for.")
    if flow is None:
        traffic.record(token_id=token.pk)
        return error(404, "flow_not_found", f"There is no flow with the slug '{shown}'.")
    who = (x_migrator_subject or subject or "")[:500] or None
    # While nothing the answer depends on changed (the fingerprint), the ETag this process served last time is
    # still the answer: a matching If-None-Match is a 304 without building the configuration again.
    key = served_cache.fingerprint(flow, who or "")
    # The same holds for the body: a 200 for an unchanged fingerprint is the body this process built last time.
    known = served_cache.remembered(key)
    if known is not None and if_none_match and etag_matches(if_none_match, known[0]):
        traffic.record(token_id=token.pk, flow_id=flow.pk, version=known[1], not_modified=True)
        return _not_modified(known[0])
    if known is not None and known[2] is not None:
        served = ServedConfig(body=known[2], etag=known[0])
    else:
        try:
            served = flow_config(flow, subject=who)
        except NotServable as exc:
            traffic.record(token_id=token.pk)
            return error(409, exc.code, str(exc))
    version = served_cache.served_version_number(served.body)
    served_cache.remember(key, served.etag, version, served.body)
    if etag_matches(if_none_match, served.etag):
        traffic.record(token_id=token.pk, flow_id=flow.pk, version=version, not_modified=True)
        return _not_modified(served.etag)
    traffic.record(token_id=token.pk, flow_id=flow.pk, version=version)
    for name, value in _caching_headers(served.etag).items():
        response[name] = value
    return Status(200, served.body)


def _caching_headers(etag: str) -> dict[str, str]:
    # Clients must revalidate every time: a ramp or rollback has to reach them on the next request.
    return {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Authorization, X-Migrator-Subject"}


def _not_modified(etag: str) -> HttpResponse:
    not_modified = HttpResponse(status=304)
    for name, value in _caching_headers(etag).items():
        not_modified[name] = value
    return not_modified
