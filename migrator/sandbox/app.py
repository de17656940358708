"""The ASGI application: routing, auth, faults, limits, and OpenAI-shaped responses.

Private endpoints (not part of OpenAI's API): ``GET /_sandbox/health`` (no auth) and
``POST /_sandbox/reset`` with ``{"seed": "demo" | "empty"}`` (Bearer key required). A one-process sandbox also
takes ``"options"`` there (``{"rpm": 3, "fail_rate": 0.5, ...}``, see ``RUNTIME_OPTIONS``): it then answers as if
started with those options and the defaults for the rest, fault sequence and limit windows restarted (the test
suite reuses one process per pytest worker this way instead of starting one per test).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from starlette.requests import Request as StarletteRequest
from starlette.responses import Response

from . import assistants, batches, catalog, demo_threads, embeddings, files, responses, seed
from .common import Ctx, Route
from .config import RUNTIME_OPTIONS, SandboxConfig
from .errors import ApiError, error_body, invalid_url
from .faults import DELAY_HEADER, FAULT_HEADER, LOST, Limiter, fault_error, lost_answer
from .model import Model
from .store import Store
from .streaming import STREAM_FAULTS, StreamCut

ASSISTANTS_PREFIXES = ("/assistants", "/threads")
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _compile(routes: list[Route]) -> dict[str, list[tuple[re.Pattern[str], Any]]]:
    table: dict[str, list[tuple[re.Pattern[str], Any]]] = {}
    for method, pattern, handler in routes:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        table.setdefault(method, []).append((regex, handler))
    return table


ROUTES = _compile(assistants.ROUTES + responses.ROUTES + files.ROUTES + embeddings.ROUTES + batches.ROUTES)


def json_response(status: int, body: Any, headers: dict[str, str]) -> Response:
    return Response(_dumps(body).encode(), status_code=status, headers=headers, media_type="application/json")


class SandboxApp:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = Store(config.state_path)
        self.model = Model(responses.bind_search(self.store))
        self.limiter = Limiter(config)
        # Options change at run time only where one process serves: others would keep their own.
        self.one_process = config.effective_workers() == 1
        seed.ensure(self.store, config.seed, reset=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        response = await self.handle(StarletteRequest(scope, receive))
        try:
            await response(scope, receive, send)
        except StreamCut:  # the server leaves the chunked body unfinished: the client sees a cut connection
            return

    async def handle(self, request: StarletteRequest) -> Response:
        started = time.perf_counter()
        headers = {"x-request-id": catalog.new_id("req_", 32), "openai-version": "2020-10-01",
                   "openai-organization": "org-sandbox"}
        path = request.url.path
        method = request.method
        try:
            if path.startswith("/_sandbox/"):
                return await self._private(request, path, headers)
            self._auth(request)
            fault = request.headers.get(FAULT_HEADER)
            if fault and fault != LOST and fault not in STREAM_FAULTS:
                await self._fault(fault, request)
            lost = fault == LOST
            if self.config.latency_ms:
                await asyncio.sleep(self.config.latency_ms / 1000)
            failure = self.limiter.random_failure() or self.limiter.random_throttle()
            if failure:
                raise failure
            raw = await request.body() if method == "POST" else b""
            ctx = Ctx(self.store, self.model, self.config, method, path, dict(request.query_params),
                      request_headers=dict(request.headers),
                      drop_point=self.limiter.stream_drop if self.config.stream_drop_rate > 0 else None)
            if (self.config.rpm or self.config.tpm) and path.startswith("/v1"):
                headers.update(self.limiter.check(len(raw) // 4 if method == "POST" else 0))
            lost = lost or self.limiter.random_lost(method)
            if not path.startswith("/v1/"):
                raise invalid_url(method, path)
            sub = path[3:]
            if not self.config.assistants_api and sub.startswith(ASSISTANTS_PREFIXES):
                raise invalid_url(method, path)
            handler, params = self._match(method, sub, path)
            content_type = request.headers.get("content-type", "")
            if content_type.startswith("multipart/form-data"):
                ctx.form = await self._form(request)
            elif raw:
                try:
                    ctx.body = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "We could not parse the JSON body of your request. (HINT: This likely means "
                                   "you aren't using your HTTP library correctly.)") from None
            result = handler(ctx, **params)
            if lost:  # the write is committed; the client only ever sees a 502
                raise lost_answer()
            headers.update(ctx.headers)
            headers["openai-processing-ms"] = str(int((time.perf_counter() - started) * 1000))
            if isinstance(result, Response):
                result.headers.update(headers)
                return result
            return json_response(200, result, headers)
        except ApiError as exc:
            headers.update(exc.headers)
            return json_response(exc.status, exc.body(), headers)
        except Exception as exc:  # a bug of ours: still answer in OpenAI's shape
            return json_response(500, error_body(f"Sandbox internal error: {exc!r}", type="server_error"), headers)

    def _auth(self, request: StarletteRequest) -> None:
        auth = request.headers.get("authorization", "")
        if not auth:
            raise ApiError(401, "You didn't provide an API key. You need to provide your API key in an "
                           "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
        key = auth[7:] if auth.lower().startswith("bearer ") else auth
        if key != self.config.api_key:
            shown = key[:3] + "*" * max(len(key) - 7, 0) + key[-4:] if len(key) > 8 else key
            raise ApiError(401, f"Incorrect API key provided: {shown}. You can find your API key at "
                           "https://platform.openai.com/account/api-keys.", code="invalid_api_key")

    async def _fault(self, fault: str, request: StarletteRequest) -> None:
        if fault == "timeout":
            await asyncio.sleep(int(request.headers.get(DELAY_HEADER, "10000")) / 1000)
            raise fault_error(504)
        if fault.isdigit() and 400 <= int(fault) <= 599:
            raise fault_error(int(fault))
        raise ApiError(400, f"Unknown {FAULT_HEADER} value '{fault}'.", param=FAULT_HEADER)

    def _match(self, method: str, sub: str, path: str) -> tuple[Any, dict[str, str]]:
        for regex, handler in ROUTES.get(method, ()):
            found = regex.match(sub)
            if found:
                return handler, found.groupdict()
        raise invalid_url(method, path)

    async def _form(self, request: StarletteRequest) -> dict[str, Any]:
        form = await request.form()
        out: dict[str, Any] = {}
        for key, value in form.multi_items():
            if hasattr(value, "read"):
                out[key] = (value.filename or "upload.bin", await value.read())
            else:
                out[key] = value
        return out

    async def _private(self, request: StarletteRequest, path: str, headers: dict[str, str]) -> Response:
        if path == "/_sandbox/health":
            return json_response(200, {"status": "ok", "seed": self.store.get_meta("seed")}, headers)
        self._auth(request)
        if path == "/_sandbox/reset" and request.method == "POST":
            raw = await request.body()
            body = json.loads(raw) if raw else {}
            name = body.get("seed", "demo")
            if name not in ("demo", "empty"):
                raise ApiError(400, f"Unknown seed '{name}'.", param="seed")
            if "options" in body:
                self._reconfigure(body["options"])
            seed.ensure(self.store, name, reset=True)
            return json_response(200, {"status": "ok", "seed": name}, headers)
        if path == "/_sandbox/demo-thread-ids" and request.method == "GET":
            return demo_threads.response(self.store, headers)
        raise invalid_url(request.method, path)


    def _reconfigure(self, options: Any) -> None:
        """Every run-time option as ``options`` says, the default where it says nothing."""
        if not self.one_process:
            raise ApiError(409, "Options change only in a one-process sandbox (--workers 1).", param="options")
        if not isinstance(options, dict) or set(options) - set(RUNTIME_OPTIONS):
            unknown = sorted(set(options) - set(RUNTIME_OPTIONS)) if isinstance(options, dict) else options
            raise ApiError(400, f"Unknown options {unknown!r}; known: {', '.join(RUNTIME_OPTIONS)}.", param="options")
        defaults = SandboxConfig()
        for name, kind in RUNTIME_OPTIONS.items():
            value = options.get(name, getattr(defaults, name))
            try:
                setattr(self.config, name, value if value is None else kind(value))
            except (TypeError, ValueError):
                raise ApiError(400, f"Option {name} must be a {kind.__name__}.", param="options") from None
        self.limiter = Limiter(self.config)


def create_app(config: SandboxConfig | None = None) -> SandboxApp:
    return SandboxApp(config or SandboxConfig.from_env())
