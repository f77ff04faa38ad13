"""A minimal asyncio HTTP/1.1 keep-alive client for the load generator.

Why not httpx: with two cores shared by the server, PostgreSQL and the generator, every microsecond the
generator spends is taken from the thing being measured. This client writes pre-built request bytes on a
raw stream and parses only the status line, the headers it needs and the body.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Any

try:
    import orjson

    def json_dumps(value: Any) -> bytes:
        return orjson.dumps(value)

    def json_loads(raw: bytes) -> Any:
        return orjson.loads(raw)

except ImportError:  # pragma: no cover - orjson is a dependency of the bench
    import json

    def json_dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    def json_loads(raw: bytes) -> Any:
        return json.loads(raw)


class ProtocolError(Exception):
    """The server sent something this client cannot parse as an HTTP/1.1 response."""


@dataclass(frozen=True)
class Response:
    """Status code and raw body of one response."""

    status: int
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON; raises ValueError when it is not JSON."""
        return json_loads(self.body)


def basic_auth(key: str, secret: str) -> str:
    """The value of an ``Authorization`` header for HTTP Basic auth."""
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


class Connection:
    """One keep-alive connection; reconnects lazily after an error or ``Connection: close``.

    Not safe for concurrent use: one connection per client coroutine.
    """

    def __init__(self, host: str, port: int, authorization: str | None = None,
                 content_type: str = "application/json") -> None:
        self.host, self.port = host, port
        headers = f"Host: {host}:{port}\r\nContent-Type: {content_type}\r\n"
        if authorization:
            headers += f"Authorization: {authorization}\r\n"
        self._headers = headers.encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> Response:
        """POST ``body`` to ``path``; raises OSError, asyncio.IncompleteReadError or ProtocolError.

        After any exception the connection is closed, and the next call opens a new one.
        """
        return await self.request(b"POST", path, body)

    async def get(self, path: str) -> Response:
        """GET ``path`` (no body); raises like ``post``."""
        return await self.request(b"GET", path, b"")

    async def request(self, method: bytes, path: str, body: bytes) -> Response:
        try:
            return await self._exchange(method, path, body)
        except BaseException:
            self.close()
            raise

    async def _exchange(self, method: bytes, path: str, body: bytes) -> Response:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(
            b"%s %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s"
            % (method, path.encode(), self._headers, len(body), body)
        )
        head = await self._reader.readuntil(b"\r\n\r\n")
        status, length, chunked, close = _parse_head(head)
        if chunked:
            payload = await _read_chunked(self._reader)
        else:
            payload = await self._reader.readexactly(length) if length else b""
        if close:
            self.close()
        return Response(status, payload)

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def _parse_head(head: bytes) -> tuple[int, int, bool, bool]:
    """Status, Content-Length, chunked?, close? from the response head."""
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1."):
        raise ProtocolError(f"bad status line {lines[0]!r}")
    status = int(lines[0][9:12])
    length, chunked, close = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    return status, length, chunked, close


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """The body of a ``Transfer-Encoding: chunked`` response, trailers skipped."""
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            break
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    while await reader.readuntil(b"\r\n") != b"\r\n":
        pass
    return b"".join(parts)
