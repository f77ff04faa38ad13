"""Live updates by Server-Sent Events: `GET /ui/live` streams the caller's company's changes (the tasks table),
`GET /ui/live?task=<id>[&task=<id>...]&telemetry=1` one to ten tasks' changes and, with `telemetry=1`, their new
scalar points and log lines (the task and compare pages).

Each message is `event: <kind>` (task, queue, project, model, telemetry; `reset` when the page must reload), `id:`
the log position, `data:` JSON (`{kind, id, type, fields}` for a task: the fields the event set). A reconnect sends
`Last-Event-ID` (browsers do it by themselves) or `?after=<id>` (the position the page was rendered at,
`data-live-after` of `<main>`), and resumes after it. Every message comes from the process's one log follower
(`projections.live_feed.LiveFeed`); a caller may hold at most MAX_STREAMS streams at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import StreamingResponse

from taskstream.api.web.session import NotFound, SignInRequired, WebSession, plain_id, web_caller
from taskstream.projections.live_feed import Listener, LiveFeed, format_position, parse_position
from taskstream.projections.task_reads import task_document

router = APIRouter()
MAX_STREAMS = 8
MAX_ALL_STREAMS = 1000  # of every caller, in one process (each holds a queue of up to 1000 messages)
MAX_TASKS = 10
KEEPALIVE_SECONDS = 15.0


@asynccontextmanager
async def feed_running(app: FastAPI) -> AsyncIterator[LiveFeed]:
    """The process's live feed, following the log while the app serves."""
    feed = LiveFeed(app.state.ctx.pool)
    app.state.live_feed = feed
    task = asyncio.create_task(feed.run(), name="live-feed")
    try:
        yield feed
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await task


def live_after(request: Request) -> str:
    """The position a page is rendered at, to resume its live stream from: read BEFORE the page's read-model reads,
    so nothing committed in between is missed (a change seen twice is harmless). It wakes a resting feed, which
    then keeps every message after that position for the page's stream."""
    feed: LiveFeed | None = getattr(request.app.state, "live_feed", None)
    return format_position(feed.wake()) if feed is not None else ""


async def _listener(request: Request, session: WebSession) -> Listener:
    ids = list(dict.fromkeys(request.query_params.getlist("task")))
    if not ids:
        return Listener(session.company, owner=session.grant.access_key)
    if len(ids) > MAX_TASKS:
        raise NotFound("set of tasks")
    for task_id in ids:
        if not plain_id(task_id) or await task_document(request.app.state.ctx.pool, task_id, session.company) is None:
            raise NotFound("task")
    return Listener(session.company, frozenset(ids), request.query_params.get("telemetry") == "1",
                    owner=session.grant.access_key)


def _too_many() -> Response:
    return Response(f"Too many live streams (at most {MAX_STREAMS} per key pair); close another tab.\n",
                    status_code=429, media_type="text/plain", headers={"retry-after": "10"})


def _event(kind: str, data: str, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {kind}\ndata: {data}\n\n".encode()


@router.get("/ui/live")
async def live(request: Request) -> Response:
    session = await web_caller(request)
    feed: LiveFeed | None = getattr(request.app.state, "live_feed", None)
    if feed is None:  # an app served without its lifespan (never by `taskstream serve`)
        return Response("Live updates are not running.\n", status_code=503, media_type="text/plain")
    listener = await _listener(request, session)
    if feed.count(listener.owner) >= MAX_STREAMS or len(feed.listeners) >= MAX_ALL_STREAMS:
        return _too_many()
    after = parse_position(request.headers.get("last-event-id") or request.query_params.get("after"))
    resumed = await feed.subscribe(listener, after)
    # Counted again once registered (no await in between): streams asked for at once all passed the first count
    # while `subscribe` awaited.
    if resumed and (feed.count(listener.owner) > MAX_STREAMS or len(feed.listeners) > MAX_ALL_STREAMS):
        feed.unsubscribe(listener)
        return _too_many()
    return StreamingResponse(_stream(request, feed, listener, resumed), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})


async def _stream(request: Request, feed: LiveFeed, listener: Listener, resumed: bool) -> AsyncIterator[bytes]:
    try:
        yield b"retry: 1000\n\n"
        if not resumed:
            yield _event("reset", "{}")
            return
        while True:
            try:
                message = await asyncio.wait_for(listener.queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                try:
                    await web_caller(request)  # a signed-out or revoked session stops receiving
                except SignInRequired:
                    yield _event("reset", "{}")
                    return
                yield b": keepalive\n\n"
                continue
            if message is None:  # dropped (too slow): the page reloads
                yield _event("reset", "{}")
                return
            yield _event(message.kind, message.payload(), format_position(message.position))
    finally:
        feed.unsubscribe(listener)
