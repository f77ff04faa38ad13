"""Test fixtures: one real embedded PostgreSQL per test session, the app in-process over ASGI, and a fresh
company (tenant) per test so tests never see each other's tasks."""

from __future__ import annotations

import asyncio
import base64
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from taskstream.api.app import create_app
from taskstream.api.auth import Authenticator
from taskstream.api.context import AppContext
from taskstream.api.database import EmbeddedPostgres, create_pool, migrate
from taskstream.commands.accounts import add_credentials, bootstrap, create_user, generate_key_pair
from taskstream.commands.database_roles import APP_ROLE
from taskstream.commands.migrate import drop_database
from taskstream.schemas.contract import load_contract
from taskstream.schemas.ids import new_id


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """TASKSTREAM_TEST_DATABASE_URL if given, else an embedded PostgreSQL for this session."""
    if os.environ.get("TASKSTREAM_TEST_DATABASE_URL"):
        yield os.environ["TASKSTREAM_TEST_DATABASE_URL"]
        return
    with tempfile.TemporaryDirectory(prefix="taskstream-test-") as home:
        embedded = EmbeddedPostgres(Path(home))
        try:
            _let_tests_create_databases(embedded.admin_url)
            yield embedded.url
        finally:
            embedded.stop()


def _let_tests_create_databases(admin_url: str) -> None:
    """The app's role may not create databases; the tests that migrate a fresh database of their own need it to
    (the server would take it away again at its next start)."""

    async def grant() -> None:
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'ALTER ROLE "{APP_ROLE}" CREATEDB')
        await conn.close()

    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, grant()).result()


@pytest.fixture(scope="session")
async def ctx(database_url: str) -> AsyncIterator[AppContext]:
    conn = await asyncpg.connect(database_url)
    await migrate(conn)
    boot = await bootstrap(conn, None, None)
    await conn.close()
    pool = await create_pool(database_url)
    context = AppContext(pool=pool, contract=load_contract(), auth=Authenticator(pool, boot.token_secret))
    yield context
    await context.auth.close()
    await pool.close()


@asynccontextmanager
async def scratch_database(database_url: str, prefix: str) -> AsyncIterator[str]:
    """The URL of a fresh, migrated database beside the test session's, dropped on exit."""
    name = f"{prefix}_{new_id()[:8]}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
        conn = await asyncpg.connect(url)
        await migrate(conn)
        await conn.close()
        yield url
    finally:
        await drop_database(admin, name)
        await admin.close()


@pytest.fixture(scope="session")
async def raw_log_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a separate, migrated database for tests that append raw events outside any command.

    Why separate: the shared database's log must stay a valid history (every task stream starts with
    TaskCreated and matches the read model), because replay and audit tests fold all of it.
    """
    async with scratch_database(database_url, "raw_log") as url:
        pool = await create_pool(url)
        yield pool
        await pool.close()


@pytest.fixture(scope="session")
async def http(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(None)
    app.state.ctx = ctx
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://taskstream") as client:
        yield client


class ApiFailure(Exception):
    def __init__(self, status: int, meta: dict[str, Any]) -> None:
        self.status = status
        self.code = meta["result_code"]
        self.subcode = meta["result_subcode"]
        self.msg = meta["result_msg"]
        super().__init__(f"{status} {self.code}/{self.subcode} {self.msg}")


@dataclass
class Tenant:
    """A company with one user and key pair, calling the API over HTTP like a client would."""

    http: httpx.AsyncClient
    company: str
    user: str
    access_key: str
    secret_key: str

    @property
    def auth_header(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.access_key}:{self.secret_key}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def raw(self, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
                  method: str = "POST", content: bytes | None = None, params: Any = None) -> httpx.Response:
        merged = {**self.auth_header, **(headers or {})}
        if content is None and body is not None:
            return await self.http.request(method, path, json=body, headers=merged, params=params)
        return await self.http.request(method, path, content=content, headers=merged, params=params)

    async def call(self, endpoint: str, **body: Any) -> Any:
        """`data` of a successful call; raises ApiFailure with the envelope's codes otherwise."""
        response = await self.raw(f"/{endpoint}", body)
        meta = response.json()["meta"]
        if meta["result_code"] != 200:
            raise ApiFailure(response.status_code, meta)
        return response.json()["data"]

    async def fails(self, endpoint: str, **body: Any) -> ApiFailure:
        try:
            await self.call(endpoint, **body)
        except ApiFailure as failure:
            return failure
        raise AssertionError(f"{endpoint} succeeded but was expected to fail")

    async def create_task(self, name: str = "test task", **fields: Any) -> str:
        return str((await self.call("tasks.create", name=name, type=fields.pop("type", "training"), **fields))["id"])

    async def create_model(self, name: str = "test model", **fields: Any) -> str:
        """A model of the company (`models.create`), e.g. to be a task's input model (checked: 400/201)."""
        return str((await self.call("models.create", name=name, uri=fields.pop("uri", "s3://b/weights"),
                                    **fields))["id"])


async def make_tenant(ctx: AppContext, http: httpx.AsyncClient, user_name: str = "tests") -> Tenant:
    company = new_id()
    async with ctx.pool.acquire() as conn:
        user = await create_user(conn, user_name, company, f"company-{company[:6]}")
        key, secret = generate_key_pair()
        await add_credentials(conn, user, key, secret)
    return Tenant(http, company, user, key, secret)


@pytest.fixture
async def tenant(ctx: AppContext, http: httpx.AsyncClient) -> Tenant:
    return await make_tenant(ctx, http)


@pytest.fixture
async def other_tenant(ctx: AppContext, http: httpx.AsyncClient) -> Tenant:
    return await make_tenant(ctx, http, "other")
