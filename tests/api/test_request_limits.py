"""Request limits: authentication comes before the body is read, bodies are capped, and a server error tells
the client nothing about the server's insides unless it runs in debug mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from taskstream.api.app import create_app
from taskstream.api.call import HANDLERS
from taskstream.api.context import AppContext
from taskstream.api.limits import Limits
from tests.conftest import Tenant

LIMIT = 4096


async def client_with(ctx: AppContext, limits: Limits) -> httpx.AsyncClient:
    app = create_app(None, limits)
    app.state.ctx = ctx
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://taskstream")


@pytest.fixture
async def limited(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_with(ctx, Limits(max_body_bytes=LIMIT)) as client:
        yield client


def stream(total: int, chunk: int = 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        sent += chunk
        yield b" " * chunk


async def test_an_unauthenticated_body_is_refused_before_it_is_read(limited: httpx.AsyncClient) -> None:
    consumed = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal consumed
        for part in stream(LIMIT * 100):
            consumed += len(part)
            yield part

    response = await limited.post("/tasks.get_all", content=body())
    assert (response.status_code, response.json()["meta"]["result_code"]) == (401, 401)
    assert consumed <= 1024  # the ASGI transport hands over at most the first chunk; nothing is parsed


async def test_a_declared_oversized_body_answers_413_in_the_envelope(limited: httpx.AsyncClient,
                                                                     tenant: Tenant) -> None:
    response = await limited.post("/tasks.get_all", content=b"{" + b" " * LIMIT + b"}", headers=tenant.auth_header)
    meta = response.json()["meta"]
    assert (response.status_code, meta["result_code"]) == (413, 413)
    assert str(LIMIT) in meta["result_msg"]


async def test_a_streamed_oversized_body_answers_413(limited: httpx.AsyncClient, tenant: Tenant) -> None:
    async def body() -> AsyncIterator[bytes]:
        for part in stream(LIMIT * 4):
            yield part

    response = await limited.post("/tasks.get_all", content=body(), headers=tenant.auth_header)
    assert response.status_code == 413


async def test_a_body_within_the_limit_is_served(limited: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await limited.post("/tasks.get_all", json={"user": [tenant.user]}, headers=tenant.auth_header)
    assert response.status_code == 200


@pytest.fixture
def failing_endpoint() -> Iterator[None]:
    original = HANDLERS["tasks.get_types"]

    async def broken(call: Any) -> dict[str, Any]:
        raise RuntimeError('relation "tasks_by_company_idx" in /srv/taskstream/secret.py')

    HANDLERS["tasks.get_types"] = broken
    yield
    HANDLERS["tasks.get_types"] = original


@pytest.mark.usefixtures("failing_endpoint")
async def test_a_server_error_names_no_internals(ctx: AppContext, tenant: Tenant) -> None:
    async with await client_with(ctx, Limits()) as client:
        meta = (await client.post("/tasks.get_types", json={}, headers=tenant.auth_header)).json()["meta"]
    assert meta["result_code"] == 500
    assert "tasks_by_company_idx" not in meta["result_msg"] and not meta["error_stack"]


@pytest.mark.usefixtures("failing_endpoint")
async def test_debug_mode_sends_the_traceback(ctx: AppContext, tenant: Tenant) -> None:
    async with await client_with(ctx, Limits(debug=True)) as client:
        meta = (await client.post("/tasks.get_types", json={}, headers=tenant.auth_header)).json()["meta"]
    assert "tasks_by_company_idx" in meta["result_msg"] and "Traceback" in meta["error_stack"]


async def test_an_id_list_longer_than_the_limit_is_refused_before_any_lock(ctx: AppContext, tenant: Tenant) -> None:
    async with await client_with(ctx, Limits(max_batch_ids=10)) as client:
        response = await client.post("/tasks.make_public", json={"ids": [f"t{i}" for i in range(11)]},
                                     headers=tenant.auth_header)
        meta = response.json()["meta"]
        assert (response.status_code, meta["result_subcode"]) == (400, 12)
        assert "the limit is 10" in meta["result_msg"]
        ok = await client.post("/tasks.make_public", json={"ids": [await tenant.create_task()]},
                               headers=tenant.auth_header)
        assert ok.status_code == 200


async def test_more_update_batch_lines_than_the_id_limit_are_refused(ctx: AppContext, tenant: Tenant) -> None:
    # update_batch locks a task per line in one transaction: its lines count as ids.
    task_id = await tenant.create_task()
    lines = "\n".join(f'{{"task": "{task_id}", "name": "n{i}"}}' for i in range(6)).encode()
    headers = {**tenant.auth_header, "Content-Type": "application/json-lines"}
    async with await client_with(ctx, Limits(max_batch_ids=5)) as client:
        response = await client.post("/tasks.update_batch", content=lines, headers=headers)
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 12)
    assert "TASKSTREAM_MAX_BATCH_IDS" in response.json()["meta"]["result_msg"]
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"]["name"] == "test task"


async def test_more_reported_event_lines_than_the_limit_are_refused(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    lines = "\n".join(f'{{"task": "{task_id}", "type": "training_stats_scalar", "metric": "m", "variant": "v", '
                      f'"iter": {i}, "value": 1}}' for i in range(6)).encode()
    headers = {**tenant.auth_header, "Content-Type": "application/json-lines"}
    async with await client_with(ctx, Limits(max_batch_lines=5)) as client:
        response = await client.post("/events.add_batch", content=lines, headers=headers)
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 12)
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"].get("last_iteration", 0) == 0


async def login_cookie(tenant: Tenant) -> str:
    response = await tenant.raw("/auth.login", {})
    cookie = response.cookies.get("clearml_token_basic")
    assert cookie
    return str(cookie)


async def test_the_login_cookie_is_strict_and_http_only(tenant: Tenant) -> None:
    header = (await tenant.raw("/auth.login", {})).headers["set-cookie"].lower()
    assert "samesite=strict" in header and "httponly" in header and "secure" not in header


async def test_the_login_cookie_is_secure_behind_https(tenant: Tenant) -> None:
    header = (await tenant.raw("/auth.login", {}, headers={"X-Forwarded-Proto": "https"})).headers["set-cookie"]
    assert "secure" in header.lower()


async def test_a_cookie_alone_cannot_change_a_task_cross_site(tenant: Tenant, http: httpx.AsyncClient) -> None:
    task_id = await tenant.create_task()
    cookie = await login_cookie(tenant)
    http.cookies.clear()
    forged = await http.get("/tasks.update", params={"task": task_id, "name": "forged"},
                            headers={"Cookie": f"clearml_token_basic={cookie}"})
    assert forged.status_code == 401
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"]["name"] == "test task"


async def test_a_same_origin_page_with_the_cookie_and_the_header_works(tenant: Tenant,
                                                                      http: httpx.AsyncClient) -> None:
    task_id = await tenant.create_task()
    cookie = await login_cookie(tenant)
    http.cookies.clear()
    response = await http.post("/tasks.update", json={"task": task_id, "name": "renamed"},
                               headers={"Cookie": f"clearml_token_basic={cookie}", "X-Requested-With": "fetch"})
    assert response.status_code == 200
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"]["name"] == "renamed"
