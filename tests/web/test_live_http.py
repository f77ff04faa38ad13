"""`/ui/live` over HTTP on a real server: a reconnect with `Last-Event-ID` gets what it missed, and a key pair holds
a bounded number of streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from typing import Any

import httpx

from taskstream.api.web.live import MAX_STREAMS
from taskstream.projections.live_feed import parse_position
from tests.web.conftest import Api, WebServer, _other_company


@contextmanager
def _signed_in(web_server: WebServer, api: Api) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_server.url, timeout=10) as client:
        response = client.post("/login", data={"access_key": api.access_key, "secret_key": api.secret_key})
        assert response.status_code == 303
        yield client


def _messages(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """SSE messages as {id, event, data} (comments and the retry line skipped)."""
    message: dict[str, Any] = {}
    for line in lines:
        if not line:
            if "data" in message:
                yield message
            message = {}
        elif not line.startswith((":", "retry:")):
            name, _, value = line.partition(": ")
            message[name] = json.loads(value) if name == "data" else value


def _until(messages: Iterator[dict[str, Any]], task_id: str, status: str) -> dict[str, Any]:
    for message in messages:
        if message["data"].get("id") == task_id and message["data"].get("fields", {}).get("status") == status:
            return message
    raise AssertionError("stream ended")


def test_a_reconnect_with_last_event_id_gets_what_it_missed(web_server: WebServer) -> None:
    api = web_server.admin
    task_id = api.create_task("sse resume")
    with _signed_in(web_server, api) as client:
        with client.stream("GET", "/ui/live") as stream:
            api.call("tasks.started", task=task_id)
            seen = _until(_messages(stream.iter_lines()), task_id, "in_progress")
        api.call("tasks.stopped", task=task_id)  # while disconnected
        with client.stream("GET", "/ui/live", headers={"Last-Event-ID": seen["id"]}) as stream:
            missed = _until(_messages(stream.iter_lines()), task_id, "stopped")
        assert missed["event"] == "task" and parse_position(missed["id"]) > parse_position(seen["id"])
        # A position this process never reached (the stream of a server since restarted): the page reloads.
        with client.stream("GET", "/ui/live", headers={"Last-Event-ID": "999999999-999999999"}) as stream:
            assert next(_messages(stream.iter_lines()))["event"] == "reset"


def test_streams_per_key_pair_are_bounded(web_server: WebServer) -> None:
    with _signed_in(web_server, web_server.other) as client, ExitStack() as open_streams:
        for _ in range(MAX_STREAMS):
            assert open_streams.enter_context(client.stream("GET", "/ui/live")).status_code == 200
        refused = client.get("/ui/live")
        assert refused.status_code == 429


def test_streams_opened_at_once_are_bounded_too(web_server: WebServer) -> None:
    """Many streams asked for at the same moment: still at most MAX_STREAMS of a key pair are served."""
    api = Api(web_server.url, *_other_company(web_server.database_url))  # a key pair of its own
    task_id = api.create_task("watched at once")

    async def storm() -> list[int]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=web_server.url, timeout=10, limits=limits) as client:
            await client.post("/login", data={"access_key": api.access_key, "secret_key": api.secret_key})
            async with AsyncExitStack() as open_streams:
                async def open_one() -> int:
                    stream = await open_streams.enter_async_context(
                        client.stream("GET", f"/ui/live?task={task_id}&telemetry=1"))
                    return stream.status_code
                return list(await asyncio.gather(*(open_one() for _ in range(3 * MAX_STREAMS))))

    statuses = asyncio.run(storm())
    assert statuses.count(200) <= MAX_STREAMS and statuses.count(429) >= 2 * MAX_STREAMS, statuses
