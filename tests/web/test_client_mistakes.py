"""A client's mistakes on the web UI's pages, JSON and actions: a 4xx or the page, never a 5xx (in-process)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from taskstream.api.app import create_app
from taskstream.api.context import AppContext
from taskstream.api.web.session import FLASH_COOKIE
from taskstream.projections.audit import AuditTrail
from taskstream.projections.live_feed import parse_position
from taskstream.projections.subscription import LogSubscription
from tests.conftest import Tenant


@pytest.fixture
async def client(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    """A browser's client of its own (cookie jar); a 5xx is an answer here, not an exception."""
    app = create_app(None)
    app.state.ctx = ctx
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://taskstream") as browser:
        yield browser


async def _sign_in(client: httpx.AsyncClient, tenant: Tenant) -> str:
    await client.post("/login", data={"access_key": tenant.access_key, "secret_key": tenant.secret_key})
    found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', (await client.get("/tasks")).text)
    assert found
    return found.group(1)


async def test_numbers_that_are_not_plain_integers_are_ignored(client: httpx.AsyncClient, tenant: Tenant,
                                                               ctx: AppContext) -> None:
    task_id = await tenant.create_task("numbers")
    await tenant.call("tasks.edit", task=task_id, comment="a change")
    await LogSubscription(ctx.pool, AuditTrail()).catch_up()
    await _sign_in(client, tenant)
    for query in ("history?before=²", "history?before=--5", "history?before=99999999999",
                  "debug-images?before=²", "debug-images?before=9999999999999999999"):
        response = await client.get(f"/tasks/{task_id}/{query}")
        assert response.status_code == 200, query
    assert (await client.get(f"/tasks/{task_id}/history/²")).status_code == 404
    for query in ("log?before=²", "log?after=--1", "scalars/new?seq=²&iter=1"):
        response = await client.get(f"/ui/api/tasks/{task_id}/{query}")
        assert response.status_code == 200, query


def test_a_live_position_is_ascii_digits() -> None:
    assert parse_position("²-1") is None and parse_position("12-3") is not None


async def test_a_nul_character_is_refused_before_the_database(client: httpx.AsyncClient, tenant: Tenant) -> None:
    task_id = await tenant.create_task("no nul")
    csrf = await _sign_in(client, tenant)
    for path in ("/tasks?q=%00", "/tasks?tag=a%00"):
        assert (await client.get(path)).status_code == 200, path
    for path in (f"/compare?ids={task_id},a%00", f"/ui/api/compare/scalars?ids={task_id},a%00",
                 "/ui/api/tasks/a%00/scalars"):
        assert (await client.get(path)).status_code == 404, path
    for path, form in (("/ui/tasks/stop", {"ids": "a\x00"}),
                       ("/ui/tasks/clone", {"ids": task_id, "clone_project": "p\x00"}),
                       ("/ui/queues/q%00/move", {"task": task_id})):
        response = await client.post(path, data={"csrf": csrf, **form})
        assert response.status_code == 303 and "error" in response.headers["set-cookie"], path


async def test_an_action_message_may_quote_any_text(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """The one-time message repeats what the form sent (non-Latin-1 too); the next page shows it as it was."""
    csrf = await _sign_in(client, tenant)
    response = await client.post("/ui/tasks/%E2%98%83", data={"csrf": csrf, "back": "/projects"})
    assert response.status_code == 303 and response.headers["location"] == "/projects"
    assert "Unknown action ☃" in (await client.get("/projects")).text
    assert FLASH_COOKIE not in client.cookies


async def test_a_long_back_path_goes_home(client: httpx.AsyncClient, tenant: Tenant) -> None:
    task_id = await tenant.create_task("long back")
    csrf = await _sign_in(client, tenant)
    response = await client.post("/ui/tasks/enqueue", data={"csrf": csrf, "ids": task_id, "back": "/" + "x" * 3000})
    assert response.status_code == 303 and response.headers["location"] == "/"


async def test_an_address_that_does_not_parse_is_shown_without_a_link(client: httpx.AsyncClient,
                                                                       tenant: Tenant) -> None:
    task_id = await tenant.create_task("odd addresses")
    await tenant.call("tasks.add_or_update_artifacts", task=task_id,
                      artifacts=[{"key": "broken", "type": "custom", "mode": "output", "uri": "http://[::1/files/a"}])
    model_id = (await tenant.call("models.create", name="odd model", uri="https://[bad/files/m.pt"))["id"]
    await tenant.call("tasks.add_or_update_model", task=task_id, name="odd", model=model_id, type="output")
    await _sign_in(client, tenant)
    for tab in ("artifacts", "models"):
        response = await client.get(f"/tasks/{task_id}/{tab}")
        assert response.status_code == 200, tab
    assert "http://[::1/files/a" in (await client.get(f"/tasks/{task_id}/artifacts")).text


async def test_a_sandboxed_frame_cannot_post_the_sign_in_form(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """`Origin: null` is what a sandboxed frame or a data: page of any site sends: signing a browser into someone
    else's session (login CSRF) is refused as from another site."""
    response = await client.post("/login", headers={"origin": "null"},
                                 data={"access_key": tenant.access_key, "secret_key": tenant.secret_key})
    assert response.status_code == 403 and "clearml_token_basic" not in client.cookies
    same_site = await client.post("/login", headers={"origin": "http://taskstream"},
                                  data={"access_key": tenant.access_key, "secret_key": tenant.secret_key})
    assert same_site.status_code == 303
