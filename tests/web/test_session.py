"""The web UI's sessions, CSRF, tenancy and links, in-process (no browser): what the server answers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.datastructures import QueryParams

from taskstream.api.app import create_app
from taskstream.api.context import AppContext
from taskstream.api.web import vendor_assets
from taskstream.api.web.app import sdk_tab
from taskstream.api.web.session import safe_next
from taskstream.api.web.table import TableQuery
from tests.conftest import Tenant


@pytest.fixture
async def browser_client(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a cookie jar of its own (the shared `http` client must never hold a session cookie)."""
    app = create_app(None)
    app.state.ctx = ctx
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://taskstream") as client:
        yield client


async def _sign_in(client: httpx.AsyncClient, tenant: Tenant) -> str:
    """Sign in; the CSRF token of the session's pages."""
    response = await client.post("/login", data={"access_key": tenant.access_key, "secret_key": tenant.secret_key,
                                                 "next": "/tasks"})
    assert response.status_code == 303 and response.headers["location"] == "/tasks"
    page = await client.get("/tasks")
    found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


async def test_pages_ask_to_sign_in_first(browser_client: httpx.AsyncClient) -> None:
    response = await browser_client.get("/tasks?status=created")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Ftasks%3Fstatus%3Dcreated"


async def test_the_session_cookie_is_httponly_and_strict(browser_client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await browser_client.post("/login", data={"access_key": tenant.access_key,
                                                         "secret_key": tenant.secret_key})
    cookie = response.headers["set-cookie"].lower()
    assert "clearml_token_basic=" in cookie and "httponly" in cookie and "samesite=strict" in cookie


async def test_a_wrong_secret_signs_nobody_in(browser_client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await browser_client.post("/login", data={"access_key": tenant.access_key, "secret_key": "wrong"})
    assert response.status_code == 401 and "Sign-in failed" in response.text
    assert "clearml_token_basic" not in browser_client.cookies


async def test_an_existing_token_signs_in(browser_client: httpx.AsyncClient, tenant: Tenant) -> None:
    token = (await tenant.call("auth.login"))["token"]
    response = await browser_client.post("/login", data={"token": token})
    assert response.status_code == 303
    assert (await browser_client.get("/projects")).status_code == 200


async def test_an_action_without_the_csrf_token_does_nothing(browser_client: httpx.AsyncClient,
                                                             tenant: Tenant) -> None:
    task_id = await tenant.create_task("csrf target")
    csrf = await _sign_in(browser_client, tenant)
    refused = await browser_client.post("/ui/tasks/enqueue", data={"ids": task_id, "csrf": "0" * 64})
    assert refused.status_code == 403
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"]["status"] == "created"
    done = await browser_client.post("/ui/tasks/enqueue", data={"ids": task_id, "csrf": csrf, "back": "/tasks"})
    assert done.status_code == 303
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"]["status"] == "queued"


async def test_another_site_cannot_post_the_sign_in_form(browser_client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await browser_client.post("/login", headers={"origin": "https://evil.example"},
                                         data={"access_key": tenant.access_key, "secret_key": tenant.secret_key})
    assert response.status_code == 403


async def test_another_companys_task_and_project_are_not_found(browser_client: httpx.AsyncClient, tenant: Tenant,
                                                                other_tenant: Tenant) -> None:
    foreign_task = await other_tenant.create_task("theirs")
    foreign_project = (await other_tenant.call("projects.create", name="their project"))["id"]
    await _sign_in(browser_client, tenant)
    for path in (f"/tasks/{foreign_task}", f"/tasks?project={foreign_project}", "/tasks/no-such-task/log"):
        response = await browser_client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html") and "Not found" in response.text
    # An action on another company's task fails like the API call: nothing changes.
    csrf = await _sign_in(browser_client, tenant)
    await browser_client.post("/ui/tasks/stop", data={"ids": foreign_task, "csrf": csrf})
    assert (await other_tenant.call("tasks.get_by_id", task=foreign_task))["task"]["status"] == "created"


async def test_a_failed_bulk_action_says_why(browser_client: httpx.AsyncClient, tenant: Tenant) -> None:
    created, running = await tenant.create_task("stays"), await tenant.create_task("runs")
    await tenant.call("tasks.started", task=running)
    csrf = await _sign_in(browser_client, tenant)
    response = await browser_client.post("/ui/tasks/publish", data={"ids": [created, running], "csrf": csrf,
                                                                   "back": "/tasks"})
    flash = response.cookies.get("taskstream_flash") or response.headers["set-cookie"]
    assert "of 2 tasks" in flash and "Failed" in flash


@pytest.mark.parametrize(("path", "target"), [
    ("/projects/p1/experiments/{id}/output/log", "/tasks/{id}/log"),
    ("/projects/*/experiments/{id}", "/tasks/{id}"),
    ("/projects/p1/experiments/{id}/execution", "/tasks/{id}/execution"),
    ("/projects/p1/tasks/{id}/output/log", "/tasks/{id}/log"),
    ("/projects/p1/experiments/{id}/info-output/metrics/scalar", "/tasks/{id}/scalars"),
    ("/pipelines/p1/experiments/{id}", "/tasks/{id}"),
    ("/datasets/simple/p1/experiments/{id}", "/tasks/{id}"),
])
async def test_the_sdks_links_open_the_task_page(browser_client: httpx.AsyncClient, path: str, target: str) -> None:
    task_id = "0123456789abcdef0123456789abcdef"
    response = await browser_client.get(path.format(id=task_id))
    assert response.status_code == 303 and response.headers["location"] == target.format(id=task_id)


async def test_ui_paths_leave_the_api_alone(browser_client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await browser_client.get("/tasks.get_all", headers=tenant.auth_header)
    assert response.json()["meta"]["result_code"] == 200


def test_only_local_paths_are_followed_after_sign_in() -> None:
    assert safe_next("/tasks?x=1") == "/tasks?x=1"
    for hostile in ("//evil.example", "https://evil.example", "/\\evil.example", "", None):
        assert safe_next(hostile) == "/"


def test_sdk_tabs() -> None:
    assert sdk_tab("output/log") == "log" and sdk_tab("") is None and sdk_tab("hyper-params/hyper-param/Args") \
        == "hyperparameters"


def test_the_table_query_keeps_what_it_knows_and_bounds_the_rest() -> None:
    query = TableQuery.from_params(QueryParams(
        "status=created&status=bogus&type=training&sort=drop table&page=999999&page_size=7&q=" + "x" * 500
        + "&metric=loss|val&param=Args|lr&user=u1&tag=t"))
    assert query.statuses == ("created",) and query.types == ("training",)
    assert query.sort == "-last_update" and query.page == 400 and query.page_size == 25 and len(query.search) == 200
    listing = query.listing()
    assert listing["status"] == ["created"] and listing["system_tags"] == ["-archived"]
    assert listing["page"] == 400 and listing["page_size"] == 25
    assert query.sort_field("-m:loss|val") is not None and query.sort_field("m:other|x") is None
    assert query.sort_field("p:Args|lr") == "hyperparams.Args.lr.value"


def test_vendored_assets_match_their_pins() -> None:
    import json

    assert vendor_assets.check(json.loads(vendor_assets.MANIFEST.read_text())) == []


async def test_edit_and_clone_run_the_api_handlers(browser_client: httpx.AsyncClient, tenant: Tenant) -> None:
    task_id = await tenant.create_task("before edit")
    csrf = await _sign_in(browser_client, tenant)
    await browser_client.post("/ui/tasks/edit", data={"ids": task_id, "csrf": csrf, "edit_name": "after edit",
                                                      "edit_tags": "a, b", "edit_comment": ""})
    task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
    assert task["name"] == "after edit" and task["tags"] == ["a", "b"] and not task.get("comment")
    await browser_client.post("/ui/tasks/clone", data={"ids": task_id, "csrf": csrf, "clone_name": "the clone"})
    clones = (await tenant.call("tasks.get_all", name="^the clone$", only_fields=["id", "parent"]))["tasks"]
    assert len(clones) == 1


async def test_a_form_without_a_length_is_not_read(browser_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"access_key=" + b"x" * 1000

    response = await browser_client.post("/login", content=chunks(),
                                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
