"""The real `clearml` SDK's `APIClient` against a real `taskstream serve` (clients.md §3a)."""

from __future__ import annotations

import pytest

from tests.clients.conftest import Clients

pytestmark = pytest.mark.clients

APICLIENT_FLOW = """
    import json
    from clearml.backend_api.session.client import APIClient

    client = APIClient()
    task_id = client.tasks.create(name="apiclient task", type="training").id
    edited = client.tasks.edit(task=task_id, tags=["b", "a"], comment="edited by APIClient")
    listed = client.tasks.get_all(name="^apiclient task$", id=[task_id], only_fields=["id", "name", "status"],
                                  page=0, page_size=10, order_by=["-last_update"])
    started = client.tasks.started(task=task_id)
    running = client.tasks.get_all(id=[task_id], status=["in_progress"], only_fields=["id"])
    client.tasks.stopped(task=task_id)
    enqueued = client.tasks.enqueue(task=task_id, queue_name="apiclient-queue")
    task = client.tasks.get_by_id(task=task_id)
    queue = client.queues.get_all(name="^apiclient-queue$")[0]
    def text(value):
        return getattr(value, "value", value)

    print("RESULT " + json.dumps({
        "id": task_id, "edited": edited.updated, "listed": [(t.id, t.name, text(t.status)) for t in listed],
        "started": started.started, "running": [t.id for t in running], "queued": enqueued.queued,
        "status": text(task.status), "tags": task.tags, "comment": task.comment, "queue": task.execution.queue,
        "queue_id": queue.id, "last_iteration": task.last_iteration,
    }))
"""


def test_apiclient_create_edit_list_status_enqueue(clients: Clients) -> None:
    run = clients.run(APICLIENT_FLOW, timeout=90)
    result = run.result()
    assert run.returncode == 0, run.stderr
    assert result["edited"] == 1 and result["started"] == 1 and result["queued"] == 1
    assert result["listed"] == [[result["id"], "apiclient task", "created"]]
    assert result["running"] == [result["id"]]
    assert result["status"] == "queued" and result["queue"] == result["queue_id"]
    assert result["tags"] == ["a", "b"] and result["comment"] == "edited by APIClient"
    assert result["last_iteration"] == 0
    # The server agrees with what the client saw.
    task = clients.server.call("tasks.get_by_id", task=result["id"])["task"]
    assert task["status"] == "queued"


TOKEN_FLOW = """
    import json
    from clearml.backend_api.session.client import APIClient

    client = APIClient()
    task_id = client.tasks.create(name="created with a token", type="training").id
    print("RESULT " + json.dumps({"id": task_id, "user": client.tasks.get_by_id(task=task_id).user}))
"""


def test_apiclient_with_an_auth_token_instead_of_keys(clients: Clients) -> None:
    token = clients.server.call("auth.login")["token"]
    env = clients.env(CLEARML_AUTH_TOKEN=token)
    env.pop("CLEARML_API_ACCESS_KEY")
    env.pop("CLEARML_API_SECRET_KEY")
    run = clients.run(TOKEN_FLOW, env=env, timeout=60)
    result = run.result()
    assert run.returncode == 0, run.stderr
    assert result["user"] == "__admin__"
