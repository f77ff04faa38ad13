"""The files endpoint under `/files`: what the `clearml` SDK's HTTP storage driver (`_HttpDriver`, SDK 2.1.12)
calls on a files server, answered as the reference files server answers.

* upload (`upload_object_via_stream`): POST `/files` (the configured files server URL itself), multipart, one
  part per file, the field named by the file's path -> 200, JSON list of the stored paths.
* download and size (`_get_download_object`): GET `/files/<path>` -> 200 with the bytes, the content type they
  were uploaded with, `Content-Length`; ranges (206), `ETag`/`Last-Modified` and conditional requests as well.
* exists (`exists_file`): HEAD `/files/<path>` -> 200 or 404, no body.
* delete (`delete_object`): DELETE `/files/<path>` -> 200, JSON `{"deleted": path}`, or 404.

Every call needs the API's credentials: the SDK sends `Authorization: Bearer <token from auth.login>` to its
configured files server; Basic key pairs work too, and the web app's cookie for reading (GET, HEAD) only, so a page
of another site can never make a browser upload or delete. A company's files live in its own folder: another
company's path simply does not exist for it (404). Errors are plain text, as the reference files server's are.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

import anyio
import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from starlette.requests import ClientDisconnect

from taskstream.api.files.paths import BadPath, display, url_file_path
from taskstream.api.files.storage import FileSettings, FileStore, StorageFull
from taskstream.api.files.upload import BadUpload, MultipartReceiver, UploadTooLarge, boundary_of
from taskstream.commands.files import StoredFile, file_content_type, forget_file, record_file
from taskstream.commands.session import Actor
from taskstream.schemas.errors import ApiError

PREFIX = "/files"
FEED_BYTES = 1024 * 1024  # body bytes handed to the parser's worker thread at a time (bounds memory per upload)
MULTIPART_SLACK = 64 * 1024  # room for part headers and boundaries beyond the file bytes in a declared length
# Why: a file is served with the type its uploader chose, on the API's origin, where the web app's cookie lives. An
# uploaded HTML page opened by a colleague must not run scripts as that origin: the sandbox gives it an opaque
# origin and no scripts, and nosniff stops a browser from deciding that some other type is HTML after all. Images
# embedded by a page (debug images) are unaffected.
INERT_HEADERS = {"Content-Security-Policy": "default-src 'none'; sandbox", "X-Content-Type-Options": "nosniff"}


def add_file_routes(app: FastAPI, settings: FileSettings) -> None:
    """Serve the files endpoint on `app`; call before the catch-all API route so these paths match first."""
    store = FileStore(settings.root)
    store.sweep_temps()
    app.state.files = FilesEndpoint(store, settings.max_upload_bytes)
    app.add_api_route(PREFIX, _upload, methods=["POST"], include_in_schema=False)
    app.add_api_route(PREFIX + "/{path:path}", _upload, methods=["POST"], include_in_schema=False)
    app.add_api_route(PREFIX + "/{path:path}", _download, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route(PREFIX + "/{path:path}", _delete, methods=["DELETE"], include_in_schema=False)


async def _upload(request: Request) -> Response:
    endpoint: FilesEndpoint = request.app.state.files
    return await _answer(endpoint.upload(request))


async def _download(request: Request) -> Response:
    endpoint: FilesEndpoint = request.app.state.files
    return await _answer(endpoint.download(request))


async def _delete(request: Request) -> Response:
    endpoint: FilesEndpoint = request.app.state.files
    return await _answer(endpoint.delete(request))


async def _answer(work: object) -> Response:
    """Run an endpoint coroutine, turning the files endpoint's refusals into plain-text answers."""
    try:
        return await work  # type: ignore[misc, no-any-return]
    except ApiError as error:
        return PlainTextResponse(error.msg or "unauthorized", status_code=error.code)
    except (BadPath, BadUpload) as error:
        return PlainTextResponse(str(error), status_code=400)
    except UploadTooLarge as error:
        return PlainTextResponse(str(error), status_code=413)
    except StorageFull as error:
        return PlainTextResponse(f"Insufficient storage: {error}; nothing was stored", status_code=507)
    except ClientDisconnect:
        return PlainTextResponse("the client went away during the upload; nothing partial was kept", 400)


def request_file_path(request: Request) -> tuple[str, ...]:
    """The file path of the request's URL below `/files/`, from the raw (undecoded) path: see `paths.py`."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    raw = raw.split(b"?", 1)[0]  # some servers (and httpx's ASGI transport) keep the query in raw_path
    if raw == PREFIX.encode():
        return ()
    if not raw.startswith(PREFIX.encode() + b"/"):
        raise BadPath("not a path below /files/")
    return url_file_path(raw[len(PREFIX) + 1:])


class FilesEndpoint:
    def __init__(self, store: FileStore, max_upload_bytes: int) -> None:
        self.store = store
        self.max_upload_bytes = max_upload_bytes

    async def caller(self, request: Request, *, reading: bool) -> Actor:
        """The caller's identity (401 otherwise); the cookie alone authenticates only reads (see the module)."""
        from taskstream.api.app import TOKEN_COOKIE

        cookie = request.cookies.get(TOKEN_COOKIE) if reading else None
        grant = await request.app.state.ctx.auth.authenticate(
            request.headers.get("authorization"), cookie, client=request.client.host if request.client else None)
        return grant.actor  # type: ignore[no-any-return]

    async def upload(self, request: Request) -> Response:
        """Store every file part of a multipart POST at `<POST path>/<field name>` of the caller's company."""
        actor = await self.caller(request, reading=False)
        base = request_file_path(request)
        boundary = boundary_of(request.headers.get("content-type", ""))
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_upload_bytes + MULTIPART_SLACK:
            raise UploadTooLarge(f"upload larger than {self.max_upload_bytes} bytes (TASKSTREAM_MAX_UPLOAD_BYTES)")
        company_dir = self.store.company_dir(actor.company)
        receiver = MultipartReceiver(self.store, company_dir, base, boundary, self.max_upload_bytes)
        stored: list[str] = []
        try:
            await self._receive(request, receiver, actor, stored)
        finally:
            receiver.abort()  # not in a thread: it must run even when this request is being cancelled
        return JSONResponse(stored)

    async def _receive(self, request: Request, receiver: MultipartReceiver, actor: Actor, stored: list[str]) -> None:
        """Feed the body to `receiver` about FEED_BYTES at a time; catalogue each file as soon as it is placed."""
        pool = request.app.state.ctx.pool
        pending: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            pending.append(chunk)
            size += len(chunk)
            if size >= FEED_BYTES:
                stored += await self._feed(receiver, b"".join(pending), actor, pool)
                pending, size = [], 0
        stored += await self._feed(receiver, b"".join(pending), actor, pool)
        receiver.finish()

    @staticmethod
    async def _feed(receiver: MultipartReceiver, data: bytes, actor: Actor, pool: asyncpg.Pool) -> list[str]:
        placed = []
        for received in await anyio.to_thread.run_sync(receiver.feed, data):
            path = display(received.parts)
            await record_file(pool, StoredFile(actor.company, path, received.size, received.content_type,
                                               received.sha256, actor.user))
            placed.append(path)
        return placed

    async def download(self, request: Request) -> Response:
        """The file's bytes (ranges, HEAD, conditional requests by FileResponse), or 404."""
        actor = await self.caller(request, reading=True)
        parts = request_file_path(request)
        company_dir = self.store.company_dir(actor.company)
        found = await anyio.to_thread.run_sync(self.store.existing, company_dir, parts)
        if found is None:
            return PlainTextResponse(f"File {display(parts)} not found", status_code=404)
        content_type = await file_content_type(request.app.state.ctx.pool, actor.company, display(parts))
        return FileResponse(found, media_type=content_type or _guess(found), stat_result=os.stat(found),
                            headers=INERT_HEADERS)

    async def delete(self, request: Request) -> Response:
        """Remove the caller's file at the path (and its catalogue row), or 404."""
        actor = await self.caller(request, reading=False)
        parts = request_file_path(request)
        company_dir = self.store.company_dir(actor.company)
        if not await anyio.to_thread.run_sync(self.store.delete, company_dir, parts):
            return PlainTextResponse(f"File {display(parts)} not found", status_code=404)
        await forget_file(request.app.state.ctx.pool, actor.company, display(parts))
        return JSONResponse({"deleted": display(parts)})


def _guess(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"

