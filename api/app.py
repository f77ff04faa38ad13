"""The FastAPI application: every `/{service}.{action}` and `/v{X.Y}/{service}.{action}`, any HTTP method.

One catch-all route does what the reference server's `before_request` hook does: parse the path and version,
read the body (JSON on any method, JSON lines, query-string overrides), authenticate, resolve the endpoint
version, validate, dispatch, and wrap the result in the envelope. A client's mistake is always a 4xx envelope.
"""

from __future__ import annotations

import hmac
import logging
import os
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

import taskstream.api.endpoints  # noqa: F401  (registers the handlers)
from taskstream.api.call import HANDLERS, PUBLIC, Call
from taskstream.api.context import AppContext
from taskstream.api.database import pending_migrations
from taskstream.api.docs import ASSETS_PATH, docs_asset, docs_page
from taskstream.api.files.routes import add_file_routes
from taskstream.api.files.storage import FileSettings
from taskstream.api.gc_settings import settle_garbage_collector
from taskstream.api.http_metrics import exposition
from taskstream.api.lifecycle import draining
from taskstream.api.limits import Limits
from taskstream.api.observability import Observability, note
from taskstream.api.openapi import openapi_document
from taskstream.api.protocol import ENDPOINT_PATH, RequestPath, envelope, merge_query, parse_body, parse_path
from taskstream.api.validation import validate_request
from taskstream.commands.session import Actor
from taskstream.schemas.contract import Version
from taskstream.schemas.errors import ApiError, validation_error
from taskstream.schemas.ids import call_id as new_call_id

log = logging.getLogger("taskstream.api")
JSON = "application/json"


def _reply(body: bytes, status: int, extra_headers: dict[str, str] | None = None) -> Response:
    headers = {"server": "taskstream", **(extra_headers or {})}
    return Response(body, status_code=status, media_type=JSON, headers=headers)


async def handle(request: Request, ctx: AppContext, limits: Limits) -> Response:
    call_id = new_call_id()
    trx = request.headers.get("x-clearml-trx") or request.headers.get("x-trains-trx") or call_id
    note(request, trx=trx)
    path: RequestPath | None = None
    resolved: Version | None = None
    try:
        path = parse_path(request.url.path, ctx.contract.max_version)
        handler = HANDLERS.get(path.endpoint)
        if handler is not None:
            note(request, endpoint=path.endpoint)
        endpoint = ctx.contract.resolve(path.endpoint, path.requested)
        if endpoint is None or handler is None:
            raise ApiError(404, 0, f"Unable to find endpoint for name {path.endpoint} and version "
                                   f"{path.requested_text if path.requested_text else ''}")
        resolved = endpoint.min_version
        # Why authenticate before reading the body: an unauthenticated caller must not make the server hold
        # or parse anything it sends (the body is read only for a known caller, and only up to the limit).
        if path.endpoint in PUBLIC:
            grant = None
        else:
            grant = await ctx.auth.authenticate(request.headers.get("authorization"),
                                                request.cookies.get(TOKEN_COOKIE),
                                                client=request.client.host if request.client else None,
                                                worker=request.headers.get("x-clearml-worker")
                                                or request.headers.get("x-trains-worker"))
            note(request, company=grant.actor.company)
            check_cookie_request(request)
            check_impersonation(request, grant.actor)
        body = await read_body(request, limits.max_body_bytes)
        data, batched = parse_body(body, request.headers.get("content-type", ""))
        # update_batch locks a task per line in one transaction: its lines count as ids, not as reported events.
        line_limit, setting = ((limits.max_batch_ids, "TASKSTREAM_MAX_BATCH_IDS") if path.endpoint in LOCKING_BATCHES
                               else (limits.max_batch_lines, "TASKSTREAM_MAX_BATCH_LINES"))
        if batched is not None and len(batched) > line_limit:
            raise validation_error(f"too many lines in one call: {len(batched)} (the limit is {line_limit}, "
                                   f"{setting})")
        data = merge_query(data, list(request.query_params.multi_items()))
        call = Call(endpoint=path.endpoint, requested=path.requested,
                    actor=grant.actor if grant else None,  # type: ignore[arg-type]
                    data=validate_request(endpoint, data, limits.max_batch_ids), ctx=ctx, batched=batched,
                    idempotency_key=idempotency_key(request), request_id=new_call_id(), grant=grant)
        result = await handler(call)
        cookies = result.pop("__cookies__", None) if isinstance(result, dict) else None
        response = _reply(envelope(endpoint=path.endpoint, requested_text=path.requested_text,
                                   requested=path.requested, actual=resolved, data=result, trx=trx,
                                   call_id=call_id), 200)
        note(request, result_code=200, subcode=0)
        for name, value in (cookies or {}).items():
            # Strict: a cross-site page never makes the browser send it; Secure when the client reached us by HTTPS.
            response.set_cookie(name, value, httponly=True, samesite="strict", secure=_over_https(request))
        return response
    except ApiError as error:
        note(request, result_code=error.code, subcode=error.subcode)
        return _reply(_error_envelope(path, resolved, trx, error, call_id=call_id), error.code)
    except DATABASE_UNAVAILABLE:
        # Retryable: the SDK and the agent retry 5xx answers above 500. A command whose commit did not reach the
        # client is answered from the idempotency record on retry (same Idempotency-Key), never applied twice.
        log.warning("database unavailable during %s", request.url.path, exc_info=True)
        error = ApiError(503, 0, "Service unavailable (the database cannot be reached; retry later)")
        note(request, result_code=503, subcode=0)
        return _reply(_error_envelope(path, resolved, trx, error, None, call_id), 503, {"retry-after": "1"})
    except Exception as exc:
        # An unexpected failure: 500. The reference server sends the exception text and the traceback; they name
        # files, tables and indexes, so they are sent only when the server runs with TASKSTREAM_DEBUG=1.
        log.exception("unhandled error in %s", request.url.path)
        note(request, result_code=500, subcode=0)
        if limits.debug:
            error = ApiError(500, 0, str(exc) or type(exc).__name__)
            return _reply(_error_envelope(path, resolved, trx, error, traceback.format_exc(), call_id), 500)
        error = ApiError(500, 0, "Internal server error (the server log has the details)")
        return _reply(_error_envelope(path, resolved, trx, error, None, call_id), 500)


MAX_IDEMPOTENCY_KEY = 255
LOCKING_BATCHES = {"tasks.update_batch"}
# Failures that mean "PostgreSQL is not there right now" (down, restarting, connection lost, pool closed), not a bug.
# OSError: what connecting raises besides ConnectionError — the embedded server's socket file is gone while it is
# stopped (FileNotFoundError), a connect timed out (TimeoutError).
DATABASE_UNAVAILABLE = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                        asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
                        asyncpg.TooManyConnectionsError,
                        asyncpg.InternalClientError)  # a connection the database's restart cut mid-operation
TOKEN_COOKIE = "clearml_token_basic"
DATABASE_DOWN = ("# HELP taskstream_database_up Whether the database answered this scrape.\n"
                 "# TYPE taskstream_database_up gauge\ntaskstream_database_up 0\n")
CSRF_HEADER = "x-requested-with"


ENDPOINT_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")


async def answer(request: Request) -> Response:
    """What the catch-all route answers: 415 for an encoded body, else the call (`handle`)."""
    if request.headers.get("content-encoding"):
        return Response(f"Content encoding is not supported ({request.headers['content-encoding']})",
                        status_code=415, media_type="text/plain")
    return await handle(request, request.app.state.ctx, request.app.state.limits)


async def _answer_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    response = await answer(Request(scope, receive))
    await response(scope, receive, send)


class TaskstreamApp(FastAPI):
    """The app: calls of a known endpoint (`/tasks.create`, `/v2.23/tasks.create`) go straight to `answer` (with
    `Observability` around it), around FastAPI's middleware stack and router.

    Why: the router tries every route in order (files, the web UI, docs, health) before the catch-all matches, and
    the layers around it (FastAPI's telemetry hook, the server-error, telemetry and body-limit middlewares, the
    request handling around an endpoint function) do nothing these calls use: `answer` reads the body within the
    server's own limits (`api.limits`) and turns every failure into the ClearML envelope. Together they were about
    a fifth of the API process's time per command (py-spy, README "Performance"). What the route would do for these
    paths is exactly `answer`, so the reply is the same; every other path (and OPTIONS) takes the stack as before.
    """

    _shortcut: ASGIApp = Observability(_answer_asgi)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ENDPOINT_METHODS:
            match = ENDPOINT_PATH.match(scope["path"])
            if match is not None and match["endpoint"] in HANDLERS:
                scope["app"] = self  # what Starlette sets: `request.app.state` holds the context
                await self._shortcut(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def check_cookie_request(request: Request) -> None:
    """A call authenticated by the cookie alone must carry `X-Requested-With` (any value), 401 otherwise.

    Why: a browser attaches the cookie to requests that other sites make it send (a link, a form, an image), but
    it sends a custom header only from a page of this origin (cross-site it needs a CORS preflight, which this
    server never grants). So such a request cannot change anything in the victim's name (CSRF)."""
    if request.headers.get("authorization") or TOKEN_COOKIE not in request.cookies:
        return
    if not request.headers.get(CSRF_HEADER):
        raise ApiError(401, 20, f"cookie authentication needs the {CSRF_HEADER} header")


IMPERSONATION_HEADERS = ("x-clearml-impersonate-as", "x-trains-impersonate-as", "x-clearml-act-as",
                         "x-trains-act-as")
IMPERSONATING_ROLES = ("admin", "system", "root")


def check_impersonation(request: Request, actor: Actor) -> None:
    """Impersonation headers from a caller that may not impersonate answer 400/6, as the reference's
    `validate_impersonation` does (§1.4); an admin's impersonation is not carried out (README "Compatibility")."""
    if actor.role not in IMPERSONATING_ROLES and any(request.headers.get(h) for h in IMPERSONATION_HEADERS):
        raise ApiError(400, 6, "impersonation not allowed", role=actor.role)


def _over_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"



def idempotency_key(request: Request) -> str | None:
    """The `Idempotency-Key` header (at most 255 characters, else 400/12: it is stored with the response)."""
    key = request.headers.get("idempotency-key")
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
        raise validation_error(f"Idempotency-Key longer than {MAX_IDEMPOTENCY_KEY} characters")
    return key


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes (never read whole)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, 0, f"Request body too large (the limit is {limit} bytes, TASKSTREAM_MAX_BODY_BYTES)")


def _error_envelope(path: RequestPath | None, resolved: Version | None, trx: str | None, error: ApiError,
                    stack: str | None = None, call_id: str | None = None) -> bytes:
    if path is None:
        return envelope(endpoint="", requested_text="1.0", requested=(1, 0), actual=None, data={}, trx=trx,
                        code=error.code, subcode=error.subcode, msg=error.msg, error_stack=stack, call_id=call_id)
    return envelope(endpoint=path.endpoint, requested_text=path.requested_text, requested=path.requested,
                    actual=resolved, data={}, trx=trx, code=error.code, subcode=error.subcode, msg=error.msg,
                    error_stack=stack, call_id=call_id)


def metrics_allowed(authorization: str | None, token: str | None) -> bool:
    """Whether a caller may read /metrics: anyone when no token is configured, else only with that bearer token
    (compared in constant time)."""
    if token is None:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def create_app(make_context: Any, limits: Limits | None = None, files: FileSettings | None = None) -> FastAPI:
    """The app; `make_context` is an async context manager factory yielding the AppContext; `limits` default to
    the environment's (`api.limits`), `files` (the files endpoint's folder and upload limit) too."""

    from taskstream.api.web.app import install as install_web
    from taskstream.api.web.app import running as web_running

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with make_context() as ctx:
            app.state.ctx = ctx
            settle_garbage_collector()
            async with web_running(app):  # the web UI's live feed
                yield

    app = TaskstreamApp(title="taskstream", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(Observability)
    app.state.limits = limits or Limits.from_env()

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> Response:
        return Response(openapi_document(request.app.state.ctx.contract), media_type=JSON)

    @app.get("/health/live", include_in_schema=False)
    async def live() -> Response:
        """The process answers (for a supervisor's liveness probe): no database access."""
        return Response(b'{"status":"live"}', media_type=JSON)

    @app.get("/health/ready", include_in_schema=False)
    async def ready(request: Request) -> Response:
        """Ready for traffic (a load balancer's check): not shutting down, the database answers and has every
        migration applied."""
        if draining():
            return Response(b'{"status":"draining"}', status_code=503, media_type=JSON)
        try:
            missing = await pending_migrations(request.app.state.ctx.pool)
        except DATABASE_UNAVAILABLE:
            return Response(b'{"status":"database unavailable"}', status_code=503, media_type=JSON)
        if missing:
            return Response(orjson.dumps({"status": "migrations pending", "pending": missing}), status_code=503,
                            media_type=JSON)
        return Response(b'{"status":"ready"}', media_type=JSON)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return docs_page()

    @app.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    async def docs_assets(name: str) -> Response:
        return docs_asset(name)

    # What /metrics tells (log head, subscriber positions and lag) is operational, not tenant data; when
    # TASKSTREAM_METRICS_TOKEN is set it is shown only to `Authorization: Bearer <that token>`.
    app.state.metrics_token = os.environ.get("TASKSTREAM_METRICS_TOKEN") or None

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        from taskstream.projections.metrics import prometheus_text

        if not metrics_allowed(request.headers.get("authorization"), request.app.state.metrics_token):
            return Response("/metrics needs Authorization: Bearer <TASKSTREAM_METRICS_TOKEN>\n", status_code=401,
                            media_type="text/plain", headers={"WWW-Authenticate": "Bearer"})
        try:
            database = await prometheus_text(request.app.state.ctx.pool)
        except DATABASE_UNAVAILABLE:
            database = DATABASE_DOWN
        return Response(exposition() + database.encode(), media_type="text/plain; version=0.0.4")

    add_file_routes(app, files or FileSettings.from_env())  # before the catch-all: /files/... is not an endpoint
    install_web(app)  # the web UI (api/web): its paths have no dot, so they never shadow `/{service}.{action}`

    @app.api_route("/{path:path}", methods=list(ENDPOINT_METHODS))
    async def dispatch(request: Request) -> Response:
        return await answer(request)

    @app.options("/{path:path}")
    async def preflight() -> Response:
        return Response(b"", status_code=200)

    @app.exception_handler(StarletteHTTPException)
    async def routing_error(request: Request, exc: StarletteHTTPException) -> Response:
        # What the router answers itself (a method no route takes: TRACE, CONNECT) is an envelope too.
        headers = dict(exc.headers or {})
        error = ApiError(exc.status_code, 0, f"{exc.detail} ({request.method})")
        return _reply(_error_envelope(None, None, None, error), exc.status_code, headers)

    return app
