"""The two raw reference apps the benchmark ratios are taken against (DESIGN.md "Performance").

- ``command_app``: per request ONE append to ``bench_ref_events`` plus ONE JSONB upsert into
  ``bench_ref_docs``, in one transaction — the least work a command can do in an event-sourced store.
- ``query_app``: per request ONE primary-key select of a JSONB doc from ``bench_ref_docs``.

Both answer any ``POST /{service}.{action}`` with a ClearML-shaped envelope, so the load generator sends
them exactly what it sends the server (Basic auth and JSON body included; auth is ignored here). They run
under uvicorn with uvloop and httptools, one worker, on the server's PostgreSQL, with a pool of
``BENCH_POOL_SIZE`` connections (min 2, like the server's pool).
Start: ``uvicorn tests.bench.reference_apps:command_app`` with ``BENCH_DATABASE_URL`` set; the harness
creates the tables first (``create_schema``).
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson
from fastapi import FastAPI, Request, Response

SCHEMA = """
CREATE TABLE IF NOT EXISTS bench_ref_events (
    position  bigserial PRIMARY KEY,
    stream_id text NOT NULL,
    version   int NOT NULL,
    type      text NOT NULL,
    data      jsonb NOT NULL,
    recorded  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, version)
);
CREATE TABLE IF NOT EXISTS bench_ref_docs (
    id  text PRIMARY KEY,
    doc jsonb NOT NULL
);
"""
# Why UNIQUE (stream_id, version): an event store needs it for optimistic concurrency, so the server
# pays for that index on every append; the reference pays for it too. The version comes from a
# process-wide counter, so it never conflicts and needs no read.

APPEND = "INSERT INTO bench_ref_events (stream_id, version, type, data) VALUES ($1, $2, $3, $4)"
UPSERT = (
    "INSERT INTO bench_ref_docs (id, doc) VALUES ($1, $2) "
    "ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc"
)
SELECT = "SELECT doc FROM bench_ref_docs WHERE id = $1"


async def create_schema(connection: asyncpg.Connection) -> None:
    """Create the reference tables (idempotent)."""
    await connection.execute(SCHEMA)


def _meta(endpoint: str, code: int = 200, message: str = "OK") -> dict[str, object]:
    return {
        "id": uuid.uuid4().hex,
        "trx": uuid.uuid4().hex,
        "endpoint": {"name": endpoint, "requested_version": "2.31", "actual_version": "1.0"},
        "result_code": code,
        "result_subcode": 0,
        "result_msg": message,
        "error_stack": "",
        "error_data": {},
    }


def _reply(endpoint: str, data: dict[str, object]) -> Response:
    return Response(orjson.dumps({"meta": _meta(endpoint), "data": data}), media_type="application/json")


@asynccontextmanager
async def _pool_lifespan(app: FastAPI) -> AsyncIterator[None]:
    size = int(os.environ.get("BENCH_POOL_SIZE", "16"))
    app.state.pool = await asyncpg.create_pool(
        os.environ["BENCH_DATABASE_URL"], min_size=min(2, size), max_size=size
    )
    try:
        yield
    finally:
        await app.state.pool.close()


command_app = FastAPI(lifespan=_pool_lifespan)
_versions = itertools.count(1)


@command_app.post("/{endpoint}")
async def command(endpoint: str, request: Request) -> Response:
    """Append one event and upsert one doc in one transaction; a new id unless ``task`` is given."""
    body = orjson.loads(await request.body())
    task_id = body.get("task") or uuid.uuid4().hex
    data = orjson.dumps(body).decode()
    doc = orjson.dumps({**body, "id": task_id, "status": endpoint}).decode()
    async with request.app.state.pool.acquire() as connection, connection.transaction():
        await connection.execute(APPEND, task_id, next(_versions), endpoint, data)
        await connection.execute(UPSERT, task_id, doc)
    return _reply(endpoint, {"id": task_id, "updated": 1})


query_app = FastAPI(lifespan=_pool_lifespan)


@query_app.post("/{endpoint}")
async def query(endpoint: str, request: Request) -> Response:
    """Select one doc by primary key and return it as ``data.task`` (raw JSONB text, not re-parsed)."""
    body = orjson.loads(await request.body())
    async with request.app.state.pool.acquire() as connection:
        doc = await connection.fetchval(SELECT, body.get("task"))
    if doc is None:
        meta = orjson.dumps({"meta": _meta(endpoint, 400, "Invalid task id"), "data": {}})
        return Response(meta, media_type="application/json")
    meta = orjson.dumps(_meta(endpoint))
    return Response(b'{"meta":%s,"data":{"task":%s}}' % (meta, doc.encode()), media_type="application/json")
