"""The web UI in a real browser (headless Chromium) against a real `taskstream serve`: sign in, the tasks table,
the SDK's printed link, live updates, actions through the command handlers, tenancy, queues."""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import Clients
from tests.web.conftest import WebServer, sign_in

REPO = Path(__file__).resolve().parents[2]


def _unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def _row(page: Any, task_id: str) -> Any:
    return page.locator(f'tr[data-task="{task_id}"]')


def test_sign_in_with_a_wrong_secret_is_refused(page: Any, web_server: WebServer) -> None:
    page.goto("/tasks")
    assert "/login" in page.url  # signed out: the page asks to sign in first
    page.fill('input[name="access_key"]', web_server.admin.access_key)
    page.fill('input[name="secret_key"]', "not the secret")
    page.click('button[type="submit"]')
    page.locator("[role=alert]").wait_for()
    assert "Sign-in failed" in page.locator("[role=alert]").inner_text()
    assert not any(c["name"] == "clearml_token_basic" for c in page.context.cookies())


def test_sign_in_opens_the_page_asked_for_and_sign_out_ends_the_session(page: Any, web_server: WebServer) -> None:
    sign_in(page, web_server.admin, "/queues")
    assert page.locator("h1").first.inner_text() == "Queues"
    cookie = next(c for c in page.context.cookies() if c["name"] == "clearml_token_basic")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.click("text=Sign out")
    page.wait_for_url("**/login")
    page.goto("/tasks")
    assert "/login" in page.url


def test_tasks_table_shows_a_task_created_through_the_api(admin_page: Any, web_server: WebServer) -> None:
    name = _unique("api task")
    task_id = web_server.admin.create_task(name, tags=["from-api"])
    admin_page.goto("/tasks")
    row = _row(admin_page, task_id)
    assert name in row.inner_text()
    assert "created" in row.locator("[data-field=status]").inner_text()
    assert "from-api" in row.inner_text()
    admin_page.fill('input[name="q"]', name.split()[-1])  # search by name
    admin_page.click("text=Apply")
    admin_page.wait_for_url("**q=*")
    assert admin_page.locator("tbody tr").count() == 1
    admin_page.set_viewport_size({"width": 375, "height": 760})  # a phone: only the table scrolls sideways
    assert admin_page.evaluate("document.documentElement.scrollWidth") <= 375
    admin_page.keyboard.press("Tab")  # keyboard reachable: the first Tab lands on the skip link
    assert admin_page.evaluate("document.activeElement.className") == "skip"


def test_a_status_change_through_the_api_appears_without_reload(admin_page: Any, web_server: WebServer) -> None:
    """Live: the row's status follows `tasks.started` pushed through SSE from the log (no reload: the page keeps a
    marker the reload would clear). The figure is printed; the bound is generous so that a busy machine does
    not flake it, the target (≤ 1 s) is measured by the bench."""
    task_id = web_server.admin.create_task(_unique("live"))
    admin_page.goto("/tasks")
    admin_page.locator("#live-state.on").wait_for()
    admin_page.evaluate("window.__not_reloaded = true")
    started = time.monotonic()
    web_server.admin.call("tasks.started", task=task_id)
    admin_page.locator(f'tr[data-task="{task_id}"] [data-field=status]:text("in progress")').wait_for(timeout=5000)
    elapsed = time.monotonic() - started
    print(f"\nlive update: command → browser {elapsed * 1000:.0f} ms")
    assert admin_page.evaluate("window.__not_reloaded") is True
    assert elapsed < 5


def test_abort_from_the_ui_stops_a_running_task(admin_page: Any, web_server: WebServer) -> None:
    task_id = web_server.admin.create_task(_unique("running"))
    web_server.admin.call("tasks.started", task=task_id)
    admin_page.goto("/tasks")
    _row(admin_page, task_id).locator('input[name="ids"]').check()
    admin_page.once("dialog", lambda dialog: dialog.accept())
    admin_page.click('button:text("Abort")')
    admin_page.locator(".flash").wait_for()
    assert "Aborted" in admin_page.locator(".flash").inner_text()
    task = web_server.admin.task(task_id)
    assert task["status"] == "stopped"
    assert task["status_reason"] == "From the web UI"
    assert "stopped" in _row(admin_page, task_id).locator("[data-field=status]").inner_text()


def test_another_companys_task_shows_not_found(admin_page: Any, web_server: WebServer) -> None:
    foreign = web_server.other.create_task(_unique("foreign"))
    response = admin_page.goto(f"/tasks/{foreign}")
    assert response.status == 404
    assert admin_page.locator("h1").inner_text() == "Not found"
    assert "json" not in (response.headers.get("content-type") or "")
    unknown = admin_page.goto("/tasks/0123456789abcdef0123456789abcdef")
    assert unknown.status == 404 and admin_page.locator("h1").inner_text() == "Not found"
    admin_page.goto("/tasks")
    assert admin_page.locator(f'tr[data-task="{foreign}"]').count() == 0


def test_queue_entries_reorder_and_remove(admin_page: Any, web_server: WebServer) -> None:
    api = web_server.admin
    queue = api.call("queues.create", name=_unique("ui-queue").replace(" ", "-"))["id"]
    first, second = api.create_task(_unique("first")), api.create_task(_unique("second"))
    for task_id in (first, second):
        api.call("tasks.enqueue", task=task_id, queue=queue)
    admin_page.goto("/queues")
    entries = admin_page.locator(f'tr[data-queue="{queue}"] li')
    assert [e.get_attribute("data-task") for e in entries.all()] == [first, second]
    entries.nth(1).locator('button:text("To front")').click()
    admin_page.locator(".flash").wait_for()
    assert [e["task"] for e in api.call("queues.get_by_id", queue=queue)["queue"]["entries"]] == [second, first]
    admin_page.locator(f'tr[data-queue="{queue}"] li[data-task="{first}"] button:text("Remove")').click()
    admin_page.locator(".flash").wait_for()
    assert [e["task"] for e in api.call("queues.get_by_id", queue=queue)["queue"]["entries"]] == [second]
    assert admin_page.locator(f'tr[data-queue="{queue}"] li').count() == 1


def test_bulk_archive(admin_page: Any, web_server: WebServer) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = [web_server.admin.create_task(_unique("bulk"), tags=[tag]) for _ in range(3)]
    admin_page.goto(f"/tasks?tag={tag}")
    admin_page.check("#select-all")
    assert admin_page.locator("#selected-count").inner_text() == "3 selected"
    admin_page.click('button:text("Archive")')
    admin_page.locator(".flash").wait_for()
    assert "Archived 3 of 3 tasks" in admin_page.locator(".flash").inner_text()
    assert all("archived" in web_server.admin.task(i)["system_tags"] for i in ids)
    assert admin_page.locator("tbody tr").count() == 0  # archived tasks leave the default view
    admin_page.goto(f"/tasks?tag={tag}&archived=1")
    assert admin_page.locator("tbody tr").count() == 3


SDK_SCRIPT = """
    import json
    from clearml import Task

    task = Task.init(project_name="{project}", task_name="ui sdk task")
    task.connect({{"lr": 0.1}})
    task.get_logger().report_scalar("loss", "train", 0.5, iteration=1)
    task_id = task.id
    task.close()
    print("RESULT " + json.dumps({{"id": task_id}}))
"""


@pytest.mark.clients
def test_a_real_sdk_task_appears_and_its_printed_link_opens_its_page(
        sdk_clients: Clients, web_server: WebServer, admin_page: Any) -> None:
    clients = sdk_clients
    project = _unique("ui sdk").replace(" ", "-")
    run = clients.run(SDK_SCRIPT.format(project=project), timeout=120)
    task_id = run.result()["id"]
    links = re.findall(r"results page: (\S+)", run.stdout + run.stderr)
    assert links, f"the SDK printed no results page link:\n{run.stdout}\n{run.stderr}"
    assert f"/experiments/{task_id}/output/log" in links[0]
    admin_page.goto("/tasks")
    assert "ui sdk task" in _row(admin_page, task_id).inner_text()
    response = admin_page.goto(links[0])
    assert response.status == 200
    assert re.search(rf"/tasks/{task_id}(/log)?$", admin_page.url), admin_page.url
    assert "ui sdk task" in admin_page.content()


def test_screenshot_of_the_tasks_table(admin_page: Any, web_server: WebServer) -> None:
    """With TASKSTREAM_SCREENSHOTS=<dir> set, saves the tasks table as `<dir>/ui-tasks.png` (README's picture)."""
    target = os.environ.get("TASKSTREAM_SCREENSHOTS")
    if not target:
        pytest.skip("TASKSTREAM_SCREENSHOTS is not set")
    api = web_server.admin
    for index, (status, loss) in enumerate([("in_progress", 0.41), ("completed", 0.23), ("failed", None),
                                             ("queued", None), ("created", None), ("completed", 0.19)]):
        task_id = api.create_task(f"resnet50 lr sweep #{index + 1}", tags=["sweep", "resnet"],
                                  hyperparams={"Args": {"lr": {"section": "Args", "name": "lr",
                                                               "value": str(0.1 / (index + 1))[:6]}}})
        if status in ("in_progress", "completed", "failed"):
            api.call("tasks.started", task=task_id)
            if loss is not None:
                api.report_scalars(task_id, "loss", "val", [(i, loss * (1 + 1 / i)) for i in range(1, 40)])
        if status in ("completed", "failed"):
            api.call(f"tasks.{status}", task=task_id, force=True)
        if status == "queued":
            api.call("tasks.enqueue", task=task_id)
    admin_page.goto("/tasks?tag=sweep&param=Args|lr&metric=loss|val")
    admin_page.locator("#live-state.on").wait_for()
    admin_page.wait_for_timeout(1500)  # the rows' highlight of the changes replayed since the render fades
    Path(target).mkdir(parents=True, exist_ok=True)
    admin_page.screenshot(path=str(Path(target) / "ui-tasks.png"))


SDK_RUNNING = """
    import time
    from clearml import Task

    task = Task.init(project_name="{project}", task_name="ui abort target")
    print("TASK " + task.id, flush=True)
    for i in range(120):
        task.get_logger().report_scalar("loss", "train", 1.0 / (i + 1), iteration=i)
        time.sleep(0.5)
    print("FINISHED", flush=True)
"""


@pytest.mark.clients
def test_abort_from_the_ui_stops_a_running_sdk_script(clients_python: Path, sdk_clients: Clients,
                                                      web_server: WebServer, admin_page: Any, tmp_path: Path) -> None:
    """The SDK's development worker checks the task's status every 2 s: aborted from the UI, the script stops."""
    clients = sdk_clients
    script = tmp_path / "running.py"
    script.write_text(textwrap.dedent(SDK_RUNNING.format(project=_unique("ui abort").replace(" ", "-"))))
    process = subprocess.Popen([str(clients_python), str(script)], cwd=tmp_path, env=clients.env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        task_id = _task_line(process)
        admin_page.goto("/tasks")
        _row(admin_page, task_id).locator("[data-field=status]:text('in progress')").wait_for(timeout=20_000)
        _row(admin_page, task_id).locator('input[name="ids"]').check()
        admin_page.once("dialog", lambda dialog: dialog.accept())
        admin_page.click('button:text("Abort")')
        admin_page.locator(".flash").wait_for()
        output, _ = process.communicate(timeout=45)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "FINISHED" not in output, output[-2000:]
    assert web_server.admin.task(task_id)["status"] == "stopped"


def _task_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + 90
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if line.startswith("TASK "):
            return line.split()[1]
    raise AssertionError("the SDK script printed no task id:\n" + "".join(seen)[-3000:])
