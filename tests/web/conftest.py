"""Fixtures of the web UI's browser tests: a real `taskstream serve` on a free port (on a database of its own),
the system's Chromium driven by Playwright (no browser download: `/usr/bin/chromium`, or `TASKSTREAM_CHROMIUM`),
and a page that records every request and fails the test if one goes anywhere but the server (no CDN).

On a failed test the page's screenshot is saved under `TASKSTREAM_ARTIFACTS` (default: the test's temporary
folder) and its path printed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from taskstream.commands.accounts import add_credentials, create_user, generate_key_pair
from taskstream.schemas.ids import new_id
from tests.clients.conftest import (
    Clients,
    Server,
    clients_python,  # noqa: F401  (the real SDK's virtualenv, shared)
)
from tests.serve_process import ServeProcess, scratch_database

CHROMIUM = os.environ.get("TASKSTREAM_CHROMIUM", "/usr/bin/chromium")


@dataclass
class Api:
    """ClearML calls with one key pair (Basic auth), answering `data` or failing the test."""

    url: str
    access_key: str
    secret_key: str

    def headers(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.access_key}:{self.secret_key}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def call(self, endpoint: str, **body: Any) -> Any:
        response = httpx.post(f"{self.url}/{endpoint}", json=body, headers=self.headers(), timeout=30)
        meta = response.json()["meta"]
        assert meta["result_code"] == 200, f"{endpoint}: {meta['result_code']}/{meta['result_subcode']} " \
                                           f"{meta['result_msg']}"
        return response.json()["data"]

    def create_task(self, name: str, **fields: Any) -> str:
        return str(self.call("tasks.create", name=name, type=fields.pop("type", "training"), **fields)["id"])

    def task(self, task_id: str) -> dict[str, Any]:
        return dict(self.call("tasks.get_by_id", task=task_id)["task"])

    def report_scalars(self, task_id: str, metric: str, variant: str, points: list[tuple[int, float]]) -> None:
        """`events.add_batch` of scalar points (JSON lines, as the SDK sends them)."""
        lines = "\n".join(json.dumps({"timestamp": int(time.time() * 1000), "type": "training_stats_scalar",
                                      "task": task_id, "iter": i, "metric": metric, "variant": variant, "value": v})
                          for i, v in points)
        response = httpx.post(f"{self.url}/events.add_batch", content=lines.encode(), timeout=30,
                              headers={**self.headers(), "Content-Type": "application/json-lines"})
        assert response.json()["meta"]["result_code"] == 200, response.text


@dataclass
class WebServer:
    process: ServeProcess
    admin: Api
    other: Api  # a key pair of another company
    database_url: str

    @property
    def url(self) -> str:
        return self.process.url


def _other_company(database_url: str) -> tuple[str, str]:
    async def make() -> tuple[str, str]:
        conn = await asyncpg.connect(database_url)
        try:
            company = new_id()
            user = await create_user(conn, "other", company, f"other-{company[:6]}")
            key, secret = generate_key_pair()
            await add_credentials(conn, user, key, secret)
            return key, secret
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as thread:  # callers may run inside the session's event loop
        return thread.submit(asyncio.run, make()).result()


@pytest.fixture(scope="session")
def web_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """`taskstream serve` for the browser tests (no in-process audit or watchdog: nothing writes behind them)."""
    home = tmp_path_factory.mktemp("web-serve")
    with scratch_database(database_url, "web") as url:
        process = ServeProcess(url, home, TASKSTREAM_SUBSCRIBERS="")
        process.start()
        try:
            key, secret = _other_company(url)
            yield WebServer(process, Api(process.url, *process.auth), Api(process.url, key, secret), url)
        finally:
            process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Why not for the session: sync Playwright keeps its event loop marked as
    running in the main thread while it lives, and pytest-asyncio cannot run the async tests after it."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TASKSTREAM_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@dataclass
class Traffic:
    """Every request the page made; `foreign` are those to any other host than the server (aborted)."""

    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TASKSTREAM_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser: Any, web_server: WebServer, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh browser context at 1280×800; requests to other hosts are recorded, aborted, and fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=web_server.url)
    traffic = Traffic()
    server = urlsplit(web_server.url).netloc

    def route(route: Any) -> None:
        url = route.request.url
        traffic.requests.append(url)
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc == server:
            route.continue_()
        else:
            traffic.foreign.append(url)
            route.abort()

    context.route("**/*", route)
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    opened.traffic = traffic
    try:
        yield opened
        assert not traffic.foreign, f"requests left the server: {traffic.foreign}"
    finally:
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:
            shot = _artifacts(tmp_path) / f"{request.node.name}-{int(time.time())}.png"
            opened.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the failed page: {shot}")
        context.close()


def sign_in(page: Any, api: Api, next_path: str = "/tasks") -> None:
    """Sign in through the form with `api`'s key pair and land on `next_path`."""
    page.goto(f"/login?next={next_path}")
    page.fill('input[name="access_key"]', api.access_key)
    page.fill('input[name="secret_key"]', api.secret_key)
    page.click('button[type="submit"]')
    page.wait_for_url(f"**{next_path.split('?')[0]}*")


@pytest.fixture
def admin_page(page: Any, web_server: WebServer) -> Any:
    sign_in(page, web_server.admin)
    return page


@pytest.fixture
def sdk_clients(clients_python: Path, web_server: WebServer, tmp_path: Path) -> Clients:  # noqa: F811
    """The real SDK (and agent), configured with the web server's admin key pair."""
    server = Server(web_server.url, web_server.admin.access_key, web_server.admin.secret_key, web_server.process.log)
    return Clients(clients_python, server, tmp_path)
